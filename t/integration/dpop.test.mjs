// DPoP (RFC 9449; SPEC section 2) against the real oidc-provider: proofs on token and pushed
// requests with IPSIEDPoP auto, the server's nonces (features.dPoP.nonceSecret, required in
// every proof) retried once and kept, a client registered with dpop_bound_access_tokens, the
// key of IPSIEDPoPSigningKey (which binds the code: dpop_jkt) or the one generated at start-up
// (the same in every child and across graceful restarts; it binds no code, so that a login
// survives a restart), and the refusals: DPoP required and a Bearer token, DPoP off and a
// client that needs it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { keyStore, thumbprint } from './lib/keys.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { logLines, nowS, pageText, query, sleep } from './lib/util.mjs';

const keys = keyStore();
after(() => keys.remove());

const exchanges = async (stack, path) => (await stack.op.report()).exchanges.filter((e) => e.path === path);

// The DPoP key of ?jwks: the one whose kid is its thumbprint and that is not the client's.
async function dpopJwk(stack) {
    const served = (await request(`${stack.redirectUri}?jwks`)).json().keys;
    const dpop = served.filter((k) => k.kid === thumbprint(k));
    assert.equal(dpop.length, 1, JSON.stringify(served));
    return dpop[0];
}

function assertProof(proof, { htu, jwk, nonce }) {
    assert.ok(proof, 'a DPoP proof');
    assert.equal(proof.header.typ, 'dpop+jwt');
    assert.equal(proof.header.alg, jwk.alg);
    assert.equal(thumbprint(proof.header.jwk), jwk.kid, 'the proof carries the served key');
    assert.equal(proof.header.jwk.d, undefined);
    assert.equal(proof.payload.htm, 'POST');
    assert.equal(proof.payload.htu, htu);
    assert.ok(Math.abs(proof.payload.iat - nowS()) <= 5, String(proof.payload.iat));
    assert.match(proof.payload.jti, /^[A-Za-z0-9_-]{32,}$/);
    assert.equal(proof.payload.ath, undefined);
    assert.equal(proof.payload.nonce, nonce);
}

describe('IPSIEDPoP auto with a provider that offers DPoP', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ opTestHooks: true });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the token request carries a proof and the tokens are DPoP-bound', async () => {
        assert.ok(meta.dpop_signing_alg_values_supported.includes('ES256'));
        const { res } = await login(new Client(), stack.url('/app/'), 'alice');
        assert.equal(res.status, 200, res.body);
        const [token] = await exchanges(stack, '/token');
        assert.equal(token.status, 200);
        assert.equal(token.tokenType, 'DPoP');
        assertProof(token.dpop, { htu: meta.token_endpoint, jwk: await dpopJwk(stack), nonce: undefined });
    });

    test('the generated key does not bind the code (no dpop_jkt): another host or a restart can redeem it', async () => {
        const res = await new Client().get(stack.url('/app/'));
        assert.equal(res.status, 302);
        assert.equal(query(res.location).get('dpop_jkt'), null);
    });

    test('a login in progress across a restart (a new generated key) completes, bound to the new key', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'olga', { stopAtCallback: true });
        const before = await dpopJwk(stack);
        await stack.restartHttpd();
        const after = await dpopJwk(stack);
        assert.notEqual(after.kid, before.kid, 'a stop and start makes a new key');
        const { res } = await client.follow(await client.get(callbackUrl));
        assert.equal(res.status, 200, res.body);
        const token = (await exchanges(stack, '/token')).at(-1);
        assert.equal(token.tokenType, 'DPoP');
        assert.equal(thumbprint(token.dpop.header.jwk), after.kid);
    });

    test('every proof has its own jti', async () => {
        await login(new Client(), stack.url('/app/'), 'bob');
        const jtis = (await exchanges(stack, '/token')).map((e) => e.dpop.payload.jti);
        assert.equal(new Set(jtis).size, jtis.length);
    });

    test('?jwks serves the generated DPoP key (ES256, public only)', async () => {
        const jwk = await dpopJwk(stack);
        assert.equal(jwk.kty, 'EC');
        assert.equal(jwk.crv, 'P-256');
        assert.equal(jwk.alg, 'ES256');
        assert.equal(jwk.use, 'sig');
        assert.equal(jwk.d, undefined);
    });
});

