// The shared store is an external part that fails (SPEC section 3): a Redis or memcached that
// is frozen (SIGSTOP: it accepts connections and never answers), killed, or answers garbage
// gives a clear 503 (a page for browsers, {"error":"temporarily_unavailable"} for scripts)
// within IPSIESessionCacheTimeout and a margin, and for each request one IPSIE11010 line with
// the client's own IPSIE092xx (Redis) or IPSIE093xx (memcached) line: never a 500, never a
// redirect to the provider for a user who has a session, never a session accepted without the
// store's word. When the store returns, sessions made before the outage work again without
// restarting httpd.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { startKvServer } from './lib/kvserver.mjs';
import { startStack } from './lib/stack.mjs';
import { clearsCookie, logLines } from './lib/util.mjs';

const TIMEOUT = 300;
// What a request may take beyond the store's bound (a busy machine runs four suites at once).
const MARGIN = 700;

const CLIENT_LINE = { redis: /IPSIE092\d\d/, memcached: /IPSIE093\d\d/ };
const ALLOWED = [/IPSIE11010/, /IPSIE12020/, /IPSIE092\d\d/, /IPSIE093\d\d/];

async function timed(fn) {
    const t0 = performance.now();
    const res = await fn();
    return { res, ms: performance.now() - t0 };
}

// Asserts res is the store-unavailable answer: 503, JSON for scripts or a page for browsers,
// Retry-After, the session cookie kept (the session is not lost), no redirect.
function assertUnavailable(res, { xhr }) {
    assert.equal(res.status, 503, `${res.url}: ${res.status} ${res.location ?? ''} ${res.body.slice(0, 200)}`);
    assert.equal(res.location, undefined, 'no redirect to the provider');
    assert.ok(res.headers['retry-after'], 'Retry-After');
    assert.ok(!clearsCookie(res, 'ipsie_session'), 'the session cookie is kept for when the store returns');
    if (xhr) {
        assert.deepEqual(res.json(), { error: 'temporarily_unavailable' });
    } else {
        assert.match(res.headers['content-type'], /text\/html/);
    }
}

// The error lines logged since the last look: exactly one of each pattern, in any order.
function assertLines(httpd, patterns, what) {
    const lines = httpd.errorLogProblems([]);
    assert.equal(lines.length, patterns.length, `${what}: ${patterns.join(' ')} expected, logged:\n${lines.join('\n')}`);
    for (const re of patterns) {
        assert.equal(lines.filter((l) => re.test(l)).length, 1, `${what}: one ${re} line in:\n${lines.join('\n')}`);
    }
}

