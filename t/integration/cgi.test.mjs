// What a CGI program sees (SPEC section 4): REMOTE_USER, the IPSIE_CLAIM_* variables and the
// session variables, as IPSIEPassClaimsAs and IPSIERemoteUserClaim ask, per location.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { MODULES_DIR } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';

const SCRIPT = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nenv\n';

function cgiLocation(path, extra = []) {
    return [
        `<Location ${path}>`, '    AuthType ipsie', '    Require valid-user',
        '    SetHandler cgi-script', '    Options +ExecCGI', ...extra.map((l) => `    ${l}`),
        '</Location>',
    ].join('\n');
}

// The CGI environment as a map.
function envOf(res) {
    return Object.fromEntries(res.body.split('\n').filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('claims for CGI programs', () => {
    let stack;
    let client;

    before(async () => {
        stack = await startStack({
            directives: [`LoadModule cgid_module ${MODULES_DIR}/mod_cgid.so`, 'ScriptSock cgid.sock'],
            locations: (backend) => [
                protectedLocation('/app', backend),
                cgiLocation('/cgi/both'),
                cgiLocation('/cgi/env', ['IPSIEPassClaimsAs environment', 'IPSIERemoteUserClaim email']),
                cgiLocation('/cgi/none', ['IPSIEPassClaimsAs none']),
            ].join('\n'),
        });
        for (const dir of ['both', 'env', 'none']) {
            mkdirSync(join(stack.httpd.dir, 'htdocs', 'cgi', dir), { recursive: true });
            const file = join(stack.httpd.dir, 'htdocs', 'cgi', dir, 'env.sh');
            writeFileSync(file, SCRIPT);
            chmodSync(file, 0o755);
        }
        client = new Client();
        await login(client, stack.url('/app/'), 'alice');
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('both: variables and headers, REMOTE_USER is sub, AUTH_TYPE is ipsie', async () => {
        const res = await client.get(stack.url('/cgi/both/env.sh'), { headers: { 'IPSIE-Claim-Evil': 'x' } });
        assert.equal(res.status, 200, res.body);
        const env = envOf(res);
        assert.equal(env.REMOTE_USER, 'alice');
        assert.equal(env.AUTH_TYPE, 'ipsie');
        assert.equal(env.IPSIE_CLAIM_SUB, 'alice');
        assert.equal(env.IPSIE_CLAIM_EMAIL, 'alice@example.test');
        assert.equal(env.IPSIE_CLAIM_GROUPS, 'staff');
        assert.match(env.IPSIE_CLAIM_SESSION_EXPIRY, /^\d+$/);
        assert.match(env.IPSIE_SESSION_EXPIRY, /^\d+$/);
        assert.ok(Number(env.IPSIE_SESSION_REMAINING) > 3000);
        assert.equal(env.HTTP_IPSIE_CLAIM_SUB, 'alice', 'the header reaches CGI as HTTP_*');
        assert.equal(env.HTTP_IPSIE_CLAIM_EVIL, undefined, 'the spoofed header does not');
        assert.doesNotMatch(env.HTTP_COOKIE ?? '', /ipsie_/, 'nor do the session cookies');
    });

    test('environment: no identity headers, REMOTE_USER from IPSIERemoteUserClaim email', async () => {
        const env = envOf(await client.get(stack.url('/cgi/env/env.sh')));
        assert.equal(env.REMOTE_USER, 'alice@example.test');
        assert.equal(env.IPSIE_CLAIM_SUB, 'alice');
        assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('HTTP_IPSIE')), []);
    });

    test('none: neither variables nor headers, REMOTE_USER still set', async () => {
        const env = envOf(await client.get(stack.url('/cgi/none/env.sh')));
        assert.equal(env.REMOTE_USER, 'alice');
        assert.deepEqual(Object.keys(env).filter((k) => /IPSIE/.test(k)), []);
    });
});
