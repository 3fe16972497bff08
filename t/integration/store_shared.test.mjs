// Two hosts behind a load balancer sharing one Redis or one memcached (SPEC section 3): the
// same passphrase, client and cookie name on both, IPSIESessionCache naming the same server.
// A session made on one is served by the other; a logout on one ends it on both, in both
// stores (the cache store keeps the session there; the cookie store keeps its revocation
// entries there); a login state is spent for both.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, confirmOpLogout, login, request } from './lib/client.mjs';
import { startKvServer, redisCommand } from './lib/kvserver.mjs';
import { startStack } from './lib/stack.mjs';
import { logLines, query, stateCookieName } from './lib/util.mjs';

async function info(client, site) {
    const res = await client.get(`${site.redirectUri}?info=json`, { xhr: true });
    assert.equal(res.status, 200, `${site.origin}: ${res.status} ${res.body}`);
    return res.json();
}

function withCookie(value) {
    const client = new Client();
    client.jar.set('ipsie_session', value);
    return client;
}

for (const kind of ['redis', 'memcached']) {
    for (const store of ['cache', 'cookie']) {
        describe(`two hosts sharing ${kind}, ${store} store`, () => {
            let kv;
            let stack;
            let a;
            let b;

            before(async () => {
                kv = await startKvServer(kind);
                stack = await startStack({
                    httpds: 2,
                    backchannelLogout: true,
                    opTestHooks: true,
                    directives: [
                        `IPSIESessionStore ${store}`,
                        `IPSIESessionCache ${kv.spec}`,
                        'IPSIESessionCacheTimeout 300',
                    ],
                });
                [a, b] = stack.sites;
            });
            after(async () => {
                await stack?.stop();
                await kv?.stop();
            });
            afterEach(() => {
                for (const site of stack.sites) {
                    assert.deepEqual(site.httpd.errorLogProblems([]), [], site.origin);
                }
            });

            test('logged in on one host, served by the other; logged out on one, out on both', async () => {
                const alice = new Client();
                const bob = new Client();
                await login(alice, a.url('/app/'), 'alice');
                await login(bob, b.url('/app/'), 'bob');
                // One jar for both hosts (cookies are per host, not per port): the session
                // cookie made by A reaches B, and B's own code knows it.
                for (const [client, sub] of [[alice, 'alice'], [bob, 'bob']]) {
                    const viaA = await info(client, a);
                    const viaB = await info(client, b);
                    assert.equal(viaA.sub, sub);
                    assert.deepEqual(viaB, { ...viaA, remaining: viaB.remaining, idle_remaining: viaB.idle_remaining });
                    for (const site of [a, b]) {
                        const res = await client.get(site.url('/app/x'), { xhr: true });
                        assert.equal(res.status, 200, `${sub} at ${site.origin}`);
                        assert.equal(res.json().headers['ipsie-claim-sub'], sub);
                    }
                }
                if (store === 'cache') {
                    assert.match(alice.jar.get('ipsie_session'), /^[A-Za-z0-9_-]{43}$/);
                }

                const copied = alice.jar.get('ipsie_session');
                const out = await alice.get(`${b.redirectUri}?logout=${encodeURIComponent('/app/')}`);
                assert.equal(out.status, 302, out.body);
                assert.equal(query(out.location).get('post_logout_redirect_uri'), `${b.origin}/app/`);
                for (const site of [a, b]) {
                    const res = await withCookie(copied).get(site.url('/app/'), { xhr: true });
                    assert.equal(res.status, 401, `the copied cookie at ${site.origin}`);
                    assert.equal(res.json().error, 'login_required');
                    assert.equal((await alice.get(site.url('/app/'), { xhr: true })).status, 401);
                    // Another user's session is untouched.
                    assert.equal((await bob.get(site.url('/app/'), { xhr: true })).status, 200, `bob at ${site.origin}`);
                }
                assert.equal(logLines(b.httpd, /IPSIE11003/, /reason=logout/, /sub=alice\b/).length, 1);
                if (store === 'cookie') {
                    // Host A, which never saw the logout, ended the copy through the revocation entry.
                    assert.equal(logLines(a.httpd, /IPSIE11003/, /reason=revoked/, /sub=alice\b/).length, 1,
                        a.httpd.errorLog());
                }
            });

            test('a login state spent on one host is refused on the other, without asking the provider', async () => {
                const client = new Client();
                const { callbackUrl } = await login(client, a.url('/app/'), 'carol', { stopAtCallback: true });
                const state = query(callbackUrl).get('state');
                const cookie = client.jar.get(stateCookieName(state));
                assert.ok(cookie);
                const done = await client.get(callbackUrl);
                assert.equal(done.status, 302, done.body);
                assert.equal((await info(client, b)).sub, 'carol');

                // The same response, with the same state cookie, at host B.
                const replay = new Client();
                replay.jar.set(stateCookieName(state), cookie);
                const url = new URL(callbackUrl);
                const res = await replay.get(`${b.redirectUri}${url.search}`);
                assert.equal(res.status, 400, res.body);
                assert.equal(replay.jar.get('ipsie_session'), undefined);
                assert.equal(logLines(b.httpd, /auth_ipsie:warn/, /IPSIE12019/).length, 1, b.httpd.errorLog());
                assert.equal(logLines(b.httpd, /IPSIE12007/).length, 0, 'no token request');
            });

            test('a back-channel logout received by one host ends the session on the other', async () => {
                // The OP calls host A (the client's one back-channel URI); erin uses host B.
                const erin = new Client();
                const gail = new Client();
                await login(erin, b.url('/app/'), 'erin');
                await login(gail, b.url('/app/'), 'gail');
                const done = await confirmOpLogout(erin, `${stack.op.issuer}/session/end`);
                assert.equal(done.status, 303);
                const sent = (await stack.op.report()).logoutTokens.at(-1);
                assert.equal(sent.url, `${a.redirectUri}?logout=backchannel`);
                assert.equal(sent.status, 200);
                assert.equal(logLines(a.httpd, /IPSIE12024/, /sub=erin/).length, 1);
                for (const site of [b, a]) {
                    assert.equal((await erin.get(site.url('/app/'), { xhr: true })).status, 401, site.origin);
                    assert.equal((await gail.get(site.url('/app/'), { xhr: true })).status, 200, site.origin);
                }
                // Its jti is spent for both hosts: the same token at host B is a replay.
                const replay = await request(`${b.redirectUri}?logout=backchannel`, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                    body: new URLSearchParams({ logout_token: sent.token }).toString(),
                });
                assert.equal(replay.status, 400, replay.body);
                assert.match(replay.json().error_description, /used already/);
            });

            if (kind === 'redis' && store === 'cache') {
                test('a dump of the store yields no usable cookie', async () => {
                    const client = new Client();
                    await login(client, a.url('/app/'), 'dave');
                    const id = client.jar.get('ipsie_session');
                    const keys = await redisCommand(kv.port, 'KEYS', '*');
                    assert.ok(keys.length > 0);
                    const values = await Promise.all(keys.map(async (k) => {
                        const type = await redisCommand(kv.port, 'TYPE', k);
                        return type === 'string' ? redisCommand(kv.port, 'GET', k) : redisCommand(kv.port, 'ZRANGE', k, 0, -1);
                    }));
                    const dump = JSON.stringify([keys, values]);
                    assert.ok(!dump.includes(id), 'the cookie value is nowhere in the store');
                    assert.ok(!dump.includes('dave'), 'nor the session in clear');
                    // No key or value of the store, used as the cookie, is a session.
                    const candidates = [...keys, ...values.flat()].filter((v) => typeof v === 'string' && v.length < 4000);
                    for (const candidate of candidates) {
                        const res = await withCookie(candidate).get(b.url('/app/'), { xhr: true });
                        assert.equal(res.status, 401, `a cookie made of ${candidate.slice(0, 40)}...`);
                    }
                    assert.equal((await client.get(b.url('/app/'), { xhr: true })).status, 200);
                });

                test('a user\'s index lists the sessions that have not ended, and goes with the last', async () => {
                    const userIndexes = async () => (await redisCommand(kv.port, 'KEYS', 'ipsie:xu:*'));
                    const before = new Set(await userIndexes());
                    const one = new Client();
                    const two = new Client();
                    await login(one, a.url('/app/'), 'ivy');
                    await login(two, b.url('/app/'), 'ivy');
                    const mine = (await userIndexes()).filter((k) => !before.has(k));
                    assert.equal(mine.length, 1, 'one index for ivy');
                    assert.equal(await redisCommand(kv.port, 'ZCARD', mine[0]), 2);
                    await one.get(`${a.redirectUri}?logout=`);
                    assert.equal(await redisCommand(kv.port, 'ZCARD', mine[0]), 1);
                    await two.get(`${b.redirectUri}?logout=`);
                    assert.equal(await redisCommand(kv.port, 'EXISTS', mine[0]), 0, 'the empty index is gone');
                });
            }
        });
    }
}
