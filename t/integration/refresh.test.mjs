// Refresh tokens (SPEC section 1, "Access tokens" and "Refresh never moves the ceiling")
// against the real oidc-provider, in both stores: IPSIERefreshAccessTokenBeforeExpiry refreshes
// the access token before it expires and IPSIEPassAccessToken passes the current one; a refresh
// never moves the ceiling, even when the refreshed ID token carries a later session_expiry; one
// refresh per session at a time, and a request that still carries the tokens refreshed takes
// the new ones (a rotated refresh token is never presented twice); a refresh the OP refuses ends
// the session (reason=refresh_failed); an OP that cannot be reached leaves the session and its
// token. IPSIESessionExpiryAction refresh: at the ceiling a refresh whose new ID token carries
// a later session_expiry renews the session, else the usual prompt=login / 401.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startKvServer } from './lib/kvserver.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { clearsCookie, logLines, nowS, query, sleep, sleepUntil } from './lib/util.mjs';

// Access tokens of 20 s refreshed 17 s before they expire: each is due 3 s after it was issued.
const TOKEN_TTL = 20;
const BEFORE = 17;
const DUE_MS = (TOKEN_TTL - BEFORE) * 1000 + 300;

const accessToken = (res) => res.json().headers['ipsie-access-token'];

// The OP's opt-ins for refresh tokens (t/op/op.mjs).
const REFRESHING_OP = {
    refreshTokens: true,
    accessTokenTtl: TOKEN_TTL,
    rotateRefreshTokens: true,
    refreshSessionExpiry: true,
};

// A stack whose OP hands out refresh tokens and whose /app passes the access token on; more
// options (httpds, ...) go to startStack as they are.
const startRefreshingStack = (directives, more = {}) => startStack({
    directives,
    locations: (backend) => protectedLocation('/app', backend, { extra: ['IPSIEPassAccessToken On'] }),
    opTestHooks: true,
    opOptions: REFRESHING_OP,
    ...more,
});

// The request a browser would make now carrying exactly the cookies it held then.
function clientWith(cookies) {
    const client = new Client();
    for (const [name, value] of cookies) {
        client.jar.set(name, value);
    }
    return client;
}

const cookiesOf = (client) => client.jar.names().filter((n) => n.startsWith('ipsie_session'))
    .map((n) => [n, client.jar.get(n)]);

