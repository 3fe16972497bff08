// Anti-spoofing across locations (SPEC section 4): every configured claim prefix is removed
// from every request, wherever it was configured, in both spellings.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';

describe('a claim prefix configured in one location', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            locations: (backend) => [
                protectedLocation('/app', backend),
                protectedLocation('/legacy', backend, { extra: ['IPSIEClaimPrefix X-Remote-'] }),
                '<Location /open>', '    Require all granted',
                `    ProxyPass ${backend}/open`, '</Location>',
            ].join('\n'),
        });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    const spoofed = { 'X-Remote-email': 'evil@x', 'x_remote_groups': 'admin', 'IPSIE-Claim-sub': 'root' };

    test('is stripped from an unprotected location', async () => {
        const res = await new Client().get(stack.url('/open'), { headers: spoofed });
        assert.equal(res.status, 200);
        const seen = Object.keys(res.json().headers);
        assert.deepEqual(seen.filter((h) => /^(x[-_]remote|ipsie)/i.test(h)), []);
    });

    test('is stripped from another protected location, where the default prefix is filled in', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const res = await client.get(stack.url('/app/'), { headers: spoofed });
        assert.equal(res.status, 200);
        const { headers } = res.json();
        assert.equal(headers['ipsie-claim-sub'], 'alice');
        assert.deepEqual(Object.keys(headers).filter((h) => /^x[-_]remote/i.test(h)), []);
    });

    test('is filled in where it is configured', async () => {
        const client = new Client();
        await login(client, stack.url('/legacy/'), 'alice');
        const res = await client.get(stack.url('/legacy/'), { headers: spoofed });
        assert.equal(res.status, 200);
        const { headers } = res.json();
        assert.equal(headers['x-remote-email'], 'alice@example.test');
        assert.equal(headers['x-remote-sub'], 'alice');
        assert.equal(headers['ipsie-claim-sub'], undefined);
        assert.equal(headers.x_remote_groups, undefined);
    });
});