describe('DPoP nonces required by the provider', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({
            opTestHooks: true,
            opOptions: { dpopNonces: true },
            client: { dpop_bound_access_tokens: true },
        });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('the first token request is answered use_dpop_nonce and sent again once with the nonce', async () => {
        const { res } = await login(new Client(), stack.url('/app/'), 'carol');
        assert.equal(res.status, 200, res.body);
        const tokens = await exchanges(stack, '/token');
        assert.equal(tokens.length, 2, JSON.stringify(tokens.map((t) => [t.status, t.error])));
        assert.equal(tokens[0].status, 400);
        assert.equal(tokens[0].error, 'use_dpop_nonce');
        assert.equal(tokens[0].dpop.payload.nonce, undefined);
        assert.equal(tokens[1].status, 200);
        assert.equal(tokens[1].tokenType, 'DPoP');
        assert.equal(typeof tokens[1].dpop.payload.nonce, 'string');
        assertProof(tokens[1].dpop, { htu: meta.token_endpoint, jwk: await dpopJwk(stack), nonce: tokens[1].dpop.payload.nonce });
        assert.notEqual(tokens[0].dpop.payload.jti, tokens[1].dpop.payload.jti);
    });

    test('the nonce is kept: the next login\'s token request carries it at once', async () => {
        const before = (await exchanges(stack, '/token')).length;
        const { res } = await login(new Client(), stack.url('/app/'), 'dave');
        assert.equal(res.status, 200, res.body);
        const tokens = (await exchanges(stack, '/token')).slice(before);
        assert.equal(tokens.length, 1, JSON.stringify(tokens.map((t) => [t.status, t.error])));
        assert.equal(tokens[0].status, 200);
        assert.equal(typeof tokens[0].dpop.payload.nonce, 'string');
    });

    test('a pushed request with DPoP gets the nonce treatment too, and the code stays bound', async () => {
        // A second site on the same provider, pushing its requests.
        // A key of its own: only such a key binds the code, with a proof on the push.
        const par = await startStack({
            opTestHooks: true,
            opOptions: { dpopNonces: true },
            client: { dpop_bound_access_tokens: true },
            directives: ['IPSIEAuthRequestMethod PAR', `IPSIEDPoPSigningKey ${keys.make('ec').path}`],
        });
        try {
            const parMeta = (await request(par.op.metadataUrl)).json();
            const { res } = await login(new Client(), par.url('/app/'), 'erin');
            assert.equal(res.status, 200, res.body);
            const pushes = await exchanges(par, '/request');
            assert.deepEqual(pushes.map((p) => p.status), [400, 201]);
            assert.equal(pushes[0].error, 'use_dpop_nonce');
            assertProof(pushes[1].dpop, { htu: parMeta.pushed_authorization_request_endpoint, jwk: await dpopJwk(par), nonce: pushes[1].dpop.payload.nonce });
            const tokens = await exchanges(par, '/token');
            assert.equal(tokens.at(-1).status, 200);
            assert.equal(tokens.at(-1).tokenType, 'DPoP');
            assert.deepEqual(par.httpd.errorLogProblems(), []);
        } finally {
            await par.stop();
        }
    });
});

