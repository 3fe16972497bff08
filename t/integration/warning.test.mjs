// IPSIESessionWarning (SPEC section 6): the output filter that puts the warning's script tag
// into the HTML pages a session is shown, through mod_proxy, the default handler, a CGI and
// mod_deflate, streamed or not; what it leaves alone; and the endpoints the script uses:
// ?warning.js, ?warning.css, ?info=json, POST ?touch and ?reauth=.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client, login, request } from './lib/client.mjs';
import { MODULES_DIR } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { sleep } from './lib/util.mjs';

const SCRIPT_SRC = /<script src="\/app\/redirect_uri\?warning\.js=([0-9a-f]{16})" defer><\/script>/;
const TAG_OPEN = '<script src="/app/redirect_uri?warning.js=';

// The tag the filter adds, as the page shows it.
function tagIn(body) {
    const m = SCRIPT_SRC.exec(body);
    return m ? m[0] : null;
}

const count = (text, part) => text.split(part).length - 1;

// The pages of the application behind /w, each a case for the filter.
const PAGE = '<!DOCTYPE html><html><head><title>page</title></head><body><p>page</p></body></html>';
const ROUTES = {
    '/w/length': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(PAGE) });
        res.end(PAGE);
    },
    '/w/chunked': async (req, res) => {
        // Cut inside </head> and inside </body>, with pauses, so that each piece reaches httpd
        // on its own; the last one comes 1.2 s later.
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.write('<!DOCTYPE html><html><head><title>chunked</title></he');
        await sleep(300);
        res.write('ad><body><p>one</p></bo');
        await sleep(1200);
        res.end('dy></html>');
    },
    '/w/gzip': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
        res.end(gzipSync(PAGE));
    },
    '/w/json': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ page: PAGE }));
    },
    '/w/text': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(PAGE);
    },
    '/w/present': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><head><script src="/app/redirect_uri?warning.js" defer></script></head><body>x</body></html>');
    },
    '/w/fragment': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<p>a fragment</p>\n');
    },
    '/w/body-only': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><body><script>var s = "</head>";</script><p>x</p></body></html>');
    },
    '/w/no-transform': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'private, no-transform' });
        res.end(PAGE);
    },
    '/w/utf16': (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-16le' });
        res.end(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PAGE, 'utf16le')]));
    },
    '/w/no-content': (req, res) => {
        res.writeHead(204);
        res.end();
    },
    '/w/etag': (req, res) => {
        if ((req.headers['if-none-match'] ?? '').includes('"v1"')) {
            res.writeHead(304, { ETag: '"v1"' });
            res.end();
            return;
        }
        res.writeHead(200, { 'Content-Type': 'text/html', ETag: '"v1"' });
        res.end(PAGE);
    },
};

