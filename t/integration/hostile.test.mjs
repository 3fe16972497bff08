// Hostile input: forged cookies, forged state and callbacks, redirect targets off the origin
// (SPEC sections 2, 3).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { query, stateCookieName } from './lib/util.mjs';

function flipChar(s, i = Math.floor(s.length / 2)) {
    return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

// Asserts that a client with these cookies has no session: 302 to the OP / 401 login_required.
async function assertNoSession(stack, cookies, label) {
    for (const xhr of [false, true]) {
        const client = new Client();
        for (const [name, value] of Object.entries(cookies)) {
            client.jar.set(name, value);
        }
        const res = await client.get(stack.url('/app/'), { xhr });
        if (xhr) {
            assert.equal(res.status, 401, `${label}: ${res.status} ${res.body.slice(0, 200)}`);
            assert.equal(res.json().error, 'login_required', label);
        } else {
            assert.equal(res.status, 302, `${label}: ${res.status} ${res.body.slice(0, 200)}`);
            assert.ok(res.location.startsWith(stack.op.issuer), label);
        }
    }
}

describe('hostile input', () => {
    let stack;

    before(async () => {
        // Room for a 100 KB cookie to reach the module rather than stop at httpd's limit.
        stack = await startStack({ directives: ['LimitRequestFieldSize 131072'] });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a tampered, truncated, foreign or oversized session cookie is no session', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const chunked = client.jar.get('ipsie_session_chunks') !== undefined;
        const name = chunked ? 'ipsie_session_0' : 'ipsie_session';
        const good = client.jar.get(name);
        assert.ok(good, 'logged in');
        const extra = chunked ? { ipsie_session_chunks: client.jar.get('ipsie_session_chunks') } : {};

        const variants = {
            'one character flipped': flipChar(good),
            'first character flipped': flipChar(good, 0),
            'last character flipped': flipChar(good, good.length - 1),
            truncated: good.slice(0, Math.floor(good.length / 2)),
            'one character short': good.slice(0, -1),
            'random garbage': randomBytes(300).toString('base64url'),
            'not base64': '%%%$$$!!!***',
            empty: '',
            '100 KB': 'A'.repeat(100 * 1024),
        };
        for (const [label, value] of Object.entries(variants)) {
            await assertNoSession(stack, { ...extra, [name]: value }, label);
        }
        // Another deployment's cookie: same format, other key.
        const other = await startStack();
        try {
            const foreign = new Client();
            await login(foreign, other.url('/app/'), 'alice');
            await assertNoSession(stack, { ipsie_session: foreign.jar.get('ipsie_session') ?? 'x' }, 'foreign key');
        } finally {
            await other.stop();
        }
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 200, 'the real cookie still works');
    });

    test('hostile chunked session cookies are no session', async () => {
        const garbage = randomBytes(3000).toString('base64url');
        await assertNoSession(stack, { ipsie_session_chunks: '3', ipsie_session_0: garbage, ipsie_session_1: garbage,
            ipsie_session_2: garbage }, 'garbage chunks');
        await assertNoSession(stack, { ipsie_session_chunks: '100000' }, 'huge chunk count');
        await assertNoSession(stack, { ipsie_session_chunks: '-1', ipsie_session_0: garbage }, 'negative chunk count');
        await assertNoSession(stack, { ipsie_session_chunks: '2', ipsie_session_0: garbage }, 'missing chunk');
        await assertNoSession(stack, { ipsie_session_chunks: '40', ...Object.fromEntries(
            Array.from({ length: 40 }, (_, i) => [`ipsie_session_${i}`, 'B'.repeat(2500)])) }, '100 KB of chunks');
    });

    test('a callback with a state that has no state cookie is refused', async () => {
        const client = new Client();
        const url = `${stack.redirectUri}?code=forged&state=${randomBytes(16).toString('base64url')}`
            + `&iss=${encodeURIComponent(stack.op.issuer)}`;
        const res = await client.get(url);
        assert.equal(res.status, 400, res.body);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
    });

    test('a real code with a mismatching state or state cookie never yields a session', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
        assert.ok(callbackUrl, 'stopped at the callback');
        const state = query(callbackUrl).get('state');
        const stateCookie = stateCookieName(state);
        const saved = client.jar.get(stateCookie);
        assert.ok(saved, 'the state cookie is set');

        // The same code, another state.
        const other = new URL(callbackUrl);
        other.searchParams.set('state', randomBytes(16).toString('base64url'));
        let res = await client.get(other.href);
        assert.equal(res.status, 400, res.body);

        // The right state, but the state cookie of another login.
        const second = new Client();
        const start = await second.get(stack.url('/app/elsewhere'));
        const otherCookie = second.jar.get(stateCookieName(query(start.location).get('state')));
        assert.ok(otherCookie);
        client.jar.set(stateCookie, otherCookie);
        res = await client.get(callbackUrl);
        // Another slot's cookie does not open under this slot's name (400); one of the same slot
        // is another login's, which a new sign-in replaces (302 to the provider).
        if (stateCookieName(query(start.location).get('state')) === stateCookie) {
            assert.equal(res.status, 302, res.body);
            assert.ok(res.location.startsWith(stack.op.issuer), res.location);
        } else {
            assert.equal(res.status, 400, res.body);
        }
        assert.ok(!res.setCookies.some((c) => c.name.startsWith('ipsie_session') && !c.expired), 'never a session');
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')), 'never a session');
        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
    });

    test('a callback whose iss is not the issuer, or lacks iss, is refused', async () => {
        for (const iss of ['http://evil.example', null]) {
            const client = new Client();
            const { callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
            const url = new URL(callbackUrl);
            assert.equal(url.searchParams.get('iss'), stack.op.issuer);
            if (iss) {
                url.searchParams.set('iss', iss);
            } else {
                url.searchParams.delete('iss');
            }
            const res = await client.get(url.href);
            assert.equal(res.status, 400, `${iss}: ${res.body}`);
            assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
        }
    });

    test('a replayed callback never makes a session: refused, or on to the site for the one signed in', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
        const first = await client.get(callbackUrl);
        assert.equal(first.status, 302);
        assert.equal(first.location, stack.url('/app/'));
        const stranger = new Client();
        const replay = await stranger.get(callbackUrl);
        assert.equal(replay.status, 400);
        assert.ok(!stranger.jar.names().some((n) => n.startsWith('ipsie_session')));
        // The same browser, signed in now (the back button): on to the site, no new session.
        const again = await client.get(callbackUrl);
        assert.equal(again.status, 302);
        assert.equal(again.location, stack.url('/'));
        assert.deepEqual(again.setCookies, []);
    });

    test('an error response from the OP becomes an error page, not a session', async () => {
        const client = new Client();
        const start = await client.get(stack.url('/app/'));
        const state = query(start.location).get('state');
        const res = await client.get(`${stack.redirectUri}?error=access_denied&error_description=no`
            + `&state=${state}&iss=${encodeURIComponent(stack.op.issuer)}`);
        assert.ok([400, 401, 403].includes(res.status), `${res.status} ${res.body}`);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
    });

    test('an error response from the OP with a tampered state cookie gets a 400 page, and no child dies', async () => {
        const client = new Client();
        const start = await client.get(stack.url('/app/'));
        const state = query(start.location).get('state');
        const name = stateCookieName(state);
        client.jar.set(name, flipChar(client.jar.get(name)));
        const res = await client.get(`${stack.redirectUri}?error=access_denied`
            + `&state=${state}&iss=${encodeURIComponent(stack.op.issuer)}`);
        assert.equal(res.status, 400, res.body);
        assert.doesNotMatch(stack.httpd.errorLog(), /exit signal|Segmentation/);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
    });

    test('third-party initiated login goes to the OP and returns to a same-origin target only', async () => {
        const client = new Client();
        const iss = encodeURIComponent(stack.op.issuer);
        const start = `${stack.redirectUri}?iss=${iss}&target_link_uri=${encodeURIComponent(stack.url('/app/deep?d=1'))}`;
        const { res } = await login(client, start, 'alice');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.url, stack.url('/app/deep?d=1'));

        for (const target of ['https://evil.example/', '//evil.example/', '/\\evil.example/',
            `http://127.0.0.1:${stack.op.port}/`]) {
            const c = new Client();
            const r = await c.get(`${stack.redirectUri}?iss=${iss}&target_link_uri=${encodeURIComponent(target)}`);
            assert.equal(r.status, 400, `${target}: ${r.status} ${r.location}`);
        }
        const wrongIss = await new Client().get(`${stack.redirectUri}?iss=${encodeURIComponent('http://evil.example')}`
            + `&target_link_uri=${encodeURIComponent(stack.url('/app/'))}`);
        assert.equal(wrongIss.status, 400);
    });

    test('malformed, oversized and hostile requests to the redirect URI get a 4xx, never a session', async () => {
        const big = 'A'.repeat(6000);
        const queries = [
            '', '?', '?%%%%', '?state=%zz&code=x', '?state=&code=x', '?state=a%00b&code=x',
            `?state=${big}&code=x`, `?code=${'c'.repeat(6000)}&state=abc`, '?code=a&code=b&state=x&state=y',
            '?state=..%2F..%2Fetc&code=x', '?state=abc%0d%0aSet-Cookie:%20x=y&code=x',
            '?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E',
            '?error=%0d%0aX:y', '?logout=%0d%0aSet-Cookie:x=y', '?logout=%2F%2Fevil.example',
            '?logout=http:%2F%2F127.0.0.1:1%2F', '?info=xml', '?info=', '?iss=&target_link_uri=',
            '?iss=http%3A%2F%2Fevil.example&target_link_uri=%2Fapp%2F', `?iss=${big}`,
            `?iss=${encodeURIComponent(stack.op.issuer)}&target_link_uri=${encodeURIComponent('https://evil.example/')}`,
        ];
        for (const q of queries) {
            for (const xhr of [false, true]) {
                const res = await new Client().get(`${stack.redirectUri}${q}`, { xhr });
                const label = `${q.slice(0, 60)} (${xhr ? 'xhr' : 'browser'}): ${res.status}`;
                assert.ok(res.status >= 400 && res.status < 500, label);
                assert.equal(res.location, undefined, label);
                assert.ok(!res.setCookies.some((c) => c.name.startsWith('ipsie_session') && !c.expired), label);
                assert.doesNotMatch(res.body, /<script>alert/, label);
                assert.equal(res.headers.x, undefined, label);
            }
        }
        const post = await new Client().send(`${stack.redirectUri}?code=x&state=y`, {
            method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'code=x&state=y',
        });
        assert.equal(post.status, 405);
    });

    test('a login never leaves the origin after the callback', async () => {
        const client = new Client();
        const { chain, res } = await login(client, stack.url('/app/a/b?c=d'), 'alice');
        assert.equal(res.status, 200);
        const afterOp = chain.slice(chain.findIndex((u) => u.startsWith(`${stack.redirectUri}?`)));
        for (const url of afterOp) {
            assert.equal(new URL(url).origin, stack.origin, url);
        }
    });
});
