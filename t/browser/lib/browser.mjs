// Debian's chromium driven by playwright-core, on loopback only, against the integration
// stack (the test OP, the echo backend and httpd with mod_auth_ipsie).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe } from 'node:test';
import { chromium } from 'playwright-core';
import { protectedLocation, startStack } from '../../integration/lib/stack.mjs';

// The system browser from Debian's chromium package; the tests never download one.
export const CHROMIUM = '/usr/bin/chromium';

// A host name the browser alone resolves to 127.0.0.1: an RP on it is cross-site to the OP.
export const RP_HOST = 'rp.test';

const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Loopback only: every other name fails to resolve (the OP's pages import a web font).
    `--host-resolver-rules=MAP ${RP_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
];

// Starts chromium with a fresh temporary profile; a missing browser is an error, not a skip.
export async function launchBrowser() {
    if (!existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} not found: install Debian's chromium package`);
    }
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
}

// A fresh context (its own cookies and storage) with one page whose requests are recorded.
// Returns { context, page, requests } where requests lists every URL the page asked for.
export async function openPage(browser) {
    const context = await browser.newContext();
    context.setDefaultTimeout(10000);
    context.setDefaultNavigationTimeout(10000);
    const page = await context.newPage();
    const requests = [];
    page.on('request', (req) => {
        requests.push({ url: req.url(), method: req.method(), navigation: req.isNavigationRequest() });
    });
    return { context, page, requests };
}

// describe(name) running fn(env) on env.stack (from startFn) and env.browser; no log problem after a test.
export function withStack(name, startFn, fn) {
    describe(name, () => {
        const env = {};

        before(async () => {
            [env.stack, env.browser] = await Promise.all([startFn(), launchBrowser()]);
        });
        after(async () => {
            await env.browser?.close();
            await env.stack?.stop();
        });
        afterEach(async () => {
            await env.context?.close();
            env.context = undefined;
            assert.deepEqual(env.stack.httpd.errorLogProblems(), []);
        });
        fn(env);
    });
}

// openPage in env.browser, with the context kept in env so that withStack closes it after the test.
export async function freshPage(env) {
    const opened = await openPage(env.browser);
    env.context = opened.context;
    return opened;
}

// The /app location plus a public /favicon.ico, so that a browser asking for the icon gets a
// plain 404 and does not fill the error log with access denials.
function locationsWithFavicon(backendUrl) {
    return [
        protectedLocation('/app', backendUrl),
        '<Location /favicon.ico>',
        '    Require all granted',
        '</Location>',
    ].join('\n');
}

// startStack with a favicon that does not count as an error.
export function startBrowserStack({ directives = [], opTtl } = {}) {
    return startStack({ directives, opTtl, locations: locationsWithFavicon });
}

// Like startStack, but the browser reaches httpd as http://rp.test:PORT (cross-site to the OP at
// 127.0.0.1): the return from the OP to the redirect URI is a cross-site navigation.
export function startCrossSiteStack({ directives = [] } = {}) {
    return startStack({ directives, host: RP_HOST, locations: locationsWithFavicon });
}

// Resolves once the page shows the OP's login form.
export async function waitForLoginForm(page, op) {
    await page.waitForURL((u) => u.href.startsWith(`${op.issuer}/`));
    await page.locator('form input[name="login"]').waitFor();
}

// Fills and submits the OP's login form now on the page as loginName, confirms the consent page
// if the OP shows one, and resolves once the browser is back on a page of origin other than the
// redirect URI.
export async function signIn(page, { op, origin }, loginName) {
    await waitForLoginForm(page, op);
    await page.fill('input[name="login"]', loginName);
    await page.fill('input[name="password"]', 'any-password');
    await page.click('button[type="submit"]');
    const back = (u) => u.origin === origin && !u.pathname.startsWith('/app/redirect_uri');
    const consent = page.locator('form input[name="prompt"][value="consent"]');
    for (let round = 0; round < 3; round++) {
        const seen = await Promise.race([
            page.waitForURL(back, { waitUntil: 'load' }).then(() => 'back', () => undefined),
            consent.waitFor({ state: 'attached' }).then(() => 'consent', () => undefined),
        ]);
        if (seen === 'back') {
            return;
        }
        if (seen !== 'consent') {
            break;
        }
        await page.click('button[type="submit"]');
    }
    throw new Error(`login as ${loginName} did not return to ${origin}: at ${page.url()}`);
}

// The request headers the backend echoed on its ?html page, by lower-case name.
export function echoedHeaders(page) {
    return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('table tr')]
        .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))));
}

// A fetch from the page with X-Requested-With, as an application's script would make it.
export function xhr(page, path) {
    return page.evaluate(async (p) => {
        const res = await fetch(p, { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
        return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
    }, path);
}

// The cookies the browser holds for url whose name starts with ipsie_session.
export async function sessionCookies(context, url) {
    return (await context.cookies(url)).filter((c) => c.name.startsWith('ipsie_session'));
}