describe('DPoP with a key of IPSIEDPoPSigningKey', () => {
    test('the key binds the code (dpop_jkt), and a login in progress across a restart completes', async () => {
        const key = keys.make('ec');
        const stack = await startStack({ opTestHooks: true, directives: [`IPSIEDPoPSigningKey ${key.path}`] });
        try {
            const client = new Client();
            const first = await client.get(stack.url('/app/'));
            assert.equal(query(first.location).get('dpop_jkt'), key.thumbprint);
            const { callbackUrl } = await login(client, first, 'paul', { stopAtCallback: true });
            await stack.restartHttpd();
            const { res } = await client.follow(await client.get(callbackUrl));
            assert.equal(res.status, 200, res.body);
            const [token] = await exchanges(stack, '/token');
            assert.equal(token.tokenType, 'DPoP');
            assert.equal(thumbprint(token.dpop.header.jwk), key.thumbprint);
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });

    test('an Ed25519 key signs EdDSA proofs and is the one ?jwks serves', async () => {
        const key = keys.make('ed25519');
        const stack = await startStack({ opTestHooks: true, directives: [`IPSIEDPoPSigningKey ${key.path}`] });
        try {
            const jwk = await dpopJwk(stack);
            assert.deepEqual(jwk, { ...key.jwk, kid: key.thumbprint, alg: 'EdDSA', use: 'sig' });
            const { res } = await login(new Client(), stack.url('/app/'), 'frank');
            assert.equal(res.status, 200, res.body);
            const [token] = await exchanges(stack, '/token');
            assert.equal(token.dpop.header.alg, 'EdDSA');
            assert.equal(thumbprint(token.dpop.header.jwk), key.thumbprint);
            assert.equal(token.tokenType, 'DPoP');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('the generated DPoP key', () => {
    test('is the same in every child (prefork) and after graceful restarts', async () => {
        const stack = await startStack({ mpm: 'prefork' });
        try {
            const kids = new Set();
            for (let i = 0; i < 24; i++) {
                kids.add((await dpopJwk(stack)).kid);
            }
            assert.equal(kids.size, 1, [...kids].join(' '));
            await stack.httpd.graceful();
            await stack.httpd.graceful();
            assert.equal((await dpopJwk(stack)).kid, [...kids][0]);
            assert.equal(logLines(stack.httpd, /IPSIE19001/).length, 1, 'generated once');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('DPoP off, and a provider without DPoP', () => {
    test('IPSIEDPoP off: no proof, Bearer tokens, no DPoP key served', async () => {
        const stack = await startStack({ opTestHooks: true, directives: ['IPSIEDPoP off'] });
        try {
            const first = await new Client().get(stack.url('/app/'));
            assert.equal(query(first.location).get('dpop_jkt'), null);
            const { res } = await login(new Client(), stack.url('/app/'), 'gina');
            assert.equal(res.status, 200, res.body);
            const [token] = await exchanges(stack, '/token');
            assert.equal(token.dpop, null);
            assert.equal(token.tokenType, 'Bearer');
            assert.deepEqual((await request(`${stack.redirectUri}?jwks`)).json(), { keys: [] });
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });

    test('IPSIEDPoP auto with a provider that does not list DPoP: no proof, Bearer tokens', async () => {
        const stack = await startStack({ opTestHooks: true, opOptions: { dpopOff: true } });
        try {
            const meta = (await request(stack.op.metadataUrl)).json();
            assert.equal(meta.dpop_signing_alg_values_supported, undefined);
            const { res } = await login(new Client(), stack.url('/app/'), 'hank');
            assert.equal(res.status, 200, res.body);
            const [token] = await exchanges(stack, '/token');
            assert.equal(token.dpop, null);
            assert.equal(token.tokenType, 'Bearer');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('DPoP refusals', () => {
    test('IPSIEDPoP required and a Bearer token: the login fails with a clear page', async () => {
        const stack = await startStack({ opTestHooks: true, opOptions: { dpopOff: true }, directives: ['IPSIEDPoP required'] });
        try {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'ivan');
            assert.equal(res.status, 502, res.body);
            assert.match(pageText(res), /did not bind its tokens to this site's key \(DPoP\)/);
            const [token] = await exchanges(stack, '/token');
            assert.ok(token.dpop, 'the proof was sent');
            assert.equal(token.tokenType, 'Bearer');
            assert.equal(logLines(stack.httpd, /IPSIE06202/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE06202/, /IPSIE12007/]), []);
            // No session was made for the browser that tried.
            assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')), client.jar.names().join(' '));
            assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
        } finally {
            await stack.stop();
        }
    });

    test('IPSIEDPoP off and a client registered with dpop_bound_access_tokens: the provider refuses, a 502 page', async () => {
        const stack = await startStack({ opTestHooks: true, client: { dpop_bound_access_tokens: true }, directives: ['IPSIEDPoP off'] });
        try {
            const { res } = await login(new Client(), stack.url('/app/'), 'judy');
            assert.equal(res.status, 502, res.body);
            assert.match(pageText(res), /Sign-in unavailable/);
            const [token] = await exchanges(stack, '/token');
            assert.equal(token.status, 400);
            assert.equal(logLines(stack.httpd, /IPSIE08203/, /status 400/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08203/, /IPSIE12007/]), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('IPSIEPassAccessToken with DPoP', () => {
    const passing = (backend) => protectedLocation('/app', backend, { extra: ['IPSIEPassAccessToken On'] });

    test('with IPSIEDPoP auto, start-up warns that the tokens passed on are DPoP-bound', async () => {
        const stack = await startStack({ opTestHooks: true, locations: passing });
        try {
            // httpd listens before its post-configuration hooks log: wait for the parent's line.
            for (let i = 0; i < 100 && logLines(stack.httpd, /resuming normal operations/).length === 0; i++) {
                await sleep(50);
            }
            assert.ok(logLines(stack.httpd, /IPSIE19003/, /IPSIEDPoP auto/).length >= 1, stack.httpd.errorLog());
            const { res } = await login(new Client(), stack.url('/app/'), 'kate');
            assert.equal(res.status, 200, res.body);
            assert.ok(res.json().headers['ipsie-access-token']?.length > 10);
            assert.equal((await exchanges(stack, '/token'))[0].tokenType, 'DPoP');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });

    test('with IPSIEDPoP off, no warning and a Bearer token', async () => {
        const stack = await startStack({ opTestHooks: true, locations: passing, directives: ['IPSIEDPoP off'] });
        try {
            for (let i = 0; i < 100 && logLines(stack.httpd, /resuming normal operations/).length === 0; i++) {
                await sleep(50);
            }
            assert.equal(logLines(stack.httpd, /resuming normal operations/).length, 1);
            assert.equal(logLines(stack.httpd, /IPSIE19003/).length, 0);
            const { res } = await login(new Client(), stack.url('/app/'), 'liam');
            assert.equal(res.status, 200, res.body);
            assert.equal((await exchanges(stack, '/token'))[0].tokenType, 'Bearer');
        } finally {
            await stack.stop();
        }
    });
});

describe('DPoP on UserInfo and refresh requests', () => {
    test('a provider that answers the proof with a Bearer token: UserInfo read with the Bearer scheme, at login and again', async () => {
        // The metadata lists DPoP, but the server ignores proofs (dpopOff): Bearer tokens.
        const stack = await startStack({
            opTestHooks: true,
            opOptions: { dpopOff: true, userinfoOnlyClaims: true },
            opMetadata: { dpop_signing_alg_values_supported: ['ES256'] },
            directives: ['IPSIEUserInfoRefreshInterval 2'],
        });
        try {
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'rita');
            assert.equal(res.status, 200, res.body);
            const [token] = await exchanges(stack, '/token');
            assert.ok(token.dpop, 'the proof was sent');
            assert.equal(token.tokenType, 'Bearer');
            assert.equal(logLines(stack.httpd, /IPSIE06203/).length, 1);
            await sleep(2200);
            const again = await client.get(stack.url('/app/a'));
            assert.equal(again.status, 200);
            assert.equal(again.json().headers['ipsie-claim-department'], 'engineering');
            const me = await exchanges(stack, '/me');
            assert.equal(me.length, 2, JSON.stringify(me.map((e) => [e.status, e.scheme, e.error])));
            for (const e of me) {
                assert.equal(e.status, 200, e.error);
                assert.equal(e.scheme, 'Bearer');
                assert.equal(e.dpop, null);
            }
            assert.equal(logLines(stack.httpd, /IPSIE18004/, /sub=rita/).length, 1);
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });

    test('UserInfo goes with the DPoP scheme and a proof (GET, ath); a refresh with a proof keeps the token bound', async () => {
        const stack = await startStack({
            opTestHooks: true,
            opOptions: { refreshTokens: true, accessTokenTtl: 20, rotateRefreshTokens: true },
            directives: ['IPSIEScope "openid email profile offline_access"', 'IPSIERefreshAccessTokenBeforeExpiry 18'],
            locations: (backend) => protectedLocation('/app', backend, { extra: ['IPSIEPassAccessToken On'] }),
        });
        try {
            const meta = (await request(stack.op.metadataUrl)).json();
            const client = new Client();
            const { res } = await login(client, stack.url('/app/'), 'quinn');
            assert.equal(res.status, 200, res.body);
            const first = res.json().headers['ipsie-access-token'];
            const [me] = await exchanges(stack, '/me');
            assert.equal(me.status, 200);
            assert.equal(me.scheme, 'DPoP');
            assert.equal(me.dpop.payload.htm, 'GET');
            assert.equal(me.dpop.payload.htu, meta.userinfo_endpoint);
            assert.equal(me.dpop.payload.ath, createHash('sha256').update(first).digest('base64url'));
            // Due 2 s after it was issued: the next request refreshes it.
            await sleep(2300);
            const again = await client.get(stack.url('/app/'));
            assert.equal(again.status, 200);
            assert.notEqual(again.json().headers['ipsie-access-token'], first);
            const refresh = (await exchanges(stack, '/token')).find((e) => e.grantType === 'refresh_token');
            assert.ok(refresh, 'a refresh was made');
            assert.equal(refresh.status, 200);
            assert.equal(refresh.tokenType, 'DPoP');
            assert.equal(refresh.dpop.payload.htu, meta.token_endpoint);
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});
