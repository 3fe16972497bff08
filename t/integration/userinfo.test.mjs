// UserInfo (SPEC section 2) against the real oidc-provider: read after the token request with
// the access token, its claims added to the session's (the ID token's win, session_expiry and
// the other protocol claims never taken from it), in both stores; IPSIEUserInfo Off; a UserInfo
// about another user refuses the login with a page, one that fails is a 502 page and no
// session; IPSIEUserInfoRefreshInterval reads it again, and a failure keeps the claims.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { logLines, nowS, pageText, sleep } from './lib/util.mjs';

const sessionCookies = (client) => client.jar.names().filter((n) => n.startsWith('ipsie_session'));

for (const store of ['cookie', 'cache']) {
    describe(`UserInfo at login (${store} store)`, () => {
        let stack;

        before(async () => {
            stack = await startStack({
                directives: [`IPSIESessionStore ${store}`],
                opTestHooks: true,
                opOptions: { userinfoOnlyClaims: true },
            });
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

        test('claims that only UserInfo returns reach the application; the ID token\'s win', async () => {
            const before = (await stack.op.report()).userinfoRequests;
            const client = new Client();
            const { res } = await login(client, stack.url('/app/page'), 'alice');
            assert.equal(res.status, 200, res.body);
            assert.equal((await stack.op.report()).userinfoRequests, before + 1, 'one UserInfo request');
            const seen = res.json().headers;
            assert.equal(seen['ipsie-claim-department'], 'engineering');
            assert.equal(seen['ipsie-claim-office'], '4.12');
            // The ID token has an email and a session_expiry: UserInfo's are not taken.
            assert.equal(seen['ipsie-claim-email'], 'alice@example.test');
            const ceiling = Number(seen['ipsie-session-expiry']);
            assert.ok(ceiling > nowS() + 3000, `ceiling ${ceiling}`);
            assert.equal(Number(seen['ipsie-claim-session-expiry']), ceiling + 30);
            // And they stay with the session.
            const again = (await client.get(stack.url('/app/next'))).json().headers;
            assert.equal(again['ipsie-claim-department'], 'engineering');
            assert.equal(again['ipsie-claim-email'], 'alice@example.test');
            assert.equal((await stack.op.report()).userinfoRequests, before + 1, 'not read again');
            assert.ok(sessionCookies(client).length >= 1);
        });

        test('the access token travels as a Bearer token and is never logged', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'bob');
            assert.equal(res.status, 200, res.body);
            assert.equal(logLines(stack.httpd, /IPSIE087|IPSIE180/).length, 0, 'no UserInfo failure');
            assert.doesNotMatch(stack.httpd.errorLog(), /Bearer [A-Za-z0-9_-]{20,}/);
        });
    });
}

describe('IPSIEUserInfo Off', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            directives: ['IPSIEUserInfo Off'],
            opTestHooks: true,
            opOptions: { userinfoOnlyClaims: true },
        });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('no UserInfo request is made and only the ID token\'s claims are passed', async () => {
        const { res } = await login(new Client(), stack.url('/app/'), 'carol');
        assert.equal(res.status, 200, res.body);
        assert.equal((await stack.op.report()).userinfoRequests, 0);
        assert.equal(res.json().headers['ipsie-claim-department'], undefined);
        assert.equal(res.json().headers['ipsie-claim-sub'], 'carol');
    });
});

describe('a UserInfo about another user', () => {
    let stack;

    before(async () => {
        stack = await startStack({ opOptions: { userinfoWrongSub: true } });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('refuses the login with a page that says so, and leaves no session', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'dave');
        assert.equal(res.status, 400, res.body);
        assert.match(pageText(res), /another account/);
        assert.deepEqual(sessionCookies(client), []);
        assert.equal(logLines(stack.httpd, /IPSIE08705/, /sub=someone-else/, /sub=dave/).length, 1);
        assert.equal(logLines(stack.httpd, /IPSIE18002/).length, 1);
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
    });
});

describe('a UserInfo that fails', () => {
    let stack;

    before(async () => {
        stack = await startStack({ opOptions: { userinfoFails: true } });
    });
    after(() => stack?.stop());

    test('at login is a 502 page and no half session', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'erin');
        assert.equal(res.status, 502, res.body);
        assert.match(pageText(res), /Sign-in unavailable/);
        assert.deepEqual(sessionCookies(client), []);
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08701/, /IPSIE18001/]), []);
        assert.equal(logLines(stack.httpd, /IPSIE08701/, /status 500/).length, 1);
    });
});

for (const store of ['cookie', 'cache']) {
    describe(`IPSIEUserInfoRefreshInterval (${store} store)`, () => {
        let stack;

        before(async () => {
            stack = await startStack({
                directives: [`IPSIESessionStore ${store}`, 'IPSIEUserInfoRefreshInterval 2'],
                opTestHooks: true,
                opOptions: { userinfoOnlyClaims: true },
            });
        });
        after(() => stack?.stop());

        test('UserInfo is read again after the interval, once, and a failure keeps the claims', async () => {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'frank');
            assert.equal(res.status, 200, res.body);
            const first = (await stack.op.report()).userinfoRequests;
            assert.equal((await client.get(stack.url('/app/a'))).status, 200);
            assert.equal((await stack.op.report()).userinfoRequests, first, 'not before the interval');

            await sleep(2200);
            const burst = await Promise.all([1, 2, 3, 4].map((i) => client.get(stack.url(`/app/b${i}`))));
            for (const r of burst) {
                assert.equal(r.status, 200);
                assert.equal(r.json().headers['ipsie-claim-department'], 'engineering');
            }
            assert.equal((await stack.op.report()).userinfoRequests, first + 1, 'read again once');
            assert.equal(logLines(stack.httpd, /IPSIE18004/, /sub=frank/).length, 1);

            // The OP forgets its tokens: UserInfo answers 401; the session and its claims go on.
            await stack.restartOP();
            await sleep(2200);
            const later = await client.get(stack.url('/app/c'));
            assert.equal(later.status, 200);
            assert.equal(later.json().headers['ipsie-claim-department'], 'engineering');
            assert.equal(logLines(stack.httpd, /IPSIE18003/, /sub=frank/).length, 1);
            assert.equal(logLines(stack.httpd, /IPSIE08701/, /status 401/).length, 1);
            // Tried again after the interval only.
            assert.equal((await client.get(stack.url('/app/d'))).status, 200);
            assert.equal(logLines(stack.httpd, /IPSIE18003/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08701/]), []);
        });
    });
}
