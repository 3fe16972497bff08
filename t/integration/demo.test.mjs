// The demo (scripts/demo runs scripts/lib/demo.mjs after the build): a login, the page that
// explains the ceiling, a logout that lands on the public signed-out page, and a log without
// an error line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client, confirmOpLogout, login, request } from './lib/client.mjs';

describe('the demo', () => {
    let demo;
    let output = '';
    let open;
    let conf;
    let log;

    before(async () => {
        demo = spawn(process.execPath, ['scripts/lib/demo.mjs'], { stdio: ['ignore', 'pipe', 'pipe'] });
        demo.stdout.on('data', (d) => { output += d; });
        demo.stderr.on('data', (d) => { output += d; });
        const until = Date.now() + 30000;
        while (!/Press Ctrl-C to stop/.test(output)) {
            if (Date.now() > until || demo.exitCode !== null) {
                throw new Error(`the demo did not start:\n${output}`);
            }
            await new Promise((r) => setTimeout(r, 100));
        }
        open = /Open:\s+(\S+)/.exec(output)[1];
        conf = /httpd config:\s+(\S+)/.exec(output)[1];
        log = /httpd log:\s+(\S+)/.exec(output)[1];
    });
    after(async () => {
        if (demo && demo.exitCode === null) {
            const exited = new Promise((r) => demo.once('exit', r));
            demo.kill('SIGTERM');
            await exited;
        }
    });

    test('prints where its httpd configuration and log are', () => {
        assert.match(readFileSync(conf, 'utf8'), /AuthType ipsie/);
        assert.match(readFileSync(log, 'utf8'), /IPSIE10014: mod_auth_ipsie/);
    });

    test('a login shows who is signed in, when the provider session and the site session end, and why they differ', async () => {
        const client = new Client();
        const { res } = await login(client, open, 'ttl60-alice');
        assert.equal(res.status, 200, res.body);
        assert.match(res.body, /Hello, ttl60-alice/);
        assert.match(res.body, /session_expiry/);
        assert.match(res.body, /5 s before it \(<code>IPSIESessionExpiryLeeway<\/code>\)/);
        assert.match(res.body, /toLocaleString/);
        assert.match(res.body, /<script src="\/app\/redirect_uri\?warning\.js=[0-9a-f]{16}" defer><\/script><\/head>/,
            'the session-expiring warning is on');
        const icon = await client.get(new URL('/favicon.ico', open).href);
        assert.equal(icon.status, 200);
    });

    test('logging out lands on the public signed-out page, and the log has no error line', async () => {
        const client = new Client();
        await login(client, open, 'bob');
        const page = (await client.get(open)).body;
        const href = /<a href="([^"]+)">Log out<\/a>/.exec(page)[1];
        const toOp = await client.get(new URL(href.replace(/&amp;/g, '&'), open).href);
        assert.equal(toOp.status, 302, toOp.body);
        const confirmed = await confirmOpLogout(client, await client.get(toOp.location));
        const { res } = await client.follow(confirmed);
        assert.equal(res.status, 200, res.body);
        assert.equal(new URL(res.url).pathname, '/signed-out.html');
        assert.match(res.body, /You are signed out/);
        assert.equal((await client.get(open)).status, 302, 'signed out here');
        const public_ = await request(new URL('/signed-out.html', open).href);
        assert.equal(public_.status, 200);
        const errors = readFileSync(log, 'utf8').split('\n').filter((l) => /:(error|crit|alert|emerg)\]/.test(l));
        assert.deepEqual(errors, []);
    });
});
