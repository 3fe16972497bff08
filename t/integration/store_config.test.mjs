// IPSIESessionStore / IPSIESessionCache set up wrong (SPEC sections 3 and 6): a provider that
// is not loaded or a Redis without its address fails `apache2 -t` saying what to do; a Redis
// nobody listens on is found out at the first request that needs it, which answers 503 with a
// tagged line, never a 500.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { freePort } from './lib/ports.mjs';
import { configtestDirectives, protectedLocation, startStack } from './lib/stack.mjs';
import { clearsCookie, logLines } from './lib/util.mjs';

const PORT = 18444;
const BASE = configtestDirectives(PORT);

function check(add) {
    return configtest(({ dir }) => httpdConf({
        dir,
        port: PORT,
        directives: [...BASE, ...add],
        locations: protectedLocation('/app', 'http://127.0.0.1:9'),
    }));
}

describe('configtest of the session store', () => {
    test('the stores as documented pass', () => {
        for (const add of [
            ['IPSIESessionStore cache'],
            ['IPSIESessionStore cache', 'IPSIESessionCache shmcb'],
            ['IPSIESessionStore cache', 'IPSIESessionCache redis:127.0.0.1:6379', 'IPSIESessionCacheTimeout 300'],
            ['IPSIESessionStore cache', 'IPSIESessionCache memcache:127.0.0.1:11211,127.0.0.1:11212'],
            ['IPSIESessionStore cookie', 'IPSIESessionCache redis:127.0.0.1:6379'],
        ]) {
            const r = check(add);
            assert.equal(r.code, 0, `${add.join(' | ')}:\n${r.output}`);
        }
    });

    test('a socache provider that is not loaded is refused, saying what to load', () => {
        for (const store of ['cache', 'cookie']) {
            const r = check([`IPSIESessionStore ${store}`, 'IPSIESessionCache nosuchprovider']);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /IPSIESessionCache nosuchprovider/);
            assert.match(r.output, /not loaded/);
            assert.match(r.output, /LoadModule socache_nosuchprovider_module/, r.output);
        }
    });

    test('redis or memcache without servers is refused, with an example', () => {
        for (const [spec, example] of [['redis', /redis:127\.0\.0\.1:6379/], ['memcache', /memcache:127\.0\.0\.1:11211/]]) {
            const r = check(['IPSIESessionStore cache', `IPSIESessionCache ${spec}`]);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /IPSIESessionCache/);
            assert.match(r.output, /needs its servers/, r.output);
            assert.match(r.output, example);
        }
    });

    // Were the list checked only when httpd starts, a configtest would pass and the graceful
    // restart after it would stop httpd (see the graceful test below).
    test('a server list that cannot be used is refused at configtest, not at start', () => {
        const passed = [];
        for (const spec of ['redis:', 'redis:127.0.0.1', 'redis:127.0.0.1:99999', 'redis:127.0.0.1:6379,127.0.0.1:6380',
            'memcache:', 'memcache:127.0.0.1:notaport', 'memcache:127.0.0.1:11211,127.0.0.1:11211']) {
            const r = check(['IPSIESessionStore cache', `IPSIESessionCache ${spec}`]);
            if (r.code === 0) {
                passed.push(spec);
            } else {
                assert.match(r.output, /IPSIESessionCache/, `${spec}:\n${r.output}`);
            }
        }
        assert.deepEqual(passed, [], 'configtest passed these');
    });
});

describe('a configuration that passes configtest', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionStore cache'] });
    });
    after(() => stack?.stop());

    test('does not take the server down at the graceful restart after it (log rotation does one daily)', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        // The administrator moves the sessions to Redis and forgets the port.
        const conf = join(stack.httpd.dir, 'httpd.conf');
        const changed = readFileSync(conf, 'utf8').replace('IPSIESessionStore cache',
            'IPSIESessionStore cache\nIPSIESessionCache redis:127.0.0.1');
        assert.notEqual(changed, readFileSync(conf, 'utf8'));
        const r = configtest(changed);
        if (r.code !== 0) {
            assert.match(r.output, /IPSIESessionCache/);
            return; // refused before it could do harm
        }
        writeFileSync(conf, changed);
        let died;
        try {
            await stack.httpd.graceful(5000);
        } catch (err) {
            died = err.message.split('\n').filter((l) => /:emerg\]|AH00016/.test(l)).join('\n');
        }
        assert.equal(died, undefined, `configtest said "Syntax OK", then the graceful restart stopped httpd:\n${died}`);
    });
});

describe('a Redis nobody listens on', () => {
    for (const store of ['cache', 'cookie']) {
        describe(`${store} store`, () => {
            let stack;

            before(async () => {
                const port = await freePort();
                stack = await startStack({
                    directives: [
                        `IPSIESessionStore ${store}`,
                        `IPSIESessionCache redis:127.0.0.1:${port}`,
                        'IPSIESessionCacheTimeout 300',
                    ],
                });
            });
            after(() => stack?.stop());
            afterEach(() => assert.deepEqual(
                stack.httpd.errorLogProblems([/IPSIE11010/, /IPSIE12020/, /IPSIE09201/]), []));

            test('the first request that needs it answers 503 with the tagged lines, not 500', async () => {
                // httpd starts; starting a sign-in needs no store.
                const client = new Client();
                const { res, callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
                assert.ok(callbackUrl, `${res.status} ${res.body.slice(0, 200)}`);
                // Completing it spends the login state in the store: 503.
                const cb = await client.get(callbackUrl);
                assert.equal(cb.status, 503, cb.body);
                assert.match(cb.headers['content-type'], /text\/html/);
                assert.equal(logLines(stack.httpd, /\[auth_ipsie:error\]/, /IPSIE12020/).length, 1, stack.httpd.errorLog());
                assert.equal(logLines(stack.httpd, /IPSIE09201/, /cannot connect/).length, 1);

                if (store === 'cache') {
                    // A session cookie can only be looked up there: 503, cookie kept.
                    const holder = new Client();
                    holder.jar.set('ipsie_session', 'B'.repeat(43));
                    for (const xhr of [false, true]) {
                        const r = await holder.get(stack.url('/app/'), { xhr });
                        assert.equal(r.status, 503, r.body);
                        assert.ok(!clearsCookie(r, 'ipsie_session'));
                    }
                    assert.equal(logLines(stack.httpd, /\[auth_ipsie:error\]/, /IPSIE11010/).length, 2, stack.httpd.errorLog());
                }
                assert.equal(logLines(stack.httpd, /\[[\w.]*:(error|crit|alert|emerg)\]/)
                    .filter((l) => !/IPSIE11010|IPSIE12020|IPSIE09201/.test(l)).length, 0);
            });
        });
    }
});
