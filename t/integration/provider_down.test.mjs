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
        assert.doesNotMatch(log, /\[[\w.]*:(crit|alert|emerg)\]/);
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
    });
});
