// Metrics and health (SPEC section 6): `SetHandler ipsie-metrics` serves Prometheus text whose
// counters, kept in shared memory, count every child and survive a graceful restart; ?health
// says whether the provider and the shared store answer (200 or 503); mod_status shows the same
// figures; httpd's own access control protects the handler.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, confirmOpLogout, login, request } from './lib/client.mjs';
import { startKvServer } from './lib/kvserver.mjs';
import { MODULES_DIR } from './lib/httpd.mjs';
import { protectedLocation, startStack } from './lib/stack.mjs';
import { sleep } from './lib/util.mjs';

const PREFIX = 'mod_auth_ipsie_';

// The handler where the administrator chose it, open to loopback only; a second one open to an
// address the tests never come from; mod_status beside them.
const metricsLocations = (backend) => [
    protectedLocation('/app', backend),
    '<Location /ipsie-metrics>',
    '    SetHandler ipsie-metrics',
    '    Require ip 127.0.0.1',
    '</Location>',
    '<Location /metrics-for-others>',
    '    SetHandler ipsie-metrics',
    '    Require ip 192.0.2.1',
    '</Location>',
    '<Location /server-status>',
    '    SetHandler server-status',
    '    Require ip 127.0.0.1',
    '</Location>',
].join('\n');

// Require ip and mod_status, which the common configuration does not load.
const modules = [
    `LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so`,
    `LoadModule status_module ${MODULES_DIR}/mod_status.so`,
];

// Every sample of a Prometheus text: 'name' or 'name{label="value"}' -> number.
function parseMetrics(text) {
    const samples = new Map();
    for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) {
            continue;
        }
        const m = /^([a-z_]+)(\{[a-z_]+="[a-z_]+"\})? (\d+)$/.exec(line);
        assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
        const key = `${m[1]}${m[2] ?? ''}`;
        assert.ok(!samples.has(key), `${key} once`);
        samples.set(key, Number(m[3]));
    }
    return samples;
}

async function metrics(stack, path = '/ipsie-metrics') {
    const res = await request(stack.url(path));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    return parseMetrics(res.body);
}

const key = (family, label, value) => `${PREFIX}${family}${label ? `{${label}="${value}"}` : ''}`;

// The counters (no gauges) as { key: value } for comparison.
const counters = (m) => Object.fromEntries([...m].filter(([k]) => !k.endsWith('_seconds')));

// Asserts the figures of m named in want (family -> value, or family -> { label value -> value });
// every other series of those families must be 0.
function assertFigures(m, want, what) {
    const labels = { logins_refused_total: 'reason', session_ends_total: 'reason', backchannel_logouts_total: 'result',
        provider_requests_total: 'endpoint', provider_failures_total: 'endpoint', cache_failures_total: 'operation' };
    for (const [family, expected] of Object.entries(want)) {
        if (typeof expected === 'number') {
            assert.equal(m.get(key(family)), expected, `${what}: ${family}`);
            continue;
        }
        const prefix = `${PREFIX}${family}{${labels[family]}="`;
        const series = [...m].filter(([k]) => k.startsWith(prefix));
        assert.ok(series.length > 0, `${what}: ${family} has series`);
        for (const [k, v] of series) {
            const value = k.slice(prefix.length, -2);
            assert.equal(v, expected[value] ?? 0, `${what}: ${k}`);
        }
        for (const value of Object.keys(expected)) {
            assert.ok(m.has(`${prefix}${value}"}`), `${what}: ${family} ${value} is a series`);
        }
    }
}

async function health(stack) {
    const started = Date.now();
    const res = await request(stack.url('/ipsie-metrics?health'));
    return { status: res.status, body: res.json(), ms: Date.now() - started, type: res.headers['content-type'] };
}

// Polls ?health until its status is want; returns the last answer.
async function healthUntil(stack, want, timeoutMs = 20000) {
    const until = Date.now() + timeoutMs;
    let last;
    do {
        last = await health(stack);
        if (last.status === want) {
            return last;
        }
        await sleep(250);
    } while (Date.now() < until);
    assert.fail(`health never answered ${want}: ${JSON.stringify(last)}`);
}

