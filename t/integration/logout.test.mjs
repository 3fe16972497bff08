// RP-initiated logout on the redirect URI (SPEC section 5).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { CLIENT_ID, startStack } from './lib/stack.mjs';
import { clearsCookie, jwtPayload, logLines, query } from './lib/util.mjs';

describe('logout', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack();
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('?logout=/app/ ends the session and sends the browser to the OP end_session_endpoint', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const res = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
        assert.equal(res.status, 302, res.body);
        const target = new URL(res.location);
        assert.equal(`${target.origin}${target.pathname}`, meta.end_session_endpoint);
        const q = query(res.location);
        const hint = jwtPayload(q.get('id_token_hint'));
        assert.equal(hint.sub, 'alice');
        assert.equal(hint.aud === CLIENT_ID || hint.aud.includes(CLIENT_ID), true);
        assert.equal(new URL(q.get('post_logout_redirect_uri')).origin, stack.origin);
        assert.ok(clearsCookie(res, 'ipsie_session') || clearsCookie(res, 'ipsie_session_chunks'));

        const gone = await client.get(stack.url('/app/'), { xhr: true });
        assert.equal(gone.status, 401);
        assert.equal(gone.json().error, 'login_required');

        // The OP accepts the hint and the post-logout URI (it asks the user to confirm).
        const op = await client.get(res.location);
        assert.equal(op.status, 200, op.body);

        const ends = logLines(stack.httpd, /reason\W{0,3}logout\b/, /\balice\b/);
        assert.equal(ends.length, 1, `one session end line with reason logout:\n${stack.httpd.errorLog()}`);
    });

    test('?logout to another origin is refused', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'carol');
        for (const target of ['https://evil.example/', '//evil.example/', '/\\evil.example/',
            'javascript:alert(1)', `http://127.0.0.1:${stack.op.port}/`]) {
            const res = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent(target)}`);
            assert.equal(res.status, 400, `${target}: ${res.status} ${res.location}`);
            assert.ok(!res.location, `${target}: no redirect`);
        }
    });

    test('a refused return address still ends the session', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'dave');
        const res = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent('https://evil.example/')}`);
        assert.equal(res.status, 400);
        assert.ok(clearsCookie(res, 'ipsie_session') || clearsCookie(res, 'ipsie_session_chunks'));
        assert.match(res.body, /logged out/i);
        // Even a client that kept the old cookie has no session: the logout was logged.
        assert.equal(logLines(stack.httpd, /reason=logout/, /sub=dave/).length, 1);
        const after = await client.get(stack.url('/app/'), { xhr: true });
        assert.equal(after.status, 401);
    });

    test('?logout= with no address ends the session and returns to the site', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'erin');
        const res = await client.get(`${stack.redirectUri}?logout=`);
        assert.equal(res.status, 302);
        const q = query(res.location);
        assert.equal(q.get('post_logout_redirect_uri'), `${stack.origin}/`);
        const after = await client.get(stack.url('/app/'), { xhr: true });
        assert.equal(after.status, 401);
    });
});
