// The test OP itself: a scripted login by a minimal relying party proves it emits
// session_expiry as the integration tests expect.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Client, confirmOpLogout, login, request } from '../integration/lib/client.mjs';
import { startOP } from '../integration/lib/op.mjs';
import { makeCA } from '../integration/lib/tls.mjs';
import { sessionExpiryFor } from './op.mjs';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const SECRET = 'op-test-secret-0123456789';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

describe('test OP', () => {
    let op;
    let meta;
    let jwks;

    before(async () => {
        op = await startOP({
            defaultTtl: 3600,
            clients: [
                { client_id: 'rp1', client_secret: SECRET, redirect_uris: [REDIRECT_URI] },
                { client_id: 'rp-es', client_secret: SECRET, redirect_uris: [REDIRECT_URI],
                    id_token_signed_response_alg: 'ES256' },
            ],
        });
        meta = (await request(op.metadataUrl)).json();
        jwks = (await request(meta.jwks_uri)).json();
    });
    after(() => op?.stop());

    // Runs the authorization code flow as loginName; returns { idToken, header, claims, callback }.
    async function codeFlow(loginName, { clientId = 'rp1', pkce = true } = {}) {
        const verifier = b64url(randomBytes(32));
        const state = b64url(randomBytes(16));
        const params = new URLSearchParams({
            response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI,
            scope: 'openid email profile groups', state, nonce: b64url(randomBytes(16)),
        });
        if (pkce) {
            params.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
            params.set('code_challenge_method', 'S256');
        }
        const client = new Client();
        const started = Math.floor(Date.now() / 1000);
        const { res, callbackUrl } = await login(client, `${meta.authorization_endpoint}?${params}`, loginName,
            { stopAtCallback: REDIRECT_URI });
        const callback = new URL(callbackUrl ?? res.location ?? res.url);
        if (!callback.searchParams.get('code')) {
            return { callback };
        }
        assert.equal(callback.searchParams.get('state'), state);
        const tokenRes = await request(meta.token_endpoint, {
            method: 'POST',
            headers: {
                'Content-Type': 'application/x-www-form-urlencoded',
                Authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}`,
            },
            body: new URLSearchParams({
                grant_type: 'authorization_code', code: callback.searchParams.get('code'),
                redirect_uri: REDIRECT_URI, code_verifier: verifier,
            }).toString(),
        });
        assert.equal(tokenRes.status, 200, tokenRes.body);
        const idToken = tokenRes.json().id_token;
        const [h, p, s] = idToken.split('.');
        const header = JSON.parse(Buffer.from(h, 'base64url'));
        const jwk = jwks.keys.find((k) => k.kid === header.kid);
        const ok = verify('sha256', Buffer.from(`${h}.${p}`), {
            key: createPublicKey({ key: jwk, format: 'jwk' }),
            dsaEncoding: 'ieee-p1363',
        }, Buffer.from(s, 'base64url'));
        assert.ok(ok, 'ID token signature verifies with the OP JWKS');
        return { idToken, header, claims: JSON.parse(Buffer.from(p, 'base64url')), callback, started };
    }

    test('advertises the issuer, S256 PKCE, the iss response parameter and end_session', () => {
        assert.equal(meta.issuer, op.issuer);
        assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
        assert.equal(meta.authorization_response_iss_parameter_supported, true);
        assert.ok(meta.end_session_endpoint);
        assert.ok(jwks.keys.some((k) => k.alg === 'RS256') && jwks.keys.some((k) => k.alg === 'ES256'));
        assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private key material published');
    });

    test('a login returns a code with iss, and an RS256 ID token with session_expiry = auth_time + TTL', async () => {
        const { header, claims, callback } = await codeFlow('alice');
        assert.equal(callback.searchParams.get('iss'), op.issuer);
        assert.equal(header.alg, 'RS256');
        assert.equal(claims.sub, 'alice');
        assert.equal(claims.email, 'alice@example.test');
        assert.equal(claims.name, 'alice');
        assert.deepEqual(claims.groups, ['staff']);
        assert.equal(claims.session_expiry, claims.auth_time + 3600);
    });

    test('the login name chooses the session_expiry claim', async () => {
        let r = await codeFlow('ttl12-carol');
        assert.equal(r.claims.session_expiry, r.claims.auth_time + 12);
        r = await codeFlow('noexpiry-dave');
        assert.equal(r.claims.session_expiry, undefined);
        r = await codeFlow('past-erin');
        assert.equal(r.claims.session_expiry, r.claims.auth_time - 10);
        r = await codeFlow('str-frank');
        assert.equal(typeof r.claims.session_expiry, 'string');
        r = await codeFlow('float-grace');
        assert.ok(!Number.isInteger(r.claims.session_expiry));
        r = await codeFlow('huge-heidi');
        assert.equal(r.claims.session_expiry, 10000000000);
        r = await codeFlow('admin-ivan');
        assert.deepEqual(r.claims.groups, ['staff', 'admin']);
    });

    test('a client registered for ES256 gets an ES256 ID token', async () => {
        const { header } = await codeFlow('bob', { clientId: 'rp-es' });
        assert.equal(header.alg, 'ES256');
    });

    test('an authorization request without PKCE is refused', async () => {
        const { callback } = await codeFlow('bob', { pkce: false });
        assert.equal(callback.searchParams.get('code'), null);
        assert.equal(callback.searchParams.get('error'), 'invalid_request');
    });

    test('sessionExpiryFor maps names to lifetimes', () => {
        assert.equal(sessionExpiryFor('alice', 1000, 60), 1060);
        assert.equal(sessionExpiryFor('ttl5-x', 1000, 60), 1005);
        assert.equal(sessionExpiryFor('noexpiry-x', 1000, 60), undefined);
        assert.equal(sessionExpiryFor('past-x', 1000, 60), 990);
        assert.equal(sessionExpiryFor('str-x', 1000, 60), '1060');
        assert.equal(sessionExpiryFor('huge-x', 1000, 60), 10000000000);
    });
});

describe('test OP with named kids', () => {
    const kids = { rsa: 'k1', ec: 'k2' };
    const clients = [{ client_id: 'rp1', client_secret: SECRET, redirect_uris: [REDIRECT_URI] }];
    let op;

    const published = async () => {
        const meta = (await request(op.metadataUrl)).json();
        const { keys } = (await request(meta.jwks_uri)).json();
        return Object.fromEntries(keys.map((k) => [k.kid, k.n ?? k.x]));
    };

    after(() => op?.stop());

    test('started again on its port, it publishes new keys under the same kids', async () => {
        op = await startOP({ clients, kids });
        const first = await published();
        assert.deepEqual(Object.keys(first).sort(), ['k1', 'k2']);
        const { port, issuer } = op;
        await op.stop();
        op = await startOP({ clients, kids, port });
        assert.equal(op.issuer, issuer);
        const second = await published();
        assert.deepEqual(Object.keys(second).sort(), ['k1', 'k2']);
        assert.notEqual(second.k1, first.k1);
        assert.notEqual(second.k2, first.k2);
    });
});

describe('test OP opt-ins: backchannelLogout and testHooks', () => {
    let receiver;
    let received;
    let op;
    let plain;
    let meta;

    before(async () => {
        received = [];
        receiver = http.createServer((req, res) => {
            let body = '';
            req.on('data', (d) => { body += d; });
            req.on('end', () => {
                received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
                res.writeHead(200, { 'Cache-Control': 'no-store' });
                res.end();
            });
        });
        await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
        const backchannel = `http://127.0.0.1:${receiver.address().port}/rp/redirect_uri?logout=backchannel`;
        op = await startOP({
            backchannelLogout: true,
            testHooks: true,
            clients: [{
                client_id: 'rp1', client_secret: SECRET, redirect_uris: [REDIRECT_URI],
                backchannel_logout_uri: backchannel, backchannel_logout_session_required: true,
            }],
        });
        plain = await startOP({ clients: [{ client_id: 'rp1', client_secret: SECRET, redirect_uris: [REDIRECT_URI] }] });
        meta = (await request(op.metadataUrl)).json();
    });
    after(async () => {
        await op?.stop();
        await plain?.stop();
        await new Promise((resolve) => receiver?.close(resolve));
    });

    test('without them the OP is as before: no back-channel logout, no test report', async () => {
        const plainMeta = (await request(plain.metadataUrl)).json();
        assert.equal(plainMeta.backchannel_logout_supported, undefined);
        assert.equal((await request(`${plain.issuer}/_test/report`)).status, 404);
        await assert.rejects(plain.report());
    });

    test('logging out at the OP sends a logout token to the loopback back-channel URI, with the ID token\'s sid', async () => {
        assert.equal(meta.backchannel_logout_supported, true);
        assert.equal(meta.backchannel_logout_session_supported, true);
        const verifier = b64url(randomBytes(32));
        const params = new URLSearchParams({
            response_type: 'code', client_id: 'rp1', redirect_uri: REDIRECT_URI, scope: 'openid',
            state: 's', nonce: 'n', code_challenge: b64url(createHash('sha256').update(verifier).digest()),
            code_challenge_method: 'S256',
        });
        const client = new Client();
        const { callbackUrl } = await login(client, `${meta.authorization_endpoint}?${params}`, 'alice',
            { stopAtCallback: REDIRECT_URI });
        const tokenRes = await request(meta.token_endpoint, {
            method: 'POST',
            headers: {
                'Content-Type': 'application/x-www-form-urlencoded',
                Authorization: `Basic ${Buffer.from(`rp1:${SECRET}`).toString('base64')}`,
            },
            body: new URLSearchParams({
                grant_type: 'authorization_code', code: new URL(callbackUrl).searchParams.get('code'),
                redirect_uri: REDIRECT_URI, code_verifier: verifier,
            }).toString(),
        });
        assert.equal(tokenRes.status, 200, tokenRes.body);
        const idClaims = JSON.parse(Buffer.from(tokenRes.json().id_token.split('.')[1], 'base64url'));
        assert.ok(idClaims.sid, 'a client registered for back-channel logout gets sid in its ID tokens');

        const done = await confirmOpLogout(client, meta.end_session_endpoint);
        assert.equal(done.status, 303, done.body);
        assert.equal(received.length, 1, 'the OP called the receiver on 127.0.0.1 before answering');
        assert.equal(received[0].method, 'POST');
        assert.equal(received[0].url, '/rp/redirect_uri?logout=backchannel');
        assert.match(received[0].type, /application\/x-www-form-urlencoded/);
        const token = new URLSearchParams(received[0].body).get('logout_token');
        const [h, p] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
        assert.equal(h.typ, 'logout+jwt');
        assert.equal(p.sid, idClaims.sid);
        assert.equal(p.sub, 'alice');
        assert.deepEqual(p.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
        assert.equal(p.nonce, undefined);

        const report = await op.report();
        assert.equal(report.tokenRequests, 1);
        assert.deepEqual(report.logoutTokens.map((t) => [t.token, t.status]), [[token, 200]]);
        assert.deepEqual(report.backchannel.map((b) => [b.ok, b.sub, b.sid]), [[true, 'alice', idClaims.sid]]);
        assert.ok(report.signingKeys.every((k) => k.d && k.kid), 'the private keys, for tests that sign tokens');
    });
});

describe('test OP opt-ins: tls, issParameterUnadvertised and idTokenClaims', () => {
    let authority;
    let ca;
    let op;
    let meta;

    before(async () => {
        authority = makeCA();
        ca = readFileSync(authority.ca);
        op = await startOP({
            tls: { ca: authority.ca, ...authority.issue('op') },
            issParameterUnadvertised: true,
            idTokenClaims: { aud: ['rp-es'] },
            testHooks: true,
            clients: [{
                client_id: 'rp-es', client_secret: SECRET, redirect_uris: [REDIRECT_URI],
                id_token_signed_response_alg: 'ES256',
            }],
        });
        meta = (await request(op.metadataUrl, { ca })).json();
    });
    after(async () => {
        await op?.stop();
        authority?.remove();
    });

    test('it serves https under an https issuer, with a certificate the CA given verifies', async () => {
        assert.match(op.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(meta.issuer, op.issuer);
        for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) {
            assert.ok(meta[k].startsWith(`${op.issuer}/`), `${k}: ${meta[k]}`);
        }
        await assert.rejects(request(op.metadataUrl), /certificate/i);
        await assert.rejects(request(op.metadataUrl.replace('https:', 'http:')));
        assert.equal((await op.report()).tokenRequests, 0);
    });

    test('its metadata leaves out the iss parameter, its responses still carry iss', async () => {
        assert.equal('authorization_response_iss_parameter_supported' in meta, false);
        const params = new URLSearchParams({
            response_type: 'code', client_id: 'rp-es', redirect_uri: REDIRECT_URI, scope: 'openid',
            state: 's', nonce: 'n', code_challenge: b64url(createHash('sha256').update('v'.repeat(43)).digest()),
            code_challenge_method: 'S256',
        });
        const { callbackUrl } = await login(new Client({ ca }), `${meta.authorization_endpoint}?${params}`, 'alice',
            { stopAtCallback: REDIRECT_URI });
        const callback = new URL(callbackUrl);
        assert.equal(callback.searchParams.get('iss'), op.issuer);

        const tokenRes = await request(meta.token_endpoint, {
            ca,
            method: 'POST',
            headers: {
                'Content-Type': 'application/x-www-form-urlencoded',
                Authorization: `Basic ${Buffer.from(`rp-es:${SECRET}`).toString('base64')}`,
            },
            body: new URLSearchParams({
                grant_type: 'authorization_code', code: callback.searchParams.get('code'),
                redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43),
            }).toString(),
        });
        assert.equal(tokenRes.status, 200, tokenRes.body);
        const [h, p, s] = tokenRes.json().id_token.split('.');
        const header = JSON.parse(Buffer.from(h, 'base64url'));
        const claims = JSON.parse(Buffer.from(p, 'base64url'));
        assert.equal(header.alg, 'ES256');
        assert.deepEqual(claims.aud, ['rp-es'], 'idTokenClaims set aud to an array');
        assert.equal(claims.sub, 'alice');
        const jwks = (await request(meta.jwks_uri, { ca })).json();
        const jwk = jwks.keys.find((k) => k.kid === header.kid);
        assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), {
            key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363',
        }, Buffer.from(s, 'base64url')), 'signed again with the OP key of its kid');
        assert.equal((await op.report()).tokenRequests, 1);
    });
});
