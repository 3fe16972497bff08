// The module's own pages in Debian's chromium: the built-in template renders (a heading, the
// message, a link back that keyboard users reach first), its Content-Security-Policy blocks
// nothing it needs, and the dark scheme is readable. Screenshots go to t/browser/artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freshPage, startBrowserStack, withStack } from './lib/browser.mjs';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

withStack('the module\'s pages in a browser', () => startBrowserStack(), (env) => {
    for (const scheme of ['light', 'dark']) {
        test(`an error page renders with the template (${scheme})`, async () => {
            const { stack } = env;
            const { page } = await freshPage(env);
            const blocked = [];
            page.on('console', (msg) => {
                if (/Content Security Policy/i.test(msg.text())) blocked.push(msg.text());
            });
            await page.emulateMedia({ colorScheme: scheme });
            const res = await page.goto(`${stack.redirectUri}?state=0${'A'.repeat(43)}&code=x`);
            assert.equal(res.status(), 400);
            assert.equal(await page.title(), 'Sign-in failed');
            assert.equal(await page.locator('html').getAttribute('lang'), 'en');
            assert.equal(await page.locator('h1').innerText(), 'Sign-in failed');
            assert.match(await page.locator('main p').first().innerText(), /does not belong to a sign-in/);
            // The style applied: the card is narrower than the window and the link is a button.
            const box = await page.locator('main').boundingBox();
            assert.ok(box.width < page.viewportSize().width, JSON.stringify(box));
            const colors = await page.evaluate(() => ({
                body: getComputedStyle(document.body).backgroundColor,
                text: getComputedStyle(document.body).color,
                link: getComputedStyle(document.querySelector('a')).backgroundColor,
            }));
            assert.notEqual(colors.body, colors.text);
            assert.notEqual(colors.link, 'rgba(0, 0, 0, 0)');
            if (scheme === 'dark') {
                assert.equal(colors.body, 'rgb(13, 17, 23)');
            }
            // The first Tab reaches the way back.
            await page.keyboard.press('Tab');
            assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Back to the site');
            assert.deepEqual(blocked, []);
            mkdirSync(ARTIFACTS, { recursive: true });
            await page.screenshot({ path: join(ARTIFACTS, `page-error-${scheme}.png`) });
            assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), '/');
        });
    }
});
