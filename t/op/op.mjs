#!/usr/bin/env node
// A test OpenID Provider (oidc-provider) on loopback that emits the IPSIE SL1
// session_expiry claim. One OP serves every test: the login name chooses the
// IdP session lifetime (see sessionExpiryFor below).
//
//   node t/op/op.mjs --port 9090 --config clients.json
//   OP_PORT=9090 OP_CONFIG=clients.json node t/op/op.mjs
//
// Config file: { "defaultTtl": 3600, "clients": [ { "client_id": ..., "client_secret": ...,
//   "redirect_uris": [...], "post_logout_redirect_uris": [...],
//   "token_endpoint_auth_method": "client_secret_basic" } ],
//   "kids": { "rsa": "k1", "ec": "k2" }, "issuerPort": 9091, "backchannelLogout": false,
//   "testHooks": false, "issuerTrailingSlash": false, "idTokenAlgs": [], "idTokenHeader": null,
//   "idTokenClaims": null, "issParameterUnadvertised": false, "metadataMembers": null,
//   "tls": null }
// kids (optional) names the signing keys; without it each start picks random kids. The key
// material is new on every start either way, so a restart with the same kids is a key
// rotation under unchanged kids. issuerPort (optional): the OP names itself
// http://127.0.0.1:<issuerPort> while it listens on --port, for a proxy on that port in front
// of it (its endpoints follow the Host a request names).
//
// Opt-ins for tests, all off by default so that the OP behaves as it always did:
// backchannelLogout turns on Back-Channel Logout 1.0 (features.backchannelLogout): a client
// with a backchannel_logout_uri (and backchannel_logout_session_required, so that its ID tokens
// carry sid) is sent a logout token when its user logs out here. oidc-provider 9 sends it
// through configuration.fetch with options.dispatcher set to an undici Agent that destroys any
// socket to a special-use address (loopback included: lib/helpers/fetch_request.js); for the
// registered back-channel URIs alone, the fetch hook below drops that dispatcher, so the
// request reaches the RP on 127.0.0.1. Each logout token sent is recorded.
// testHooks adds GET /_test/report: { tokenRequests (POSTs to the token endpoint so far),
// logoutTokens [{ url, token, status }] sent, backchannel [{ ok, clientId, sub, sid, error }],
// signingKeys (the private JWKs, so a test can sign tokens of its own), refreshes and
// refreshErrors (refresh-token grants answered and refused), userinfoRequests }.
// refreshTokens: clients may use the refresh_token grant, and a code exchange issues a refresh
// token when the authorization request asked for offline_access, as enterprise OPs do.
// oidc-provider itself drops offline_access from an authorization request without
// prompt=consent (lib/actions/authorization/scopes.js), which the module does not send: the
// request is marked (x_offline_access) before that, and the grant it makes remembered; such a
// refresh token ends with the OP's session.
// accessTokenTtl: access tokens live that many seconds (expires_in). rotateRefreshTokens: each
// refresh consumes its refresh token and issues a new one; a consumed one presented again is
// refused and revokes the grant (oidc-provider's reuse detection). refreshSessionExpiry: the
// ID token of a refresh grant carries a session_expiry counted from the refresh, as the login
// name chooses it for a login (sessionExpiryFor): the IdP's session extended.
// refreshOtherSub: the ID token of a refresh grant names another sub (<account>-other).
// userinfoOnlyClaims: UserInfo answers claims the ID token does not have (department, office),
// an email of its own (the ID token's must win) and session_expiry 1 (never to be taken).
// userinfoWrongSub: UserInfo names another sub than the ID token. userinfoFails: UserInfo
// answers 500.
//
// Three more opt-ins, off by default, for the ID token and issuer tests:
// issuerTrailingSlash: the OP names itself http://127.0.0.1:<port>/, with a trailing slash, as
// some enterprise providers do; its metadata stays at /.well-known/openid-configuration
// (OpenID Connect Discovery 4). idTokenAlgs: ID token signing algorithms enabled beside the
// defaults (RS384, RS512, PS384, PS512, ES384, ES512; enabledJWA.idTokenSigningAlgValues), each
// with a key of its own (its alg set: RSA 2048, P-384 or P-521) in the JWKS; a client picks one
// with id_token_signed_response_alg. idTokenHeader: members set in the JWS header of every ID
// token the token endpoint returns ({ "typ": "at+jwt" }, { "crit": ["exp"], "exp": 1 }), the
// token signed again with the same key: ID tokens oidc-provider itself never sends.
//
// Four more, off by default, for the IPSIE SL1 tests: idTokenClaims: members set in the payload
// of every ID token the token endpoint returns ({ "aud": ["rp1"] }), signed again the same way
// (with idTokenHeader, both apply). issParameterUnadvertised: the metadata leaves out
// authorization_response_iss_parameter_supported (the OP still sends the RFC 9207 iss), as a
// provider that does not advertise it. metadataMembers: members set in the metadata
// ({ "end_session_endpoint": "http://..." }; the OP itself serves what it always did).
// tls: { cert, key } (PEM file paths): the OP serves https with that certificate (node's https
// server in front of the provider's callback, so that oidc-provider sees every request as
// secure) and names itself https://127.0.0.1:<port>.

