// What a browser and httpd can carry (SPEC sections 2, 3, 4): sessions that would not fit the
// server's request-field limit are refused at login, never set; return URLs of any length
// keep the state cookies small, however many logins start at once; REMOTE_USER and claim
// names that could forge or override what the application reads.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { logLines, nowS, pageText, query, stateCookieName } from './lib/util.mjs';

// The Cookie header the client would send to the site.
const cookieHeader = (client, stack) => client.jar.header(stack.url('/app/'));

// A public page next to the protected /app, to show the host still answers.
function withPublicPage(backend) {
    return [
        protectedLocation('/app', backend),
        '<Location /public>', '    Require all granted', `    ProxyPass ${backend}/public`, '</Location>',
    ].join('\n');
}

describe('large sessions', () => {
    let stack;

    before(async () => {
        stack = await startStack({ locations: withPublicPage });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('55 group names of 30 characters make a session that fits, each claim stored once', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'groups55-alice');
        assert.equal(res.status, 200, res.body);
        const groups = res.json().headers['ipsie-claim-groups'].split(',');
        assert.equal(groups.length, 55);
        // Stored three times the session passed 8190 bytes; once, it leaves room.
        const header = cookieHeader(client, stack);
        assert.ok(header.length < 8190 - 2560 - 1024, `${header.length} bytes of cookies`);
        assert.ok(header.length < 55 * 33 * 2, `${header.length} bytes: the groups are not stored twice`);
        for (const path of ['/app/', '/public', '/app/redirect_uri?info=json']) {
            const r = await client.get(stack.url(path), { xhr: path.includes('info') });
            assert.equal(r.status, 200, `${path}: ${r.status}`);
        }
    });

    test('a session too large for the request-field limit is refused at login, never set', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'groups300-bob');
        assert.equal(res.status, 400, res.body);
        assert.match(pageText(res), /more about your account than this site can keep/);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')), 'no session cookie');
        assert.equal(logLines(stack.httpd, /IPSIE12010/, /:warn\]/).length, 1);
        assert.match(logLines(stack.httpd, /IPSIE11009/)[0], /LimitRequestFieldSize 8190/);
        // The host still answers this browser, and a normal login works.
        assert.equal((await client.get(stack.url('/public'))).status, 200);
        const again = await login(new Client(), stack.url('/app/'), 'carol');
        assert.equal(again.res.status, 200);
    });
});

describe('large sessions with a larger request-field limit', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['LimitRequestFieldSize 32768'] });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('the same session fits when the server accepts longer header lines', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'groups300-bob');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json().headers['ipsie-claim-groups'].split(',').length, 300);
    });
});

