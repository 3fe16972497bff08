// private_key_jwt (RFC 7523, OpenID Connect Core 9; SPEC section 2) against the real
// oidc-provider: a client registered with token_endpoint_auth_method private_key_jwt and the
// public key of IPSIEClientSigningKey in its jwks; the assertion the module sends, the keys
// <redirect_uri>?jwks serves, an assertion the provider refuses, and configtest's checks of the
// key.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { keyStore } from './lib/keys.mjs';
import { CLIENT_ID, configtestDirectives, protectedLocation, startStack } from './lib/stack.mjs';
import { logLines, nowS, pageText } from './lib/util.mjs';

const keys = keyStore();
after(() => keys.remove());

// A stack whose client authenticates with a key: the module signs with signing (a keys.make()
// result, with kid when given), the provider knows registered (the same key unless a test
// wants another).
function keyStack({ signing, kid, registered = signing, directives = [], opOptions = {}, opIssuerSlash = false, opMetadata = null }) {
    return startStack({
        opIssuerSlash,
        opMetadata,
        withoutSecret: true,
        authMethod: 'private_key_jwt',
        opTestHooks: true,
        opOptions,
        client: { jwks: { keys: [{ ...registered.jwk, kid: kid ?? registered.thumbprint, use: 'sig' }] } },
        directives: [
            'IPSIEClientAuthMethod private_key_jwt',
            `IPSIEClientSigningKey ${signing.path}${kid ? ` ${kid}` : ''}`,
            ...directives,
        ],
    });
}

describe('private_key_jwt with an EC P-256 key', () => {
    const signing = keys.make('ec');
    let stack;
    let allow = [];

    before(async () => {
        stack = await keyStack({ signing });
    });
    after(() => stack?.stop());
    afterEach(() => {
        const problems = stack.httpd.errorLogProblems(allow);
        allow = [];
        assert.deepEqual(problems, []);
    });

    test('a login authenticates at the token endpoint with a client assertion and no secret', async () => {
        const before = nowS();
        const { res } = await login(new Client(), stack.url('/app/page'), 'alice');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json().headers['ipsie-claim-sub'], 'alice');

        const token = (await stack.op.report()).exchanges.filter((e) => e.path === '/token').at(-1);
        assert.equal(token.status, 200);
        assert.equal(token.basic, false, 'no HTTP Basic credentials');
        const { header, payload } = token.assertion;
        assert.equal(header.alg, 'ES256');
        assert.equal(header.kid, signing.thumbprint, 'the kid defaults to the RFC 7638 thumbprint');
        assert.equal(payload.iss, CLIENT_ID);
        assert.equal(payload.sub, CLIENT_ID);
        assert.equal(payload.aud, stack.op.issuer, 'aud is the issuer, a single string');
        assert.match(payload.jti, /^[A-Za-z0-9_-]{32,}$/);
        assert.ok(payload.iat >= before - 1 && payload.iat <= nowS() + 1, String(payload.iat));
        assert.ok(payload.exp > payload.iat && payload.exp - payload.iat <= 60, `${payload.iat} ${payload.exp}`);
    });

    test('every login sends a new assertion jti', async () => {
        await login(new Client(), stack.url('/app/'), 'bob');
        await login(new Client(), stack.url('/app/'), 'carol');
        const jtis = (await stack.op.report()).exchanges.filter((e) => e.path === '/token')
            .map((e) => e.assertion.payload.jti);
        assert.equal(new Set(jtis).size, jtis.length, jtis.join(' '));
    });

    test('?jwks serves the public client key with kid, alg and use, and never a private part', async () => {
        const res = await request(`${stack.redirectUri}?jwks`);
        assert.equal(res.status, 200);
        assert.match(res.headers['content-type'], /^application\/json/);
        assert.match(res.headers['cache-control'], /max-age=\d+/);
        const { keys: served } = res.json();
        const client = served.find((k) => k.kid === signing.thumbprint);
        assert.ok(client, JSON.stringify(served));
        assert.deepEqual(client, { ...signing.jwk, kid: signing.thumbprint, alg: 'ES256', use: 'sig' });
        for (const key of served) {
            for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
                assert.equal(key[member], undefined, `${key.kid} has ${member}`);
            }
        }
        // The DPoP key (the provider offers DPoP, IPSIEDPoP auto) is the other one.
        assert.equal(served.length, 2);
        assert.equal(served.find((k) => k !== client).alg, 'ES256');
    });

    test('?jwks answers without a session, also to a script', async () => {
        const res = await new Client().get(`${stack.redirectUri}?jwks`, { xhr: true });
        assert.equal(res.status, 200);
        assert.ok(res.json().keys.length >= 1);
    });
});

