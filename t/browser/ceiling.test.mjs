// The session ceiling in a real browser: once the IdP session_expiry has passed, a page load goes
// back to the OP with prompt=login and a fresh login returns to the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleepUntil } from '../integration/lib/util.mjs';
import {
    echoedHeaders, freshPage, sessionCookies, signIn, startBrowserStack, waitForLoginForm, withStack,
} from './lib/browser.mjs';

const TTL = 6;

const leewayZero = () => startBrowserStack({ directives: ['IPSIESessionExpiryLeeway 0'] });

withStack('the ceiling in a browser', leewayZero, (env) => {
    test('a reload past the ceiling shows the OP login form via prompt=login, and a new login returns', async () => {
        const { stack } = env;
        const { context, page, requests } = await freshPage(env);
        const path = '/app/page?x=1&html';

        await page.goto(stack.url(path));
        await signIn(page, stack, `ttl${TTL}-bob`);
        const first = await echoedHeaders(page);
        assert.equal(first['ipsie-claim-sub'], `ttl${TTL}-bob`);
        const ceiling = Number(first['ipsie-session-expiry']);
        assert.ok(ceiling > Date.now() / 1000, 'the session is live before the ceiling');
        assert.ok((await sessionCookies(context, stack.url('/'))).length > 0);

        await sleepUntil(ceiling);
        const before = requests.length;
        await page.reload();
        await waitForLoginForm(page, stack.op);

        const auth = requests.slice(before).filter((r) => r.navigation)
            .map((r) => new URL(r.url)).find((u) => u.href.startsWith(`${stack.op.issuer}/auth?`));
        assert.ok(auth, 'the reload was sent to the authorization endpoint');
        assert.equal(auth.searchParams.get('prompt'), 'login');
        assert.deepEqual(await sessionCookies(context, stack.url('/')), [], 'the expired session cookie is gone');

        await signIn(page, stack, `ttl${TTL}-bob`);
        assert.equal(page.url(), stack.url(path), 'back on the page that was reloaded');
        const second = await echoedHeaders(page);
        assert.equal(second['ipsie-claim-sub'], `ttl${TTL}-bob`);
        assert.ok(Number(second['ipsie-session-expiry']) > ceiling, 'a new session with a later ceiling');
    });
});
