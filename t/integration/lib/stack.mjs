// An OP, a backend application and an httpd with mod_auth_ipsie in front of it, on loopback.
import { randomBytes } from 'node:crypto';
import { startBackend } from './backend.mjs';
import { startHttpd } from './httpd.mjs';
import { startOP } from './op.mjs';
import { freePort } from './ports.mjs';
import { startSlowProxy } from './slowproxy.mjs';

export const CLIENT_ID = 'rp1';

// The server-level IPSIE directives for `apache2 -t` only: a provider nobody listens on.
export function configtestDirectives(httpdPort) {
    return ipsieDirectives({
        metadataUrl: 'http://127.0.0.1:9/.well-known/openid-configuration',
        httpdPort,
        clientSecret: 'configtest-secret',
        passphrase: 'a-passphrase-of-more-than-32-characters',
    });
}

// The server-level IPSIE directives for an OP, an httpd port and a client secret; scheme: the
// site's (its redirect URI's); caFile: IPSIEProviderCACertificate, when given.
export function ipsieDirectives({
    metadataUrl, httpdPort, clientSecret, passphrase, host = '127.0.0.1', scheme = 'http', caFile,
}) {
    return [
        `IPSIEProviderMetadataURL ${metadataUrl}`,
        ...(caFile ? [`IPSIEProviderCACertificate ${caFile}`] : []),
        `IPSIEClientID ${CLIENT_ID}`,
        `IPSIEClientSecret ${clientSecret}`,
        `IPSIERedirectURI ${scheme}://${host}:${httpdPort}/app/redirect_uri`,
        `IPSIECryptoPassphrase ${passphrase}`,
        'IPSIEScope "openid email profile groups"',
    ];
}

// A protected <Location> reverse-proxied to the backend; extra: more lines inside it.
export function protectedLocation(path, backendUrl, { require = 'Require valid-user', extra = [] } = {}) {
    return [
        `<Location ${path}>`,
        '    AuthType ipsie',
        `    ${require}`,
        ...extra.map((l) => `    ${l}`),
        `    ProxyPass ${backendUrl}${path === '/app' ? '' : path}`,
        `    ProxyPassReverse ${backendUrl}${path === '/app' ? '' : path}`,
        '</Location>',
    ].join('\n');
}

