// The session-expiring warning in a real browser (IPSIESessionWarning On), every page under a
// strict Content-Security-Policy (script-src 'self'; style-src 'self'): the dialog before the
// ceiling and before the idle deadline, on time; "stay signed in" moves the idle deadline; two
// tabs keep in step; the keyboard works it; at the ceiling the tab goes to the provider with
// prompt=login and comes back to its page. Screenshots go to t/browser/artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { protectedLocation, startStack } from '../integration/lib/stack.mjs';
import { sleep } from '../integration/lib/util.mjs';
import { echoedHeaders, freshPage, signIn, waitForLoginForm, withStack, xhr } from './lib/browser.mjs';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const LEAD = 3;
const IDLE = 8;
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'";

function startWarningStack() {
    return startStack({
        directives: [
            'IPSIESessionExpiryLeeway 0',
            `IPSIESessionWarningLead ${LEAD}`,
            `IPSIESessionInactivityTimeout ${IDLE}`,
        ],
        locations: (backend) => [
            protectedLocation('/app', backend, {
                extra: ['IPSIESessionWarning On', `Header always set Content-Security-Policy "${CSP}"`],
            }),
            '<Location /favicon.ico>', '    Require all granted', '</Location>',
        ].join('\n'),
    });
}

async function screenshot(page, name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `warning-${name}.png`) });
}

// Console errors about the Content-Security-Policy, collected from every page of a context.
function cspReports(context) {
    const reports = [];
    const watch = (page) => page.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) {
            reports.push(msg.text());
        }
    });
    context.pages().forEach(watch);
    context.on('page', watch);
    return reports;
}

