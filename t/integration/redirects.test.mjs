// Internal redirects (ErrorDocument here; a CGI's local Location and mod_rewrite work the same
// way): the first request's session and identity go on to the page httpd redirects to.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { MODULES_DIR } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';

describe('internal redirects', () => {
    let stack;
    let client;

    before(async () => {
        stack = await startStack({
            directives: [`LoadModule cgid_module ${MODULES_DIR}/mod_cgid.so`, 'ScriptSock cgid.sock',
                'IPSIECookieName app'],
            locations: (backend) => [
                protectedLocation('/app', backend),
                '<Location /docs>', '    AuthType ipsie', '    Require valid-user',
                '    ErrorDocument 404 /errs/404.html', '</Location>',
                '<Location /errs>', '    AuthType ipsie', '    Require claim groups:staff', '</Location>',
                '<Location /cgi>', '    AuthType ipsie', '    Require valid-user', '    SetHandler cgi-script',
                '    Options +ExecCGI', '    ErrorDocument 404 /cgi/env.sh', '</Location>',
            ].join('\n'),
        });
        const htdocs = join(stack.httpd.dir, 'htdocs');
        mkdirSync(join(htdocs, 'docs'), { recursive: true });
        mkdirSync(join(htdocs, 'errs'), { recursive: true });
        mkdirSync(join(htdocs, 'cgi'), { recursive: true });
        writeFileSync(join(htdocs, 'errs', '404.html'), 'custom404\n');
        writeFileSync(join(htdocs, 'cgi', 'env.sh'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nenv\n');
        chmodSync(join(htdocs, 'cgi', 'env.sh'), 0o755);
        client = new Client();
        await login(client, stack.url('/app/'), 'alice');
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems([/AH01264|AH00128|File does not exist|script not found/]), []);
    });

    test('an ErrorDocument in another protected location is served with the session (and Require claim)', async () => {
        const res = await client.get(stack.url('/docs/missing.html'));
        assert.equal(res.status, 404);
        assert.equal(res.body, 'custom404\n');
        assert.equal(res.location, undefined);
    });

    test('an ErrorDocument in the same location still gets the identity headers', async () => {
        const res = await client.get(stack.url('/cgi/nothing.sh'));
        assert.equal(res.status, 404);
        assert.match(res.body, /^REMOTE_USER=alice$/m);
        assert.match(res.body, /^HTTP_IPSIE_CLAIM_SUB=alice$/m);
        // httpd renames the first request's variables REDIRECT_* for the page it redirects to.
        assert.match(res.body, /^REDIRECT_IPSIE_CLAIM_SUB=alice$/m);
    });

    test('with IPSIECookieName app, the application keeps its own app_* cookies', async () => {
        client.jar.set('app_lang', 'fr');
        client.jar.set('app_chunksX', '1');
        client.jar.set('APP', 'upper-case twin of the session cookie');
        const res = await client.get(stack.url('/app/'));
        assert.equal(res.status, 200);
        const cookie = res.json().headers.cookie ?? '';
        assert.match(cookie, /(^|; )app_lang=fr(;|$)/);
        assert.match(cookie, /(^|; )app_chunksX=1(;|$)/);
        assert.doesNotMatch(cookie, /(^|; )app=/i, 'the session cookie is not passed on');
    });
});
