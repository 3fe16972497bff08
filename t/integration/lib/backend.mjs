// The protected application: echoes each request as JSON, or as a small HTML page with ?html.
import http from 'node:http';

function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Returns { port, url, requests, stop() }; requests lists every request it received.
export async function startBackend() {
    const requests = [];
    const server = http.createServer((req, res) => {
        const seen = { method: req.method, url: req.url, headers: req.headers };
        requests.push(seen);
        if (new URL(req.url, 'http://x').searchParams.has('html')) {
            const rows = Object.entries(req.headers)
                .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('\n');
            res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
            res.end(`<!doctype html><html><head><title>backend</title></head><body>
<h1>${escapeHtml(req.method)} ${escapeHtml(req.url)}</h1><table>${rows}</table></body></html>`);
            return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(seen));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        requests,
        stop: () => new Promise((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}
