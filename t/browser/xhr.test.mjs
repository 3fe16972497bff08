// Script requests from a page of the application: served while the session lives, a JSON 401
// (not a redirect to the OP) once the ceiling has passed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleepUntil } from '../integration/lib/util.mjs';
import { freshPage, signIn, startBrowserStack, withStack, xhr } from './lib/browser.mjs';

const TTL = 6;

const leewayZero = () => startBrowserStack({ directives: ['IPSIESessionExpiryLeeway 0'] });

withStack('XHR in a browser', leewayZero, (env) => {
    test('fetch with X-Requested-With gets 200 in the session and 401 session_expired after the ceiling', async () => {
        const { stack } = env;
        const { page, requests } = await freshPage(env);

        await page.goto(stack.url('/app/?html'));
        await signIn(page, stack, `ttl${TTL}-bea`);

        const live = await xhr(page, '/app/');
        assert.equal(live.status, 200, live.body);
        const seen = JSON.parse(live.body);
        assert.equal(seen.headers['ipsie-claim-sub'], `ttl${TTL}-bea`);
        assert.equal(seen.headers['x-requested-with'], 'XMLHttpRequest');
        const ceiling = Number(seen.headers['ipsie-session-expiry']);

        await sleepUntil(ceiling);
        const before = requests.length;
        const expired = await xhr(page, '/app/');
        assert.equal(expired.status, 401, expired.body);
        assert.match(expired.contentType ?? '', /^application\/json/);
        assert.deepEqual(JSON.parse(expired.body), { error: 'session_expired' });
        assert.ok(!requests.slice(before).some((r) => r.url.startsWith(stack.op.issuer)),
            'the script is not sent to the OP');

        // The expired session was deleted: the next call has no session at all.
        const gone = await xhr(page, '/app/');
        assert.equal(gone.status, 401);
        assert.equal(JSON.parse(gone.body).error, 'login_required');
    });
});
