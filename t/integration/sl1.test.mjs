// IPSIEProfile sl1 end to end over https (SPEC section 10): a full SL1 login against the test
// OP, and the profile's refusals at run time.
//
// A CA made for the run (lib/tls.mjs: openssl in a temp directory) signs a certificate for
// 127.0.0.1 that the OP (its tls opt-in: issuer https://127.0.0.1:<port>) and httpd (mod_ssl)
// both serve; the module trusts that CA through IPSIEProviderCACertificate, and the test client
// through its ca option. Verification stays on everywhere.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { logoutClaims, signJwt } from './lib/jwt.mjs';
import { CLIENT_ID, startStack } from './lib/stack.mjs';
import { makeCA } from './lib/tls.mjs';
import { jwtPayload, logLines, nowS, pageText, query } from './lib/util.mjs';

const SL1 = ['IPSIEProfile sl1', 'IPSIEMaxAge 3600'];

let authority;
let other;
let tlsFiles;
let caPem;

before(() => {
    authority = makeCA('ipsie sl1 test CA');
    tlsFiles = { ca: authority.ca, ...authority.issue('server') };
    caPem = readFileSync(authority.ca);
    other = makeCA('another CA');
});
after(() => {
    authority?.remove();
    other?.remove();
});

const newClient = () => new Client({ ca: caPem });

// A sign-in refused at the callback: a 400 page there, no session, the backend not reached.
async function assertRefusedLogin(stack, name) {
    const client = newClient();
    const reached = stack.backend.requests.length;
    const { res } = await login(client, stack.url('/app/'), name);
    assert.equal(res.status, 400, `${name}: ${res.status} ${res.body}`);
    assert.ok(res.url.startsWith(`${stack.redirectUri}?`), res.url);
    assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')), `${name}: no session cookie`);
    assert.equal(stack.backend.requests.length, reached, `${name}: backend not reached`);
    assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
    return res;
}

// A real callback URL (code, state, iss from the OP) with its iss parameter dropped.
async function callbackWithoutIss(stack, client, name) {
    const { callbackUrl } = await login(client, stack.url('/app/page'), name, { stopAtCallback: true });
    assert.ok(callbackUrl, 'the OP sent the browser back');
    const url = new URL(callbackUrl);
    assert.equal(url.searchParams.get('iss'), stack.op.issuer, 'the OP sends the RFC 9207 iss');
    url.searchParams.delete('iss');
    assert.ok(url.searchParams.get('code'));
    return url.href;
}