for (const store of ['cookie', 'cache']) {
    describe(`access token refresh (${store} store)`, () => {
        let stack;

        before(async () => {
            stack = await startRefreshingStack([
                `IPSIESessionStore ${store}`,
                'IPSIEScope "openid email profile groups offline_access"',
                `IPSIERefreshAccessTokenBeforeExpiry ${BEFORE}`,
            ]);
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

        test('the access token is refreshed before it expires and the current one passed on; the ceiling stays', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'alice');
            assert.equal(res.status, 200, res.body);
            const first = accessToken(res);
            const ceiling = res.json().headers['ipsie-session-expiry'];
            assert.ok(first?.length > 10, 'IPSIE-Access-Token is passed');
            const report = await stack.op.report();

            const early = await client.get(stack.url('/app/early'));
            assert.equal(accessToken(early), first, 'not due yet');
            assert.equal((await stack.op.report()).refreshes, report.refreshes);

            await sleep(DUE_MS);
            const second = await client.get(stack.url('/app/due'));
            assert.equal(second.status, 200);
            assert.notEqual(accessToken(second), first, 'a new access token');
            assert.equal(second.json().headers['ipsie-session-expiry'], ceiling,
                'the refreshed ID token\'s later session_expiry does not move the ceiling');
            assert.equal((await stack.op.report()).refreshes, report.refreshes + 1);
            assert.equal(logLines(stack.httpd, /IPSIE17001/, /sub=alice/).length, 1);

            // The refresh token was rotated: the next refresh uses the new one.
            await sleep(DUE_MS);
            const third = await client.get(stack.url('/app/again'));
            assert.equal(third.status, 200);
            assert.notEqual(accessToken(third), accessToken(second));
            assert.equal(third.json().headers['ipsie-session-expiry'], ceiling);
            const after = await stack.op.report();
            assert.equal(after.refreshes, report.refreshes + 2);
            assert.equal(after.refreshErrors, report.refreshErrors);
        });

        test('concurrent requests make one refresh, and a request with the cookie from before takes the new token', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'bob');
            const first = accessToken(res);
            const before = cookiesOf(client);
            const report = await stack.op.report();
            await sleep(DUE_MS);

            const burst = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => clientWith(before).get(stack.url(`/app/c${i}`))));
            for (const r of burst) {
                assert.equal(r.status, 200, r.body);
            }
            const seen = new Set(burst.map(accessToken));
            const refreshed = [...seen].filter((t) => t !== first);
            assert.equal(refreshed.length, 1, `one new token: ${[...seen]}`);
            assert.equal((await stack.op.report()).refreshes, report.refreshes + 1, 'one refresh');

            // The cookie from before the refresh, once more: the rotated refresh token is not
            // presented again (the OP would revoke the grant); the new access token is taken.
            const late = await clientWith(before).get(stack.url('/app/late'));
            assert.equal(late.status, 200);
            assert.equal(accessToken(late), refreshed[0]);
            const after = await stack.op.report();
            assert.equal(after.refreshes, report.refreshes + 1);
            assert.equal(after.refreshErrors, report.refreshErrors);
        });

        test('an OP that cannot be reached leaves the session and its current token (logged)', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'carol');
            const first = accessToken(res);
            await sleep(DUE_MS);
            await stack.op.stop();
            try {
                const during = await client.get(stack.url('/app/during'));
                assert.equal(during.status, 200, during.body);
                assert.equal(accessToken(during), first);
                assert.equal(logLines(stack.httpd, /IPSIE17004/, /sub=carol/).length, 1);
                // Tried again after a pause, not on every request.
                assert.equal((await client.get(stack.url('/app/during2'))).status, 200);
                assert.equal(logLines(stack.httpd, /IPSIE17004/, /sub=carol/).length, 1);
            } finally {
                await stack.restartOP();
            }
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE17004/, /IPSIE08005/, /IPSIE08202/]), []);
        });

        test('a refresh the OP refuses ends the session with reason=refresh_failed', async () => {
            const client = new Client();
            await login(client, stack.url('/app/'), 'dave');
            const xhrClient = clientWith(cookiesOf(client));
            // The OP started again has forgotten every grant: invalid_grant.
            await stack.restartOP();
            await sleep(DUE_MS);
            const xhr = await xhrClient.get(stack.url('/app/api'), { xhr: true });
            assert.equal(xhr.status, 401);
            assert.equal(xhr.json().error, 'login_required');
            assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=refresh_failed/, /sub=dave/).length, 1,
                stack.httpd.errorLog());
            assert.equal(logLines(stack.httpd, /IPSIE17003/, /sub=dave/).length, 1);
            // The same session in the browser ends too (a copy of a cookie session included),
            // and it is sent to sign in, normally (no prompt=login).
            const browser = await client.get(stack.url('/app/page'));
            assert.equal(browser.status, 302);
            assert.equal(query(browser.location).get('prompt'), null);
            assert.ok(clearsCookie(browser, 'ipsie_session'));
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08203/]), []);
        });
    });
}

describe('access token refresh without offline_access in IPSIEScope', () => {
    let stack;

    before(async () => {
        stack = await startRefreshingStack(['IPSIEScope "openid email"', `IPSIERefreshAccessTokenBeforeExpiry ${BEFORE}`]);
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the OP hands out no refresh token, and the access token is passed until it expires', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'kim');
        assert.equal(res.status, 200, res.body);
        const first = accessToken(res);
        await sleep(DUE_MS);
        const due = await client.get(stack.url('/app/due'));
        assert.equal(due.status, 200);
        assert.equal(accessToken(due), first);
        const report = await stack.op.report();
        assert.equal(report.refreshes + report.refreshErrors, 0, 'no refresh asked for');
        assert.equal(logLines(stack.httpd, /IPSIE170/).length, 0);
    });
});

describe('IPSIERefreshAccessTokenBeforeExpiry not below the access token lifetime', () => {
    let stack;

    before(async () => {
        stack = await startRefreshingStack(['IPSIEScope "openid offline_access"', `IPSIERefreshAccessTokenBeforeExpiry ${TOKEN_TTL}`]);
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('a login warns that every request would refresh the token', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'lee');
        assert.equal(res.status, 200, res.body);
        assert.equal(logLines(stack.httpd, /IPSIE17013/, new RegExp(`live ${TOKEN_TTL} s`)).length, 1,
            stack.httpd.errorLog());
        // And so it does: the next request already refreshes.
        const next = await client.get(stack.url('/app/next'));
        assert.equal(next.status, 200);
        assert.notEqual(accessToken(next), accessToken(res));
    });
});