// The session as the page's scripts see it (?info=json), and when, on the browser's clock.
function info(page) {
    return page.evaluate(async () => {
        const res = await fetch('/app/redirect_uri?info=json', { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
        return { status: res.status, at: Date.now() / 1000, ...(await res.json()) };
    });
}

// The warning dialog as assistive technology finds it: a modal dialog named by its title.
const dialog = (page, name) => page.getByRole('dialog', { name });

// Seconds on the wall clock when the dialog named name is shown.
async function shownAt(page, name, timeout) {
    await dialog(page, name).waitFor({ state: 'visible', timeout });
    return Date.now() / 1000;
}

const focusedText = (page) => page.evaluate(() => document.activeElement?.textContent ?? null);

withStack('the session-expiring warning in a browser', startWarningStack, (env) => {
    test('the page names the script under a CSP that refuses inline scripts, and the dialog is styled by the stylesheet', async () => {
        const { stack } = env;
        const { context, page } = await freshPage(env);
        const reports = cspReports(context);

        await page.goto(stack.url('/app/csp?html'));
        await signIn(page, stack, 'cara');
        const res = await page.reload();
        assert.equal(res.headers()['content-security-policy'], CSP);
        assert.equal(await page.locator('script[src*="/app/redirect_uri?warning.js="]').count(), 1);
        await page.waitForFunction(() => window.ipsieSessionWarning?.state() != null);

        // The policy is in force: an inline script is refused (and reported).
        await page.evaluate(() => {
            const s = document.createElement('script');
            s.textContent = 'window.inlineRan = true;';
            document.head.appendChild(s);
        });
        assert.equal(await page.evaluate(() => window.inlineRan), undefined);
        await sleep(200);
        assert.equal(reports.length, 1, reports.join('\n'));
        reports.length = 0;

        await shownAt(page, 'Are you still there?', IDLE * 1000);
        const look = await page.locator('dialog.ipsie-warning').evaluate((d) => {
            const css = getComputedStyle(d);
            return { radius: css.borderTopLeftRadius, backdrop: getComputedStyle(d, '::backdrop').backgroundColor };
        });
        assert.deepEqual(look, { radius: '8px', backdrop: 'rgba(16, 20, 26, 0.55)' }, 'warning.css applies');
        await screenshot(page, 'idle-csp');
        assert.deepEqual(reports, [], 'nothing of the warning is refused by the policy');
    });

    test('the idle warning comes lead seconds before the idle deadline; the keyboard works it; stay signed in moves the deadline', async () => {
        const { stack } = env;
        const { page } = await freshPage(env);

        await page.goto(stack.url('/app/idle?html'));
        await signIn(page, stack, 'ida');
        const first = await info(page);
        const deadline = first.at + first.idle_remaining;
        // Something of the page's own has the focus; it has it back when the dialog closes.
        await page.evaluate(() => {
            const input = document.createElement('input');
            input.id = 'own';
            document.body.appendChild(input);
            input.focus();
        });

        const at = await shownAt(page, 'Are you still there?', IDLE * 1000);
        assert.ok(at >= deadline - LEAD - 1.2 && at < deadline, `shown at ${at}, idle deadline ${deadline}`);
        const d = dialog(page, 'Are you still there?');
        assert.equal(await d.getAttribute('aria-modal'), 'true');
        const description = await page.locator(`#${await d.getAttribute('aria-describedby')}`).textContent();
        assert.match(description, /^You will be signed out at \d\d:\d\d because you have not been active\.$/);
        const expected = await page.evaluate((s) => [s - 1, s, s + 1].map((t) => {
            const x = new Date(t * 1000);
            return `${String(x.getHours()).padStart(2, '0')}:${String(x.getMinutes()).padStart(2, '0')}`;
        }), deadline);
        assert.ok(expected.some((hhmm) => description.includes(hhmm)), `${description} names ${expected}`);
        await screenshot(page, 'idle');

        // The focus is in the dialog and goes round its two buttons.
        assert.equal(await focusedText(page), 'Stay signed in');
        await page.keyboard.press('Tab');
        assert.equal(await focusedText(page), 'Sign out');
        await page.keyboard.press('Tab');
        assert.equal(await focusedText(page), 'Stay signed in');
        await page.keyboard.press('Shift+Tab');
        assert.equal(await focusedText(page), 'Sign out');
        await page.keyboard.press('Shift+Tab');
        assert.equal(await focusedText(page), 'Stay signed in');

        // Escape closes it, and counts as staying: the user is there.
        await page.keyboard.press('Escape');
        await d.waitFor({ state: 'hidden', timeout: 2000 });
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'own', 'the focus is back');
        const touched = await info(page);
        assert.ok(touched.idle_remaining >= IDLE - 1, `idle_remaining ${touched.idle_remaining} after Escape`);

        // Next time, Enter on "Stay signed in"; the session outlives both earlier deadlines.
        const again = await shownAt(page, 'Are you still there?', IDLE * 1000);
        assert.ok(again >= touched.at + touched.idle_remaining - LEAD - 1.2, 'not before the new deadline nears');
        await page.keyboard.press('Enter');
        await d.waitFor({ state: 'hidden', timeout: 2000 });
        await sleep(LEAD * 1000 + 500);
        const live = await xhr(page, '/app/');
        assert.equal(live.status, 200, 'past the deadlines it would have had without the warning');
        assert.equal(JSON.parse(live.body).headers['ipsie-claim-sub'], 'ida');
    });

    test('two tabs keep in step: stay signed in in one closes the other\'s warning, and a page loaded in one moves the other\'s deadline', async () => {
        const { stack } = env;
        const { context, page: one } = await freshPage(env);

        await one.goto(stack.url('/app/one?html'));
        await signIn(one, stack, 'tess');
        const two = await context.newPage();
        await two.goto(stack.url('/app/two?html'));
        const state = (page) => page.evaluate(() => window.ipsieSessionWarning.state());
        await two.waitForFunction(() => window.ipsieSessionWarning?.state() != null);

        await Promise.all([
            shownAt(one, 'Are you still there?', IDLE * 1000),
            shownAt(two, 'Are you still there?', IDLE * 1000),
        ]);
        await screenshot(two, 'two-tabs');
        await dialog(one, 'Are you still there?').getByRole('button', { name: 'Stay signed in' }).click();
        await dialog(two, 'Are you still there?').waitFor({ state: 'hidden', timeout: 2000 });
        const [a, b] = [await state(one), await state(two)];
        assert.ok(Math.abs(a.idleAt - b.idleAt) < 1500, `the same idle deadline: ${a.idleAt} and ${b.idleAt}`);
        assert.ok(b.idleAt - Date.now() > (IDLE - 1.5) * 1000, 'a whole idle timeout ahead');

        // Activity in one tab (a page loaded, which the module counts) moves the other's deadline.
        await sleep(2000);
        await one.reload();
        await two.waitForFunction((old) => window.ipsieSessionWarning.state().idleAt > old + 1000, b.idleAt,
            { timeout: 3000 });
        assert.equal(await dialog(two, 'Are you still there?').isVisible(), false);
    });

    test('before the ceiling the dialog says when the sign-in ends; at the ceiling the tab goes to the provider with prompt=login and back to its page', async () => {
        const { stack } = env;
        const { page, requests } = await freshPage(env);
        const path = '/app/form?x=1&html';

        await page.goto(stack.url(path));
        await signIn(page, stack, 'ttl7-cedric');
        const ceiling = Number((await echoedHeaders(page))['ipsie-session-expiry']);

        const at = await shownAt(page, 'Your sign-in ends soon', 7000);
        assert.ok(at >= ceiling - LEAD - 1.2 && at < ceiling, `shown at ${at}, ceiling ${ceiling}`);
        const d = dialog(page, 'Your sign-in ends soon');
        const hhmm = await page.evaluate((s) => {
            const x = new Date(s * 1000);
            return `${String(x.getHours()).padStart(2, '0')}:${String(x.getMinutes()).padStart(2, '0')}`;
        }, ceiling);
        const text = await d.locator('#ipsie-warning-message').textContent();
        assert.ok(text.startsWith(`Your sign-in ends at ${hhmm} \u2014 sign in again now`), text);
        assert.equal(await focusedText(page), 'Sign in again now');
        await screenshot(page, 'ceiling');

        // "Not now": it stays away, and at the ceiling the tab moves on its own.
        await d.getByRole('button', { name: 'Not now' }).click();
        await d.waitFor({ state: 'hidden', timeout: 2000 });
        const before = requests.length;
        await waitForLoginForm(page, stack.op);
        assert.ok(Date.now() / 1000 >= ceiling, 'not before the ceiling');
        const nav = requests.slice(before).filter((r) => r.navigation).map((r) => new URL(r.url));
        const reauth = nav.find((u) => u.href.startsWith(`${stack.redirectUri}?reauth=`));
        assert.equal(reauth?.searchParams.get('reauth'), '/app/form?x=1&html', 'through ?reauth= with the page');
        const auth = nav.find((u) => u.href.startsWith(`${stack.op.issuer}/auth?`));
        assert.equal(auth?.searchParams.get('prompt'), 'login');
        await screenshot(page, 'ceiling-provider');

        await signIn(page, stack, 'ttl60-cedric');
        assert.equal(page.url(), stack.url(path), 'back on the page');
        assert.equal((await echoedHeaders(page))['ipsie-claim-sub'], 'ttl60-cedric');
    });
});
