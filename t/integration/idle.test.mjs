// Idle timeout (SPEC section 1): separate from the ceiling, a normal re-authentication.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { clearsCookie, logLines, query, sleep, sleepUntil } from './lib/util.mjs';

describe('idle timeout of 3 s', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionInactivityTimeout 3'] });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('after more than the idle timeout a browser re-authenticates normally and an XHR gets session_idle', async () => {
        const browser = new Client();
        const xhr = new Client();
        await Promise.all([
            login(browser, stack.url('/app/idle'), 'alice'),
            login(xhr, stack.url('/app/'), 'bob'),
        ]);
        assert.equal((await browser.get(stack.url('/app/idle'))).status, 200);
        assert.equal((await xhr.get(stack.url('/app/api'), { xhr: true })).status, 200);

        await sleep(4500);

        const res = await browser.get(stack.url('/app/idle'));
        assert.equal(res.status, 302);
        assert.ok(res.location.startsWith(`${meta.authorization_endpoint}?`), res.location);
        assert.equal(query(res.location).get('prompt'), null, 'idle is not a forced re-login');
        assert.ok(clearsCookie(res, 'ipsie_session') || clearsCookie(res, 'ipsie_session_chunks'));

        const idle = await xhr.get(stack.url('/app/api'), { xhr: true });
        assert.equal(idle.status, 401);
        assert.equal(idle.json().error, 'session_idle');

        // The OP session is still alive: the OP returns at once to the original URL.
        const again = await login(browser, res, 'alice');
        assert.equal(again.res.status, 200, again.res.body);
        assert.equal(again.res.json().url, '/idle');

        for (const sub of ['alice', 'bob']) {
            const ends = logLines(stack.httpd, /reason\W{0,3}idle\b/, new RegExp(`\\b${sub}\\b`));
            assert.equal(ends.length, 1, `${sub}: one session end line with reason idle:\n${stack.httpd.errorLog()}`);
        }
    });

    test('activity within the timeout keeps the session alive past it', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'carol');
        for (let i = 0; i < 4; i++) {
            await sleep(1500);
            const res = await client.get(stack.url('/app/busy'), { xhr: true });
            assert.equal(res.status, 200, `request ${i}: ${res.body}`);
            // The write-back rides on the application's response: no shared cache may keep it.
            assert.ok(res.setCookies.some((c) => c.name.startsWith('ipsie_session') && !c.expired),
                `request ${i} writes last_activity back`);
            assert.match(res.headers['cache-control'] ?? '', /private/);
        }
    });

    test('?info=json does not extend the idle time', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'dave');
        // Times are whole seconds: wait from the second the session began, not from now.
        const began = (await client.get(`${stack.redirectUri}?info=json`, { xhr: true })).json().login_time;
        await sleepUntil(began + 2);
        const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
        assert.equal(res.status, 200, res.body);
        assert.ok(res.json().idle_remaining <= 1, String(res.json().idle_remaining));
        await sleepUntil(began + 3);
        const idle = await client.get(stack.url('/app/api'), { xhr: true });
        assert.equal(idle.status, 401);
        assert.equal(idle.json().error, 'session_idle');
    });
});
