// IPSIESessionStore cache on one host, in httpd's shmcb (the default IPSIESessionCache when
// mod_socache_shmcb is loaded, as in the test httpd) (SPEC section 3): the cookie carries a
// random id only, the session lives in the cache, logout removes it and revokes it (a copied
// cookie is dead), the idle write-back stays lazy, and the entry ends at the ceiling.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, parseLoginForm, request } from './lib/client.mjs';
import { CLIENT_ID, startStack } from './lib/stack.mjs';
import { clearsCookie, jwtPayload, logLines, nowS, query, sleepUntil } from './lib/util.mjs';

const ID = /^[A-Za-z0-9_-]{43}$/;

async function info(client, stack) {
    const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
    assert.equal(res.status, 200, res.body);
    return res.json();
}

// A client holding nothing but the session cookie value given.
function withCookie(value) {
    const client = new Client();
    client.jar.set('ipsie_session', value);
    return client;
}

const hasCacheControlPrivate = (res) => /\bprivate\b/.test(res.headers['cache-control'] ?? '');

describe('cache store in shmcb', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({
            directives: [
                'IPSIESessionStore cache',
                'IPSIESessionExpiryLeeway 0',
                // The idle write-back comes after min(60 s, 5 % of 40 s) = 2 s.
                'IPSIESessionInactivityTimeout 40',
            ],
        });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

    test('the cookie is a random 256-bit id; the session is served from the cache', async () => {
        const client = new Client();
        const done = await login(client, stack.url('/app/page'), 'alice');
        assert.equal(done.res.status, 200, done.res.body);
        const seen = done.res.json();
        assert.equal(seen.url, '/page');
        assert.equal(seen.headers['ipsie-claim-sub'], 'alice');
        assert.doesNotMatch(seen.headers.cookie ?? '', /ipsie_/, 'the application never sees our cookies');

        const id = client.jar.get('ipsie_session');
        assert.match(id, ID);
        assert.deepEqual(client.jar.names().filter((n) => n.startsWith('ipsie_')), ['ipsie_session'],
            'one cookie, no chunks: the session itself is not in it');
        // The value is not a sealed session: no JWT, no base64 of the claims.
        assert.doesNotMatch(Buffer.from(id, 'base64url').toString('latin1'), /alice/);

        const again = await withCookie(id).get(stack.url('/app/api'), { xhr: true });
        assert.equal(again.status, 200, 'the id alone, from another client, is the session');
        assert.equal(again.json().headers['ipsie-claim-sub'], 'alice');

        // Another id of the same shape names no session.
        const guessed = `${id.slice(0, 42)}${id[42] === 'A' ? 'B' : 'A'}`;
        const none = await withCookie(guessed).get(stack.url('/app/api'), { xhr: true });
        assert.equal(none.status, 401);
        assert.equal(none.json().error, 'login_required');

        const i = await info(client, stack);
        assert.equal(i.sub, 'alice');
        assert.ok(i.ceiling > nowS());
    });

    test('logout removes the session; a cookie copied before it is refused afterwards', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'bob');
        const copied = client.jar.get('ipsie_session');
        assert.equal((await withCookie(copied).get(stack.url('/app/'), { xhr: true })).status, 200);

        const res = await client.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
        assert.equal(res.status, 302, res.body);
        assert.ok(clearsCookie(res, 'ipsie_session'));
        // RP-initiated logout at the OP, with everything it needs.
        assert.ok(res.location.startsWith(`${meta.end_session_endpoint}?`), res.location);
        const q = query(res.location);
        assert.equal(jwtPayload(q.get('id_token_hint')).sub, 'bob');
        assert.equal(q.get('post_logout_redirect_uri'), `${stack.origin}/app/`);
        assert.equal(q.get('client_id'), CLIENT_ID);
        assert.ok(q.get('state'), 'a state for the OP to hand back');

        assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 401);
        for (const path of ['/app/', '/app/other']) {
            const xhr = await withCookie(copied).get(stack.url(path), { xhr: true });
            assert.equal(xhr.status, 401, `${path}: the copied cookie is no session`);
            assert.equal(xhr.json().error, 'login_required');
        }
        const browser = await withCookie(copied).get(stack.url('/app/'));
        assert.equal(browser.status, 302);
        assert.ok(browser.location.startsWith(`${meta.authorization_endpoint}?`), browser.location);
        assert.equal(logLines(stack.httpd, /IPSIE11003/, /reason=logout/, /sub=bob\b/).length, 1,
            stack.httpd.errorLog());
    });

    test('the idle write-back is lazy: most requests write nothing and set no cookie', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'carol');
        const start = await info(client, stack);
        const id = client.jar.get('ipsie_session');

        // Within the 2 s after the last activity: nothing is written back.
        const quick = [];
        for (let i = 0; i < 5; i++) {
            quick.push(await client.get(stack.url(`/app/q${i}`)));
        }
        for (const res of quick) {
            assert.equal(res.status, 200);
            assert.deepEqual(res.setCookies, [], 'no Set-Cookie');
            assert.ok(!hasCacheControlPrivate(res), 'no write-back');
        }

        // Past it, one request writes the entry back (its response says so with
        // Cache-Control: private), and the cookie stays the same id: nothing to set.
        await sleepUntil(start.login_time + 3);
        const touched = await client.get(stack.url('/app/touch'));
        assert.equal(touched.status, 200);
        assert.ok(hasCacheControlPrivate(touched), `the write-back: ${JSON.stringify(touched.headers)}`);
        assert.deepEqual(touched.setCookies, [], 'the cache store never rewrites its cookie');
        assert.equal(client.jar.get('ipsie_session'), id);
        // The write reached the cache: the idle deadline moved (40 s from now, not from login).
        const moved = await info(client, stack);
        assert.ok(moved.idle_remaining >= 39, `idle_remaining ${moved.idle_remaining}`);
        assert.equal(moved.login_time, start.login_time);

        const next = await client.get(stack.url('/app/after'));
        assert.ok(!hasCacheControlPrivate(next), 'and the next request writes nothing again');
        assert.deepEqual(next.setCookies, []);
    });

    test('the entry ends at the ceiling: after it the request is sent to log in again', async () => {
        const browser = new Client();
        const xhr = new Client();
        await login(browser, stack.url('/app/deep?x=1'), 'ttl10-dave');
        await login(xhr, stack.url('/app/'), 'ttl10-dora');
        const b = await info(browser, stack);
        const x = await info(xhr, stack);
        assert.equal(b.ceiling, b.session_expiry, 'leeway 0: the ceiling is session_expiry');
        assert.ok(b.ceiling - nowS() <= 10);
        assert.equal((await browser.get(stack.url('/app/deep?x=1'))).status, 200);

        await sleepUntil(Math.max(b.ceiling, x.ceiling));

        // SPEC section 1: at the ceiling the browser goes back to the provider with
        // prompt=login (a fresh sign-in, not a silent one), an XHR gets 401 session_expired,
        // and the end is logged with reason=ceiling, as with the cookie store.
        // The entry outlives the ceiling by an idle timeout for this: were it gone at the
        // ceiling, the module would see no session at all (no prompt=login, login_required).
        const mark = stack.httpd.errorLog().length;
        const reauth = await browser.get(stack.url('/app/deep?x=1'));
        assert.equal(reauth.status, 302, reauth.body);
        assert.ok(reauth.location.startsWith(`${meta.authorization_endpoint}?`), reauth.location);
        const expired = await xhr.get(stack.url('/app/api'), { xhr: true });
        assert.equal(expired.status, 401);
        const ended = stack.httpd.errorLog().slice(mark).split('\n')
            .filter((l) => /IPSIE11003/.test(l)).map((l) => /reason=(\w+)/.exec(l)[1]);
        assert.deepEqual({
            prompt: query(reauth.location).get('prompt'),
            xhrError: expired.json().error,
            ended,
        }, {
            prompt: 'login',
            xhrError: 'session_expired',
            ended: ['ceiling', 'ceiling'],
        }, 'the ceiling rule ends a cache-store session as it ends a cookie one');
    });
});