describe('long return URLs', () => {
    let stack;

    before(async () => {
        stack = await startStack({ locations: withPublicPage });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a deep link of 3 KB logs in and returns to its path without the query', async () => {
        const client = new Client();
        const start = await client.get(stack.url(`/app/report?q=${'a'.repeat(3000)}`));
        assert.equal(start.status, 302);
        const state = start.setCookies.find((c) => c.name.startsWith('ipsie_state_'));
        assert.ok(state.name.length + 1 + state.value.length <= 2560 / 7, `${state.value.length}`);
        const { res, chain } = await login(client, start, 'alice');
        assert.equal(res.status, 200, res.body);
        assert.equal(chain.at(-1), stack.url('/app/report'));
    });

    test('a short deep link comes back whole', async () => {
        const client = new Client();
        const { res, chain } = await login(client, stack.url('/app/report?id=42&tab=summary'), 'alice');
        assert.equal(res.status, 200);
        assert.equal(chain.at(-1), stack.url('/app/report?id=42&tab=summary'));
    });

    test('a path too long to keep returns to /', async () => {
        const client = new Client();
        const start = await client.get(stack.url(`/app/${'p'.repeat(2600)}`));
        const { chain } = await login(client, start, 'alice');
        assert.equal(chain.at(-1), stack.url('/'));
        // / itself is not served here: httpd denies it.
        assert.deepEqual(stack.httpd.errorLogProblems([/AH01630: client denied by server configuration: \S+\/htdocs\/$/]), []);
    });

    test('30 logins started at once leave at most 7 small state cookies, and the host answers', async () => {
        const client = new Client();
        const long = 'b'.repeat(2600);
        const header = cookieHeader(client, stack);
        // All sent with the same (empty) cookies, as parallel navigations are.
        const starts = await Promise.all(Array.from({ length: 30 }, (_, i) => request(
            stack.url(`/app/page${i}?q=${long}`),
            { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', ...(header ? { Cookie: header } : {}) } },
        )));
        for (const res of starts) {
            assert.equal(res.status, 302);
            client.jar.store(res.url, res.setCookies);
        }
        const states = client.jar.names().filter((n) => n.startsWith('ipsie_state_'));
        assert.ok(states.length <= 7, `${states.length} state cookies`);
        assert.ok(cookieHeader(client, stack).length <= 2560, `${cookieHeader(client, stack).length} bytes`);
        assert.equal((await client.get(stack.url('/public'))).status, 200);
        // A login whose state still holds its slot completes.
        const kept = starts.find((r) => {
            const s = query(r.location).get('state');
            const c = r.setCookies.find((x) => x.name === stateCookieName(s));
            return c && client.jar.get(c.name) === c.value;
        });
        const { res } = await login(client, kept, 'alice');
        assert.equal(res.status, 200);
    });

    test('logins started in parallel all end signed in, even when two share a slot', async () => {
        let recovered = 0;
        for (let round = 0; round < 8; round++) {
            const client = new Client();
            // Three tabs opened at once carry the same (empty) cookies.
            const starts = await Promise.all([0, 1, 2].map((i) => request(
                stack.url(`/app/tab${i}`),
                { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate' } },
            )));
            for (const res of starts) {
                client.jar.store(res.url, res.setCookies);
            }
            for (const [i, start] of starts.entries()) {
                const { chain } = await login(client, start, 'alice');
                const end = chain.at(-1);
                assert.ok(end === stack.url(`/app/tab${i}`) || end === stack.url('/'), `tab ${i} ended at ${end}`);
                recovered += end === stack.url('/') ? 1 : 0;
            }
            assert.equal((await client.get(stack.url('/app/'), { xhr: true })).status, 200);
        }
        assert.deepEqual(stack.httpd.errorLogProblems([/AH01630: client denied by server configuration: \S+\/htdocs\/$/]), []);
        assert.ok(logLines(stack.httpd, /IPSIE12018|IPSIE12003/).length >= recovered);
    });

    test('a target whose path starts with // returns to /, never to another site', async () => {
        const client = new Client();
        const start = await client.get(`${stack.redirectUri}?iss=${encodeURIComponent(stack.op.issuer)}`
            + `&target_link_uri=${encodeURIComponent(stack.url('//evil.example/x'))}`);
        assert.equal(start.status, 302);
        const { chain } = await login(client, start, 'alice');
        assert.equal(chain.at(-1), stack.url('/'));
        assert.deepEqual(stack.httpd.errorLogProblems([/AH01630: client denied by server configuration: \S+\/htdocs\/$/]), []);
    });

    test('a login started by the provider with a long target keeps its state cookie small', async () => {
        const client = new Client();
        const target = stack.url(`/app/x?${'t'.repeat(3000)}`);
        const res = await client.get(`${stack.redirectUri}?iss=${encodeURIComponent(stack.op.issuer)}`
            + `&target_link_uri=${encodeURIComponent(target)}`);
        assert.equal(res.status, 302);
        assert.ok(cookieHeader(client, stack).length <= 2560 / 7);
    });
});

describe('REMOTE_USER and claim names', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            locations: (backend) => [
                protectedLocation('/app', backend, { extra: ['IPSIERemoteUserClaim email'] }),
                protectedLocation('/groups', backend, { extra: ['IPSIERemoteUserClaim groups'] }),
                protectedLocation('/named', backend, { extra: ['IPSIERemoteUserClaim name'] }),
            ].join('\n'),
        });
    });
    after(() => stack?.stop());
    afterEach(() => {
        assert.deepEqual(stack.httpd.errorLogProblems(), []);
    });

    test('a sub with CR LF never becomes a user: the login is refused', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/named/'), 'alice\r\nX-Injected: yes');
        assert.equal(res.status, 400, res.body);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
        assert.equal(stack.backend.requests.filter((r) => r.headers['x-injected']).length, 0);
        assert.equal(logLines(stack.httpd, /IPSIE05047/).length, 1);
        assert.doesNotMatch(stack.httpd.errorLog(), /X-Injected: yes/, 'nothing of it is logged raw');
    });

    test('a remote-user claim with control characters refuses the login', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'ctlmail-dave');
        assert.equal(res.status, 400, res.body);
        assert.match(pageText(res), /usable user name/);
        assert.ok(!client.jar.names().some((n) => n.startsWith('ipsie_session')));
        assert.match(logLines(stack.httpd, /IPSIE11005/)[0], /control characters/);
    });

    test('a remote-user claim that is not a string is refused: 403, logged', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/named/'), 'erin');
        assert.equal(res.status, 200);
        assert.equal((await client.get(stack.url('/groups/'))).status, 403);
        assert.match(logLines(stack.httpd, /IPSIE11005/, /erin/)[0], /non-string 'groups'/);
        assert.equal((await client.get(stack.url('/named/'))).status, 200);
    });

    test('claims whose names collide are not passed; the real session_expiry is kept', async () => {
        const client = new Client();
        const { res } = await login(client, stack.url('/named/'), 'collide-frank');
        assert.equal(res.status, 200, res.body);
        const headers = res.json().headers;
        assert.equal(headers['ipsie-claim-nick-name'], 'real');
        assert.equal(headers['ipsie-claim-x-y'], undefined);
        assert.ok(Number(headers['ipsie-claim-session-expiry']) > nowS(), headers['ipsie-claim-session-expiry']);
        assert.match(logLines(stack.httpd, /IPSIE04002/, /:warn\]/)[0], /nick-name Nick_Name|Nick_Name nick-name/);
    });
});