for (const kind of ['redis', 'memcached']) {
    for (const store of ['cache', 'cookie']) {
        describe(`${kind} frozen and thawed, ${store} store`, () => {
            let kv;
            let stack;

            before(async () => {
                kv = await startKvServer(kind);
                stack = await startStack({
                    opTestHooks: true,
                    directives: [
                        `IPSIESessionStore ${store}`,
                        `IPSIESessionCache ${kv.spec}`,
                        `IPSIESessionCacheTimeout ${TIMEOUT}`,
                    ],
                });
            });
            after(async () => {
                await stack?.stop();
                await kv?.stop();
            });
            afterEach(async () => {
                await kv.thaw();
                assert.deepEqual(stack.httpd.errorLogProblems(ALLOWED), []);
            });

            test('frozen: 503 within the bound, one tagged line each; thawed: the same session again', async () => {
                const alice = new Client();
                await login(alice, stack.url('/app/'), 'alice');
                const pending = new Client();
                const { callbackUrl } = await login(pending, stack.url('/app/'), 'bob', { stopAtCallback: true });
                const tokens = (await stack.op.report()).tokenRequests;
                assert.deepEqual(stack.httpd.errorLogProblems([]), []);

                await kv.freeze();
                for (const [what, fn, xhr] of [
                    ['a page', () => alice.get(stack.url('/app/page')), false],
                    ['an API call', () => alice.get(stack.url('/app/api'), { xhr: true }), true],
                    ['?info=json', () => alice.get(`${stack.redirectUri}?info=json`, { xhr: true }), true],
                ]) {
                    const { res, ms } = await timed(fn);
                    assertUnavailable(res, { xhr });
                    assert.ok(ms < TIMEOUT + MARGIN, `${what}: answered in ${Math.round(ms)} ms`);
                    assertLines(stack.httpd, [/IPSIE11010/, CLIENT_LINE[kind]], what);
                }
                // Several at once: each bounded, none served.
                const many = await timed(() => Promise.all(Array.from({ length: 6 },
                    (_, i) => alice.get(stack.url(`/app/p${i}`), { xhr: true }))));
                for (const res of many.res) {
                    assertUnavailable(res, { xhr: true });
                }
                assert.ok(many.ms < TIMEOUT + MARGIN, `6 at once answered in ${Math.round(many.ms)} ms`);
                const lines = stack.httpd.errorLogProblems([]);
                assert.equal(lines.filter((l) => /IPSIE11010/.test(l)).length, 6, lines.join('\n'));

                // A sign-in cannot be completed without spending its state: 503, and the
                // provider's token endpoint is not called.
                const { res: cb, ms } = await timed(() => pending.get(callbackUrl));
                assertUnavailable(cb, { xhr: false });
                assert.ok(ms < TIMEOUT + MARGIN, `the callback answered in ${Math.round(ms)} ms`);
                assertLines(stack.httpd, [/IPSIE12020/, CLIENT_LINE[kind]], 'the callback');
                assert.equal((await stack.op.report()).tokenRequests, tokens, 'no token request');

                await kv.thaw();
                const back = await alice.get(stack.url('/app/page'));
                assert.equal(back.status, 200, `after the thaw: ${back.status} ${back.body.slice(0, 200)}`);
                assert.equal(back.json().headers['ipsie-claim-sub'], 'alice');
                assert.equal((await alice.get(`${stack.redirectUri}?info=json`, { xhr: true })).json().sub, 'alice');
                // And a new sign-in works.
                const carol = new Client();
                const done = await login(carol, stack.url('/app/'), 'carol');
                assert.equal(done.res.status, 200, done.res.body);
                assert.deepEqual(stack.httpd.errorLogProblems([]), [], 'nothing more once it is back');
            });

            test('a logout while the store is frozen is not confirmed: 503, the cookie kept; logging out again finishes it', async () => {
                const dave = new Client();
                await login(dave, stack.url('/app/'), 'dave');
                const copied = dave.jar.get('ipsie_session');
                stack.httpd.errorLogProblems([]);

                await kv.freeze();
                const { res, ms } = await timed(() => dave.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`));
                await kv.thaw();
                assert.ok(ms < TIMEOUT + MARGIN, `answered in ${Math.round(ms)} ms`);
                assertUnavailable(res, { xhr: false });
                assert.match(res.body, /Not logged out yet/);
                // The store's own line (the read of a server-side session, the revocation of a
                // cookie session) and one saying the logout was not carried out.
                assertLines(stack.httpd, [CLIENT_LINE[kind], /IPSIE12026/, ...(store === 'cookie' ? [/IPSIE11014/] : [])],
                    'the logout');

                // The session is still there, so logging out again does the job, at the
                // provider too, and a copy of the cookie made before is dead. A revocation
                // written to the frozen server may also be carried out when it wakes (its
                // outcome was unknown): then the session has ended already.
                const now = await dave.get(stack.url('/app/'), { xhr: true });
                if (store === 'cookie' && now.status === 401) {
                    assert.deepEqual(now.json(), { error: 'login_required' });
                } else {
                    assert.equal(now.status, 200, now.body);
                    const again = await dave.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
                    assert.equal(again.status, 302, again.body);
                    assert.ok(again.location.startsWith(`${stack.op.issuer}/session/end?`), again.location);
                    assert.ok(clearsCookie(again, 'ipsie_session'));
                }
                const copy = new Client();
                copy.jar.set('ipsie_session', copied);
                assert.equal((await copy.get(stack.url('/app/'), { xhr: true })).status, 401);
                assert.deepEqual(stack.httpd.errorLogProblems([]), [], 'nothing more once it is back');
            });
        });
    }

    describe(`${kind} killed, then started again on its port`, () => {
        let kv;
        let stack;
        let cookieStack;

        before(async () => {
            kv = await startKvServer(kind);
            const directives = (store) => [
                `IPSIESessionStore ${store}`,
                `IPSIESessionCache ${kv.spec}`,
                `IPSIESessionCacheTimeout ${TIMEOUT}`,
            ];
            stack = await startStack({ directives: directives('cache') });
            cookieStack = await startStack({ directives: directives('cookie') });
        });
        after(async () => {
            await stack?.stop();
            await cookieStack?.stop();
            await kv?.stop();
        });
        afterEach(() => {
            for (const s of [stack, cookieStack]) {
                assert.deepEqual(s.httpd.errorLogProblems(ALLOWED), []);
            }
        });

        test('down: 503 at once; back empty: the cache session is gone (sent to log in), a cookie session goes on', async () => {
            const erin = new Client();
            await login(erin, stack.url('/app/'), 'erin');
            const fred = new Client();
            await login(fred, cookieStack.url('/app/'), 'fred');

            await kv.kill();
            for (const [s, client] of [[stack, erin], [cookieStack, fred]]) {
                for (const xhr of [false, true]) {
                    const { res, ms } = await timed(() => client.get(s.url('/app/'), { xhr }));
                    assertUnavailable(res, { xhr });
                    assert.ok(ms < TIMEOUT + MARGIN, `answered in ${Math.round(ms)} ms`);
                    assertLines(s.httpd, [/IPSIE11010/, CLIENT_LINE[kind]], `down, ${xhr ? 'XHR' : 'browser'}`);
                }
            }

            // Started again on the same port with no persistence (--save '' --appendonly no,
            // memcached never keeps anything): its data is lost. For the cache store that is
            // the session itself, so the user is sent to log in; that is what a store restarted
            // without persistence means, and the README says so.
            await kv.start();
            const browser = await erin.get(stack.url('/app/'));
            assert.equal(browser.status, 302, browser.body);
            assert.ok(browser.location.startsWith(`${stack.op.issuer}/auth?`), browser.location);
            const again = await login(erin, browser, 'erin');
            assert.equal(again.res.status, 200, again.res.body);
            assert.equal(again.res.json().headers['ipsie-claim-sub'], 'erin');
            // The cookie store only kept revocation entries there: its session carries on.
            const cookie = await fred.get(cookieStack.url('/app/'), { xhr: true });
            assert.equal(cookie.status, 200, cookie.body);
            assert.equal(cookie.json().headers['ipsie-claim-sub'], 'fred');
        });
    });
}

// A server that answers every request with the same bytes, where the store should be.
async function startGarbageServer(answer) {
    const sockets = new Set();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        socket.on('data', () => socket.write(answer));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        port: server.address().port,
        stop: () => new Promise((resolve) => {
            for (const s of sockets) {
                s.destroy();
            }
            server.close(() => resolve());
        }),
    };
}

for (const [kind, answer] of [['redis', '%garbage\r\n'], ['memcached', 'VALUE x 0 5\r\nnope\r\n']]) {
    describe(`${kind} answering garbage`, () => {
        let fake;
        let stack;

        before(async () => {
            fake = await startGarbageServer(answer);
            stack = await startStack({
                directives: [
                    'IPSIESessionStore cache',
                    `IPSIESessionCache ${kind === 'redis' ? 'redis' : 'memcache'}:127.0.0.1:${fake.port}`,
                    `IPSIESessionCacheTimeout ${TIMEOUT}`,
                ],
            });
        });
        after(async () => {
            await stack?.stop();
            await fake?.stop();
        });
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(ALLOWED), []));

        test('a session cookie: 503 and the tagged lines, not a session and not a 500', async () => {
            const client = new Client();
            client.jar.set('ipsie_session', 'A'.repeat(43));
            for (const xhr of [false, true]) {
                const { res, ms } = await timed(() => client.get(stack.url('/app/'), { xhr }));
                assertUnavailable(res, { xhr });
                assert.ok(ms < TIMEOUT + MARGIN, `answered in ${Math.round(ms)} ms`);
                assertLines(stack.httpd, [/IPSIE11010/, CLIENT_LINE[kind]], xhr ? 'XHR' : 'browser');
            }
            assert.equal(logLines(stack.httpd, /IPSIE11003/).length, 0, 'no session was ended: the store could not say');
            // Without a cookie nothing needs the store: the sign-in starts.
            const fresh = await request(stack.url('/app/'), { headers: { Accept: 'text/html' } });
            assert.equal(fresh.status, 302);
        });
    });
}
