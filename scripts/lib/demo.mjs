// Starts the test OP, the demo app and httpd with mod_auth_ipsie on loopback; Ctrl-C stops all.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startHttpd } from '../../t/integration/lib/httpd.mjs';
import { startOP } from '../../t/integration/lib/op.mjs';
import { freePort } from '../../t/integration/lib/ports.mjs';
import { ipsieDirectives, CLIENT_ID } from '../../t/integration/lib/stack.mjs';
import { startDemoApp } from './demo-app.mjs';

// port when nothing listens on it, else a free one.
function portOr(port) {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once('error', () => resolve(freePort()));
        server.listen(port, '127.0.0.1', () => server.close(() => resolve(port)));
    });
}

const httpdPort = await portOr(8080);
const opPort = await portOr(9090);
const appPort = await portOr(9091);
const origin = `http://127.0.0.1:${httpdPort}`;
const clientSecret = randomBytes(24).toString('hex');

const stops = [];
async function stopAll() {
    for (const stop of stops.reverse()) {
        await stop().catch(() => {});
    }
}
process.on('SIGINT', () => stopAll().then(() => process.exit(0)));
process.on('SIGTERM', () => stopAll().then(() => process.exit(0)));

try {
    const op = await startOP({
        port: opPort,
        clients: [{
            client_id: CLIENT_ID,
            client_secret: clientSecret,
            redirect_uris: [`${origin}/app/redirect_uri`],
            post_logout_redirect_uris: [`${origin}/app/`, `${origin}/`],
        }],
    });
    stops.push(op.stop);
    const app = await startDemoApp(appPort);
    stops.push(app.stop);
    const httpd = await startHttpd({
        port: httpdPort,
        keepDir: true,
        directives: [
            ...ipsieDirectives({
                metadataUrl: op.metadataUrl,
                httpdPort,
                clientSecret,
                passphrase: randomBytes(32).toString('hex'),
            }),
            'IPSIESessionExpiryLeeway 5',
        ],
        locations: [
            '<Location /app>',
            '    AuthType ipsie',
            '    Require valid-user',
            `    ProxyPass ${app.url}`,
            `    ProxyPassReverse ${app.url}`,
            '</Location>',
        ],
    });
    stops.push(httpd.stop);

    console.log(`
mod_auth_ipsie demo is running.

  Open:          ${origin}/app/
  Log in as:     any name and any password at the test OpenID Provider (${op.issuer}).
                 "ttl60-alice" gets a one-minute IdP session: the app session ends 5 s
                 before it (IPSIESessionExpiryLeeway 5) and the next request logs in again.
                 A name containing "admin" gets the groups claim "staff,admin".
  httpd log:     ${httpd.dir}/error.log

Press Ctrl-C to stop.`);
} catch (err) {
    console.error(err.message);
    await stopAll();
    process.exit(1);
}