for (const store of ['cookie', 'cache']) {
    describe(`metrics after a scripted sequence, ${store} store`, () => {
        let stack;
        let meta;

        before(async () => {
            stack = await startStack({
                backchannelLogout: true,
                directives: [...modules, `IPSIESessionStore ${store}`, 'IPSIESessionInactivityTimeout 4',
                    'IPSIESessionExpiryLeeway 0'],
                locations: metricsLocations,
            });
            meta = (await request(stack.op.metadataUrl)).json();
        });
        after(() => stack?.stop());
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

        test('logins, refusals and every kind of session end are counted exactly, and survive a graceful restart', async () => {
            const start = await metrics(stack);
            assert.ok(Object.values(counters(start)).every((v) => v === 0), JSON.stringify(counters(start)));
            assert.equal(start.has(key('provider_metadata_age_seconds')), false, 'never fetched: no sample');

            const [alice, bob, carol, dave, erin, frank] = Array.from({ length: 6 }, () => new Client());
            // One login first: at most half the server's workers wait for the provider's
            // first answer (the others would get a 503 page).
            await login(alice, stack.url('/app/'), 'alice');
            await Promise.all([
                login(bob, stack.url('/app/'), 'bob'),
                login(carol, stack.url('/app/'), 'ttl3-carol'),
                login(dave, stack.url('/app/'), 'dave'),
                login(erin, stack.url('/app/'), 'erin'),
            ]);
            const loggedIn = Date.now();

            // A refused login (the response's iss is not the provider's), then its callback
            // again, whose state is gone: two refusals, two reasons.
            const { callbackUrl } = await login(frank, stack.url('/app/'), 'frank', { stopAtCallback: true });
            const forged = new URL(callbackUrl);
            forged.searchParams.set('iss', 'https://elsewhere.example');
            assert.equal((await frank.get(forged.href)).status, 400);
            assert.equal((await frank.get(callbackUrl)).status, 400);

            // A logout here (through the provider's end-session endpoint), a logout at the
            // provider (back-channel), then erin's next request.
            const out = await alice.get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
            assert.equal(out.status, 302);
            assert.ok(out.location.startsWith(meta.end_session_endpoint), out.location);
            await confirmOpLogout(erin, meta.end_session_endpoint);
            assert.equal((await erin.get(stack.url('/app/'), { xhr: true })).status, 401);

            // carol's provider session ends 3 s after her login, dave's idle timeout after 4 s.
            await sleep(Math.max(0, loggedIn + 4600 - Date.now()));
            const ceiling = await carol.get(stack.url('/app/'), { xhr: true });
            assert.equal(ceiling.json().error, 'session_expired');
            const idle = await dave.get(stack.url('/app/'), { xhr: true });
            assert.equal(idle.json().error, 'session_idle');

            const m = await metrics(stack);
            const ends = store === 'cookie'
                // A cookie session ended by the provider ends when it comes back: revoked.
                ? { ceiling: 1, idle: 1, logout: 1, revoked: 1 }
                // A server-side one is removed at once; its cookie then names nothing.
                : { ceiling: 1, idle: 1, logout: 1, backchannel: 1, invalid: 1 };
            assertFigures(m, {
                logins_total: 5,
                logins_refused_total: { iss: 1, state: 1 },
                session_ends_total: ends,
                backchannel_logouts_total: { accepted: 1 },
                provider_requests_total: { discovery: 1, jwks: 1, token: 5, userinfo: 5, end_session: 1 },
                provider_failures_total: {},
                cache_failures_total: {},
                refreshes_total: 0,
            }, 'after the sequence');
            // Six login states and the logout token's jti spent, once each.
            assert.equal(m.get(key('cache_operations_total', 'operation', 'add')), 7);
            const age = m.get(key('provider_metadata_age_seconds'));
            assert.ok(age >= 0 && age < 60, `metadata age ${age}`);
            assert.ok(m.get(key('provider_jwks_age_seconds')) <= age);

            // mod_status gives the same figures, in its page and in ?auto.
            const auto = await request(stack.url('/server-status?auto'));
            assert.equal(auto.status, 200);
            assert.match(auto.body, /^IPSIE_logins_total: 5$/m);
            assert.match(auto.body, /^IPSIE_session_ends_total_ceiling: 1$/m);
            assert.match(auto.body, /^IPSIE_logins_refused_total_iss: 1$/m);
            assert.match(auto.body, /^IPSIE_provider_requests_total_token: 5$/m);
            const page = await request(stack.url('/server-status'));
            assert.match(page.body, /<h2>mod_auth_ipsie<\/h2>/);
            assert.match(page.body, /<tr><td>session_ends_total reason=idle<\/td><td align="right">1<\/td><\/tr>/);

            // A graceful restart keeps every counter; the new generation counts on.
            await stack.httpd.graceful();
            const kept = await metrics(stack);
            assert.deepEqual(counters(kept), counters(m));
            const grace = new Client();
            await login(grace, stack.url('/app/'), 'grace');
            assertFigures(await metrics(stack), {
                logins_total: 6,
                // The new generation's child fetched the metadata and keys once more.
                provider_requests_total: { discovery: 2, jwks: 2, token: 6, userinfo: 6, end_session: 1 },
                provider_failures_total: {},
            }, 'after a graceful restart and a login');
        });

        test('the handler answers GET only, and httpd\'s access control guards it', async () => {
            assert.equal((await request(stack.url('/metrics-for-others'))).status, 403);
            assert.equal((await request(stack.url('/metrics-for-others?health'))).status, 403);
            assert.equal(stack.httpd.errorLogProblems([/AH01630: client denied by server configuration/]).length, 0);
            const post = await request(stack.url('/ipsie-metrics'), { method: 'POST', body: '' });
            assert.equal(post.status, 405);
            assert.match(post.headers.allow ?? '', /GET/);
            const head = await request(stack.url('/ipsie-metrics'), { method: 'HEAD' });
            assert.equal(head.status, 200);
            assert.equal(head.body, '');
        });
    });
}