for (const store of ['cookie', 'cache']) {
    describe(`IPSIESessionExpiryAction refresh (${store} store)`, () => {
        let stack;

        before(async () => {
            stack = await startStack({
                directives: [
                    `IPSIESessionStore ${store}`,
                    'IPSIEScope "openid email profile groups offline_access"',
                    'IPSIESessionExpiryAction refresh',
                    'IPSIESessionExpiryLeeway 2',
                    'IPSIESessionMaxDuration 8',
                ],
                opTestHooks: true,
                opOptions: { refreshTokens: true, refreshSessionExpiry: true },
            });
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

        async function info(client) {
            const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
            assert.equal(res.status, 200, res.body);
            return res.json();
        }

        test('at the ceiling a refresh with a later session_expiry renews the session', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'ttl6-erin');
            assert.equal(res.status, 200, res.body);
            const first = await info(client);
            assert.equal(first.ceiling, first.session_expiry - 2);
            const report = await stack.op.report();

            await sleepUntil(first.ceiling);
            const renewed = await client.get(stack.url('/app/after'));
            assert.equal(renewed.status, 200, renewed.body);
            const ceiling = Number(renewed.json().headers['ipsie-session-expiry']);
            assert.ok(ceiling > first.ceiling, `${ceiling} > ${first.ceiling}`);
            assert.ok(ceiling <= nowS() + 4, `the new session_expiry (now + 6) less the leeway: ${ceiling}`);
            assert.equal((await stack.op.report()).refreshes, report.refreshes + 1);
            assert.equal(logLines(stack.httpd, /IPSIE17002/, /sub=ttl6-erin/, new RegExp(`was ${first.ceiling}`)).length, 1,
                stack.httpd.errorLog());

            const second = await info(client);
            assert.equal(second.ceiling, ceiling);
            assert.equal(second.login_time, first.login_time, 'the same session');
            assert.equal(second.sub, 'ttl6-erin');
            assert.equal(logLines(stack.httpd, /IPSIE11003/, /sub=ttl6-erin/).length, 0, 'it did not end');
        });

        test('the renewed ceiling is still bounded by IPSIESessionMaxDuration, counted from the renewal', async () => {
            const client = new Client();
            await login(client, stack.url('/app/'), 'ttl30-frank');
            const first = await info(client);
            assert.equal(first.ceiling, first.login_time + 8, 'IPSIESessionMaxDuration is shorter');
            await sleepUntil(first.ceiling);
            const at = nowS();
            const renewed = await client.get(stack.url('/app/after'), { xhr: true });
            assert.equal(renewed.status, 200, renewed.body);
            const second = await info(client);
            assert.ok(second.session_expiry >= at + 30 && second.session_expiry <= nowS() + 30,
                `the provider's new session_expiry: ${second.session_expiry}`);
            assert.ok(second.ceiling >= at + 8 && second.ceiling <= nowS() + 8,
                `min(session_expiry - 2, renewal + 8): ${second.ceiling}`);
        });

        test('concurrent requests at the ceiling make one refresh and all go on with the renewed session', async () => {
            const client = new Client();
            await login(client, stack.url('/app/'), 'ttl6-ivy');
            const first = await info(client);
            const cookies = cookiesOf(client);
            const report = await stack.op.report();
            await sleepUntil(first.ceiling);
            const burst = await Promise.all([1, 2, 3, 4, 5].map((i) => clientWith(cookies).get(stack.url(`/app/c${i}`), { xhr: true })));
            for (const r of burst) {
                assert.equal(r.status, 200, r.body);
                assert.ok(Number(r.json().headers['ipsie-session-expiry']) > first.ceiling);
            }
            assert.equal((await stack.op.report()).refreshes, report.refreshes + 1, 'one refresh');
            assert.equal(logLines(stack.httpd, /IPSIE17002/, /sub=ttl6-ivy/).length, 1);
        });

        test('at the ceiling without a later session_expiry: prompt=login, and 401 session_expired', async () => {
            // No session_expiry: the ceiling is login + IPSIESessionMaxDuration (8 s); the
            // refreshed ID token has none either.
            const browser = new Client();
            await login(browser, stack.url('/app/'), 'noexpiry-gina');
            const xhr = clientWith(cookiesOf(browser));
            const first = await info(browser);
            assert.equal(first.session_expiry, null);
            await sleepUntil(first.ceiling);
            const b = await browser.get(stack.url('/app/page'));
            assert.equal(b.status, 302);
            assert.equal(query(b.location).get('prompt'), 'login');
            const x = await xhr.get(stack.url('/app/api'), { xhr: true });
            assert.equal(x.status, 401);
            assert.match(x.json().error, /session_expired|login_required/);
            assert.ok(logLines(stack.httpd, /IPSIE17006/, /sub=noexpiry-gina/).length >= 1, stack.httpd.errorLog());
            // Each copy of a cookie session ends on its own; the cache store's entry once.
            assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=ceiling/, /sub=noexpiry-gina/).length,
                store === 'cookie' ? 2 : 1);
        });

        test('at the ceiling a refresh the OP refuses: prompt=login', async () => {
            const client = new Client();
            await login(client, stack.url('/app/'), 'ttl6-hal');
            const first = await info(client);
            await stack.restartOP();
            await sleepUntil(first.ceiling);
            const res = await client.get(stack.url('/app/page'));
            assert.equal(res.status, 302);
            assert.equal(query(res.location).get('prompt'), 'login');
            assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=ceiling/, /sub=ttl6-hal/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08203/]), []);
        });
    });
}

