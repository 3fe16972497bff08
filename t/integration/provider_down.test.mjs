// A provider that accepts connections and never answers (SPEC section 6: external parts
// fail): no request waits for it longer than IPSIEProviderTimeout + 1 s, the server keeps
// answering everything else under load, and logins work again once the provider is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BROWSER, Client, login, request } from './lib/client.mjs';
import { startHttpd } from './lib/httpd.mjs';
import { startOP } from './lib/op.mjs';
import { freePort } from './lib/ports.mjs';
import { CLIENT_ID, ipsieDirectives } from './lib/stack.mjs';
import { logLines } from './lib/util.mjs';

const TIMEOUT = 2;

// Listens, accepts, reads and never answers; close() drops every connection it holds.
async function startHangingServer(port) {
    const sockets = new Set();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    let accepted = 0;
    server.on('connection', () => { accepted += 1; });
    return {
        accepted: () => accepted,
        close: () => new Promise((resolve) => {
            for (const s of sockets) {
                s.destroy();
            }
            server.close(resolve);
        }),
    };
}

async function timed(url, headers = BROWSER) {
    const start = Date.now();
    const res = await request(url, { headers });
    return { status: res.status, seconds: (Date.now() - start) / 1000, res };
}

// The error lines of a metadata fetch the provider never answers.
const NO_ANSWER = [
    /IPSIE08005: request to http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration failed: Operation timed out/,
    /IPSIE08300: OpenID Provider unreachable/,
];

const later = (ms, fn) => new Promise((resolve) => { setTimeout(() => resolve(fn()), ms); });

// An httpd of 8 workers (mpm) in front of a provider that never answers, with /app protected
// and /public.html not. hosts: name-based virtual hosts, each with IPSIE settings (and so a
// provider cache) of its own; none: the settings are the server's.
async function startBehindHangingProvider({ mpm, hosts }) {
    const opPort = await freePort();
    const port = await freePort();
    const hanging = await startHangingServer(opPort);
    const ipsie = (host) => [
        ...ipsieDirectives({
            metadataUrl: `http://127.0.0.1:${opPort}/.well-known/openid-configuration`,
            httpdPort: port,
            clientSecret: randomBytes(24).toString('hex'),
            passphrase: randomBytes(32).toString('hex'),
            host,
        }),
        `IPSIEProviderTimeout ${TIMEOUT}`,
    ];
    const directives = hosts.length === 0 ? ipsie('127.0.0.1') : hosts.flatMap((host) => [
        `<VirtualHost 127.0.0.1:${port}>`, `    ServerName ${host}`, ...ipsie(host), '</VirtualHost>',
    ]);
    let httpd;
    try {
        httpd = await startHttpd({
            port,
            mpm,
            directives,
            locations: [
                '<Location /app>', '    AuthType ipsie', '    Require valid-user', '</Location>',
                '<Location /public.html>', '    Require all granted', '</Location>',
            ],
        });
    } catch (err) {
        await hanging.close();
        throw err;
    }
    writeFileSync(join(httpd.dir, 'htdocs', 'public.html'), '<p>public</p>\n');
    // Once the workers serve.
    await Promise.all(Array.from({ length: 8 }, () => request(httpd.url('/public.html'))));
    return { hanging, httpd };
}

