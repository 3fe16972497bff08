// Back-Channel Logout 1.0 at POST <redirect_uri>?logout=backchannel, triggered for real by the
// test OP (SPEC section 5): a user who logs out at the provider is logged out at the RP, in
// both stores (the cookie store through the revocation entries in shmcb, the cache store by
// removing the entries), and nobody else is. Logout tokens the provider would never send (a
// replay, a wrong aud, no events, a nonce...) are refused with 400 and end nothing.
//
// The OP's backchannelLogout opt-in (t/op/op.mjs) registers the first httpd's
// <redirect_uri>?logout=backchannel with backchannel_logout_session_required (so its ID tokens
// carry sid) and lets oidc-provider call that loopback URI.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, confirmOpLogout, login, parseLoginForm, request } from './lib/client.mjs';
import { logoutClaims, signJwt } from './lib/jwt.mjs';
import { CLIENT_ID, startStack } from './lib/stack.mjs';
import { logLines, query, setsCookie } from './lib/util.mjs';

function withCookie(value) {
    const client = new Client();
    client.jar.set('ipsie_session', value);
    return client;
}

// The sid of sub's latest login, from its IPSIE12001 line.
function sidOf(httpd, sub) {
    const lines = logLines(httpd, /IPSIE12001/, new RegExp(`sub=${sub} `));
    const sid = /sid=(\S+)/.exec(lines.at(-1) ?? '')?.[1];
    assert.ok(sid && sid !== '-', `a sid for ${sub}:\n${lines.join('\n')}`);
    return sid;
}

function postLogoutToken(stack, token, { type = 'application/x-www-form-urlencoded', body, query: q = 'logout=backchannel' } = {}) {
    return request(`${stack.redirectUri}?${q}`, {
        method: 'POST',
        headers: { 'Content-Type': type },
        body: body ?? new URLSearchParams({ logout_token: token }).toString(),
    });
}

function assertRefused(res, what) {
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
    assert.equal(res.headers['cache-control'], 'no-store', what);
    assert.equal(res.json().error, 'invalid_request', what);
}

const status = async (client, stack) => (await client.get(stack.url('/app/'), { xhr: true })).status;