// Access tokens of 20 s refreshed 17 s before they expire: each is due 3 s after it was issued.
describe('metrics of refreshes and UserInfo', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            directives: [...modules, 'IPSIEScope "openid email profile groups offline_access"',
                'IPSIERefreshAccessTokenBeforeExpiry 17'],
            locations: (backend) => [metricsLocations(backend),
                '<Location /app>', '    IPSIEPassAccessToken On', '</Location>'].join('\n'),
            opOptions: { refreshTokens: true, accessTokenTtl: 20, rotateRefreshTokens: true },
        });
    });
    after(() => stack?.stop());

    test('a refresh counts a refresh and a token request; one the provider refuses ends the session as refresh_failed', async () => {
        const client = new Client();
        await login(client, stack.url('/app/'), 'alice');
        const signedIn = await metrics(stack);
        assertFigures(signedIn, {
            logins_total: 1,
            refreshes_total: 0,
            // UserInfo is read at login when the metadata names its endpoint, as the test OP's does.
            provider_requests_total: { discovery: 1, jwks: 1, token: 1, userinfo: 1 },
            provider_failures_total: {},
        }, 'after the login');

        await sleep(3300);
        assert.equal((await client.get(stack.url('/app/due'), { xhr: true })).status, 200);
        assertFigures(await metrics(stack), {
            refreshes_total: 1,
            provider_requests_total: { discovery: 1, jwks: 1, token: 2, userinfo: 1 },
            provider_failures_total: {},
            session_ends_total: {},
        }, 'after a refresh');

        // The OP started again has forgotten every grant: the next refresh is refused.
        await stack.restartOP();
        await sleep(3300);
        assert.equal((await client.get(stack.url('/app/later'), { xhr: true })).status, 401);
        assertFigures(await metrics(stack), {
            refreshes_total: 1,
            provider_requests_total: { discovery: 1, jwks: 1, token: 3, userinfo: 1 },
            provider_failures_total: { token: 1 },
            session_ends_total: { refresh_failed: 1 },
        }, 'after a refused refresh');
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08203/]), []);
    });
});

