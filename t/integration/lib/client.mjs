// A small HTTP client with a cookie jar, for driving httpd and the OP like a browser.
// node:http rather than fetch: fetch always sends Sec-Fetch-Mode: cors, which would make
// every request look like a non-browser request to the module.
import http from 'node:http';
import https from 'node:https';

export const BROWSER = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'Sec-Fetch-Mode': 'navigate' };
export const XHR = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };

// One HTTP request; returns { url, status, headers (lower-case names), setCookies, body, location }.
// A server that never answers fails the request after timeoutMs instead of hanging the test.
// An https URL is verified as a browser would (certificate chain and host name), against the
// CA certificates in ca (PEM text or a Buffer, or an array of them) when given, else node's
// default roots.
export function request(url, { method = 'GET', headers = {}, body, timeoutMs = 60000, ca } = {}) {
    return new Promise((resolve, reject) => {
        const secure = new URL(url).protocol === 'https:';
        const options = { method, headers, agent: false, timeout: timeoutMs, ...(secure && ca ? { ca } : {}) };
        const req = (secure ? https : http).request(url, options, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                const location = res.headers.location ? new URL(res.headers.location, url).href : undefined;
                resolve({
                    url,
                    status: res.statusCode,
                    headers: res.headers,
                    setCookies: (res.headers['set-cookie'] ?? []).map(parseSetCookie),
                    body: text,
                    location,
                    json: () => JSON.parse(text),
                });
            });
            res.on('error', reject);
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
        if (body !== undefined) {
            req.write(body);
        }
        req.end();
    });
}

// { name, value, path, expired, expires } from one Set-Cookie header.
export function parseSetCookie(header) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    const cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), raw: header };
    for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const val = rest.join('=').trim();
        if (key === 'path') {
            cookie.path = val;
        } else if (key === 'max-age') {
            cookie.maxAge = Number(val);
        } else if (key === 'expires') {
            cookie.expires = Date.parse(val);
        }
    }
    cookie.expired = (cookie.maxAge !== undefined && cookie.maxAge <= 0)
        || (cookie.maxAge === undefined && cookie.expires !== undefined && cookie.expires <= Date.now());
    return cookie;
}

function defaultPath(url) {
    const p = new URL(url).pathname;
    const slash = p.lastIndexOf('/');
    return slash <= 0 ? '/' : p.slice(0, slash);
}

function pathMatches(requestPath, cookiePath) {
    if (requestPath === cookiePath) {
        return true;
    }
    return requestPath.startsWith(cookiePath)
        && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/');
}

// Cookies by (name, path); one host only (127.0.0.1), and like a browser, not by port.
export class CookieJar {
    constructor() {
        this.cookies = new Map();
    }

    store(url, setCookies) {
        for (const c of setCookies) {
            const path = c.path?.startsWith('/') ? c.path : defaultPath(url);
            const key = `${c.name}\n${path}`;
            if (c.expired) {
                this.cookies.delete(key);
            } else {
                const expiresAt = c.maxAge !== undefined ? Date.now() + c.maxAge * 1000 : c.expires;
                this.cookies.set(key, { name: c.name, value: c.value, path, expiresAt });
            }
        }
    }

    header(url) {
        const path = new URL(url).pathname;
        const now = Date.now();
        const list = [...this.cookies.values()]
            .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
            .filter((c) => pathMatches(path, c.path))
            .sort((a, b) => b.path.length - a.path.length);
        return list.map((c) => `${c.name}=${c.value}`).join('; ');
    }

    get(name) {
        return [...this.cookies.values()].find((c) => c.name === name)?.value;
    }

    names() {
        return [...this.cookies.values()].map((c) => c.name);
    }

    // Replaces the value of every cookie so named, or adds one at path.
    set(name, value, path = '/') {
        const existing = [...this.cookies.values()].filter((c) => c.name === name);
        for (const c of existing) {
            c.value = value;
        }
        if (existing.length === 0) {
            this.cookies.set(`${name}\n${path}`, { name, value, path });
        }
    }

    delete(name) {
        for (const [key, c] of this.cookies) {
            if (c.name === name) {
                this.cookies.delete(key);
            }
        }
    }
}

export class Client {
    // ca: CA certificates (PEM) that https URLs are verified against, as request() takes them.
    constructor({ ca } = {}) {
        this.jar = new CookieJar();
        this.ca = ca;
    }

    // A browser-like request unless opts.xhr; opts.headers are added last.
    async get(url, opts = {}) {
        return this.send(url, { ...opts, method: 'GET' });
    }

