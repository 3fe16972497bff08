// Session and state cookies as chromium stores and sends them: attributes, chunking, and the
// state cookie on a truly cross-site return from the OP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    echoedHeaders, freshPage, RP_HOST, signIn, startBrowserStack, startCrossSiteStack, waitForLoginForm,
    withStack,
} from './lib/browser.mjs';

withStack('browser cookies with default settings', () => startBrowserStack(), (env) => {
    test('the state cookie is HttpOnly Lax; the session cookie is HttpOnly, Lax and not persistent', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await waitForLoginForm(page, stack.op);
        const pending = await context.cookies(stack.url('/'));
        const state = pending.filter((c) => c.name.startsWith('ipsie_state_'));
        assert.equal(state.length, 1, JSON.stringify(pending));
        assert.equal(state[0].httpOnly, true);
        assert.equal(state[0].sameSite, 'Lax');
        assert.equal(state[0].path, '/');
        assert.ok(state[0].expires > Date.now() / 1000 && state[0].expires <= Date.now() / 1000 + 301,
            'the state cookie lives for the state timeout');

        await signIn(page, stack, 'alice');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'alice');
        const cookies = await context.cookies(stack.url('/'));
        assert.deepEqual(cookies.filter((c) => c.name.startsWith('ipsie_state_')), [], 'the state cookie is spent');
        const session = cookies.filter((c) => c.name.startsWith('ipsie_session'));
        assert.deepEqual(session.map((c) => c.name), ['ipsie_session']);
        assert.equal(session[0].httpOnly, true);
        assert.equal(session[0].sameSite, 'Lax');
        assert.equal(session[0].secure, false);
        assert.equal(session[0].path, '/');
        assert.equal(session[0].expires, -1, 'a session cookie: gone when the browser closes');
        assert.doesNotMatch(await page.evaluate(() => document.cookie), /ipsie_/,
            'scripts of the application cannot read the module cookies');
    });
});

const chunked = () => startBrowserStack({ directives: ['IPSIECookieChunkSize 512'] });

withStack('browser cookies in chunks of 512 bytes', chunked, (env) => {
    test('the chunked session is stored by the browser, sent back whole and keeps the user logged in', async () => {
        const { stack } = env;
        const { context, page, requests } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'alice');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'alice');

        const session = (await context.cookies(stack.url('/'))).filter((c) => c.name.startsWith('ipsie_session'));
        const chunks = session.filter((c) => /^ipsie_session_\d+$/.test(c.name));
        assert.ok(chunks.length >= 2, `chunked into ${chunks.length}`);
        const count = session.find((c) => c.name === 'ipsie_session_chunks');
        assert.equal(count?.value, String(chunks.length));
        for (const c of session) {
            assert.ok(c.name.length + 1 + c.value.length <= 512, `${c.name} is ${c.value.length} long`);
            assert.equal(c.httpOnly, true);
            assert.equal(c.sameSite, 'Lax');
            assert.equal(c.expires, -1);
        }

        const before = requests.length;
        await page.goto(stack.url('/app/other?html'));
        const headers = await echoedHeaders(page);
        assert.equal(headers['ipsie-claim-sub'], 'alice');
        assert.equal(headers['ipsie-claim-email'], 'alice@example.test');
        assert.ok(!requests.slice(before).some((r) => r.url.startsWith(stack.op.issuer)), 'no trip to the OP');
    });
});

withStack(`browser cookies with the application on ${RP_HOST}, cross-site to the OP`, startCrossSiteStack, (env) => {
    test('the Lax state cookie comes back on the cross-site return from the OP and the login completes', async () => {
        const { stack } = env;
        const { context, page, requests } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'alice');
        assert.equal(page.url(), stack.url('/app/?html'));
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'alice');
        assert.notEqual(new URL(stack.op.issuer).hostname, RP_HOST, 'the OP is on another site');
        const callback = requests.find((r) => r.url.startsWith(`${stack.redirectUri}?`));
        assert.ok(new URL(callback.url).searchParams.get('code'), 'the OP returned a code');
        const session = (await context.cookies(stack.url('/'))).filter((c) => c.name.startsWith('ipsie_session'));
        assert.equal(session.length, 1);
        assert.equal(session[0].domain, RP_HOST);
    });
});

const strict = () => startCrossSiteStack({ directives: ['IPSIECookieSameSite Strict'] });

withStack(`browser cookies with SameSite Strict on ${RP_HOST}`, strict, (env) => {
    // The callback's redirect would belong to the navigation that came from the OP's site,
    // which carries no Strict cookie: the module answers with a page that moves on instead.
    test('a Strict session still completes the cross-site login', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'alice');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'alice');
        const session = (await context.cookies(stack.url('/'))).filter((c) => c.name.startsWith('ipsie_session'));
        assert.equal(session[0].sameSite, 'Strict');
    });
});
