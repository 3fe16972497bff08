// The request travels with its log lines: a line the core logs while httpd serves a request
// names the request's client, and follows the LogLevel of the request's location.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BROWSER, request } from './lib/client.mjs';
import { startHttpd } from './lib/httpd.mjs';
import { freePort } from './lib/ports.mjs';
import { ipsieDirectives } from './lib/stack.mjs';

// What a provider nobody answers for makes the core log (the HTTP client, then discovery).
const EXPECTED = [/IPSIE08005: /, /IPSIE08300: /];

function linesWith(log, tag) {
    return log.split('\n').filter((line) => line.includes(tag));
}

describe('core log lines during a request', () => {
    let httpd;

    before(async () => {
        // Nothing listens on the provider's port: every fetch fails at once.
        const opPort = await freePort();
        const httpdPort = await freePort();
        httpd = await startHttpd({
            port: httpdPort,
            directives: ipsieDirectives({
                metadataUrl: `http://127.0.0.1:${opPort}/.well-known/openid-configuration`,
                httpdPort,
                clientSecret: randomBytes(24).toString('hex'),
                passphrase: randomBytes(32).toString('hex'),
            }),
            locations: [
                '<Location /app>', '    AuthType ipsie', '    Require valid-user', '</Location>',
                '<Location /quiet>', '    AuthType ipsie', '    Require valid-user',
                '    LogLevel auth_ipsie:info', '</Location>',
            ].join('\n'),
        });
        for (const dir of ['app', 'quiet']) {
            mkdirSync(join(httpd.dir, 'htdocs', dir));
            writeFileSync(join(httpd.dir, 'htdocs', dir, 'index.html'), `<p>${dir}</p>\n`);
        }
    });
    after(() => httpd?.stop());

    // A request that says which it is in its Referer, which httpd adds to the lines it logs.
    const get = (path, tag) => request(httpd.url(path), {
        headers: { ...BROWSER, Referer: `http://probe.example/${tag}` },
    });

    test('name the client of the request', async () => {
        const res = await get('/app/', 'first');
        assert.equal(res.status, 502);
        const lines = linesWith(httpd.errorLog(), 'IPSIE08300: ');
        assert.equal(lines.length, 1, httpd.errorLog());
        assert.match(lines[0], /\[auth_ipsie:error\] .*\[client 127\.0\.0\.1:\d+\] IPSIE08300: /);
        assert.match(lines[0], /, referer: http:\/\/probe\.example\/first$/);
        assert.deepEqual(httpd.errorLogProblems(EXPECTED), []);
    });

    test("follow the LogLevel of the request's location", async () => {
        // Within 2 s of a failed fetch a request fails at once with a debug line (IPSIE08307):
        // logged for /app (auth_ipsie:debug, the server's level), not for /quiet (info).
        let logged = [];
        for (let attempt = 0; attempt < 3 && logged.length === 0; attempt += 1) {
            await get('/app/', `app-a${attempt}`);
            assert.equal((await get('/quiet/', `quiet${attempt}`)).status, 502);
            assert.equal((await get('/app/', `app-b${attempt}`)).status, 502);
            logged = linesWith(httpd.errorLog(), 'IPSIE08307: ')
                .filter((line) => line.endsWith(`/app-b${attempt}`));
        }
        assert.equal(logged.length, 1, httpd.errorLog());
        assert.match(logged[0], /\[auth_ipsie:debug\] .*\[client 127\.0\.0\.1:\d+\] IPSIE08307: /);
        assert.deepEqual(linesWith(httpd.errorLog(), 'probe.example/quiet')
            .filter((line) => line.includes('IPSIE08307')), []);
        assert.deepEqual(httpd.errorLogProblems(EXPECTED), []);
    });
});