describe('a full IPSIE SL1 login over https', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ tls: tlsFiles, idTokenAlg: 'ES256', directives: SL1 });
        meta = (await request(stack.op.metadataUrl, { ca: caPem })).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the OP and the site are https, every endpoint of the metadata too', () => {
        assert.match(stack.op.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.match(stack.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(meta.issuer, stack.op.issuer);
        for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) {
            assert.ok(meta[k].startsWith(`${stack.op.issuer}/`), `${k}: ${meta[k]}`);
        }
        assert.ok(meta.id_token_signing_alg_values_supported.includes('ES256'));
        assert.equal(meta.authorization_response_iss_parameter_supported, true);
    });

    test('the client is refused by a server whose certificate it cannot verify (verification is on)', async () => {
        await assert.rejects(request(stack.url('/app/')), /self[- ]signed|unable to (get|verify)|certificate/i);
    });

    test('the authorization request carries max_age, S256 PKCE and the https redirect URI', async () => {
        const res = await newClient().get(stack.url('/app/page'));
        assert.equal(res.status, 302, res.body);
        assert.ok(res.location.startsWith(`${meta.authorization_endpoint}?`), res.location);
        const q = query(res.location);
        assert.equal(q.get('max_age'), '3600');
        assert.equal(q.get('code_challenge_method'), 'S256');
        assert.equal(q.get('redirect_uri'), stack.redirectUri);
        assert.match(stack.redirectUri, /^https:\/\//);
        assert.equal(q.get('client_id'), CLIENT_ID);
    });

    test('a login through the OP\'s form ends at the app with the claims: ES256 ID token, session_expiry, iss', async () => {
        const client = newClient();
        const before = nowS();
        const { callbackUrl } = await login(client, stack.url('/app/some/page?x=1'), 'alice', { stopAtCallback: true });
        assert.ok(callbackUrl.startsWith(`${stack.redirectUri}?`), callbackUrl);
        assert.equal(query(callbackUrl).get('iss'), stack.op.issuer);

        const { res, chain } = await client.follow(await client.get(callbackUrl));
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(res.url, stack.url('/app/some/page?x=1'));
        for (const url of chain) {
            assert.equal(new URL(url).protocol, 'https:', url);
        }
        const seen = res.json();
        assert.equal(seen.url, '/some/page?x=1');
        assert.equal(seen.headers['ipsie-claim-sub'], 'alice');
        assert.equal(seen.headers['ipsie-claim-email'], 'alice@example.test');
        assert.equal(seen.headers['ipsie-claim-groups'], 'staff');

        const info = (await client.get(`${stack.redirectUri}?info=json`, { xhr: true })).json();
        assert.equal(info.sub, 'alice');
        assert.equal(info.iss, stack.op.issuer);
        // The OP's session of 3600 s gives session_expiry; the ceiling is it less the leeway.
        assert.ok(info.session_expiry >= before + 3600 && info.session_expiry <= nowS() + 3600, JSON.stringify(info));
        assert.equal(info.ceiling, info.session_expiry - 30);
        assert.equal(logLines(stack.httpd, /IPSIE12001: login sub=alice /).length, 1);
    });

    test('the ID token is ES256 with aud the client id; logout sends it back to the OP over https', async () => {
        const client = newClient();
        const { res } = await login(client, stack.url('/app/'), 'carol');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        const out = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
        assert.equal(out.status, 302, out.body);
        assert.ok(out.location.startsWith(`${meta.end_session_endpoint}?`), out.location);
        const hint = query(out.location).get('id_token_hint');
        const header = JSON.parse(Buffer.from(hint.split('.')[0], 'base64url').toString('utf8'));
        assert.equal(header.alg, 'ES256');
        const claims = jwtPayload(hint);
        assert.equal(claims.aud, CLIENT_ID);
        assert.equal(claims.sub, 'carol');
        assert.ok(Number.isInteger(claims.session_expiry));
        // The OP takes the hint (it asks the user to confirm the logout).
        const page = await client.get(out.location);
        assert.equal(page.status, 200, page.body);
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
    });

    test('a callback without iss is refused with 400 (IPSIE12006)', async () => {
        const client = newClient();
        const url = await callbackWithoutIss(stack, client, 'bob');
        const res = await client.get(url);
        assert.equal(res.status, 400, res.body);
        assert.equal(logLines(stack.httpd, /IPSIE12006: authorization response iss is missing/).length, 1);
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
    });

    test('a login whose ID token has no session_expiry is refused (IPSIE12009)', async () => {
        await assertRefusedLogin(stack, 'noexpiry-dave');
        assert.equal(logLines(stack.httpd, /IPSIE12009: login refused: no session_expiry/).length, 1);
    });
});

