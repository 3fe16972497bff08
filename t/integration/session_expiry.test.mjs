// The session_expiry claim at login (SPEC section 1): missing, already past or malformed.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { pageText } from './lib/util.mjs';

// A refused login: an error page on the callback, no session cookie, the backend not reached.
async function assertRefused(stack, name) {
    const client = new Client();
    const reached = stack.backend.requests.length;
    const { res } = await login(client, stack.url('/app/'), name);
    assert.equal(res.status, 400, `${name}: ${res.status} ${res.body}`);
    assert.ok(res.url.startsWith(`${stack.redirectUri}?`), res.url);
    assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')), `${name}: no session cookie`);
    assert.equal(stack.backend.requests.length, reached, `${name}: backend not reached`);
    const api = await client.get(stack.url('/app/'), { xhr: true });
    assert.equal(api.status, 401);
    return res;
}

describe('IPSIERequireSessionExpiry On', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['IPSIERequireSessionExpiry On'] });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('a login without session_expiry is refused', async () => {
        await assertRefused(stack, 'noexpiry-dave');
    });

    test('a login with session_expiry is accepted', async () => {
        const { res } = await login(new Client(), stack.url('/app/'), 'alice');
        assert.equal(res.status, 200, res.body);
    });
});

describe('session_expiry validation', () => {
    let stack;

    before(async () => {
        stack = await startStack();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('without session_expiry only IPSIESessionMaxDuration bounds the session', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'noexpiry-erin');
        assert.equal(res.status, 200, res.body);
        const info = (await client.get(`${stack.redirectUri}?info=json`, { xhr: true })).json();
        assert.ok(info.session_expiry === undefined || info.session_expiry === null, JSON.stringify(info));
        assert.equal(info.ceiling, info.login_time + 28800);
    });

    test('a session_expiry already in the past is refused with a clear page', async () => {
        const res = await assertRefused(stack, 'past-frank');
        assert.match(pageText(res), /identity provider's session has already expired/i);
    });

    test('a session_expiry within the leeway is refused', async () => {
        // ttl20 is inside the default leeway of 30 s.
        const res = await assertRefused(stack, 'ttl20-gina');
        assert.match(pageText(res), /identity provider's session has already expired/i);
    });

    test('a session_expiry that is not a positive integer below 10^10 is refused', async () => {
        for (const name of ['str-hank', 'float-ivy', 'huge-jack']) {
            await assertRefused(stack, name);
        }
    });
});
