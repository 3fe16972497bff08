// Login and logout in a real browser: the OP's login form, the return to the application with
// the claims passed on, and RP-initiated logout through the OP's confirmation page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    echoedHeaders, freshPage, signIn, startBrowserStack, waitForLoginForm, withStack, xhr,
} from './lib/browser.mjs';

withStack('browser login and logout', () => startBrowserStack(), (env) => {
    test('opening the application shows the OP login form and signing in returns to it with the claims', async () => {
        const { stack } = env;
        const { page, requests } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await waitForLoginForm(page, stack.op);
        await signIn(page, stack, 'alice');

        assert.equal(page.url(), stack.url('/app/?html'), 'back on the page first asked for');
        const headers = await echoedHeaders(page);
        assert.equal(headers['ipsie-claim-sub'], 'alice');
        assert.equal(headers['ipsie-claim-email'], 'alice@example.test');
        assert.equal(headers['ipsie-claim-name'], 'alice');
        assert.ok(Number(headers['ipsie-session-expiry']) > Date.now() / 1000);
        assert.doesNotMatch(headers.cookie ?? '', /ipsie_/, 'the application never sees the module cookies');

        // The way there: the authorization request, the OP, the redirect URI with a code.
        const nav = requests.filter((r) => r.navigation).map((r) => new URL(r.url));
        const auth = nav.find((u) => u.href.startsWith(`${stack.op.issuer}/auth?`));
        assert.ok(auth, `an authorization request: ${nav.map(String).join('\n')}`);
        assert.equal(auth.searchParams.get('client_id'), 'rp1');
        assert.equal(auth.searchParams.get('redirect_uri'), stack.redirectUri);
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
        assert.equal(auth.searchParams.get('prompt'), null, 'a first login does not force prompt=login');
        const callback = nav.find((u) => u.href.startsWith(`${stack.redirectUri}?`));
        assert.ok(callback?.searchParams.get('code'), 'the OP returned a code to the redirect URI');
        assert.equal(callback.searchParams.get('state'), auth.searchParams.get('state'));

        // The session holds: a reload is served without the OP.
        const before = requests.length;
        await page.reload();
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'alice');
        assert.ok(!requests.slice(before).some((r) => r.url.startsWith(stack.op.issuer)), 'no trip to the OP');
    });

    test('logout goes through the OP confirmation page and afterwards the application asks for a login', async () => {
        const { stack } = env;
        const { context, page, requests } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'bob');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'bob');

        await page.goto(stack.url(`/app/redirect_uri?logout=${encodeURIComponent('/app/')}`));
        const endSession = requests.filter((r) => r.navigation)
            .map((r) => new URL(r.url)).find((u) => u.pathname === '/session/end');
        assert.ok(endSession, 'the browser was sent to the end-session endpoint');
        assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), stack.url('/app/'));
        assert.ok(endSession.searchParams.get('id_token_hint'));
        assert.deepEqual((await context.cookies(stack.url('/'))).filter((c) => c.name.startsWith('ipsie_session')),
            [], 'the browser no longer holds a session cookie');

        // The OP still has a session, so it asks to confirm the sign-out.
        assert.equal(new URL(page.url()).origin, stack.op.issuer);
        const confirm = page.locator('button[name="logout"][value="yes"]');
        await confirm.waitFor();
        await confirm.click();

        // Back to /app/, which no longer has a session: the OP, whose session ended too, asks again.
        await waitForLoginForm(page, stack.op);
        // RP-Initiated Logout: the OP hands back the state the end-session request carried.
        const state = endSession.searchParams.get('state');
        assert.ok(state, 'the end-session request carries a state');
        const returned = requests.filter((r) => r.navigation && r.url.split('?')[0] === stack.url('/app/')
            && new URL(r.url).searchParams.get('state') === state);
        assert.ok(returned.length >= 1, `the OP sent the browser back to /app/ with the state: ${requests.map((r) => r.url).join(' ')}`);

        // A fresh login as someone else works in the same browser.
        await signIn(page, stack, 'carol');
        assert.equal(page.url().split('?')[0], stack.url('/app/'));
        const seen = await page.evaluate(() => JSON.parse(document.body.innerText));
        assert.equal(seen.headers['ipsie-claim-sub'], 'carol');
        const api = await xhr(page, '/app/');
        assert.equal(api.status, 200);
    });
});