describe('private_key_jwt with an RSA key and a kid of its own', () => {
    const signing = keys.make('rsa');
    let stack;

    before(async () => {
        stack = await keyStack({ signing, kid: 'rp-key-2026' });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('a login signs RS256 under the configured kid', async () => {
        const { res } = await login(new Client(), stack.url('/app/'), 'dave');
        assert.equal(res.status, 200, res.body);
        const token = (await stack.op.report()).exchanges.find((e) => e.path === '/token');
        assert.equal(token.assertion.header.alg, 'RS256');
        assert.equal(token.assertion.header.kid, 'rp-key-2026');
        const served = (await request(`${stack.redirectUri}?jwks`)).json().keys;
        // No alg: the same key signs PS256 for a provider that takes only PS256.
        assert.ok(served.some((k) => k.kid === 'rp-key-2026' && k.kty === 'RSA' && k.alg === undefined
            && k.use === 'sig' && k.n === signing.jwk.n && k.e === signing.jwk.e), JSON.stringify(served));
    });
});

describe('private_key_jwt with an RSA key and a provider that lists PS256 and not RS256', () => {
    test('a login signs its assertion PS256, which the provider accepts', async () => {
        const stack = await keyStack({
            signing: keys.make('rsa'),
            opMetadata: { token_endpoint_auth_signing_alg_values_supported: ['PS256', 'ES256'] },
        });
        try {
            const { res } = await login(new Client(), stack.url('/app/'), 'dora');
            assert.equal(res.status, 200, res.body);
            const token = (await stack.op.report()).exchanges.find((e) => e.path === '/token');
            assert.equal(token.status, 200);
            assert.equal(token.assertion.header.alg, 'PS256');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('private_key_jwt with an Ed25519 key', () => {
    test('an Ed25519 key signs EdDSA assertions the provider accepts', async () => {
        const signing = keys.make('ed25519');
        const stack = await keyStack({ signing });
        try {
            const { res } = await login(new Client(), stack.url('/app/'), 'erin');
            assert.equal(res.status, 200, res.body);
            const token = (await stack.op.report()).exchanges.find((e) => e.path === '/token');
            assert.equal(token.assertion.header.alg, 'EdDSA');
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('private_key_jwt with a provider whose issuer ends in a slash', () => {
    test('the assertion\'s aud is the issuer as the metadata spells it, slash included', async () => {
        const signing = keys.make('ec');
        const stack = await keyStack({ signing, opIssuerSlash: true });
        try {
            const meta = (await request(stack.op.metadataUrl)).json();
            assert.ok(meta.issuer.endsWith('/'), meta.issuer);
            const { res } = await login(new Client(), stack.url('/app/'), 'nina');
            assert.equal(res.status, 200, res.body);
            const token = (await stack.op.report()).exchanges.find((e) => e.path === '/token');
            assert.equal(token.status, 200);
            assert.equal(token.assertion.payload.aud, meta.issuer);
            assert.deepEqual(stack.httpd.errorLogProblems(), []);
        } finally {
            await stack.stop();
        }
    });
});

describe('an assertion the provider refuses', () => {
    const signing = keys.make('ec');
    let stack;

    before(async () => {
        // The provider knows another key than the one the module signs with.
        stack = await keyStack({ signing, registered: keys.make('ec'), opOptions: {} });
    });
    after(() => stack?.stop());

    test('fails the login with the 502 "Sign-in unavailable" page and the provider\'s error code logged', async () => {
        const { res } = await login(new Client(), stack.url('/app/'), 'mallory');
        assert.equal(res.status, 502, res.body);
        assert.match(pageText(res), /Sign-in unavailable/);
        const token = (await stack.op.report()).exchanges.find((e) => e.path === '/token');
        assert.equal(token.status, 401);
        assert.equal(token.error, 'invalid_client');
        assert.equal(logLines(stack.httpd, /IPSIE08203/, /error invalid_client/).length, 1);
        assert.equal(logLines(stack.httpd, /IPSIE12007/).length, 1);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08203/, /IPSIE12007/]), []);
    });
});

// apache2 -t with the configtest directives, less IPSIEClientSecret, and lines added.
function configtestWith(add, { keepSecret = false } = {}) {
    const directives = configtestDirectives(18446)
        .filter((line) => keepSecret || !line.startsWith('IPSIEClientSecret '))
        .concat(add);
    return configtest(({ dir }) => httpdConf({
        dir, port: 18446, directives, locations: protectedLocation('/app', 'http://127.0.0.1:9'),
    }));
}

describe('configtest of the keys', () => {
    const fails = (r, re) => {
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, re, r.output);
    };

    test('private_key_jwt with a usable key passes without IPSIEClientSecret', () => {
        const r = configtestWith(['IPSIEClientAuthMethod private_key_jwt', `IPSIEClientSigningKey ${keys.make('ec').path}`]);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Syntax OK/);
    });

    test('without IPSIEClientSecret, the secret methods fail saying what to set', () => {
        fails(configtestWith([]), /IPSIEClientSecret is missing/);
    });

    test('private_key_jwt without IPSIEClientSigningKey fails', () => {
        fails(configtestWith(['IPSIEClientAuthMethod private_key_jwt']),
            /private_key_jwt needs IPSIEClientSigningKey/);
    });

    test('IPSIEClientSigningKey without private_key_jwt fails', () => {
        fails(configtestWith([`IPSIEClientSigningKey ${keys.make('ec').path}`], { keepSecret: true }),
            /IPSIEClientSigningKey is used only with IPSIEClientAuthMethod private_key_jwt/);
    });

    const refused = [
        ['a missing file', () => `${keys.dir}/no-such-key.pem`, /the file cannot be read/],
        ['an RSA key of 1024 bits', () => keys.make('rsa1024').path, /at least 2048 bits/],
        ['an EC key on P-384', () => keys.make('p384').path, /only P-256/],
        ['an encrypted key', () => keys.make('ec', { encrypted: true }).path, /encrypted/],
    ];
    for (const [what, file, re] of refused) {
        test(`IPSIEClientSigningKey with ${what} fails saying why`, () => {
            const r = configtestWith(['IPSIEClientAuthMethod private_key_jwt', `IPSIEClientSigningKey ${file()}`]);
            fails(r, /IPSIE10001/);
            fails(r, /IPSIEClientSigningKey \S+ cannot be used/);
            fails(r, re);
        });
    }

    test('IPSIEClientSigningKey with a bad kid or three arguments fails', () => {
        const path = keys.make('ec').path;
        fails(configtestWith(['IPSIEClientAuthMethod private_key_jwt', `IPSIEClientSigningKey ${path} "a kid"`]),
            /kid must be/);
        fails(configtestWith(['IPSIEClientAuthMethod private_key_jwt', `IPSIEClientSigningKey ${path} k1 k2`]),
            /takes a PEM file and, optionally, a kid/);
    });

    test('IPSIEDPoPSigningKey takes EC P-256 or Ed25519 keys only', () => {
        for (const kind of ['ec', 'ed25519']) {
            const r = configtestWith([`IPSIEDPoPSigningKey ${keys.make(kind).path}`], { keepSecret: true });
            assert.equal(r.code, 0, `${kind}: ${r.output}`);
        }
        fails(configtestWith([`IPSIEDPoPSigningKey ${keys.make('rsa').path}`], { keepSecret: true }),
            /DPoP keys must be EC P-256 \(ES256\) or Ed25519 \(EdDSA\)/);
        fails(configtestWith([`IPSIEDPoPSigningKey ${keys.make('p384').path}`], { keepSecret: true }),
            /IPSIEDPoPSigningKey \S+ cannot be used: .*only P-256/);
    });

    test('IPSIEAuthRequestMethod and IPSIEDPoP take their keywords only', () => {
        fails(configtestWith(['IPSIEAuthRequestMethod POST'], { keepSecret: true }), /IPSIEAuthRequestMethod: 'POST' is not one of: GET, PAR/);
        fails(configtestWith(['IPSIEDPoP sometimes'], { keepSecret: true }), /IPSIEDPoP: 'sometimes' is not one of: off, auto, required/);
        fails(configtestWith(['IPSIEAuthRequestParams dpop_jkt=abc'], { keepSecret: true }), /must not set dpop_jkt/);
    });
});
