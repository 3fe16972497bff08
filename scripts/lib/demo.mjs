// Starts the test OP, the demo app and httpd with mod_auth_ipsie on loopback; Ctrl-C stops all.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startHttpd } from '../../t/integration/lib/httpd.mjs';
import { startOP } from '../../t/integration/lib/op.mjs';
import { freePort } from '../../t/integration/lib/ports.mjs';
import { ipsieDirectives, CLIENT_ID } from '../../t/integration/lib/stack.mjs';
import { startDemoApp } from './demo-app.mjs';

const SIGNED_OUT = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:12vh auto;padding:0 1rem}</style>
</head><body><h1>You are signed out</h1>
<p>Your session on this site has ended, and so has your session at the identity provider.</p>
<p><a href="/app/">Sign in again</a></p></body></html>
`;

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
            post_logout_redirect_uris: [`${origin}/signed-out.html`],
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
            'IPSIEPostLogoutRedirectURI /signed-out.html',
            'IPSIESessionWarningLead 20',
        ],
        locations: [
            // The signed-out page and the browser's favicon request are public.
            '<Location /signed-out.html>',
            '    Require all granted',
            '</Location>',
            '<Location /favicon.ico>',
            '    Require all granted',
            '</Location>',
            '<Location /app>',
            '    AuthType ipsie',
            '    Require valid-user',
            '    IPSIESessionWarning On',
            `    ProxyPass ${app.url}`,
            `    ProxyPassReverse ${app.url}`,
            '</Location>',
        ],
    });
    stops.push(httpd.stop);
    writeFileSync(join(httpd.dir, 'htdocs', 'signed-out.html'), SIGNED_OUT);
    // A 16x16 icon of one colour: the browser asks for one on every page.
    writeFileSync(join(httpd.dir, 'htdocs', 'favicon.ico'), Buffer.from(
        'AAABAAEAEBAQAAEABAAoAQAAFgAAACgAAAAQAAAAIAAAAAEABAAAAAAAgAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAA2mkJAP///wAR' +
        'EREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREQ' +
        'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'base64'));

    console.log(`
mod_auth_ipsie demo is running.

  Open:          ${origin}/app/
  Log in as:     any name and any password at the test OpenID Provider (${op.issuer}).
                 "ttl60-alice" gets a one-minute IdP session: the app session ends 5 s
                 before it (IPSIESessionExpiryLeeway 5): 20 s before that a dialog says
                 so (IPSIESessionWarning, IPSIESessionWarningLead 20), and at the end the
                 page goes to a fresh sign-in on its own.
                 A name containing "admin" gets the groups claim "staff,admin".
  Log out:       the app's "Log out" link ends the session here and at the provider, and
                 lands on a public page (${origin}/signed-out.html).
  httpd config:  ${httpd.dir}/httpd.conf
  httpd log:     ${httpd.dir}/error.log

Press Ctrl-C to stop.`);
} catch (err) {
    console.error(err.message);
    await stopAll();
    process.exit(1);
}