// RFC 9207 iss and aud against an OP whose metadata does not advertise
// authorization_response_iss_parameter_supported and whose ID tokens name their audience as an
// array ["rp1"]: under sl1 both are refused, without it both are accepted.
describe('iss not advertised and aud an array: refused under sl1, accepted without it', () => {
    let strict;
    let lax;
    const opts = { tls: tlsFiles, idTokenAlg: 'ES256', opIssUnadvertised: true, opIdTokenClaims: { aud: [CLIENT_ID] } };

    before(async () => {
        strict = await startStack({ ...opts, tls: tlsFiles, directives: SL1 });
        lax = await startStack({ ...opts, tls: tlsFiles, directives: ['IPSIEMaxAge 3600'] });
    });
    after(async () => {
        await strict?.stop();
        await lax?.stop();
    });
    afterEach(() => {
        assert.deepEqual(strict.httpd.errorLogProblems(), []);
        assert.deepEqual(lax.httpd.errorLogProblems(), []);
    });

    test('the metadata does not advertise the iss parameter', async () => {
        const meta = (await request(strict.op.metadataUrl, { ca: caPem })).json();
        assert.equal(meta.issuer, strict.op.issuer);
        assert.equal('authorization_response_iss_parameter_supported' in meta, false);
    });

    test('under sl1, a callback without iss is refused with 400 (IPSIE12006)', async () => {
        const client = newClient();
        const url = await callbackWithoutIss(strict, client, 'erin');
        const res = await client.get(url);
        assert.equal(res.status, 400, res.body);
        assert.match(pageText(res), /did not come from the expected identity provider/);
        assert.equal(logLines(strict.httpd, /IPSIE12006: authorization response iss is missing/).length, 1);
        assert.equal((await client.get(strict.url('/app/'), { xhr: true })).status, 401);
    });

    test('without sl1, the same callback without iss is accepted', async () => {
        const client = newClient();
        const url = await callbackWithoutIss(lax, client, 'erin');
        const { res } = await client.follow(await client.get(url));
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(res.json().headers['ipsie-claim-sub'], 'erin');
        assert.equal(logLines(lax.httpd, /IPSIE12006/).length, 0);
    });

    test('under sl1, an ID token whose aud is the array ["rp1"] is refused (IPSIE05041)', async () => {
        await assertRefusedLogin(strict, 'frank');
        assert.equal(logLines(strict.httpd, /IPSIE05041: ID token refused: aud is not the single string rp1/).length, 1);
        assert.equal(logLines(strict.httpd, /IPSIE12008: ID token rejected/).length, 1);
    });

    test('without sl1, the same ID token is accepted', async () => {
        const { res } = await login(newClient(), lax.url('/app/'), 'frank');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(res.json().headers['ipsie-claim-sub'], 'frank');
        assert.equal(logLines(lax.httpd, /IPSIE05041/).length, 0);
    });
});

describe('an RS256 ID token under sl1', () => {
    let stack;

    before(async () => {
        stack = await startStack({ tls: tlsFiles, idTokenAlg: 'RS256', directives: SL1 });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('is refused: RS256 is not on the sl1 list (PS256 ES256 EdDSA)', async () => {
        await assertRefusedLogin(stack, 'gina');
        assert.equal(logLines(stack.httpd, /IPSIE05017: JWS refused: alg RS256 is not on the allow-list/).length, 1);
    });
});

// Metadata that names an endpoint in plain http (here the end_session_endpoint): under sl1 no
// login starts with it (IPSIE10022 and the 502 page); without sl1 one does.
describe('a provider whose metadata names an http endpoint', () => {
    let strict;
    let lax;
    const opts = { tls: tlsFiles, idTokenAlg: 'ES256', opMetadata: { end_session_endpoint: 'http://127.0.0.1:9/session/end' } };

    before(async () => {
        strict = await startStack({ ...opts, tls: tlsFiles, directives: SL1 });
        lax = await startStack({ ...opts, tls: tlsFiles, directives: ['IPSIEMaxAge 3600'] });
    });
    after(async () => {
        await strict?.stop();
        await lax?.stop();
    });
    afterEach(() => {
        assert.deepEqual(strict.httpd.errorLogProblems([/IPSIE10022: /]), []);
        assert.deepEqual(lax.httpd.errorLogProblems(), []);
    });

    test('under sl1, no login starts: the 502 page, IPSIE10022 names the endpoint', async () => {
        const meta = (await request(strict.op.metadataUrl, { ca: caPem })).json();
        assert.equal(meta.end_session_endpoint, 'http://127.0.0.1:9/session/end');
        const res = await newClient().get(strict.url('/app/'));
        assert.equal(res.status, 502, `${res.status} ${res.body}`);
        assert.match(pageText(res), /not set up as this site requires/);
        assert.equal(logLines(strict.httpd, /IPSIE10022: IPSIEProfile sl1: the provider's metadata gives end_session_endpoint as a URL that is not https/).length, 1);
    });

    test('without sl1, the same provider is used', async () => {
        const { res } = await login(newClient(), lax.url('/app/'), 'hank');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(logLines(lax.httpd, /IPSIE10022/).length, 0);
    });
});

// A provider whose end_session_endpoint turns plain http after a login: under sl1 the logout
// ends the session here and does not send the ID token (id_token_hint) to it in the clear.
describe('a provider whose end_session_endpoint turns http after a login', () => {
    let stack;

    before(async () => {
        stack = await startStack({ tls: tlsFiles, idTokenAlg: 'ES256', directives: SL1 });
    });
    after(() => stack?.stop());

    test('under sl1, the logout goes to the return address, not to the http endpoint', async () => {
        const client = newClient();
        const { res } = await login(client, stack.url('/app/'), 'ivan');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        await stack.restartOP({ metadataMembers: { end_session_endpoint: 'http://127.0.0.1:9/session/end' } });
        await stack.restartHttpd();
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 200, 'the session lives on');
        const out = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
        assert.equal(out.status, 302, out.body);
        assert.equal(out.location, stack.url('/app/'));
        assert.equal(logLines(stack.httpd, /IPSIE10022: .*end_session_endpoint/).length, 1);
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401, 'logged out');
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE10022: /]), []);
    });
});