describe('a refreshed ID token about another user', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            directives: [
                'IPSIEScope "openid offline_access"',
                `IPSIERefreshAccessTokenBeforeExpiry ${BEFORE}`,
                'IPSIESessionExpiryAction refresh',
                'IPSIESessionExpiryLeeway 2',
                'IPSIESessionMaxDuration 8',
            ],
            opTestHooks: true,
            opOptions: { ...REFRESHING_OP, refreshOtherSub: true },
        });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('ends the session when it refreshes the access token (reason=refresh_failed)', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'mia');
        assert.equal(res.status, 200, res.body);
        await sleep(DUE_MS);
        const xhr = await client.get(stack.url('/app/api'), { xhr: true });
        assert.equal(xhr.status, 401);
        assert.equal(xhr.json().error, 'login_required');
        assert.equal((await stack.op.report()).refreshes, 1, 'the OP answered the refresh');
        assert.equal(logLines(stack.httpd, /IPSIE17003/, /sub=mia/, /another iss, sub or sid/).length, 1,
            stack.httpd.errorLog());
        assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=refresh_failed/, /sub=mia/).length, 1);
    });

    test('renews nothing at the ceiling: prompt=login', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'ttl6-nina');
        const info = (await client.get(`${stack.redirectUri}?info=json`, { xhr: true })).json();
        await sleepUntil(info.ceiling);
        const res = await client.get(stack.url('/app/page'));
        assert.equal(res.status, 302);
        assert.equal(query(res.location).get('prompt'), 'login');
        assert.equal(logLines(stack.httpd, /IPSIE17006/, /sub=ttl6-nina/, /another iss, sub or sid/).length, 1,
            stack.httpd.errorLog());
        assert.equal(logLines(stack.httpd, /IPSIE17002/).length, 0);
        assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=ceiling/, /sub=ttl6-nina/).length, 1);
    });
});

describe('two hosts sharing Redis, cookie store', () => {
    let kv;
    let stack;

    before(async () => {
        kv = await startKvServer('redis');
        stack = await startRefreshingStack([
            `IPSIESessionCache ${kv.spec}`,
            'IPSIEScope "openid email profile groups offline_access"',
            `IPSIERefreshAccessTokenBeforeExpiry ${BEFORE}`,
        ], { httpds: 2 });
    });
    after(async () => {
        await stack?.stop();
        await kv?.stop();
    });
    afterEach(() => {
        for (const site of stack.sites) {
            assert.deepEqual(site.httpd.errorLogProblems(), [], site.origin);
        }
    });

    test('requests spread over both hosts make one refresh, and both pass the new token afterwards', async () => {
        const [a, b] = stack.sites;
        const client = new Client();
        const { res } = await login(client, a.url('/app/'), 'judy');
        const first = accessToken(res);
        const cookies = cookiesOf(client);
        const report = await stack.op.report();
        await sleep(DUE_MS);
        const burst = await Promise.all([a, b, a, b, a, b].map((site, i) => clientWith(cookies).get(site.url(`/app/h${i}`))));
        for (const r of burst) {
            assert.equal(r.status, 200, r.body);
        }
        const fresh = [...new Set(burst.map(accessToken))].filter((t) => t !== first);
        assert.equal(fresh.length, 1, 'one new token');
        assert.equal((await stack.op.report()).refreshes, report.refreshes + 1, 'one refresh for both hosts');
        for (const site of [a, b]) {
            const late = await clientWith(cookies).get(site.url('/app/late'));
            assert.equal(accessToken(late), fresh[0], `${site.origin} takes the refreshed token`);
        }
        assert.equal((await stack.op.report()).refreshErrors, report.refreshErrors);
    });
});