    async send(url, { method = 'GET', headers = {}, body, xhr = false } = {}) {
        const all = { ...(xhr ? XHR : BROWSER), ...headers };
        const cookie = this.jar.header(url);
        if (cookie && all.Cookie === undefined) {
            all.Cookie = cookie;
        }
        const res = await request(url, { method, headers: all, body, ca: this.ca });
        this.jar.store(url, res.setCookies);
        return res;
    }

    // Follows redirects from res until a non-redirect, or until stopAt(location) is true.
    // Returns { res, chain (URLs visited), responses, stoppedAt? }.
    async follow(res, { max = 20, xhr = false, stopAt } = {}) {
        const chain = [res.url];
        const responses = [res];
        while ([301, 302, 303, 307, 308].includes(res.status) && res.location) {
            if (chain.length > max) {
                throw new Error(`too many redirects: ${chain.join(' -> ')}`);
            }
            if (stopAt && stopAt(res.location)) {
                return { res, chain, responses, stoppedAt: res.location };
            }
            res = await this.get(res.location, { xhr });
            chain.push(res.url);
            responses.push(res);
        }
        return { res, chain, responses };
    }
}

// The OP's devInteractions login form: { action, fields } or undefined.
export function parseLoginForm(res) {
    if (!/text\/html/.test(res.headers['content-type'] ?? '')) {
        return undefined;
    }
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(res.body);
    if (!form || !/name="login"/.test(form[2])) {
        return undefined;
    }
    const fields = {};
    for (const m of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
        const name = /name="([^"]*)"/.exec(m[0]);
        const value = /value="([^"]*)"/.exec(m[0]);
        if (name) {
            fields[name[1]] = value ? value[1] : '';
        }
    }
    return { action: new URL(unescapeHtml(form[1]), res.url).href, fields };
}

function unescapeHtml(s) {
    return s.replace(/&amp;/g, '&').replace(/&#x2F;/gi, '/').replace(/&#47;/g, '/');
}

// Logs in through the real OP login form: GET start (a URL, or a response already in hand
// such as a 302 to the OP), follow to the OP, submit the form as loginName when the OP asks,
// and follow back until a non-redirect response.
// stopAtCallback: stop before the callback (a redirect carrying code= or error= to the
// start URL's origin, or to a URL starting with the string given) and return its URL.
// Returns { res, chain, responses, callbackUrl? }.
export async function login(client, start, loginName, { stopAtCallback = false } = {}) {
    const first = typeof start === 'string' ? await client.get(start) : start;
    const target = typeof stopAtCallback === 'string' ? stopAtCallback : new URL(first.url).origin;
    const isCallback = (u) => /[?&](code|error)=/.test(u) && u.startsWith(target);
    const stopAt = stopAtCallback ? isCallback : undefined;
    let { res, chain, responses, stoppedAt } = await client.follow(first, { stopAt });
    const form = stoppedAt ? undefined : parseLoginForm(res);
    if (form) {
        const body = new URLSearchParams({ ...form.fields, login: loginName, password: 'any-password' });
        const posted = await client.send(form.action, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: body.toString(),
        });
        const rest = await client.follow(posted, { stopAt });
        chain = chain.concat(rest.chain);
        responses = responses.concat(rest.responses);
        res = rest.res;
        stoppedAt = rest.stoppedAt;
    }
    return { res, chain, responses, callbackUrl: stoppedAt };
}

// Logs out at the OP's own end-session page: start is its URL (the end_session_endpoint, with
// or without the RP-initiated logout parameters) or a response already in hand; the page's
// logout form is confirmed ("Yes, sign me out": logout=yes), which is when the OP sends its
// back-channel logout requests, before it answers. Returns the OP's answer to the form (a
// redirect, not followed).
export async function confirmOpLogout(client, start) {
    const page = typeof start === 'string' ? await client.get(start) : start;
    const form = /<form[^>]*id="op\.logoutForm"[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    const action = form && /action="([^"]+)"/.exec(form[0]);
    const xsrf = form && /name="xsrf"[^>]*value="([^"]*)"/.exec(form[1]);
    if (!action || !xsrf) {
        throw new Error(`no logout form at ${page.url}: ${page.status}\n${page.body.slice(0, 500)}`);
    }
    return client.send(new URL(unescapeHtml(action[1]), page.url).href, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf: xsrf[1], logout: 'yes' }).toString(),
    });
}
