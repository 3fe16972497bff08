// Pushed authorization requests (RFC 9126; SPEC section 2) against the real oidc-provider:
// IPSIEAuthRequestMethod PAR, PAR required by the provider's metadata
// (requirePushedAuthorizationRequests) or by the client's registration
// (require_pushed_authorization_requests), and the refusals: a provider without a PAR endpoint,
// a push the provider refuses, and a PAR endpoint that does not answer. A failed push is a 502
// page, never a 500.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { CLIENT_ID, protectedLocation, startStack } from './lib/stack.mjs';
import { logLines, pageText, query, setsCookie, stateCookieName } from './lib/util.mjs';

// Only client_id and request_uri travel through the browser.
function assertPushed(location, meta) {
    assert.ok(location.startsWith(`${meta.authorization_endpoint}?`), location);
    const q = query(location);
    assert.deepEqual([...q.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(q.get('client_id'), CLIENT_ID);
    assert.match(q.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
}

describe('IPSIEAuthRequestMethod PAR', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ opTestHooks: true, directives: ['IPSIEAuthRequestMethod PAR'] });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the browser is sent to the authorization endpoint with client_id and request_uri alone', async () => {
        const res = await new Client().get(stack.url('/app/page?x=1'));
        assert.equal(res.status, 302);
        assertPushed(res.location, meta);
        const push = (await stack.op.report()).exchanges.filter((e) => e.path === '/request').at(-1);
        assert.equal(push.status, 201);
        assert.equal(push.basic, true, 'the push carries the client\'s authentication');
    });

    test('a login through a pushed request completes and returns to the original URL', async () => {
        const client = new Client();
        const { res, responses } = await login(client, stack.url('/app/some/page?y=2'), 'alice');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.url, stack.url('/app/some/page?y=2'));
        assert.equal(res.json().headers['ipsie-claim-sub'], 'alice');
        assertPushed(responses[0].location, meta);
        // The state cookie was set with the redirect, as for a GET request.
        assert.ok(responses[0].setCookies.some((c) => c.name.startsWith('ipsie_state_') && !c.expired));
    });

    test('the provider answers with the pushed state, whose state cookie completes the login', async () => {
        const client = new Client();
        const first = await client.get(stack.url('/app/'));
        const stateCookie = client.jar.names().find((n) => n.startsWith('ipsie_state_'));
        assert.ok(stateCookie);
        const { res, responses } = await login(client, first, 'bob');
        assert.equal(res.status, 200, res.body);
        const callback = responses.find((r) => r.url.startsWith(`${stack.redirectUri}?`));
        const state = query(callback.url).get('state');
        assert.equal(stateCookieName(state), stateCookie, 'the provider returned the pushed state');
        assert.ok(setsCookie(callback, 'ipsie_session') || callback.setCookies.some((c) => c.name.startsWith('ipsie_session')));
    });
});

