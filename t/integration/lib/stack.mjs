// An OP, a backend application and an httpd with mod_auth_ipsie in front of it, on loopback.
import { randomBytes } from 'node:crypto';
import { startBackend } from './backend.mjs';
import { startHttpd } from './httpd.mjs';
import { startOP } from './op.mjs';
import { freePort } from './ports.mjs';
import { startSlowProxy } from './slowproxy.mjs';

export const CLIENT_ID = 'rp1';

// The server-level IPSIE directives for an OP, an httpd port and a client secret.
export function ipsieDirectives({ metadataUrl, httpdPort, clientSecret, passphrase, host = '127.0.0.1' }) {
    return [
        `IPSIEProviderMetadataURL ${metadataUrl}`,
        `IPSIEClientID ${CLIENT_ID}`,
        `IPSIEClientSecret ${clientSecret}`,
        `IPSIERedirectURI http://${host}:${httpdPort}/app/redirect_uri`,
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

// Starts everything. directives: extra server-level lines; locations: replaces the default
// /app location (a function of the backend URL); opTtl: the OP's default session TTL;
// host: the name the site is reached by (httpd still listens on 127.0.0.1); authMethod: the
// client's token_endpoint_auth_method at the OP; opKids: { rsa, ec } kids of the OP's keys;
// slowProxy: put a proxy (lib/slowproxy.mjs) in front of the OP, which names itself by the
// proxy's URL, so that httpd and the browser reach it only through the proxy.
// Returns { op, backend, httpd, proxy, redirectUri, url(path), restartOP(opts),
// restartHttpd(), stop() }; restartOP stops the OP and starts it again on its port with the
// same clients and new keys (opts.kids, else opKids), and sets op to the new one;
// restartHttpd stops httpd and starts a new one, on the same port with the same config and
// secrets and nothing cached, and sets httpd to it (the old one's error log is gone).
export async function startStack({
    directives = [], locations, opTtl = 3600, host = '127.0.0.1', authMethod = 'client_secret_basic',
    opKids, slowProxy = false,
} = {}) {
    const httpdPort = await freePort();
    const origin = `http://${host}:${httpdPort}`;
    const redirectUri = `${origin}/app/redirect_uri`;
    const clientSecret = randomBytes(24).toString('hex');
    const passphrase = randomBytes(32).toString('hex');

    const opConfig = {
        defaultTtl: opTtl,
        kids: opKids,
        clients: [{
            client_id: CLIENT_ID,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            post_logout_redirect_uris: [`${origin}/`, `${origin}/app/`, `${origin}/app/logged-out`],
            token_endpoint_auth_method: authMethod,
        }],
    };
    let proxy;
    if (slowProxy) {
        opConfig.port = await freePort();
        proxy = await startSlowProxy({ targetPort: opConfig.port });
        opConfig.issuerPort = proxy.port;
    }
    let op;
    let backend;
    let httpd;
    let httpdOpts;
    try {
        op = await startOP(opConfig);
        backend = await startBackend();
        const locs = locations ? locations(backend.url) : protectedLocation('/app', backend.url);
        httpdOpts = {
            port: httpdPort,
            directives: [
                ...ipsieDirectives({ metadataUrl: op.metadataUrl, httpdPort, clientSecret, passphrase, host }),
                ...directives,
            ],
            locations: locs,
        };
        httpd = await startHttpd(httpdOpts);
    } catch (err) {
        await backend?.stop();
        await op?.stop();
        await proxy?.stop();
        throw err;
    }
    const stack = {
        op,
        backend,
        httpd,
        proxy,
        redirectUri,
        origin,
        url: (path) => `${origin}${path}`,
        async restartOP(opts = {}) {
            const { port } = stack.op;
            await stack.op.stop();
            stack.op = await startOP({ ...opConfig, ...opts, port });
            return stack.op;
        },
        async restartHttpd() {
            await stack.httpd.stop();
            stack.httpd = await startHttpd(httpdOpts);
            return stack.httpd;
        },
        async stop() {
            await stack.httpd.stop();
            await backend.stop();
            await stack.op.stop();
            await proxy?.stop();
        },
    };
    return stack;
}
