// Browser cookie limits, in Debian's chromium: a large session fits or is refused without
// locking the browser out of the site, and long return URLs or many logins started at once
// never leave more than a few small state cookies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { protectedLocation, startStack } from '../integration/lib/stack.mjs';
import { echoedHeaders, freshPage, signIn, waitForLoginForm, withStack } from './lib/browser.mjs';

const publicSite = () => startStack({
    locations: (backend) => [
        protectedLocation('/app', backend),
        '<Location /public>', '    Require all granted', `    ProxyPass ${backend}/public`, '</Location>',
        '<Location /favicon.ico>', '    Require all granted', '</Location>',
    ].join('\n'),
});

// The bytes of the Cookie header chromium sends to url.
async function cookieBytes(context, url) {
    const cookies = await context.cookies(url);
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ').length;
}

withStack('browser cookie limits', publicSite, (env) => {
    test('a session with 55 long group names works on every page of the site', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);
        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'groups55-alice');
        const headers = await echoedHeaders(page);
        assert.equal(headers['ipsie-claim-groups'].split(',').length, 55);
        assert.ok(await cookieBytes(context, stack.url('/')) < 8190 - 2560 - 1024);
        for (const path of ['/app/other?html', '/public?html', '/app/?html']) {
            const res = await page.goto(stack.url(path));
            assert.equal(res.status(), 200, path);
        }
    });

    test('a session too large to keep is refused with a page, and the site still answers', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);
        await page.goto(stack.url('/app/?html'));
        await waitForLoginForm(page, stack.op);
        await page.fill('input[name="login"]', 'groups300-bob');
        await page.fill('input[name="password"]', 'any-password');
        const [callback] = await Promise.all([
            page.waitForResponse((r) => r.url().startsWith(stack.redirectUri)),
            page.click('button[type="submit"]'),
        ]);
        assert.equal(callback.status(), 400);
        await page.waitForLoadState();
        assert.match(await page.textContent('body'), /more about your account than this site can keep/);
        const names = (await context.cookies(stack.url('/'))).map((c) => c.name);
        assert.ok(!names.some((n) => n.startsWith('ipsie_session')), names.join(' '));
        assert.equal((await page.goto(stack.url('/public?html'))).status(), 200);
        assert.equal((await page.goto(stack.url('/app/redirect_uri?logout=/public?html'))).status(), 200);
    });

    test('a deep link of 3 KB logs in and lands on its path', async () => {
        const { stack } = env;
        const { page } = await freshPage(env);
        await page.goto(stack.url(`/app/report?html&q=${'a'.repeat(3000)}`));
        await signIn(page, stack, 'carol');
        assert.equal(page.url(), stack.url('/app/report'));
    });

    test('30 logins started at once by a page leave at most 7 state cookies, and the site answers', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);
        await page.goto(stack.url('/public?html'));
        // Thirty frames navigate to long protected URLs at once: each is sent to log in.
        const long = 'c'.repeat(2600);
        await page.evaluate(({ origin, q }) => {
            for (let i = 0; i < 30; i++) {
                const f = document.createElement('iframe');
                f.src = `${origin}/app/page${i}?html&q=${q}`;
                document.body.appendChild(f);
            }
        }, { origin: stack.url(''), q: long });
        await page.waitForFunction(() => [...document.querySelectorAll('iframe')]
            .every((f) => f.contentDocument === null || f.contentDocument.readyState === 'complete'));
        // The frames' logins go as far as the OP (cross-origin now): every state cookie is set.
        await page.waitForTimeout(1000);
        const cookies = await context.cookies(stack.url('/'));
        const states = cookies.filter((c) => c.name.startsWith('ipsie_state_'));
        assert.ok(states.length >= 1 && states.length <= 7, `${states.length} state cookies`);
        assert.ok(await cookieBytes(context, stack.url('/')) <= 2560, `${await cookieBytes(context, stack.url('/'))} bytes`);
        assert.equal((await page.goto(stack.url('/public?html'))).status(), 200);
        // And a login still completes.
        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, 'dave');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'dave');
    });
});
