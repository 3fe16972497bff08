// A login state is single use server-side (SPEC section 3, issue 8): it is spent in the shared
// store before the token request, so replaying a callback with its state cookie never reaches
// the provider again, and is logged once at warning level (later replays at debug).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { logLines, query, stateCookieName } from './lib/util.mjs';

for (const store of ['cookie', 'cache']) {
    describe(`login state replay, ${store} store (shmcb)`, () => {
        let stack;

        before(async () => {
            stack = await startStack({ opTestHooks: true, directives: [`IPSIESessionStore ${store}`] });
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

        test('a callback replayed 20 times with its state cookie: on to the site with the session, 400 without, no token request, one warning', async () => {
            const client = new Client();
            const { callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
            const state = query(callbackUrl).get('state');
            const name = stateCookieName(state);
            const cookie = client.jar.get(name);
            assert.ok(cookie, 'the state cookie');
            const before = (await stack.op.report()).tokenRequests;

            const first = await client.get(callbackUrl);
            assert.equal(first.status, 302, first.body);
            assert.equal(first.location, `${stack.origin}/app/`);
            assert.equal((await stack.op.report()).tokenRequests, before + 1);
            assert.equal(client.jar.get(name), undefined, 'the browser dropped the state cookie');

            for (let i = 0; i < 20; i++) {
                // The attacker's copy: the same state cookie added back, the same URL.
                client.jar.set(name, cookie);
                // The user's back button: signed in already, so on to where the login went.
                const res = await client.get(callbackUrl);
                assert.equal(res.status, 302, `replay ${i + 1}: ${res.status} ${res.body}`);
                assert.equal(res.location, `${stack.origin}/app/`);
            }
            // From a client with no session at all: refused.
            const stranger = new Client();
            stranger.jar.set(name, cookie);
            const refused = await stranger.get(callbackUrl);
            assert.equal(refused.status, 400);
            assert.match(refused.body, /used already/);
            assert.equal(stranger.jar.get('ipsie_session'), undefined);

            assert.equal((await stack.op.report()).tokenRequests, before + 1, 'the provider was not asked again');
            assert.equal(logLines(stack.httpd, /\[auth_ipsie:warn\]/, /IPSIE12019/).length, 1, stack.httpd.errorLog());
            assert.equal(logLines(stack.httpd, /\[auth_ipsie:debug\]/, /IPSIE12019/, /\(again\)/).length, 20);
            assert.equal(logLines(stack.httpd, /IPSIE12007/).length, 0, 'no failed token request either');
            // The login itself stands.
            assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 200);
        });

        test('20 copies of one callback at once: one login, one token request, 19 refusals', async () => {
            const client = new Client();
            const { callbackUrl } = await login(client, stack.url('/app/'), 'bob', { stopAtCallback: true });
            const state = query(callbackUrl).get('state');
            const cookie = client.jar.get(stateCookieName(state));
            const before = (await stack.op.report()).tokenRequests;
            const warned = logLines(stack.httpd, /\[auth_ipsie:warn\]/, /IPSIE12019/).length;

            const clients = Array.from({ length: 20 }, () => {
                const c = new Client();
                c.jar.set(stateCookieName(state), cookie);
                return c;
            });
            const answers = await Promise.all(clients.map((c) => c.get(callbackUrl)));
            const statuses = answers.map((r) => r.status).sort();
            assert.deepEqual(statuses, [302, ...Array(19).fill(400)], answers.map((r) => `${r.status} ${r.body.slice(0, 80)}`).join('\n'));
            assert.equal((await stack.op.report()).tokenRequests, before + 1);
            const winner = clients[answers.findIndex((r) => r.status === 302)];
            assert.equal((await winner.get(stack.url('/app/'), { xhr: true })).json().headers['ipsie-claim-sub'], 'bob');
            assert.equal(logLines(stack.httpd, /\[auth_ipsie:warn\]/, /IPSIE12019/).length, warned + 1);
        });
    });
}