import { constants, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

// session_expiry for a login made at authTime (Unix seconds), chosen by the login name:
//   ttl<N>-name -> authTime + N          noexpiry-name -> no claim
//   past-name   -> authTime - 10         str-name      -> a string
//   float-name  -> a float               huge-name     -> 10000000000
//   anything else -> authTime + defaultTtl
export function sessionExpiryFor(name, authTime, defaultTtl) {
    const ttl = /^ttl(\d+)-/.exec(name);
    if (ttl) {
        return authTime + Number(ttl[1]);
    }
    if (name.startsWith('noexpiry-')) {
        return undefined;
    }
    if (name.startsWith('past-')) {
        return authTime - 10;
    }
    if (name.startsWith('str-')) {
        return String(authTime + defaultTtl);
    }
    if (name.startsWith('float-')) {
        return authTime + defaultTtl + 0.5;
    }
    if (name.startsWith('huge-')) {
        return 10000000000;
    }
    return authTime + defaultTtl;
}

// Fresh key pairs; kids.rsa and kids.ec name them, random kids otherwise. (oidc-provider 9
// gives a key without kid one of its own, so a kid-less JWKS cannot be had from it.)
// The groups claim: groups<N>-name -> N group names of 30 characters (a large session),
// a name with "admin" -> staff and admin, anything else -> staff.
export function groupsFor(name) {
    const many = /^groups(\d+)-/.exec(name);
    if (many) {
        return Array.from({ length: Number(many[1]) }, (_, i) => `group-${String(i).padStart(4, '0')}-${'x'.repeat(19)}`);
    }
    return name.includes('admin') ? ['staff', 'admin'] : ['staff'];
}

// Claims some login names add: collide-name -> names that map to the same header or variable
// (nick_name, nick-name, Nick_Name; x.y, X-Y; session-expiry beside session_expiry);
// ctlmail-name -> an email with CR LF in it.
export function extraClaimsFor(name) {
    if (name.startsWith('collide-')) {
        return {
            nick_name: 'real', 'nick-name': 'dash', Nick_Name: 'upper',
            'x.y': 'dot', 'X-Y': 'dash-upper', 'session-expiry': 1,
        };
    }
    if (name.startsWith('ctlmail-')) {
        return { email: `${name}@example.test\r\nX-Injected: yes` };
    }
    return {};
}

// The key an ID token algorithm beyond the defaults needs (idTokenAlgs), as a private JWK.
function keyFor(alg) {
    const curves = { ES384: 'P-384', ES512: 'P-521' };
    const pair = curves[alg]
        ? generateKeyPairSync('ec', { namedCurve: curves[alg] })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function signingKeys(kids = {}, idTokenAlgs = []) {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    return {
        keys: [
            { ...rsa, kid: kids.rsa ?? 'rs256-' + randomBytes(4).toString('hex'), alg: 'RS256', use: 'sig' },
            { ...ec, kid: kids.ec ?? 'es256-' + randomBytes(4).toString('hex'), alg: 'ES256', use: 'sig' },
            ...idTokenAlgs.map(keyFor),
        ],
    };
}

// The compact JWS of jws's payload under its header with members added (header; one given as
// undefined is left out), with members of claims set in its payload (none when absent), signed
// again with the key of its kid among keys (the idTokenHeader and idTokenClaims opt-ins).
export function resignJws(jws, header, keys, claims) {
    const [h, body] = jws.split('.');
    const original = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const fields = { ...original, ...header };
    const jwk = keys.find((k) => k.kid === original.kid);
    const payload = claims
        ? Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString('utf8')), ...claims }))
            .toString('base64url')
        : body;
    const input = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${payload}`;
    const hash = `sha${fields.alg.slice(2)}`;
    const { kty, n, e, d, p, q, dp, dq, qi, crv, x, y } = jwk;
    const key = createPrivateKey({ key: { kty, n, e, d, p, q, dp, dq, qi, crv, x, y }, format: 'jwk' });
    const signature = fields.alg.startsWith('ES')
        ? sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : fields.alg.startsWith('PS')
            ? sign(hash, Buffer.from(input), {
                key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            })
            : sign(hash, Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
}

function clientFrom(c, refreshTokens) {
    return {
        grant_types: refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        require_auth_time: true,
        post_logout_redirect_uris: [],
        ...c,
    };
}

// Consent is granted automatically for whatever the request asks; offlineGrants (a Set, or
// undefined) collects the grants of requests that asked for offline_access.
function grantLoader(offlineGrants) {
    return async function loadExistingGrant(ctx) {
        const { Grant } = ctx.oidc.provider;
        const grant = new Grant({
            clientId: ctx.oidc.client.clientId,
            accountId: ctx.oidc.session.accountId,
        });
        grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
        grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
        const id = await grant.save();
        if (offlineGrants && ctx.oidc.params.x_offline_access === '1') {
            offlineGrants.add(id);
        }
        return grant;
    };
}

// configuration.fetch for the backchannelLogout opt-in: requests to the registered
// back-channel logout URIs go out without oidc-provider's special-use address guard (the RP
// listens on loopback) and are recorded; any other request keeps the guard.
function backchannelFetch(clients, record) {
    const uris = new Set(clients.map((c) => c.backchannel_logout_uri).filter(Boolean)
        .map((u) => new URL(u).href));
    return async (url, options) => {
        const href = new URL(url).href;
        if (!uris.has(href)) {
            return globalThis.fetch(url, options);
        }
        const { dispatcher, ...rest } = options;
        const token = new URLSearchParams(String(options.body)).get('logout_token');
        const entry = { url: href, token, status: undefined };
        record.push(entry);
        try {
            const response = await globalThis.fetch(url, rest);
            entry.status = response.status;
            return response;
        } catch (err) {
            entry.status = `error: ${err.message}`;
            throw err;
        }
    };
}

// The claims UserInfo answers for the userinfoOnlyClaims opt-in, over the account's.
export function userinfoOnlyClaimsFor(name) {
    return {
        department: 'engineering',
        office: '4.12',
        email: `${name}@userinfo.example.test`,
        session_expiry: 1,
    };
}

export function createProvider({
    port, issuerPort, clients, defaultTtl = 3600, kids, backchannelLogout = false, testHooks = false,
    issuerTrailingSlash = false, idTokenAlgs = [], idTokenHeader = null, idTokenClaims = null,
    issParameterUnadvertised = false, metadataMembers = null, tls = null,
    refreshTokens = false, accessTokenTtl, rotateRefreshTokens = false, refreshSessionExpiry = false,
    refreshOtherSub = false, userinfoOnlyClaims = false, userinfoWrongSub = false, userinfoFails = false,
}) {
    const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${issuerPort ?? port}${issuerTrailingSlash ? '/' : ''}`;
    const jwks = signingKeys(kids, idTokenAlgs);
    const report = {
        tokenRequests: 0, logoutTokens: [], backchannel: [], refreshes: 0, refreshErrors: 0, userinfoRequests: 0,
    };
    const offlineGrants = refreshTokens ? new Set() : undefined;
    const configuration = {
        clients: clients.map((c) => clientFrom(c, refreshTokens)),
        jwks,
        cookies: {
            keys: [randomBytes(32).toString('hex')],
            long: { httpOnly: true, sameSite: 'lax', secure: false },
            short: { httpOnly: true, sameSite: 'lax', secure: false },
        },
        claims: {
            openid: ['sub', 'session_expiry'],
            email: ['email'],
            profile: ['name', 'nick_name', 'nick-name', 'Nick_Name', 'session-expiry', 'x.y', 'X-Y',
                'department', 'office'],
            groups: ['groups'],
        },
        scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
        responseTypes: ['code'],
        conformIdTokenClaims: false,
        loadExistingGrant: grantLoader(offlineGrants),
        ...(refreshTokens ? { extraParams: ['x_offline_access'] } : {}),
        pkce: { required: () => true },
        ...(idTokenAlgs.length > 0 ? {
            enabledJWA: { idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', ...idTokenAlgs] },
        } : {}),
        features: {
            devInteractions: { enabled: true },
            rpInitiatedLogout: { enabled: true },
            backchannelLogout: { enabled: backchannelLogout },
        },
        ...(backchannelLogout ? { fetch: backchannelFetch(clients, report.logoutTokens) } : {}),
        ...(refreshTokens ? {
            issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
                && (code.scopes.has('offline_access') || offlineGrants.has(code.grantId)),
        } : {}),
        ...(accessTokenTtl ? { ttl: { AccessToken: accessTokenTtl } } : {}),
        ...(rotateRefreshTokens ? { rotateRefreshToken: true } : {}),
        async findAccount(ctx, id, token) {
            const authTime = token?.authTime ?? ctx.oidc.session?.authTime ?? Math.floor(Date.now() / 1000);
            const refreshGrant = ctx.oidc?.params?.grant_type === 'refresh_token';
            const refreshing = refreshSessionExpiry && refreshGrant;
            return {
                // oidc-provider names the ID token's sub after the account found.
                accountId: refreshGrant && refreshOtherSub ? `${id}-other` : id,
                async claims(use) {
                    const claims = {
                        sub: id,
                        email: `${id}@example.test`,
                        name: id,
                        groups: groupsFor(id),
                        ...extraClaimsFor(id),
                    };
                    const from = refreshing ? Math.floor(Date.now() / 1000) : authTime;
                    const expiry = sessionExpiryFor(id, from, defaultTtl);
                    if (use === 'userinfo' && userinfoOnlyClaims) {
                        return { ...claims, ...(expiry !== undefined ? { session_expiry: expiry } : {}), ...userinfoOnlyClaimsFor(id) };
                    }
                    if (expiry !== undefined) {
                        claims.session_expiry = expiry;
                    }
                    return claims;
                },
            };
        },
    };
    const provider = new Provider(issuer, configuration);
    if (refreshTokens) {
        // Marked before oidc-provider drops offline_access (see refreshTokens above).
        provider.use(async (ctx, next) => {
            if (ctx.method === 'GET' && ctx.path === '/auth'
                && String(ctx.query.scope ?? '').split(' ').includes('offline_access')) {
                ctx.query = { ...ctx.query, x_offline_access: '1' };
            }
            await next();
        });
    }
    if (backchannelLogout) {
        provider.on('backchannel.success', (ctx, client, sub, sid) => {
            report.backchannel.push({ ok: true, clientId: client.clientId, sub, sid });
            console.log(`backchannel logout sent: client=${client.clientId} sub=${sub} sid=${sid}`);
        });
        provider.on('backchannel.error', (ctx, err, client, sub, sid) => {
            report.backchannel.push({ ok: false, clientId: client.clientId, sub, sid, error: err.message });
            console.log(`backchannel logout failed: client=${client.clientId} sub=${sub}: ${err.message}`);
        });
    }
    if (idTokenHeader || idTokenClaims) {
        provider.use(async (ctx, next) => {
            await next();
            if (ctx.method === 'POST' && ctx.path === '/token' && typeof ctx.body?.id_token === 'string') {
                ctx.body = {
                    ...ctx.body,
                    id_token: resignJws(ctx.body.id_token, idTokenHeader ?? {}, jwks.keys, idTokenClaims ?? undefined),
                };
            }
        });
    }
    if (issParameterUnadvertised || metadataMembers) {
        provider.use(async (ctx, next) => {
            await next();
            if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
                const body = { ...ctx.body, ...metadataMembers };
                if (issParameterUnadvertised) {
                    delete body.authorization_response_iss_parameter_supported;
                }
                ctx.body = body;
            }
        });
    }
    if (testHooks) {
        provider.use(async (ctx, next) => {
            if (ctx.method === 'GET' && ctx.path === '/_test/report') {
                ctx.body = { ...report, signingKeys: jwks.keys };
                return;
            }
            if (ctx.method === 'POST' && ctx.path === '/token') {
                report.tokenRequests += 1;
            }
            if (ctx.path === '/me') {
                report.userinfoRequests += 1;
            }
            await next();
        });
        provider.on('grant.success', (ctx) => {
            if (ctx.oidc.params?.grant_type === 'refresh_token') {
                report.refreshes += 1;
            }
        });
        provider.on('grant.error', (ctx) => {
            if (ctx.oidc?.params?.grant_type === 'refresh_token') {
                report.refreshErrors += 1;
            }
        });
    }
    if (userinfoWrongSub || userinfoFails) {
        provider.use(async (ctx, next) => {
            if (ctx.path === '/me' && userinfoFails) {
                ctx.status = 500;
                ctx.body = { error: 'server_error' };
                return;
            }
            await next();
            if (ctx.path === '/me' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
                ctx.body = { ...ctx.body, sub: 'someone-else' };
            }
        });
    }
    return { issuer, provider };
}

function main() {
    const { values } = parseArgs({
        options: {
            port: { type: 'string', default: process.env.OP_PORT },
            config: { type: 'string', default: process.env.OP_CONFIG },
        },
    });
    if (!values.port || !values.config) {
        console.error('usage: node t/op/op.mjs --port PORT --config FILE');
        process.exit(2);
    }
    const config = JSON.parse(readFileSync(values.config, 'utf8'));
    const port = Number(values.port);
    const { issuer, provider } = createProvider({ ...config, port });
    const listening = () => console.log(`OP listening on 127.0.0.1:${port} as ${issuer}`);
    const server = config.tls
        ? https.createServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
            provider.callback()).listen(port, '127.0.0.1', listening)
        : provider.listen(port, '127.0.0.1', listening);
    const stop = () => {
        server.close(() => process.exit(0));
        server.closeAllConnections();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
    main();
}
