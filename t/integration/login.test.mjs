// Login through the real OP, what the application receives, anti-spoofing, Require claim
// and ?info=json (SPEC sections 1, 2, 4, 5).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { CLIENT_ID, protectedLocation, startStack } from './lib/stack.mjs';
import { nowS, query, setsCookie, stateCookieName } from './lib/util.mjs';

describe('login', () => {
    let stack;
    let meta;
    let allow = [];

    before(async () => {
        stack = await startStack({
            locations: (backend) => [
                protectedLocation('/app', backend),
                protectedLocation('/admin', backend, { require: 'Require claim groups:admin' }),
                protectedLocation('/pub', backend, { require: 'Require all granted', extra: ['IPSIEUnauthAction pass'] }),
            ].join('\n'),
        });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => {
        const problems = stack.httpd.errorLogProblems(allow);
        allow = [];
        assert.deepEqual(problems, []);
    });

    test('without a session a browser is sent to the authorization endpoint with state, nonce and S256 PKCE', async () => {
        const client = new Client();
        const res = await client.get(stack.url('/app/page'));
        assert.equal(res.status, 302);
        assert.ok(res.location.startsWith(`${meta.authorization_endpoint}?`), res.location);
        const q = query(res.location);
        assert.equal(q.get('response_type'), 'code');
        assert.equal(q.get('client_id'), CLIENT_ID);
        assert.equal(q.get('redirect_uri'), stack.redirectUri);
        assert.ok(q.get('scope').split(' ').includes('openid'));
        assert.match(q.get('state'), /^[A-Za-z0-9_-]{16,}$/);
        assert.ok(q.get('nonce').length >= 16 && q.get('nonce').length <= 64);
        assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
        assert.equal(q.get('code_challenge_method'), 'S256');
        assert.equal(q.get('prompt'), null);
        assert.ok(setsCookie(res, stateCookieName(q.get('state'))), 'a state cookie in the slot the state names');
    });

    test('two login starts use different state, nonce and code_challenge', async () => {
        const a = query((await new Client().get(stack.url('/app/'))).location);
        const b = query((await new Client().get(stack.url('/app/'))).location);
        for (const p of ['state', 'nonce', 'code_challenge']) {
            assert.notEqual(a.get(p), b.get(p), p);
        }
    });

    test('without a session a non-browser request gets 401 login_required', async () => {
        const client = new Client();
        const variants = [
            { xhr: true },
            { headers: { Accept: 'application/json' } },
            { headers: { Accept: '*/*', 'Sec-Fetch-Mode': 'cors' } },
        ];
        for (const v of variants) {
            const res = await client.get(stack.url('/app/api'), v);
            assert.equal(res.status, 401, JSON.stringify(v));
            assert.equal(res.json().error, 'login_required');
        }
        assert.equal(stack.backend.requests.filter((r) => r.url === '/api').length, 0);
    });

    test('a full login through the OP form returns to the original URL with the claims passed on', async () => {
        const client = new Client();
        const { res, chain, responses } = await login(client, stack.url('/app/some/page?x=1&y=two'), 'alice');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(res.url, stack.url('/app/some/page?x=1&y=two'));
        for (const url of chain) {
            assert.ok([stack.origin, stack.op.issuer].includes(new URL(url).origin), url);
        }

        const seen = res.json();
        assert.equal(seen.url, '/some/page?x=1&y=two');
        assert.equal(seen.headers['ipsie-claim-sub'], 'alice');
        assert.equal(seen.headers['ipsie-claim-email'], 'alice@example.test');
        assert.equal(seen.headers['ipsie-claim-name'], 'alice');
        assert.equal(seen.headers['ipsie-claim-groups'], 'staff');
        const ceiling = Number(seen.headers['ipsie-session-expiry']);
        const remaining = Number(seen.headers['ipsie-session-remaining']);
        // OP session of 3600 s, default leeway 30 s.
        assert.ok(ceiling > nowS() + 3500 && ceiling <= nowS() + 3570, String(ceiling));
        assert.ok(Math.abs(ceiling - nowS() - remaining) <= 2, `${ceiling} ${remaining}`);

        const callback = responses.find((r) => r.url.startsWith(`${stack.redirectUri}?`));
        assert.ok(callback, 'the OP returned to the redirect URI');
        assert.equal(callback.status, 302);
        const session = callback.setCookies.find((c) => c.name === 'ipsie_session' || c.name === 'ipsie_session_0');
        assert.ok(session, 'the callback sets the session cookie');
        assert.match(session.raw, /HttpOnly/i);
        assert.match(session.raw, /SameSite=Lax/i);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_state_')), 'the state cookie is spent');

        const again = await client.get(stack.url('/app/next'));
        assert.equal(again.status, 200);
        assert.equal(again.json().headers['ipsie-claim-sub'], 'alice');
    });

    test('?info=json describes the session and is 401 without one', async () => {
        const client = new Client();
        const before = nowS();
        await login(client, stack.url('/app/'), 'bob');
        const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
        assert.equal(res.status, 200, res.body);
        const info = res.json();
        assert.equal(info.sub, 'bob');
        assert.equal(info.iss, stack.op.issuer);
        assert.ok(info.login_time >= before - 1 && info.login_time <= nowS() + 1);
        assert.ok(Number.isInteger(info.session_expiry));
        assert.equal(info.ceiling, info.session_expiry - 30);
        assert.ok(Math.abs(info.remaining - (info.ceiling - nowS())) <= 2);
        assert.ok(info.idle_remaining > 3590 && info.idle_remaining <= 3600, String(info.idle_remaining));

        const none = await new Client().get(`${stack.redirectUri}?info=json`, { xhr: true });
        assert.equal(none.status, 401);
        const browser = await new Client().get(`${stack.redirectUri}?info=json`);
        assert.equal(browser.status, 401);
    });

    test('spoofed identity headers are removed for a logged-in user', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'carol');
        const res = await client.get(stack.url('/app/spoof'), {
            headers: {
                'IPSIE-Claim-email': 'evil@example.test',
                ipsie_claim_email: 'evil2@example.test',
                'Ipsie-Session-Expiry': '99999999999',
                'IPSIE-SESSION-REMAINING': '99999999',
                'ipsie-claim-admin': 'yes',
                'IPSIE_Claim-groups': 'admin',
            },
        });
        assert.equal(res.status, 200);
        const h = res.json().headers;
        assert.equal(h['ipsie-claim-email'], 'carol@example.test');
        assert.equal(h.ipsie_claim_email, undefined);
        assert.equal(h['ipsie-claim-admin'], undefined);
        assert.equal(h['ipsie_claim-groups'], undefined);
        assert.equal(h['ipsie-claim-groups'], 'staff');
        assert.notEqual(h['ipsie-session-expiry'], '99999999999');
        assert.ok(Number(h['ipsie-session-remaining']) < 3600);
    });

    test('spoofed identity headers are removed without a session', async () => {
        const res = await new Client().get(stack.url('/pub/spoof'), {
            headers: {
                'IPSIE-Claim-email': 'evil@example.test',
                ipsie_claim_email: 'evil2@example.test',
                'Ipsie-Session-Expiry': '99999999999',
                'ipsie-claim-sub': 'admin',
            },
        });
        assert.equal(res.status, 200, res.body);
        const h = res.json().headers;
        const leaked = Object.keys(h).filter((k) => /^ipsie[-_]/i.test(k));
        assert.deepEqual(leaked, []);
    });

    test('Require claim groups:admin admits an admin and refuses others before the backend', async () => {
        const admin = new Client();
        const ok = await login(admin, stack.url('/admin/panel'), 'admin-dave');
        assert.equal(ok.res.status, 200, ok.res.body);
        assert.equal(ok.res.json().url, '/admin/panel');
        assert.equal(ok.res.json().headers['ipsie-claim-groups'], 'staff,admin');

        const alice = new Client();
        await login(alice, stack.url('/app/'), 'alice');
        const reached = stack.backend.requests.length;
        allow = [/AH01631/];
        const denied = await alice.get(stack.url('/admin/panel?alice'));
        assert.ok([401, 403].includes(denied.status), String(denied.status));
        assert.equal(stack.backend.requests.length, reached, 'the backend was not reached');
    });
});