for (const store of ['cookie', 'cache']) {
    describe(`back-channel logout, ${store} store`, () => {
        let stack;
        let meta;
        let rsa;

        before(async () => {
            stack = await startStack({
                backchannelLogout: true,
                opTestHooks: true,
                directives: [`IPSIESessionStore ${store}`],
            });
            meta = (await request(stack.op.metadataUrl)).json();
            rsa = (await stack.op.report()).signingKeys.find((k) => k.alg === 'RS256');
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

        // A logout token like the OP's, signed with its key; more: claims changed.
        const token = (more, header) => signJwt(logoutClaims({ iss: stack.op.issuer, aud: CLIENT_ID, ...more }), rsa,
            { typ: 'logout+jwt', ...header });

        test('logging out at the OP ends that user\'s RP session, and not another user\'s', async () => {
            const alice = new Client();
            const bob = new Client();
            await login(alice, stack.url('/app/'), 'alice');
            await login(bob, stack.url('/app/'), 'bob');
            const sid = sidOf(stack.httpd, 'alice');
            const copy = alice.jar.get('ipsie_session');

            // The OP's own end-session page, confirmed: the OP posts the logout token before it
            // answers.
            const done = await confirmOpLogout(alice, meta.end_session_endpoint);
            assert.equal(done.status, 303, done.body);
            const report = await stack.op.report();
            assert.deepEqual(report.backchannel.at(-1), { ok: true, clientId: CLIENT_ID, sub: 'alice', sid });
            assert.equal(report.logoutTokens.at(-1).status, 200);
            assert.equal(logLines(stack.httpd, /IPSIE12024/, new RegExp(`sid=${sid} sub=alice`)).length, 1,
                stack.httpd.errorLog());

            const gone = await alice.get(stack.url('/app/'), { xhr: true });
            assert.equal(gone.status, 401);
            assert.equal(gone.json().error, 'login_required');
            assert.equal(await status(withCookie(copy), stack), 401, 'a copy of the cookie too');
            assert.equal(await status(bob, stack), 200, 'bob is untouched');
            // The cookie store ends each copy as it shows up (alice's and the copy: two lines);
            // the cache store removed the one entry when the token came.
            const [reason, ends] = store === 'cookie' ? [/reason=revoked sub=alice/, 2] : [/reason=backchannel sessions=1/, 1];
            assert.equal(logLines(stack.httpd, /IPSIE11003/, reason).length, ends, stack.httpd.errorLog());

            // Logged out at both: the RP sends alice to the OP, which asks her to sign in.
            const next = await alice.follow(await alice.get(stack.url('/app/')));
            assert.ok(parseLoginForm(next.res), `the OP's login form: ${next.chain.join(' -> ')}`);
        });

        test('the RP\'s ?logout= sends the user to the OP, whose logout calls the RP back (200)', async () => {
            const carol = new Client();
            await login(carol, stack.url('/app/'), 'carol');
            const sid = sidOf(stack.httpd, 'carol');
            const copy = carol.jar.get('ipsie_session');
            const out = await carol.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/logged-out')}`);
            assert.equal(out.status, 302);
            const state = query(out.location).get('state');
            const done = await confirmOpLogout(carol, out.location);
            assert.equal(done.status, 303, done.body);
            // Back at the RP's return address with the state it sent.
            assert.equal(done.location, `${stack.origin}/app/logged-out?state=${state}`);
            const report = await stack.op.report();
            assert.deepEqual(report.backchannel.at(-1), { ok: true, clientId: CLIENT_ID, sub: 'carol', sid });
            assert.equal(report.logoutTokens.at(-1).status, 200, 'a session already ended is no error');
            assert.equal(await status(withCookie(copy), stack), 401);
        });

        test('a replayed logout token is refused with 400 and ends nothing', async () => {
            const dave = new Client();
            await login(dave, stack.url('/app/'), 'dave');
            await confirmOpLogout(dave, meta.end_session_endpoint);
            const sent = (await stack.op.report()).logoutTokens.at(-1);
            assert.equal(sent.status, 200);

            // dave signs in again (a new OP session, a new sid); the old token, replayed,
            // is refused as used, and the new session lives.
            await login(dave, stack.url('/app/'), 'dave');
            assert.equal(await status(dave, stack), 200);
            for (let i = 0; i < 2; i++) {
                const res = await postLogoutToken(stack, sent.token);
                assertRefused(res, 'the replay');
                assert.match(res.json().error_description, /used already/);
            }
            assert.equal(await status(dave, stack), 200);
            assert.equal(logLines(stack.httpd, /IPSIE12021/, /used already/).length, 2);
        });

        test('logout tokens the provider would not send: 400 each, no session ended', async () => {
            const erin = new Client();
            await login(erin, stack.url('/app/'), 'erin');
            const sid = sidOf(stack.httpd, 'erin');
            const now = Math.floor(Date.now() / 1000);
            const good = { sub: 'erin', sid };
            const otherKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
                kid: rsa.kid, alg: 'RS256' };
            const valid = token(good);
            const [h, p, s] = valid.split('.');
            const bad = [
                ['a wrong aud', token({ ...good, aud: 'another-client' })],
                ['an aud list without the client', token({ ...good, aud: ['another-client'] })],
                ['no events', token({ ...good, events: undefined })],
                ['another event', token({ ...good, events: { 'http://schemas.openid.net/event/other': {} } })],
                ['a nonce', token({ ...good, nonce: 'n-0S6_WzA2Mj' })],
                ['another issuer', token({ ...good, iss: 'https://op.example' })],
                ['neither sub nor sid', token({ sub: undefined, sid: undefined })],
                ['no jti', token({ ...good, jti: undefined })],
                ['no iat', token({ ...good, iat: undefined })],
                ['issued an hour ago', token({ ...good, iat: now - 3600, exp: now - 3480 })],
                ['expired', token({ ...good, iat: now - 200, exp: now - 100 })],
                ['issued in the future', token({ ...good, iat: now + 3600, exp: now + 3720 })],
                ['typ at+jwt', token(good, { typ: 'at+jwt' })],
                ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url')}.${p}.`],
                ['not a JWT', 'not-a-jwt'],
            ];
            for (const [what, jwt] of bad) {
                assertRefused(await postLogoutToken(stack, jwt), what);
            }
            assertRefused(await postLogoutToken(stack, '', { body: '' }), 'no logout_token');
            assertRefused(await postLogoutToken(stack, valid, { type: 'application/json', body: JSON.stringify({ logout_token: valid }) }),
                'a JSON body');
            assert.equal(await status(erin, stack), 200, 'erin is still signed in');
            assert.equal(logLines(stack.httpd, /IPSIE12024/, /sub=erin/).length, 0);
            assert.equal(logLines(stack.httpd, /IPSIE12021/).length >= bad.length + 2, true);

            // A signature that the provider's keys do not verify (a payload changed, or another
            // key under the provider's kid) might be a key rotated under the same kid: the keys
            // are fetched again, at most once per 10 s per child as for ID tokens (README). A
            // token that the keys fetched again do not verify, or that arrives within those 10 s,
            // is refused (Back-Channel Logout 2.8: 400), never taken, and says nothing about the
            // provider's keys being unavailable: anyone can send one.
            const forgeries = [
                ['a changed payload', `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url')), sub: 'erin', sid: 'x' })).toString('base64url')}.${s}`],
                ['another key under the kid', signJwt(logoutClaims({ iss: stack.op.issuer, aud: CLIENT_ID, ...good }), otherKey, { typ: 'logout+jwt' })],
            ];
            for (const [what, jwt] of forgeries) {
                const res = await postLogoutToken(stack, jwt);
                assert.equal(res.headers['cache-control'], 'no-store');
                assertRefused(res, what);
            }
            assert.deepEqual(stack.httpd.errorLogProblems([]), []);
            assert.equal(await status(erin, stack), 200, 'erin is still signed in');

            // The valid one, last: it is taken (a refused token spent nothing).
            const res = await postLogoutToken(stack, valid);
            assert.equal(res.status, 200, res.body);
            assert.equal(res.body, '');
            assert.equal(res.headers['cache-control'], 'no-store');
            assert.equal(await status(erin, stack), 401);
        });

        test('a token with sub only ends every session of that user; with sid only, that session', async () => {
            const frank1 = new Client();
            const frank2 = new Client();
            const gina1 = new Client();
            const gina2 = new Client();
            await login(frank1, stack.url('/app/'), 'frank');
            await login(frank2, stack.url('/app/'), 'frank');
            await login(gina1, stack.url('/app/'), 'gina');
            const ginaSid = sidOf(stack.httpd, 'gina');
            await login(gina2, stack.url('/app/'), 'gina');
            assert.notEqual(sidOf(stack.httpd, 'gina'), ginaSid, 'two provider sessions');

            const bySub = await postLogoutToken(stack, token({ sub: 'frank', sid: undefined }));
            assert.equal(bySub.status, 200, bySub.body);
            assert.deepEqual([await status(frank1, stack), await status(frank2, stack)], [401, 401]);
            assert.deepEqual([await status(gina1, stack), await status(gina2, stack)], [200, 200]);

            const bySid = await postLogoutToken(stack, token({ sub: undefined, sid: ginaSid }));
            assert.equal(bySid.status, 200, bySid.body);
            assert.deepEqual([await status(gina1, stack), await status(gina2, stack)], [401, 200]);

            // A revocation by user ends the sessions that started before it; frank signs in again
            // (a second later: times are whole seconds) and is served.
            await new Promise((resolve) => setTimeout(resolve, 1100));
            const frank3 = new Client();
            await login(frank3, stack.url('/app/'), 'frank');
            assert.equal(await status(frank3, stack), 200);
            // So is a sign-in the provider makes silently, on its session from before the logout
            // (this token was not the provider's, which still holds that session): the new ID
            // token is later than the logout, whatever the auth_time it carries.
            const again = await login(frank1, stack.url('/app/'), 'frank');
            assert.equal(again.res.status, 200, `${again.chain.join(' -> ')}\n${again.res.body}`);
            assert.ok(!again.chain.some((u) => /\/interaction\//.test(u)), 'no login form: a silent sign-in');
            assert.equal(await status(frank1, stack), 200);
        });

        test('a sign-in in flight when its user is logged out gets no session', async () => {
            const ivan = new Client();
            const { callbackUrl } = await login(ivan, stack.url('/app/'), 'ivan', { stopAtCallback: true });
            assert.ok(callbackUrl, 'stopped before the callback');
            // The provider logs ivan out before the callback arrives: the ID token the callback
            // gets is from before the logout (its iat), so the session it would make is revoked.
            const now = Math.floor(Date.now() / 1000);
            const bySub = await postLogoutToken(stack, token({ sub: 'ivan', sid: undefined, iat: now + 20, exp: now + 140 }));
            assert.equal(bySub.status, 200, bySub.body);
            const res = await ivan.get(callbackUrl);
            if (store === 'cache') {
                // Written, then found revoked and taken away again: a 400 page, no cookie.
                assert.equal(res.status, 400, res.body);
                assert.match(res.body, /ended by a logout/);
                assert.ok(!setsCookie(res, 'ipsie_session'), 'no session cookie');
                assert.equal(logLines(stack.httpd, /IPSIE11015/).length, 1);
            }
            assert.equal(await status(ivan, stack), 401, 'no session');
        });

        test('GET ?logout=backchannel is not a back-channel logout', async () => {
            const helen = new Client();
            await login(helen, stack.url('/app/'), 'helen');
            const jwt = token({ sub: 'helen', sid: sidOf(stack.httpd, 'helen') });
            const get = await request(`${stack.redirectUri}?logout=backchannel&logout_token=${jwt}`);
            assert.notEqual(get.status, 200, get.body);
            assert.equal(await status(helen, stack), 200, 'nothing ended');
            assert.equal(logLines(stack.httpd, /IPSIE12024/, /sub=helen/).length, 0);
            // POST to the redirect URI is for logout=backchannel only.
            assertRefused(await postLogoutToken(stack, jwt, { query: `logout=${encodeURIComponent('/app/')}` }), 'POST ?logout=/app/');
            assert.equal(await status(helen, stack), 200, 'nothing ended');
            // The token was not spent by any of that.
            assert.equal((await postLogoutToken(stack, jwt)).status, 200);
            assert.equal(await status(helen, stack), 401);
        });
    });
}
