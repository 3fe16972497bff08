// Logging in through the OP with the integration tests' cookie-jar client, and checking that
// a session cookie really gets the page.
import { Client, login, request } from '../../t/integration/lib/client.mjs';
import { pageHtml, PAGE_PATH } from './server.mjs';

// One complete login as loginName (authorization request, OP form, callback, token request,
// session), timed from the first request to the final 200. Returns { cookie, ms, client }.
export async function loginOnce(server, loginName) {
    const client = new Client();
    const url = server.url(PAGE_PATH);
    const t0 = process.hrtime.bigint();
    const { res, chain } = await login(client, url, loginName);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 200 || res.body !== pageHtml()) {
        throw new Error(`${server.config.id}: login as ${loginName} ended with ${res.status} at ${res.url}\n`
            + `chain: ${chain.join(' -> ')}\n${res.body.slice(0, 500)}\n--- error log:\n${server.errorLog().slice(-3000)}`);
    }
    return { cookie: client.jar.header(url), ms, client };
}

// What a browser would send next: one request with the session's cookie jar, taking any
// cookie the module rewrites (the lazy last-activity update), then the jar's Cookie header.
// wrk sends one fixed Cookie header, so it is refreshed like this before each run.
export async function refreshCookie(server, client) {
    if (!client) {
        return '';
    }
    const url = server.url(PAGE_PATH);
    const res = await client.get(url);
    if (res.status !== 200) {
        throw new Error(`${server.config.id}: refreshing the session gave ${res.status}\n${server.errorLog().slice(-3000)}`);
    }
    return client.jar.header(url);
}

// The size in bytes of a response as it travelled.
function wireBytes(res, rawHeaders) {
    let n = `HTTP/1.1 ${res.status} OK\r\n`.length + 2;
    for (let i = 0; i < rawHeaders.length; i += 2) {
        n += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`.length;
    }
    return n + Buffer.byteLength(res.body);
}

// Sends the page request exactly as wrk will (only Host and the cookie) and fails loudly
// unless it is a 200 with the page. Returns the response's size on the wire.
export async function verifyPage(server, cookie) {
    const headers = cookie ? { Cookie: cookie } : {};
    const res = await request(server.url(PAGE_PATH), { headers });
    if (res.status !== 200 || res.body !== pageHtml()) {
        throw new Error(`${server.config.id}: ${PAGE_PATH} with the session cookie gave ${res.status}`
            + `${res.location ? ` -> ${res.location}` : ''}, not the page\n${res.body.slice(0, 300)}\n`
            + `--- error log:\n${server.errorLog().slice(-3000)}`);
    }
    if (res.setCookies.length > 0) {
        // Not an error: a module may rewrite its cookie; wrk keeps sending the first one.
        return { bytes: wireBytes(res, rawHeadersOf(res)), setsCookie: true };
    }
    return { bytes: wireBytes(res, rawHeadersOf(res)), setsCookie: false };
}

function rawHeadersOf(res) {
    const raw = [];
    for (const [k, v] of Object.entries(res.headers)) {
        for (const one of Array.isArray(v) ? v : [v]) {
            raw.push(k, one);
        }
    }
    return raw;
}