describe('metrics sum the children of a prefork server', () => {
    let stack;

    before(async () => {
        stack = await startStack({
            mpm: 'prefork',
            directives: [...modules, 'CustomLog pids.log "%P %r"'],
            locations: metricsLocations,
        });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

    test('logins served by several children add up, read from any child', async () => {
        // Four at a time: the children's first fetches of the metadata stay within the
        // half of the 8 workers that may wait for the provider.
        for (const wave of [[0, 1, 2, 3], [4, 5, 6, 7]]) {
            const done = await Promise.all(wave.map((i) => login(new Client(), stack.url('/app/'), `user${i}`)));
            assert.deepEqual(done.map((d) => d.res.status), [200, 200, 200, 200]);
        }
        const callbacks = readFileSync(join(stack.httpd.dir, 'pids.log'), 'utf8').split('\n')
            .filter((l) => l.includes('/app/redirect_uri?'));
        assert.equal(callbacks.length, 8, readFileSync(join(stack.httpd.dir, 'pids.log'), 'utf8'));
        const children = new Set(callbacks.map((l) => l.split(' ')[0]));
        assert.ok(children.size >= 2, `the logins were served by ${children.size} children`);
        // Several reads at once reach several children: each reads the same figures.
        const reads = await Promise.all(Array.from({ length: 6 }, () => metrics(stack)));
        for (const m of reads) {
            assert.equal(m.get(key('logins_total')), 8);
            assert.equal(m.get(key('provider_requests_total', 'endpoint', 'token')), 8);
        }
    });
});

describe('health', () => {
    let kv;
    let stack;

    before(async () => {
        kv = await startKvServer('redis');
        stack = await startStack({
            directives: [...modules, 'IPSIEProviderTimeout 2', 'IPSIESessionStore cache', `IPSIESessionCache ${kv.spec}`,
                'IPSIESessionCacheTimeout 300'],
            locations: metricsLocations,
        });
    });
    after(async () => {
        await stack?.stop();
        await kv?.stop();
    });

    test('200 with the provider and the store reachable; 503 while the provider is down, 200 when it returns', async () => {
        const ok = await health(stack);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.type, 'application/json');
        assert.equal(ok.body.status, 'ok');
        assert.equal(ok.body.provider.reachable, true);
        assert.equal(ok.body.provider.metadata_url, stack.op.metadataUrl);
        assert.ok(ok.body.provider.metadata_age_seconds >= 0 && ok.body.provider.metadata_age_seconds < 10);
        assert.deepEqual(ok.body.cache, { configured: true, store: 'redis', reachable: true });

        await stack.op.stop();
        const down = await healthUntil(stack, 503);
        assert.equal(down.body.status, 'fail');
        assert.equal(down.body.provider.reachable, false);
        assert.equal(down.body.cache.reachable, true);
        // Never longer than the provider's timeout.
        assert.ok(down.ms < 3500, `${down.ms} ms`);

        await stack.restartOP();
        const back = await healthUntil(stack, 200);
        assert.equal(back.body.provider.reachable, true);
        const m = await metrics(stack);
        assert.ok(m.get(key('provider_failures_total', 'endpoint', 'discovery')) >= 1);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE08300/, /IPSIE08005/]), []);
    });

    test('503 while the store does not answer, within its timeout; 200 when it returns', async () => {
        await kv.freeze();
        let down;
        try {
            down = await health(stack);
        } finally {
            await kv.thaw();
        }
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.deepEqual(down.body.cache, { configured: true, store: 'redis', reachable: false });
        assert.equal(down.body.provider.reachable, true);
        assert.ok(down.ms < 2000, `${down.ms} ms`);
        const back = await healthUntil(stack, 200);
        assert.equal(back.body.cache.reachable, true);
        const m = await metrics(stack);
        assert.ok(m.get(key('cache_failures_total', 'operation', 'set')) >= 1);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE092\d\d/]), []);
    });
});

describe('metrics in the README', () => {
    test('the README lists every metric family the handler serves, and no other', async () => {
        const stack = await startStack({ directives: modules, locations: metricsLocations });
        try {
            const res = await request(stack.url('/ipsie-metrics'));
            const served = new Set([...res.body.matchAll(/^# TYPE (\S+) (counter|gauge)$/gm)].map((m) => m[1]));
            const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
            const listed = new Set([...readme.matchAll(/`(mod_auth_ipsie_[a-z_]+)`/g)].map((m) => m[1]));
            assert.deepEqual([...listed].sort(), [...served].sort());
        } finally {
            await stack.stop();
        }
    });
});