async function startPages() {
    const server = http.createServer((req, res) => {
        const route = ROUTES[new URL(req.url, 'http://x').pathname];
        if (!route) {
            res.writeHead(404);
            res.end();
            return;
        }
        route(req, res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => new Promise((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}

// A GET (or method) with the client's cookies, the body as bytes, and when each piece of it
// arrived (ms after the request was sent).
function fetchRaw(client, url, { method = 'GET', headers = {} } = {}) {
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const all = {
            Accept: 'text/html,*/*;q=0.8', 'Sec-Fetch-Mode': 'navigate', Cookie: client.jar.header(url), ...headers,
        };
        const req = http.request(url, { method, headers: all, agent: false }, (res) => {
            const chunks = [];
            const arrivals = [];
            res.on('data', (c) => {
                chunks.push(c);
                arrivals.push({ at: Date.now() - started, text: c.toString('latin1') });
            });
            res.on('end', () => resolve({
                status: res.statusCode,
                headers: res.headers,
                bytes: Buffer.concat(chunks),
                body: Buffer.concat(chunks).toString('utf8'),
                arrivals,
                ended: Date.now() - started,
            }));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
    });
}

// Content-Length, when the response has one, is the body's.
function assertLength(res) {
    if (res.headers['content-length'] !== undefined) {
        assert.equal(Number(res.headers['content-length']), res.bytes.length, 'Content-Length is the body\'s');
    }
}

const SLOW_CGI = [
    '#!/bin/sh',
    "printf 'Content-Type: text/html\\n\\n'",
    "printf '<html><head><title>cgi</title></he'",
    'sleep 1',
    "printf 'ad><body>cgi</body></html>'",
    '',
].join('\n');

describe('the session warning filter', () => {
    let stack;
    let pages;
    let client;
    let htdocs;

    before(async () => {
        pages = await startPages();
        stack = await startStack({
            directives: [
                `LoadModule cgid_module ${MODULES_DIR}/mod_cgid.so`,
                'ScriptSock cgid.sock',
                `LoadModule deflate_module ${MODULES_DIR}/mod_deflate.so`,
            ],
            locations: (backend) => [
                protectedLocation('/app', backend),
                protectedLocation('/w', pages.url, { extra: ['IPSIESessionWarning On'] }),
                '<Location /static>', '    AuthType ipsie', '    Require valid-user', '    IPSIESessionWarning On', '</Location>',
                '<Location /static/z>', '    SetOutputFilter DEFLATE', '</Location>',
                '<Location /static/off>', '    IPSIESessionWarning Off', '</Location>',
                '<Location /open>', '    AuthType ipsie', '    Require valid-user', '    IPSIEUnauthAction pass',
                '    IPSIESessionWarning On', '</Location>',
                '<Location /cgi>', '    AuthType ipsie', '    Require valid-user', '    IPSIESessionWarning On',
                '    SetHandler cgi-script', '    Options +ExecCGI', '</Location>',
            ].join('\n'),
        });
        htdocs = join(stack.httpd.dir, 'htdocs');
        for (const dir of ['static/z', 'static/off', 'open', 'cgi']) {
            mkdirSync(join(htdocs, dir), { recursive: true });
        }
        for (const file of ['static/page.html', 'static/z/page.html', 'static/off/page.html', 'open/page.html']) {
            writeFileSync(join(htdocs, file), PAGE);
        }
        writeFileSync(join(htdocs, 'cgi/slow.sh'), SLOW_CGI);
        chmodSync(join(htdocs, 'cgi/slow.sh'), 0o755);
        client = new Client();
        await login(client, stack.url('/app/'), 'alice');
    });
    after(async () => {
        await stack?.stop();
        await pages?.stop();
    });
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('a proxied page with Content-Length gets the tag before </head>, and a Content-Length that fits', async () => {
        const res = await fetchRaw(client, stack.url('/w/length'));
        assert.equal(res.status, 200);
        const tag = tagIn(res.body);
        assert.ok(tag, res.body);
        assert.equal(res.body, PAGE.replace('</head>', `${tag}</head>`));
        assertLength(res);
    });

    test('a chunked page cut inside </head> and </body> gets one tag before </head>, and streams', async () => {
        const res = await fetchRaw(client, stack.url('/w/chunked'));
        assert.equal(res.status, 200);
        const tag = tagIn(res.body);
        assert.equal(res.body,
            `<!DOCTYPE html><html><head><title>chunked</title>${tag}</head><body><p>one</p></body></html>`);
        assert.equal(count(res.body, TAG_OPEN), 1);
        assert.equal(res.headers['content-length'], undefined);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        // The page with its tag reached the browser while the application still wrote it.
        const first = res.arrivals.find((a) => a.text.includes(TAG_OPEN));
        assert.ok(first && first.at < res.ended - 700, `tag at ${first?.at} ms, end at ${res.ended} ms`);
    });

    test('a CGI page that pauses inside </head> gets the tag, and its first part goes out before the pause ends', async () => {
        const res = await fetchRaw(client, stack.url('/cgi/slow.sh'));
        assert.equal(res.status, 200, res.body);
        const tag = tagIn(res.body);
        assert.equal(res.body, `<html><head><title>cgi</title>${tag}</head><body>cgi</body></html>`);
        assert.ok(res.arrivals[0].at < res.ended - 500, `first piece at ${res.arrivals[0].at} ms, end at ${res.ended} ms`);
    });

    test('a static file gets the tag, a Content-Length that fits and a weak ETag; revalidation gives 304', async () => {
        const res = await fetchRaw(client, stack.url('/static/page.html'));
        assert.equal(res.status, 200);
        assert.equal(res.body, PAGE.replace('</head>', `${tagIn(res.body)}</head>`));
        assertLength(res);
        const etag = res.headers.etag;
        assert.match(etag, /^W\/"/, 'the ETag is weak: same page, not the same bytes');
        const again = await fetchRaw(client, stack.url('/static/page.html'), { headers: { 'If-None-Match': etag } });
        assert.equal(again.status, 304);
        assert.equal(again.bytes.length, 0);
    });

    test('a 64 MB static page with no </head> or </body> streams through: the child does not hold it in memory', async () => {
        const line = '<p>a line of a long generated report</p>\n';
        const size = 64 * 1024 * 1024;
        writeFileSync(join(htdocs, 'static/big.html'), line.repeat(Math.ceil(size / line.length)));
        const fileSize = line.length * Math.ceil(size / line.length);
        const children = () => readFileSync(`/proc/${stack.httpd.pid}/task/${stack.httpd.pid}/children`, 'utf8')
            .trim().split(/\s+/).filter(Boolean);
        const peak = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
        const before = new Map(children().map((pid) => [pid, peak(pid)]));
        const { status, length, tail } = await new Promise((resolve, reject) => {
            const req = http.get(stack.url('/static/big.html'), {
                headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', Cookie: client.jar.header(stack.url('/static/')) },
                agent: false,
            }, (res) => {
                let n = 0;
                let last = '';
                res.on('data', (c) => {
                    n += c.length;
                    last = (last + c.toString('latin1')).slice(-200);
                });
                res.on('end', () => resolve({ status: res.statusCode, length: n, tail: last }));
                res.on('error', reject);
            });
            req.on('error', reject);
        });
        assert.equal(status, 200);
        assert.ok(tagIn(tail), tail);
        assert.equal(length, fileSize + tagIn(tail).length);
        const grown = Math.max(...children().map((pid) => peak(pid) - (before.get(pid) ?? 0)));
        assert.ok(grown < 16 * 1024 * 1024, `a child's peak memory grew by ${grown} bytes`);
    });

    test('a proxied 304 passes as it is, and a proxied ETag becomes weak', async () => {
        const res = await fetchRaw(client, stack.url('/w/etag'));
        assert.equal(res.headers.etag, 'W/"v1"');
        assert.ok(tagIn(res.body));
        const again = await fetchRaw(client, stack.url('/w/etag'), { headers: { 'If-None-Match': 'W/"v1"' } });
        assert.equal(again.status, 304);
        assert.equal(again.bytes.length, 0);
    });

    test('a page mod_deflate compresses is rewritten first, then compressed', async () => {
        const res = await fetchRaw(client, stack.url('/static/z/page.html'), { headers: { 'Accept-Encoding': 'gzip' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-encoding'], 'gzip');
        const page = gunzipSync(res.bytes).toString('utf8');
        assert.equal(page, PAGE.replace('</head>', `${tagIn(page)}</head>`));
        assertLength(res);
    });

    test('a page compressed by the application is left alone, byte for byte', async () => {
        const res = await fetchRaw(client, stack.url('/w/gzip'), { headers: { 'Accept-Encoding': 'gzip' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-encoding'], 'gzip');
        assert.equal(gunzipSync(res.bytes).toString('utf8'), PAGE);
        assert.match(stack.httpd.errorLog(), /IPSIE15001: session warning not added: a Content-Encoding/);
    });

    test('JSON, plain text, no-transform, UTF-16 and 204 responses are left alone', async () => {
        const json = await fetchRaw(client, stack.url('/w/json'));
        assert.deepEqual(JSON.parse(json.body), { page: PAGE });
        const text = await fetchRaw(client, stack.url('/w/text'));
        assert.equal(text.body, PAGE);
        const kept = await fetchRaw(client, stack.url('/w/no-transform'));
        assert.equal(kept.body, PAGE);
        const wide = await fetchRaw(client, stack.url('/w/utf16'));
        assert.deepEqual(wide.bytes, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PAGE, 'utf16le')]));
        const none = await fetchRaw(client, stack.url('/w/no-content'));
        assert.equal(none.status, 204);
        assert.equal(none.bytes.length, 0);
    });

    test('HEAD is answered as the application answers it', async () => {
        const res = await fetchRaw(client, stack.url('/w/length'), { method: 'HEAD' });
        assert.equal(res.status, 200);
        assert.equal(Number(res.headers['content-length']), Buffer.byteLength(PAGE));
        assert.equal(res.bytes.length, 0);
    });

    test('a page that names the script already is not given a second one', async () => {
        const res = await fetchRaw(client, stack.url('/w/present'));
        assert.equal(count(res.body, '?warning.js'), 1, res.body);
    });

    test('without </head>, the tag goes before </body>; without either, at the end', async () => {
        const body = await fetchRaw(client, stack.url('/w/body-only'));
        const tag = tagIn(body.body);
        assert.equal(body.body, `<html><body><script>var s = "</head>";</script><p>x</p>${tag}</body></html>`);
        const fragment = await fetchRaw(client, stack.url('/w/fragment'));
        assert.equal(fragment.body, `<p>a fragment</p>\n${tagIn(fragment.body)}`);
    });

    test('no tag where IPSIESessionWarning is off, and none without a session', async () => {
        const plain = await fetchRaw(client, stack.url('/app/?html'));
        assert.equal(plain.status, 200);
        assert.match(plain.body, /<\/head>/);
        assert.equal(tagIn(plain.body), null);
        const off = await fetchRaw(client, stack.url('/static/off/page.html'));
        assert.equal(off.body, PAGE);
        const anonymous = await fetchRaw(new Client(), stack.url('/open/page.html'));
        assert.equal(anonymous.status, 200);
        assert.equal(anonymous.body, PAGE);
        const signedIn = await fetchRaw(client, stack.url('/open/page.html'));
        assert.ok(tagIn(signedIn.body));
    });

    test('?warning.js and ?warning.css: the versioned URL the page names is cached for a year, others briefly, revalidated by ETag', async () => {
        const page = await fetchRaw(client, stack.url('/w/length'));
        const version = SCRIPT_SRC.exec(page.body)[1];
        for (const [name, type, part] of [['warning.js', 'text/javascript', 'BroadcastChannel'], ['warning.css', 'text/css', '.ipsie-warning']]) {
            // Anyone may fetch it: the same bytes for every session.
            const versioned = await request(stack.url(`/app/redirect_uri?${name}=${version}`));
            assert.equal(versioned.status, 200);
            assert.match(versioned.headers['content-type'], new RegExp(`^${type}; charset=utf-8$`));
            assert.ok(versioned.body.includes(part));
            assert.equal(versioned.headers['cache-control'], 'public, max-age=31536000, immutable');
            assert.equal(versioned.headers['x-content-type-options'], 'nosniff');
            assert.equal(versioned.headers.etag, `"${version}"`);
            assert.equal(Number(versioned.headers['content-length']), Buffer.byteLength(versioned.body));
            const plain = await request(stack.url(`/app/redirect_uri?${name}`));
            assert.equal(plain.body, versioned.body);
            assert.equal(plain.headers['cache-control'], 'public, max-age=300');
            const old = await request(stack.url(`/app/redirect_uri?${name}=0000000000000000`));
            assert.equal(old.headers['cache-control'], 'public, max-age=300');
            const revalidated = await request(stack.url(`/app/redirect_uri?${name}`), { headers: { 'If-None-Match': `"${version}"` } });
            assert.equal(revalidated.status, 304);
            assert.equal(revalidated.body, '');
        }
        // The script builds its dialog with DOM calls: no inline handler or style attribute.
        const js = (await request(stack.url('/app/redirect_uri?warning.js'))).body;
        assert.doesNotMatch(js, /innerHTML|setAttribute\('style'|\.style\.|eval\(|new Function/);
    });
});

describe('the endpoints of the warning, with an idle timeout of 4 s', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionInactivityTimeout 4', 'IPSIESessionWarningLead 2'] });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('?info=json gives the lead and the idle timeout, and is not activity', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const info = (await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true })).json();
        assert.equal(info.warning_lead, 2);
        assert.equal(info.inactivity_timeout, 4);
        assert.ok(info.idle_remaining <= 4 && info.idle_remaining >= 3, JSON.stringify(info));
        await sleep(1500);
        await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true });
        await sleep(1500);
        await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true });
        await sleep(1500);
        const idle = await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true });
        assert.equal(idle.status, 401);
        assert.equal(idle.json().error, 'session_idle');
    });

    test('POST ?touch keeps the session past its idle deadline and answers as ?info=json', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'bob');
        for (let i = 0; i < 3; i++) {
            await sleep(1500);
            const touched = await client.send(stack.url('/app/redirect_uri?touch'), { method: 'POST', xhr: true });
            assert.equal(touched.status, 200, touched.body);
            const info = touched.json();
            assert.equal(info.sub, 'bob');
            assert.equal(info.idle_remaining, 4, 'the idle deadline starts again');
            assert.match(touched.headers['cache-control'] ?? '', /no-store/);
        }
        const still = await client.get(stack.url('/app/page'), { xhr: true });
        assert.equal(still.status, 200, '4.5 s after the login, 1.5 s after the last touch');
    });

    test('POST ?touch needs X-Requested-With and a session; GET is not a touch', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'carol');
        const form = await client.send(stack.url('/app/redirect_uri?touch'), { method: 'POST' });
        assert.equal(form.status, 400);
        assert.deepEqual(form.json(), { error: 'invalid_request' });
        const get = await client.get(stack.url('/app/redirect_uri?touch'), { xhr: true });
        assert.equal(get.status, 400);
        const nobody = await new Client().send(stack.url('/app/redirect_uri?touch'), { method: 'POST', xhr: true });
        assert.equal(nobody.status, 401);
        assert.deepEqual(nobody.json(), { error: 'login_required' });
        await sleep(4500);
        const idle = await client.send(stack.url('/app/redirect_uri?touch'), { method: 'POST', xhr: true });
        assert.equal(idle.status, 401);
        assert.deepEqual(idle.json(), { error: 'session_idle' });
    });
});

