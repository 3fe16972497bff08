// The provider rotates its signing keys under the same kids: a token the cached key no longer
// verifies fetches the JWKS once more and the login succeeds; a second rotation within 10 s of
// that fetch gets a 503 with Retry-After, not a 400, and logging in after Retry-After succeeds.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { logLines, sleep } from './lib/util.mjs';

// The module fetches the JWKS at most once per this many seconds in a child.
const REFETCH_INTERVAL_MS = 10000;
const KIDS = { rsa: 'k1', ec: 'k2' };

async function jwksOf(op) {
    const meta = (await request(op.metadataUrl)).json();
    return (await request(meta.jwks_uri)).json();
}

// The public key published under each kid.
function keysByKid(jwks) {
    return Object.fromEntries(jwks.keys.map((k) => [k.kid, k.n ?? `${k.x}.${k.y}`]));
}

describe('signing keys rotated under the same kids', () => {
    let stack;
    let allow = [];
    let keys;
    // Bounds on when the child last fetched the JWKS (Date.now()): not before, not after.
    let fetchedAfter;
    let fetchedBy;

    // A login from scratch through the OP's form; the final response.
    async function signIn(name) {
        const { res } = await login(new Client(), stack.url(`/app/${name}`), name);
        return res;
    }

    // The child's JWKS is older than the refetch interval once this returns.
    async function waitOutRefetchInterval() {
        const left = fetchedBy + REFETCH_INTERVAL_MS + 100 - Date.now();
        if (left > 0) {
            await sleep(left);
        }
    }

    // Restarts the OP with new keys under KIDS; checks that it did rotate them.
    async function rotate() {
        await stack.restartOP({ kids: KIDS });
        const now = keysByKid(await jwksOf(stack.op));
        assert.deepEqual(Object.keys(now).sort(), Object.values(KIDS).sort());
        for (const kid of Object.values(KIDS)) {
            assert.notEqual(now[kid], keys[kid], `new key material under ${kid}`);
        }
        keys = now;
    }

    before(async () => {
        stack = await startStack({ opKids: KIDS });
        keys = keysByKid(await jwksOf(stack.op));
    });
    after(() => stack?.stop());
    afterEach(() => {
        const problems = stack.httpd.errorLogProblems(allow);
        allow = [];
        assert.deepEqual(problems, []);
    });

    test('a login with the first keys caches them', async () => {
        fetchedAfter = Date.now();
        const res = await signIn('alice');
        fetchedBy = Date.now();
        assert.equal(res.status, 200, res.body);
        assert.equal(res.url, stack.url('/app/alice'));
    });

    test('after a rotation, a login fetches the keys again and succeeds', async () => {
        await rotate();
        await waitOutRefetchInterval();
        fetchedAfter = Date.now();
        const res = await signIn('bob');
        fetchedBy = Date.now();
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(res.url, stack.url('/app/bob'));
        assert.equal(stack.backend.requests.at(-1).url, '/bob');
        // The cached key under the same kid failed the signature; the refetched one verified.
        const log = stack.httpd.errorLog();
        assert.equal(logLines(stack.httpd, /IPSIE05024: .* with the key k1/).length, 1, log);
        assert.equal(logLines(stack.httpd, /IPSIE12001: login sub=bob /).length, 1, log);
        assert.doesNotMatch(log, /IPSIE12008|IPSIE12016/);
    });

    test('a second rotation within 10 s of that fetch gets 503 with Retry-After, then works', async () => {
        await rotate();
        const { res } = await login(new Client(), stack.url('/app/carol'), 'carol');
        const age = Date.now() - fetchedAfter;
        assert.ok(age < REFETCH_INTERVAL_MS, `the login came up to ${age} ms after the last fetch`);
        assert.ok(res.url.startsWith(`${stack.redirectUri}?`), res.url);
        assert.equal(res.status, 503, `${res.status} ${res.body}`);
        assert.match(res.headers['retry-after'] ?? '', /^[0-9]+$/);
        const retryAfter = Number(res.headers['retry-after']);
        assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After: ${retryAfter}`);
        assert.match(res.headers['content-type'], /^text\/html/);
        assert.match(res.body, /<title>Sign-in busy<\/title>/);
        assert.doesNotMatch(res.body, /could not be validated/);
        assert.equal(logLines(stack.httpd, /:warn\]/, /IPSIE12016: /).length, 1);
        assert.equal(logLines(stack.httpd, /IPSIE08309: /).length, 1);
        assert.equal(logLines(stack.httpd, /IPSIE12008/).length, 0);

        // The page links to where the sign-in started, since the response itself is spent.
        assert.ok(res.body.includes(`<a href="${stack.url('/app/carol')}">Try again</a>`), res.body);

        await sleep(retryAfter * 1000 + 100);
        const client = new Client();
        const { res: again } = await login(client, stack.url('/app/carol'), 'carol');
        assert.equal(again.status, 200, `${again.status} ${again.body}`);
        assert.equal(again.url, stack.url('/app/carol'));
        assert.equal(logLines(stack.httpd, /IPSIE12001: login sub=carol /).length, 1);
    });
});