// Metadata whose jwks_uri is plain http, served here with a key of the test's own: whoever is
// on the path can hand out keys. Under sl1 no back-channel logout token is checked with keys
// fetched from it (IPSIE10022, a 400, the keys not fetched); without sl1 they are fetched and a
// token signed with that key is taken.
describe('a provider whose jwks_uri is http, at a back-channel logout', () => {
    const key = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'on-path', alg: 'ES256' };
    const { d, ...publicKey } = key;
    let keyServer;
    let fetched = 0;
    let strict;
    let lax;

    before(async () => {
        keyServer = http.createServer((req, res) => {
            fetched++;
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ keys: [publicKey] }));
        });
        await new Promise((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
        const opts = { tls: tlsFiles, idTokenAlg: 'ES256', opMetadata: { jwks_uri: `http://127.0.0.1:${keyServer.address().port}/jwks` } };
        strict = await startStack({ ...opts, directives: SL1 });
        lax = await startStack({ ...opts, directives: ['IPSIEMaxAge 3600'] });
    });
    after(async () => {
        await strict?.stop();
        await lax?.stop();
        await new Promise((resolve) => keyServer?.close(resolve));
    });

    const post = (stack) => {
        const token = signJwt(logoutClaims({ iss: stack.op.issuer, aud: CLIENT_ID, sub: 'alice', sid: 'on-path-sid' }), key,
            { typ: 'logout+jwt' });
        return request(`${stack.redirectUri}?logout=backchannel`, {
            method: 'POST',
            ca: caPem,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ logout_token: token }).toString(),
        });
    };

    test('under sl1, the logout token is refused and no key is fetched over http', async () => {
        const res = await post(strict);
        assert.equal(res.status, 400, `${res.status} ${res.body}`);
        assert.equal(fetched, 0, 'no key fetched from the http jwks_uri');
        assert.equal(logLines(strict.httpd, /IPSIE10022: .*jwks_uri/).length, 1);
        assert.equal(logLines(strict.httpd, /IPSIE12024/).length, 0);
        assert.deepEqual(strict.httpd.errorLogProblems([/IPSIE10022: /, /IPSIE12023: /]), []);
    });

    test('without sl1, the keys come from the http jwks_uri and the token is taken', async () => {
        const before = fetched;
        const res = await post(lax);
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(fetched - before, 1);
        assert.equal(logLines(lax.httpd, /IPSIE12024: back-channel logout: sid=on-path-sid sub=alice/).length, 1);
        assert.deepEqual(lax.httpd.errorLogProblems(), []);
    });
});