describe('?reauth=, the warning\'s way to a fresh sign-in', () => {
    let stack;

    before(async () => {
        stack = await startStack();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    const reauth = (target) => stack.url(`/app/redirect_uri?reauth=${encodeURIComponent(target)}`);

    test('a session far from its ceiling goes back to the page: no sign-in', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const res = await client.get(reauth('/app/form?x=1'));
        assert.equal(res.status, 302);
        assert.equal(res.location, stack.url('/app/form?x=1'));
    });

    test('a session within the lead and 30 s of its ceiling signs in again with prompt=login and returns to the page', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'ttl60-bob'); // ceiling: 60 s - 30 s leeway
        const before = (await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true })).json();
        const res = await client.get(reauth('/app/form?x=1'));
        assert.equal(res.status, 302);
        const auth = new URL(res.location);
        assert.ok(auth.href.startsWith(stack.op.issuer), res.location);
        assert.equal(auth.searchParams.get('prompt'), 'login');
        const done = await login(client, res, 'ttl60-bob');
        assert.equal(done.res.status, 200, done.res.body);
        assert.equal(done.res.json().url, '/form?x=1');
        const after = (await client.get(stack.url('/app/redirect_uri?info=json'), { xhr: true })).json();
        assert.ok(after.login_time >= before.login_time && after.ceiling >= before.ceiling, 'a new session');
    });

    test('without a session: a sign-in with prompt=login', async () => {
        const res = await new Client().get(reauth('/app/x'));
        assert.equal(res.status, 302);
        assert.equal(new URL(res.location).searchParams.get('prompt'), 'login');
    });

    test('an off-site return address is refused', async () => {
        for (const target of ['https://evil.example/x', '//evil.example/x', 'javascript:alert(1)']) {
            const res = await new Client().get(reauth(target));
            assert.equal(res.status, 400, target);
        }
    });
});
