// The session ceiling: no session outlives the IdP session_expiry (less the leeway) nor the
// local maximum (SPEC section 1), and every login and ceiling end is logged (section 6).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { clearsCookie, logLines, nowS, query, sleepUntil } from './lib/util.mjs';

async function info(client, stack) {
    const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
    assert.equal(res.status, 200, res.body);
    return res.json();
}

// Asserts res is the browser answer at the ceiling: session cookie cleared, 302 to the
// authorization endpoint with prompt=login.
function assertReauth(res, meta) {
    assert.equal(res.status, 302, res.body);
    assert.ok(res.location.startsWith(`${meta.authorization_endpoint}?`), res.location);
    assert.equal(query(res.location).get('prompt'), 'login');
    assert.ok(clearsCookie(res, 'ipsie_session') || clearsCookie(res, 'ipsie_session_chunks'),
        'the session cookie is cleared');
}

describe('ceiling from session_expiry with leeway 0', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionExpiryLeeway 0'] });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('at the ceiling a browser re-authenticates with prompt=login and an XHR gets session_expired', async () => {
        const browser = new Client();
        const xhr = new Client();
        await Promise.all([
            login(browser, stack.url('/app/page?p=1'), 'ttl5-carol'),
            login(xhr, stack.url('/app/'), 'ttl5-cathy'),
        ]);
        const first = await info(browser, stack);
        assert.equal(first.ceiling, first.session_expiry);
        const served = await browser.get(stack.url('/app/page?p=1'));
        assert.equal(served.status, 200);
        assert.equal(Number(served.json().headers['ipsie-session-expiry']), first.ceiling);
        const second = await info(xhr, stack);

        await sleepUntil(Math.max(first.ceiling, second.ceiling));

        const reauth = await browser.get(stack.url('/app/page?p=1'));
        assertReauth(reauth, meta);
        const expired = await xhr.get(stack.url('/app/api'), { xhr: true });
        assert.equal(expired.status, 401);
        assert.equal(expired.json().error, 'session_expired');
        assert.ok(clearsCookie(expired, 'ipsie_session') || clearsCookie(expired, 'ipsie_session_chunks'));
        const after = await xhr.get(stack.url('/app/api'), { xhr: true });
        assert.equal(after.json().error, 'login_required', 'the expired session is gone');

        // The prompt=login request shows the OP login form again and ends on the original URL.
        const relogin = await login(browser, reauth, 'ttl5-carol');
        assert.equal(relogin.res.status, 200, relogin.res.body);
        assert.equal(relogin.res.json().url, '/page?p=1');
        const renewed = await info(browser, stack);
        assert.ok(renewed.session_expiry > first.session_expiry);
        assert.ok(renewed.login_time >= first.ceiling);

        // One login line per login with sub and idp_session_expiry in milliseconds.
        for (const [sub, s] of [['ttl5-carol', first], ['ttl5-cathy', second], ['ttl5-carol', renewed]]) {
            const lines = logLines(stack.httpd, new RegExp(`\\b${sub}\\b`),
                new RegExp(`idp_session_expiry\\W{0,3}${s.session_expiry * 1000}\\b`));
            assert.equal(lines.length, 1, `${sub} ${s.session_expiry}:\n${stack.httpd.errorLog()}`);
        }
        for (const sub of ['ttl5-carol', 'ttl5-cathy']) {
            const ends = logLines(stack.httpd, /reason\W{0,3}ceiling\b/, new RegExp(`\\b${sub}\\b`));
            assert.equal(ends.length, 1, `${sub}: one session end line with reason ceiling:\n${stack.httpd.errorLog()}`);
        }
    });
});

describe('ceiling with a leeway', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionExpiryLeeway 4'] });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the leeway makes the ceiling earlier than session_expiry', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'ttl8-dan');
        assert.equal(res.status, 200, res.body);
        const s = await info(client, stack);
        assert.equal(s.ceiling, s.session_expiry - 4);
        assert.equal(Number(res.json().headers['ipsie-session-expiry']), s.ceiling);

        await sleepUntil(s.ceiling);
        assert.ok(nowS() < s.session_expiry, 'still inside the IdP session');
        assertReauth(await client.get(stack.url('/app/')), meta);
    });
});

describe('ceiling from IPSIESessionMaxDuration', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionMaxDuration 3'] });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the local maximum shortens a long IdP session', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const s = await info(client, stack);
        assert.equal(s.ceiling, s.login_time + 3);
        assert.ok(s.session_expiry > s.ceiling + 3000);

        await sleepUntil(s.ceiling);
        assertReauth(await client.get(stack.url('/app/')), meta);
        const x = new Client();
        await login(x, stack.url('/app/'), 'bob');
        const sx = await info(x, stack);
        await sleepUntil(sx.ceiling);
        const expired = await x.get(stack.url('/app/'), { xhr: true });
        assert.equal(expired.status, 401);
        assert.equal(expired.json().error, 'session_expired');
    });
});
