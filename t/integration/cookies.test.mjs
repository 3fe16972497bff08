// Session and state cookies as a browser sees them: attributes, chunking, persistence, the
// cap on live login states, and third-party initiated login (SPEC sections 2, 3).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { nowS, query, stateCookieName } from './lib/util.mjs';

const sessionCookies = (res) => res.setCookies.filter((c) => /^ipsie_session/.test(c.name) && !c.expired);

describe('cookies with default settings', () => {
    let stack;

    before(async () => {
        stack = await startStack();
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('session and state cookies are HttpOnly, SameSite=Lax, Path=/, not persistent, not Secure on http', async () => {
        const client = new Client();
        const start = await client.get(stack.url('/app/'));
        const state = start.setCookies.find((c) => c.name.startsWith('ipsie_state_'));
        assert.ok(state, 'a state cookie is set');
        assert.match(state.raw, /; HttpOnly/);
        assert.match(state.raw, /; SameSite=Lax/);
        assert.match(state.raw, /; Path=\//);
        assert.match(state.raw, /; Max-Age=300/);
        assert.equal(state.name, stateCookieName(query(start.location).get('state')));

        const { responses } = await login(client, start, 'alice');
        const callback = responses.find((r) => r.url.startsWith(stack.redirectUri));
        const session = sessionCookies(callback);
        assert.ok(session.length >= 1, 'the callback sets the session');
        for (const c of session) {
            assert.match(c.raw, /; HttpOnly/);
            assert.match(c.raw, /; SameSite=Lax/);
            assert.doesNotMatch(c.raw, /; Secure/);
            assert.doesNotMatch(c.raw, /Expires=|Max-Age=/, 'a session cookie, gone when the browser closes');
        }
        assert.ok(callback.setCookies.some((c) => c.name === state.name && c.expired), 'the state cookie is spent');
    });

    test('a valid request does not rewrite the session cookie', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const res = await client.get(stack.url('/app/'));
        assert.equal(res.status, 200);
        assert.deepEqual(sessionCookies(res), []);
    });

    test('the application never sees the session or state cookies, but sees its own', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        client.jar.set('app_pref', 'dark');
        client.jar.set('ipsie_state_leftover', 'x');
        const res = await client.get(stack.url('/app/'));
        assert.equal(res.status, 200);
        const cookie = res.json().headers.cookie ?? '';
        assert.match(cookie, /(^|; )app_pref=dark(;|$)/);
        assert.doesNotMatch(cookie, /ipsie_/);
    });

    test('at most 7 login states live at once: starting an 8th replaces the oldest', async () => {
        const client = new Client();
        const starts = [];
        for (let i = 0; i < 8; i++) {
            const res = await client.get(stack.url(`/app/page${i}`));
            assert.equal(res.status, 302);
            starts.push(res);
        }
        const live = client.jar.names().filter((n) => n.startsWith('ipsie_state_'));
        assert.equal(live.length, 7);
        assert.deepEqual(live.sort(), [0, 1, 2, 3, 4, 5, 6].map((i) => `ipsie_state_${i}`));
        // Each of the first seven took a slot of its own; the eighth took the oldest's.
        const slots = starts.map((r) => stateCookieName(query(r.location).get('state')));
        assert.equal(new Set(slots.slice(0, 7)).size, 7);
        assert.equal(slots[7], slots[0]);
        // The newest login completes; the oldest one's state is gone.
        const { res, chain } = await login(client, starts[7], 'alice');
        assert.equal(res.status, 200);
        assert.equal(chain.at(-1), stack.url('/app/page7'));
        const oldest = await login(new Client(), starts[0].location, 'bob', { stopAtCallback: stack.redirectUri });
        const late = new Client();
        late.jar.set(stateCookieName(query(starts[0].location).get('state')), client.jar.get(slots[0]) ?? 'x');
        assert.equal((await late.get(oldest.callbackUrl)).status, 400);
    });

    test('a login started by the provider (iss + target_link_uri) returns to the target', async () => {
        const client = new Client();
        const start = await client.get(`${stack.redirectUri}?iss=${encodeURIComponent(stack.op.issuer)}`
            + `&target_link_uri=${encodeURIComponent(stack.url('/app/deep/link?x=1'))}`);
        assert.equal(start.status, 302);
        assert.ok(start.location.startsWith(stack.op.issuer));
        const { res, chain } = await login(client, start, 'alice');
        assert.equal(res.status, 200);
        assert.equal(chain.at(-1), stack.url('/app/deep/link?x=1'));
        assert.equal(res.json().url, '/deep/link?x=1');
    });

    test('a login started for another issuer is refused', async () => {
        const client = new Client();
        const res = await client.get(`${stack.redirectUri}?iss=${encodeURIComponent('http://127.0.0.1:1/')}`
            + `&target_link_uri=${encodeURIComponent(stack.url('/app/'))}`);
        assert.equal(res.status, 400);
        assert.deepEqual(sessionCookies(res), []);
    });
});

describe('cookies with small chunks, persistence and Strict', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            directives: ['IPSIECookieChunkSize 512', 'IPSIECookiePersistent On', 'IPSIECookieSameSite Strict',
                'IPSIESessionMaxDuration 600'],
        });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a large session is split into chunks of at most the chunk size and still works', async () => {
        const client = new Client();
        const { res: signedIn, responses } = await login(client, stack.url('/app/'), 'alice');
        // With Strict cookies the callback ends the cross-site navigation with a page of its own.
        assert.equal(signedIn.status, 200);
        assert.ok(signedIn.url.startsWith(stack.redirectUri));
        assert.equal(signedIn.headers.refresh, `0;url=${stack.url('/app/')}`);
        assert.match(signedIn.body, new RegExp(`<a href="${stack.url('/app/')}">Continue</a>`));
        const res = await client.get(stack.url('/app/'));
        assert.equal(res.status, 200);
        const callback = responses.find((r) => r.url.startsWith(stack.redirectUri));
        const chunks = sessionCookies(callback).filter((c) => /^ipsie_session_\d+$/.test(c.name));
        assert.ok(chunks.length >= 2, `chunked into ${chunks.length}`);
        for (const c of chunks) {
            assert.ok(c.name.length + 1 + c.value.length <= 512, `${c.name} is ${c.value.length} long`);
        }
        assert.equal(client.jar.get('ipsie_session_chunks'), String(chunks.length));
        assert.equal(res.headers['content-type'].split(';')[0], 'application/json');
        assert.equal(res.json().headers['ipsie-claim-sub'], 'alice');
    });

    test('persistent cookies expire at the ceiling; Strict applies to the session, not the state', async () => {
        const client = new Client();
        const start = await client.get(stack.url('/app/'));
        const state = start.setCookies.find((c) => c.name.startsWith('ipsie_state_'));
        assert.match(state.raw, /; SameSite=Lax/, 'the return from the provider is cross-site');
        const { responses } = await login(client, start, 'alice');
        const callback = responses.find((r) => r.url.startsWith(stack.redirectUri));
        const before = nowS();
        for (const c of sessionCookies(callback)) {
            assert.match(c.raw, /; SameSite=Strict/);
            assert.ok(c.expires, `${c.name} has Expires`);
            const expires = c.expires / 1000;
            assert.ok(Math.abs(expires - (before + 600)) <= 3, `${c.name} expires at the ceiling (${expires})`);
        }
        const info = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
        assert.equal(info.status, 200);
        const ceiling = info.json().ceiling;
        for (const c of sessionCookies(callback)) {
            assert.equal(c.expires / 1000, ceiling);
        }
    });
});

describe('a session that cannot fit in the cookie chunks', () => {
    let stack;

    before(async () => {
        // A cookie name so long that no chunk of 512 bytes has room for a value.
        stack = await startStack({ directives: ['IPSIECookieChunkSize 512', `IPSIECookieName s${'x'.repeat(505)}`] });
    });
    after(() => stack?.stop());

    test('ends the login with a clear 400 page and a log line, not a crash', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'alice');
        assert.equal(res.status, 400);
        assert.match(res.body, /more about your account than this site can keep/);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE01201/]), []);
        assert.match(stack.httpd.errorLog(), /IPSIE12010/);
        assert.doesNotMatch(stack.httpd.errorLog(), /exit signal|Segmentation/);
    });
});