// IPSIESessionMaxDuration shorter than the provider's session (the usual case: a local limit)
// must make the user sign in again at the provider. The cookie store sends prompt=login and the
// provider shows its login form; the cache store must too.
for (const store of ['cookie', 'cache']) {
    describe(`${store} store: at the IPSIESessionMaxDuration ceiling the user signs in again`, () => {
        let stack;

        before(async () => {
            stack = await startStack({
                directives: [`IPSIESessionStore ${store}`, 'IPSIESessionMaxDuration 4'],
            });
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

        test('the provider asks for the password again; no silent new session', async () => {
            const client = new Client();
            await login(client, stack.url('/app/'), 'frank');
            const first = await info(client, stack);
            assert.equal(first.ceiling, first.login_time + 4);
            await sleepUntil(first.ceiling);

            // Without prompt=login the provider, whose session is alive, would answer at once
            // and a new session would start without any sign-in.
            const res = await client.get(stack.url('/app/'));
            const { res: end, chain } = await client.follow(res);
            const form = parseLoginForm(end);
            assert.ok(form, `the OP's login form, not a silent new session: ${end.status} after ${chain.join(' -> ')}`);
            const again = await login(client, end, 'frank');
            assert.equal(again.res.status, 200, again.res.body);
            assert.ok((await info(client, stack)).login_time >= first.ceiling);
        });
    });
}
