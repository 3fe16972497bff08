// The demo's protected application: shows who is logged in (from the IPSIE-Claim-* headers)
// and counts down to the end of the session (from IPSIE-Session-Remaining).
import http from 'node:http';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(req) {
    const claims = Object.entries(req.headers)
        .filter(([k]) => k.startsWith('ipsie-claim-'))
        .map(([k, v]) => `<tr><th>${esc(k.slice('ipsie-claim-'.length))}</th><td>${esc(v)}</td></tr>`)
        .join('\n');
    const remaining = Number(req.headers['ipsie-session-remaining'] ?? 0);
    const ceiling = Number(req.headers['ipsie-session-expiry'] ?? 0);
    const idpExpiry = Number(req.headers['ipsie-claim-session-expiry'] ?? 0);
    const user = req.headers['ipsie-claim-name'] ?? req.headers['ipsie-claim-sub'] ?? 'nobody';
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>IPSIE demo app</title>
<style>
body { font-family: sans-serif; max-width: 40em; margin: 2em auto; }
th { text-align: left; padding-right: 1em; }
#left { font-size: 2em; font-weight: bold; }
</style></head>
<body>
<h1>Hello, ${esc(user)}</h1>
<p>This application knows nothing about OpenID Connect: httpd and mod_auth_ipsie logged you in
and pass your identity as request headers.</p>
<h2>Your claims</h2>
<table>${claims}</table>
<h2>Your session</h2>
<p>Your identity provider's session ends at <strong id="idp">${idpExpiry ? esc(new Date(idpExpiry * 1000).toISOString()) : 'a time it did not say'}</strong>
(the <code>session_expiry</code> claim of your ID token).
This site ends yours at <strong id="ceiling">${ceiling ? esc(new Date(ceiling * 1000).toISOString()) : 'unknown'}</strong>${idpExpiry && ceiling
    ? ` — ${idpExpiry - ceiling} s before it (<code>IPSIESessionExpiryLeeway</code>), so that it never outlives the provider's`
    : ''}: the next request after that signs you in again. Seconds left:</p>
<p id="left">${remaining}</p>
<p><a href="/app/">Reload</a> · <a href="/app/redirect_uri?info=json">Session as JSON</a>
 · <a href="/app/redirect_uri?logout=%2Fsigned-out.html">Log out</a></p>
<script>
// Times in the reader's own time zone.
for (const [id, t] of [['idp', ${idpExpiry}], ['ceiling', ${ceiling}]]) {
    if (t) document.getElementById(id).textContent = new Date(t * 1000).toLocaleString();
}
const end = Date.now() + ${remaining} * 1000;
const left = document.getElementById('left');
setInterval(() => {
    const s = Math.max(0, Math.round((end - Date.now()) / 1000));
    left.textContent = s === 0 ? '0: reload to see what happens' : String(s);
}, 1000);
</script>
</body></html>`;
}

export function startDemoApp(port) {
    const server = http.createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(page(req));
    });
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve({
            port,
            url: `http://127.0.0.1:${port}`,
            stop: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
        }));
    });
}