// 16 protected requests within 0.4 s, alternating between hosts, and an unprotected page
// meanwhile, against a server of 8 workers whose provider never answers: the whole server
// lets at most 4 requests (half its workers) wait for the provider, each at most the timeout
// and 1 s, and refuses the others at once, so the unprotected page keeps answering.
async function checkBoundedWaits({ mpm, hosts }) {
    const { hanging, httpd } = await startBehindHangingProvider({ mpm, hosts });
    try {
        const names = hosts.length ? hosts : ['127.0.0.1'];
        const protCalls = Array.from({ length: 16 }, (_, i) => later(i * 25, () => timed(
            httpd.url(`/app/?n=${i}`), { ...BROWSER, Host: `${names[i % names.length]}:${httpd.port}` })));
        const pubCalls = Array.from({ length: 8 }, (_, i) => later(50 + i * 200,
            () => timed(httpd.url('/public.html'))));
        const prot = await Promise.all(protCalls);
        const pub = await Promise.all(pubCalls);
        const seen = prot.map((p) => `${p.status} in ${p.seconds} s`).join(', ');
        for (const p of pub) {
            assert.equal(p.status, 200);
            assert.ok(p.seconds < 1, `the unprotected page took ${p.seconds} s (protected: ${seen})`);
        }
        for (const p of prot) {
            assert.ok(p.seconds <= TIMEOUT + 1.5, `a protected request waited ${p.seconds} s`);
            assert.match(p.res.headers['content-type'], /text\/html/);
        }
        // Those that waited for the provider failed with it (they all came in the first 0.4 s
        // of 2 s of waiting, so they waited at the same time); the others were refused at once.
        const waited = prot.filter((p) => p.status === 502);
        const refused = prot.filter((p) => p.status === 503);
        assert.equal(waited.length + refused.length, prot.length, seen);
        assert.ok(waited.length <= 4, `${waited.length} requests waited for the provider at once: ${seen}`);
        assert.ok(waited.length >= names.length, `${waited.length} requests waited: ${seen}`);
        for (const p of waited) {
            assert.ok(p.seconds >= TIMEOUT / 2, `a request failed after ${p.seconds} s: ${seen}`);
            assert.match(p.res.body, /Sign-in unavailable/);
        }
        for (const p of refused) {
            assert.ok(p.seconds < TIMEOUT / 2, `a refusal took ${p.seconds} s: ${seen}`);
            assert.match(p.res.body, /Sign-in busy/);
        }
        // Leases for half of the server's 8 workers, whatever the MPM.
        assert.match(httpd.errorLog(), /IPSIE08308: metadata of \S+ refused: 4 requests already wait/);
        if (mpm === 'prefork') {
            // The requests that waited were in several children: the leases are shared.
            const pids = new Set(logLines(httpd, /IPSIE08300/).map((l) => /\[pid (\d+)/.exec(l)[1]));
            assert.ok(pids.size >= 2, `waits in ${pids.size} children`);
        }
        // Every provider cache fetched; no more fetches than leases.
        assert.ok(hanging.accepted() >= names.length && hanging.accepted() <= 4,
            `${hanging.accepted()} fetches`);
        assert.deepEqual(httpd.errorLogProblems(NO_ANSWER), []);
        assert.doesNotMatch(readFileSync(join(httpd.dir, 'access.log'), 'utf8'), /" 500 /);
    } finally {
        await hanging.close();
        await httpd.stop();
    }
}

describe('waits for a provider that never answers are bounded for the whole server', () => {
    test('event MPM, two virtual hosts with a provider cache each', () => checkBoundedWaits({
        mpm: 'event', hosts: ['a.test', 'b.test'],
    }));

    test('prefork MPM: 8 children, each with a provider cache of its own', () => checkBoundedWaits({
        mpm: 'prefork', hosts: [],
    }));
});

describe('a provider that never answers', () => {
    let hanging;
    let httpd;
    let op;
    let opPort;
    let httpdPort;
    const clientSecret = randomBytes(24).toString('hex');

    before(async () => {
        opPort = await freePort();
        httpdPort = await freePort();
        hanging = await startHangingServer(opPort);
        httpd = await startHttpd({
            port: httpdPort,
            directives: [
                ...ipsieDirectives({
                    metadataUrl: `http://127.0.0.1:${opPort}/.well-known/openid-configuration`,
                    httpdPort,
                    clientSecret,
                    passphrase: randomBytes(32).toString('hex'),
                }),
                `IPSIEProviderTimeout ${TIMEOUT}`,
            ],
            locations: [
                '<Location /app>', '    AuthType ipsie', '    Require valid-user', '</Location>',
                '<Location /public.html>', '    Require all granted', '</Location>',
            ].join('\n'),
        });
        writeFileSync(join(httpd.dir, 'htdocs', 'public.html'), '<p>public</p>\n');
        mkdirSync(join(httpd.dir, 'htdocs', 'app'));
        writeFileSync(join(httpd.dir, 'htdocs', 'app', 'index.html'), '<p>app</p>\n');
    });
    after(async () => {
        await hanging?.close();
        await op?.stop();
        await httpd?.stop();
    });

    test('under load, no request waits past the timeout and unprotected pages keep answering', async () => {
        const started = Date.now();
        const protectedCalls = Array.from({ length: 40 }, (_, i) => new Promise((resolve) => {
            setTimeout(() => resolve(timed(httpd.url(`/app/?user=${i}`))), i * 50);
        }));
        const publicCalls = Array.from({ length: 12 }, (_, i) => new Promise((resolve) => {
            setTimeout(() => resolve(timed(httpd.url('/public.html'))), 100 + i * 150);
        }));
        const prot = await Promise.all(protectedCalls);
        const pub = await Promise.all(publicCalls);
        for (const p of prot) {
            assert.ok([502, 503].includes(p.status), `protected page answered ${p.status}`);
            assert.ok(p.seconds <= TIMEOUT + 1 + 0.5, `a protected request waited ${p.seconds} s`);
            assert.match(p.res.headers['content-type'], /text\/html/);
            assert.match(p.res.body, /Sign-in (unavailable|busy)/);
        }
        for (const p of pub) {
            assert.equal(p.status, 200);
            assert.ok(p.seconds < 1, `the unprotected page took ${p.seconds} s`);
        }
        // Everything was over within one fetch's time, not one fetch after another.
        assert.ok((Date.now() - started) / 1000 < 2 + TIMEOUT + 1 + 1);
        // One fetch at a time, each only after the back-off that follows a failure.
        assert.ok(hanging.accepted() <= 2, `${hanging.accepted()} fetches`);
    });

    test('right after a failed fetch, the error page comes at once', async () => {
        // Start a fetch, let it fail, then ask again within the back-off.
        await timed(httpd.url('/app/'));
        const again = await timed(httpd.url('/app/'));
        assert.equal(again.status, 502);
        assert.ok(again.seconds < 0.5, `${again.seconds} s`);
    });

    test('the operator sees tagged lines, the user no 500', () => {
        const log = httpd.errorLog();
        assert.match(log, /IPSIE08300: OpenID Provider unreachable/);
        assert.deepEqual(httpd.errorLogProblems(NO_ANSWER), []);
        assert.doesNotMatch(readFileSync(join(httpd.dir, 'access.log'), 'utf8'), /" 500 /);
    });

    test('once the provider is back, sign-in works without a restart', async () => {
        await hanging.close();
        hanging = undefined;
        op = await startOP({
            port: opPort,
            clients: [{
                client_id: CLIENT_ID,
                client_secret: clientSecret,
                redirect_uris: [`http://127.0.0.1:${httpdPort}/app/redirect_uri`],
            }],
        });
        // The back-off after the last failure is 2 s.
        await new Promise((resolve) => setTimeout(resolve, 2100));
        const client = new Client();
        const { res } = await login(client, httpd.url('/app/index.html'), 'alice');
        assert.equal(res.status, 200, res.body);
        assert.match(res.body, /app/);
        assert.deepEqual(httpd.errorLogProblems(), []);
    });
});
