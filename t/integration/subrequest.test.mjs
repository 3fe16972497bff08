// Subrequests (mod_autoindex here; mod_dir, SSI and MultiViews work the same way) and the
// redirect URI's own guard: a protected subrequest never writes into its main request's
// response, and a redirect URI that authentication does not cover is refused at run time.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { MODULES_DIR } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';

describe('subrequests into a protected location', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            directives: [`LoadModule autoindex_module ${MODULES_DIR}/mod_autoindex.so`],
            locations: (backend) => [
                protectedLocation('/app', backend),
                '<Location /pub>', '    Options +Indexes', '    Require all granted', '</Location>',
                '<Location /pub/secret>', '    AuthType ipsie', '    Require valid-user', '</Location>',
            ].join('\n'),
        });
        const pub = join(stack.httpd.dir, 'htdocs', 'pub');
        mkdirSync(join(pub, 'secret'), { recursive: true });
        writeFileSync(join(pub, 'open.txt'), 'open\n');
        writeFileSync(join(pub, 'secret', 'plans.txt'), 'plans\n');
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a public listing that looks into a protected folder is the listing, for XHR and browsers', async () => {
        for (const xhr of [true, false]) {
            const res = await new Client().get(stack.url('/pub/'), { xhr });
            assert.equal(res.status, 200, res.body);
            assert.match(res.headers['content-type'], /text\/html/);
            assert.match(res.body, /open\.txt/);
            assert.doesNotMatch(res.body, /login_required|Sign-in/);
            assert.equal(res.location, undefined);
            assert.deepEqual(res.setCookies, [], 'no state cookie, no session cookie');
        }
    });

    test('the protected folder itself still asks for a login', async () => {
        const client = new Client();
        const res = await client.get(stack.url('/pub/secret/plans.txt'));
        assert.equal(res.status, 302);
        assert.ok(res.location.startsWith(stack.op.issuer));
        const xhr = await client.get(stack.url('/pub/secret/plans.txt'), { xhr: true });
        assert.equal(xhr.status, 401);
    });

    test('with a session, the protected folder is served', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const res = await client.get(stack.url('/pub/secret/plans.txt'));
        assert.equal(res.status, 200);
        assert.equal(res.body, 'plans\n');
    });
});

describe('a redirect URI that authentication does not cover', () => {
    let stack;

    before(async () => {
        // Passes configtest (the path is inside /app) but a nested location opts out.
        stack = await startStack({
            locations: (backend) => [
                protectedLocation('/app', backend),
                '<Location /app/redirect_uri>', '    AuthType None', '    Require all granted', '</Location>',
            ].join('\n'),
        });
    });
    after(() => stack?.stop());

    test('is refused with a 500 and a log line, and the callback never reaches the backend', async () => {
        const before = stack.backend.requests.length;
        const res = await new Client().get(`${stack.redirectUri}?code=secret-code&state=abc`);
        assert.equal(res.status, 500);
        assert.equal(stack.backend.requests.length, before, 'the backend saw nothing');
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE11008/]), []);
        assert.match(stack.httpd.errorLog(), /IPSIE11008/);
    });
});