// The provider's certificate and TLS version: a login that cannot reach the provider over a
// verified TLS 1.2 connection ends on the 502 page, whatever the profile.
describe('TLS to the provider', () => {
    // The error lines of a provider that cannot be reached: the request's (IPSIE08005, with
    // libcurl's reason) and discovery's (IPSIE08300).
    const unreachable = [/IPSIE08005: /, /IPSIE08300: /];

    // GET /app/ from a new browser: the 502 page, the provider's metadata not fetched.
    async function assertBadGateway(stack) {
        const res = await newClient().get(stack.url('/app/'));
        assert.equal(res.status, 502, `${res.status} ${res.body}`);
        assert.match(pageText(res), /Sign-in unavailable/);
        assert.match(pageText(res), /cannot be reached/);
        return res;
    }

    test('a provider certificate not signed by IPSIEProviderCACertificate fails the login with the 502 page', async () => {
        const stack = await startStack({
            tls: tlsFiles, idTokenAlg: 'ES256', directives: [...SL1, `IPSIEProviderCACertificate ${other.ca}`],
        });
        try {
            await assertBadGateway(stack);
            const lines = logLines(stack.httpd, /IPSIE08300: OpenID Provider unreachable/);
            assert.ok(lines.length >= 1, stack.httpd.errorLog());
            assert.ok(logLines(stack.httpd, /IPSIE08005: .*(certificate|issuer)/i).length >= 1, stack.httpd.errorLog());
            // The OP itself answers anyone who trusts its CA.
            assert.equal((await request(stack.op.metadataUrl, { ca: caPem })).status, 200);
            assert.deepEqual(stack.httpd.errorLogProblems(unreachable), []);
        } finally {
            await stack.stop();
        }
    });

    test('a provider certificate for another address fails the login with the 502 page (host name verification)', async () => {
        const wrongName = authority.issue('elsewhere', { ip: '127.0.0.2' });
        const stack = await startStack({ tls: { ...tlsFiles, op: wrongName }, idTokenAlg: 'ES256', directives: SL1 });
        try {
            await assertBadGateway(stack);
            assert.ok(logLines(stack.httpd, /IPSIE08005: .*(certificate|subject|name|IP address)/i).length >= 1, stack.httpd.errorLog());
            assert.deepEqual(stack.httpd.errorLogProblems(unreachable), []);
        } finally {
            await stack.stop();
        }
    });

    test('a provider that only speaks TLS 1.1 is refused: the module offers TLS 1.2 and later only', async () => {
        const cert = authority.issue('tls11');
        const handshakes = [];
        const refusals = [];
        // A real TLS 1.1 server (node's own OpenSSL still speaks it at security level 0).
        const server = tls.createServer({
            cert: readFileSync(cert.cert),
            key: readFileSync(cert.key),
            minVersion: 'TLSv1',
            maxVersion: 'TLSv1.1',
            ciphers: 'DEFAULT@SECLEVEL=0',
        }, (socket) => {
            handshakes.push(socket.getProtocol());
            socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        });
        server.on('tlsClientError', (err) => refusals.push(err.code));
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        const { port } = server.address();
        let stack;
        try {
            // The server does speak TLS 1.1 to a client that offers it.
            const protocol = await new Promise((resolve, reject) => {
                const socket = tls.connect({
                    port, host: '127.0.0.1', ca: caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
                }, () => {
                    resolve(socket.getProtocol());
                    socket.destroy();
                });
                socket.on('error', reject);
            });
            assert.equal(protocol, 'TLSv1.1');
            assert.deepEqual(handshakes, ['TLSv1.1']);
            handshakes.length = 0;

            // No profile: TLS 1.2 or later holds for every site, not only under sl1.
            stack = await startStack({
                tls: tlsFiles,
                directives: [`IPSIEProviderMetadataURL https://127.0.0.1:${port}/.well-known/openid-configuration`],
            });
            await assertBadGateway(stack);
            assert.deepEqual(handshakes, [], 'no TLS 1.1 connection from the module');
            // The client hello left TLS 1.1 out (not a cipher or signature algorithm failure
            // after agreeing on it, which a system-wide security level would give).
            assert.ok(refusals.length >= 1, 'the module tried');
            assert.ok(refusals.every((code) => code === 'ERR_SSL_UNSUPPORTED_PROTOCOL'), refusals.join(' '));
            assert.ok(logLines(stack.httpd, /IPSIE08005: .*protocol version/i).length >= 1, stack.httpd.errorLog());
            assert.deepEqual(stack.httpd.errorLogProblems(unreachable), []);
        } finally {
            await stack?.stop();
            await new Promise((resolve) => server.close(resolve));
        }
    });
});
