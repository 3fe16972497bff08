// Directives that change the login and what unauthenticated requests get (SPEC sections 1, 2,
// 4, 7): IPSIEUnauthAction, IPSIEClientAuthMethod client_secret_post, IPSIEMaxAge,
// IPSIEAuthRequestParams, IPSIEPassAccessToken.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { query } from './lib/util.mjs';

describe('login options', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            authMethod: 'client_secret_post',
            directives: [
                'IPSIEClientAuthMethod client_secret_post',
                'IPSIEMaxAge 600',
                'IPSIEAuthRequestParams "ui_locales=de&acr_values=phr"',
            ],
            locations: (backend) => [
                protectedLocation('/app', backend, { extra: ['IPSIEPassAccessToken On'] }),
                protectedLocation('/api401', backend, { extra: ['IPSIEUnauthAction 401'] }),
                protectedLocation('/api403', backend, { extra: ['IPSIEUnauthAction 403'] }),
                protectedLocation('/maybe', backend, { extra: ['IPSIEUnauthAction pass'] }),
            ].join('\n'),
        });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('the authorization request carries max_age and the extra parameters once', async () => {
        const res = await new Client().get(stack.url('/app/'));
        assert.equal(res.status, 302);
        const q = query(res.location);
        assert.equal(q.get('max_age'), '600');
        assert.equal(q.get('ui_locales'), 'de');
        assert.equal(q.get('acr_values'), 'phr');
        assert.equal(q.getAll('state').length, 1);
        assert.equal(q.get('prompt'), null);
    });

    test('client_secret_post logins work, and the access token reaches the backend', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'alice');
        assert.equal(res.status, 200, res.body);
        const { headers } = res.json();
        assert.equal(headers['ipsie-claim-sub'], 'alice');
        assert.ok(headers['ipsie-access-token']?.length > 10, 'IPSIE-Access-Token is passed');
        const spoof = await client.get(stack.url('/app/'), { headers: { 'IPSIE-Access-Token': 'forged' } });
        assert.notEqual(spoof.json().headers['ipsie-access-token'], 'forged');
    });

    test('IPSIEUnauthAction 401 and 403 answer browsers with JSON, not a redirect', async () => {
        for (const [path, status] of [['/api401/', 401], ['/api403/', 403]]) {
            const res = await new Client().get(stack.url(path));
            assert.equal(res.status, status);
            assert.equal(res.json().error, 'login_required');
            assert.equal(res.location, undefined);
        }
    });

    test('IPSIEUnauthAction pass serves without identity, and with it once logged in', async () => {
        const anonymous = await new Client().get(stack.url('/maybe/'), { headers: { 'IPSIE-Claim-sub': 'root' } });
        assert.equal(anonymous.status, 200);
        assert.deepEqual(Object.keys(anonymous.json().headers).filter((h) => h.startsWith('ipsie-')), []);
        const client = new Client();
        await login(client, stack.url('/app/'), 'bob');
        const known = await client.get(stack.url('/maybe/'));
        assert.equal(known.status, 200);
        assert.equal(known.json().headers['ipsie-claim-sub'], 'bob');
    });
});