for (const [what, opts] of [
    ['the provider\'s metadata (require_pushed_authorization_requests)', { opOptions: { parRequired: true } }],
    ['the client\'s registration (require_pushed_authorization_requests), with IPSIEAuthRequestMethod PAR',
        { client: { require_pushed_authorization_requests: true }, directives: ['IPSIEAuthRequestMethod PAR'] }],
]) {
    describe(`PAR required by ${what}`, () => {
        let stack;
        let meta;

        before(async () => {
            stack = await startStack({ opTestHooks: true, ...opts });
            meta = (await request(stack.op.metadataUrl)).json();
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

        test('a login pushes its request and completes', async () => {
            if (opts.opOptions?.parRequired) {
                assert.equal(meta.require_pushed_authorization_requests, true);
            }
            const { res, responses } = await login(new Client(), stack.url('/app/'), 'carol');
            assert.equal(res.status, 200, res.body);
            assertPushed(responses[0].location, meta);
            const pushes = (await stack.op.report()).exchanges.filter((e) => e.path === '/request');
            assert.equal(pushes.length, 1);
            assert.equal(pushes[0].status, 201);
        });
    });
}

describe('PAR refusals', () => {
    test('IPSIEAuthRequestMethod PAR with a provider that has no PAR endpoint: a 502 page and a tagged line, no state cookie', async () => {
        const stack = await startStack({ opOptions: { parOff: true }, directives: ['IPSIEAuthRequestMethod PAR'] });
        try {
            const meta = (await request(stack.op.metadataUrl)).json();
            assert.equal(meta.pushed_authorization_request_endpoint, undefined);
            const res = await new Client().get(stack.url('/app/'));
            assert.equal(res.status, 502, res.body);
            assert.match(pageText(res), /Sign-in unavailable/);
            assert.match(pageText(res), /pushed authorization requests/);
            assert.ok(!res.setCookies.some((c) => c.name.startsWith('ipsie_state_') && !c.expired));
            assert.equal(logLines(stack.httpd, /IPSIE19004/, /IPSIEAuthRequestMethod is PAR/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE19004/]), []);
        } finally {
            await stack.stop();
        }
    });

    test('a push the provider refuses (client authentication) is a 502 page with its error code logged', async () => {
        // The provider knows the client with another secret than the module's.
        const stack = await startStack({ opTestHooks: true, directives: ['IPSIEAuthRequestMethod PAR', 'IPSIEClientSecret wrong-secret'] });
        try {
            const res = await new Client().get(stack.url('/app/'));
            assert.equal(res.status, 502, res.body);
            assert.match(pageText(res), /Sign-in unavailable/);
            const push = (await stack.op.report()).exchanges.find((e) => e.path === '/request');
            assert.equal(push.error, 'invalid_client');
            assert.equal(logLines(stack.httpd, /IPSIE06403/, /status 401, error invalid_client/).length, 1);
            assert.equal(logLines(stack.httpd, /IPSIE19005/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE06403/, /IPSIE19005/]), []);
        } finally {
            await stack.stop();
        }
    });

    test('a PAR endpoint that does not answer is a 502 page, and logins work again when it does', async () => {
        const stack = await startStack({ directives: ['IPSIEAuthRequestMethod PAR'] });
        try {
            // The metadata is cached by a first login start; then the provider goes away.
            assert.equal((await new Client().get(stack.url('/app/'))).status, 302);
            await stack.op.stop();
            const res = await new Client().get(stack.url('/app/'));
            assert.equal(res.status, 502, res.body);
            assert.match(pageText(res), /Sign-in unavailable/);
            assert.equal(logLines(stack.httpd, /IPSIE06402/).length, 1);
            assert.equal(logLines(stack.httpd, /IPSIE19005/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE0800\d/, /IPSIE06402/, /IPSIE19005/]), []);
            await stack.restartOP();
            const { res: again } = await login(new Client(), stack.url('/app/'), 'dave');
            assert.equal(again.status, 200, again.body);
        } finally {
            await stack.stop();
        }
    });
});

describe('PAR in the metrics', () => {
    test('each push counts as a provider request to par, and a failed one as a failure', async () => {
        const stack = await startStack({
            directives: ['IPSIEAuthRequestMethod PAR'],
            locations: (backend) => [
                protectedLocation('/app', backend),
                '<Location /ipsie-metrics>', '    SetHandler ipsie-metrics', '    Require all granted', '</Location>',
            ].join('\n'),
        });
        const figure = async (family) => {
            const text = (await request(stack.url('/ipsie-metrics'))).body;
            const m = new RegExp(`^mod_auth_ipsie_${family}\\{endpoint="par"\\} (\\d+)$`, 'm').exec(text);
            assert.ok(m, text);
            return Number(m[1]);
        };
        try {
            assert.equal((await new Client().get(stack.url('/app/'))).status, 302);
            assert.equal(await figure('provider_requests_total'), 1);
            assert.equal(await figure('provider_failures_total'), 0);
            await stack.op.stop();
            assert.equal((await new Client().get(stack.url('/app/'))).status, 502);
            assert.equal(await figure('provider_requests_total'), 2);
            assert.equal(await figure('provider_failures_total'), 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08005/, /IPSIE06402/, /IPSIE19005/]), []);
        } finally {
            await stack.stop();
        }
    });
});
