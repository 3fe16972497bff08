// An OP, a backend application and an httpd with mod_auth_ipsie in front of it, on loopback.
import { randomBytes } from 'node:crypto';
import { startBackend } from './backend.mjs';
import { startHttpd } from './httpd.mjs';
import { startOP } from './op.mjs';
import { freePort } from './ports.mjs';

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
// client's token_endpoint_auth_method at the OP; opKids: { rsa, ec } kids of the OP's keys.
// Returns { op, backend, httpd, redirectUri, url(path), restartOP(opts), stop() };
// restartOP stops the OP and starts it again on its port with the same clients and new keys
// (opts.kids, else opKids), and sets op to the new one.
export async function startStack({
    directives = [], locations, opTtl = 3600, host = '127.0.0.1', authMethod = 'client_secret_basic',
    opKids,
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
    const op = await startOP(opConfig);
    let backend;
    let httpd;
    try {
        backend = await startBackend();
        const locs = locations ? locations(backend.url) : protectedLocation('/app', backend.url);
        httpd = await startHttpd({
            port: httpdPort,
            directives: [
                ...ipsieDirectives({ metadataUrl: op.metadataUrl, httpdPort, clientSecret, passphrase, host }),
                ...directives,
            ],
            locations: locs,
        });
    } catch (err) {
        await backend?.stop();
        await op.stop();
        throw err;
    }
    const stack = {
        op,
        backend,
        httpd,
        redirectUri,
        origin,
        url: (path) => `${origin}${path}`,
        async restartOP(opts = {}) {
            const { port } = stack.op;
            await stack.op.stop();
            stack.op = await startOP({ ...opConfig, ...opts, port });
            return stack.op;
        },
        async stop() {
            await httpd.stop();
            await backend.stop();
            await stack.op.stop();
        },
    };
    return stack;
}