// Starts everything. directives: extra server-level lines (or a function of the started OP
// that returns them, for lines that name its issuer or port; a directive given again there
// replaces the default line's value); locations: replaces the default
// /app location (a function of the backend URL); opTtl: the OP's default session TTL;
// host: the name the site is reached by (httpd still listens on 127.0.0.1); authMethod: the
// client's token_endpoint_auth_method at the OP; opKids: { rsa, ec } kids of the OP's keys;
// slowProxy: put a proxy (lib/slowproxy.mjs) in front of the OP, which names itself by the
// proxy's URL, so that httpd and the browser reach it only through the proxy.
// httpds: how many httpd instances to run, each on its own port with the same configuration,
// passphrase, client and cookie names (hosts behind a load balancer: a shared
// IPSIESessionCache in directives makes them share sessions); the OP client registers every
// instance's redirect URI. The test client's cookies are per host, not per port, as a
// browser's, so a session cookie set by one instance reaches the others.
// backchannelLogout: the OP sends Back-Channel Logout to the first instance's
// <redirect_uri>?logout=backchannel (backchannel_logout_session_required: its ID tokens carry
// sid); opTestHooks: the OP's GET /_test/report (t/op/op.mjs); opOptions: more of the OP's
// opt-ins (t/op/op.mjs: refreshTokens, accessTokenTtl, ...); mpm: as for startHttpd.
// opIssuerSlash: the OP's issuer ends in '/' (its metadata URL does not change); idTokenAlg:
// the client's id_token_signed_response_alg at the OP (RS256 when absent), an algorithm
// beyond the OP's defaults enabled there with a key of its own; opIdTokenHeader: members the
// OP sets in every ID token's JWS header (the issuerTrailingSlash, idTokenAlgs and
// idTokenHeader opt-ins of t/op/op.mjs); opIdTokenClaims: members the OP sets in every ID
// token's payload; opIssUnadvertised: the OP's metadata leaves out
// authorization_response_iss_parameter_supported; opMetadata: members the OP sets in its
// metadata (its idTokenClaims, issParameterUnadvertised and metadataMembers opt-ins).
// tls: { ca, cert, key } (PEM file paths, lib/tls.mjs): the OP and every httpd serve https
// with cert and key, the sites' origins and redirect URIs are https, and the module trusts ca
// (IPSIEProviderCACertificate); tls.op: { cert, key } the OP serves instead (a certificate for
// another name); a client needs new Client({ ca: readFileSync(tls.ca) }).
// Returns { op, backend, httpd, proxy, redirectUri, origin, url(path), sites, restartOP(opts),
// restartHttpd(i), stop() }; sites[i] is { httpd, origin, redirectUri, url(path) } of instance
// i (httpd, redirectUri, origin and url are sites[0]'s); restartOP stops the OP and starts it
// again on its port with the same clients and new keys (opts.kids, else opKids), and sets op
// to the new one; restartHttpd stops instance i (0) and starts a new one, on the same port with
// the same config and secrets and nothing cached, and sets its httpd to it (the old one's
// error log is gone).
export async function startStack({
    directives = [], locations, opTtl = 3600, host = '127.0.0.1', authMethod = 'client_secret_basic',
    opKids, slowProxy = false, httpds = 1, backchannelLogout = false, opTestHooks = false, opOptions = {},
    mpm, opIssuerSlash = false, idTokenAlg, opIdTokenHeader = null, opIdTokenClaims = null,
    opIssUnadvertised = false, opMetadata = null, tls,
} = {}) {
    const ports = [];
    while (ports.length < httpds) {
        const port = await freePort();
        if (!ports.includes(port)) {
            ports.push(port);
        }
    }
    const scheme = tls ? 'https' : 'http';
    const origins = ports.map((port) => `${scheme}://${host}:${port}`);
    const redirectUris = origins.map((origin) => `${origin}/app/redirect_uri`);
    const clientSecret = randomBytes(24).toString('hex');
    const passphrase = randomBytes(32).toString('hex');

    const client = {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: origins.flatMap((origin) => [`${origin}/`, `${origin}/app/`, `${origin}/app/logged-out`]),
        token_endpoint_auth_method: authMethod,
    };
    if (idTokenAlg) {
        client.id_token_signed_response_alg = idTokenAlg;
    }
    if (backchannelLogout) {
        client.backchannel_logout_uri = `${redirectUris[0]}?logout=backchannel`;
        client.backchannel_logout_session_required = true;
    }
    const opConfig = {
        ...opOptions,
        defaultTtl: opTtl,
        kids: opKids,
        clients: [client],
        backchannelLogout,
        testHooks: opTestHooks,
        issuerTrailingSlash: opIssuerSlash,
        idTokenAlgs: idTokenAlg && !['RS256', 'PS256', 'ES256', 'EdDSA'].includes(idTokenAlg) ? [idTokenAlg] : [],
        idTokenHeader: opIdTokenHeader,
        idTokenClaims: opIdTokenClaims,
        issParameterUnadvertised: opIssUnadvertised,
        metadataMembers: opMetadata,
        tls: tls ? { ca: tls.ca, ...(tls.op ?? { cert: tls.cert, key: tls.key }) } : undefined,
    };
    let proxy;
    if (slowProxy) {
        opConfig.port = await freePort();
        proxy = await startSlowProxy({ targetPort: opConfig.port });
        opConfig.issuerPort = proxy.port;
    }
    let op;
    let backend;
    const sites = [];
    const httpdOpts = [];
    try {
        op = await startOP(opConfig);
        backend = await startBackend();
        const locs = locations ? locations(backend.url) : protectedLocation('/app', backend.url);
        for (const [i, port] of ports.entries()) {
            httpdOpts.push({
                port,
                directives: [
                    ...ipsieDirectives({
                        metadataUrl: op.metadataUrl, httpdPort: port, clientSecret, passphrase, host, scheme,
                        caFile: tls?.ca,
                    }),
                    ...(typeof directives === 'function' ? directives(op) : directives),
                ],
                locations: locs,
                ...(mpm ? { mpm } : {}),
                ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
            });
            sites.push({
                httpd: await startHttpd(httpdOpts[i]),
                origin: origins[i],
                redirectUri: redirectUris[i],
                url: (path) => `${origins[i]}${path}`,
            });
        }
    } catch (err) {
        for (const site of sites) {
            await site.httpd.stop();
        }
        await backend?.stop();
        await op?.stop();
        await proxy?.stop();
        throw err;
    }
    const stack = {
        op,
        backend,
        proxy,
        sites,
        get httpd() {
            return sites[0].httpd;
        },
        redirectUri: redirectUris[0],
        origin: origins[0],
        url: (path) => `${origins[0]}${path}`,
        async restartOP(opts = {}) {
            const { port } = stack.op;
            await stack.op.stop();
            stack.op = await startOP({ ...opConfig, ...opts, port });
            return stack.op;
        },
        async restartHttpd(i = 0) {
            await sites[i].httpd.stop();
            sites[i].httpd = await startHttpd(httpdOpts[i]);
            return sites[i].httpd;
        },
        async stop() {
            for (const site of sites) {
                await site.httpd.stop();
            }
            await backend.stop();
            await stack.op.stop();
            await proxy?.stop();
        },
    };
    return stack;
}
