// Sessions survive `apachectl graceful` in every store (SPEC section 3): Debian's log rotation
// does one every day. The shmcb cache is made once in the process pool and found again after
// the restart; Redis is outside httpd; cookies need only the same passphrase. A revocation
// written before the restart is still honoured after it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login } from './lib/client.mjs';
import { startKvServer } from './lib/kvserver.mjs';
import { startStack } from './lib/stack.mjs';
import { logLines } from './lib/util.mjs';

async function info(client, stack) {
    const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
    return res.status === 200 ? res.json() : { status: res.status, body: res.body };
}

function withCookie(value) {
    const client = new Client();
    client.jar.set('ipsie_session', value);
    return client;
}

const generations = (httpd) => logLines(httpd, /resuming normal operations/).length;

const cases = [
    { name: 'cache store in shmcb', store: 'cache', mpm: 'event' },
    { name: 'cache store in shmcb, prefork', store: 'cache', mpm: 'prefork' },
    { name: 'cache store in Redis', store: 'cache', redis: true },
    { name: 'cookie store (revocations in shmcb)', store: 'cookie' },
    { name: 'cookie store (revocations in shmcb), prefork', store: 'cookie', mpm: 'prefork' },
];

for (const c of cases) {
    describe(`graceful restart: ${c.name}`, () => {
        let kv;
        let stack;

        before(async () => {
            kv = c.redis ? await startKvServer('redis') : undefined;
            stack = await startStack({
                mpm: c.mpm,
                directives: [
                    `IPSIESessionStore ${c.store}`,
                    ...(kv ? [`IPSIESessionCache ${kv.spec}`, 'IPSIESessionCacheTimeout 300'] : []),
                ],
            });
        });
        after(async () => {
            await stack?.stop();
            await kv?.stop();
        });
        afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

        test('live sessions carry on across two graceful restarts; a revocation made before stays', async () => {
            const users = ['alice', 'bob', 'carol'];
            const clients = users.map(() => new Client());
            await Promise.all(users.map((u, i) => login(clients[i], stack.url('/app/'), u)));
            const before = await Promise.all(clients.map((cl) => info(cl, stack)));
            // carol logs out; a copy of her cookie, made before, must stay refused.
            const copied = clients[2].jar.get('ipsie_session');
            const out = await clients[2].get(`${stack.redirectUri}?logout=${encodeURIComponent('/app/')}`);
            assert.equal(out.status, 302);
            assert.equal((await withCookie(copied).get(stack.url('/app/'), { xhr: true })).status, 401);

            for (let round = 1; round <= 2; round++) {
                const gen = generations(stack.httpd);
                await stack.httpd.graceful();
                assert.equal(generations(stack.httpd), gen + 1);
                // Several requests each, so that (prefork) several new children serve them.
                for (const [i, user] of users.slice(0, 2).entries()) {
                    const now = await info(clients[i], stack);
                    assert.equal(now.sub, user, `round ${round}: ${user}: ${JSON.stringify(now)}`);
                    assert.equal(now.login_time, before[i].login_time, 'the same session, not a new one');
                    const served = await Promise.all(Array.from({ length: 4 },
                        () => clients[i].get(stack.url('/app/x'), { xhr: true })));
                    assert.deepEqual(served.map((r) => r.status), [200, 200, 200, 200], `round ${round}: ${user}`);
                    assert.equal(served[0].json().headers['ipsie-claim-sub'], user);
                }
                const revoked = await Promise.all(Array.from({ length: 4 },
                    () => withCookie(copied).get(stack.url('/app/'), { xhr: true })));
                assert.deepEqual(revoked.map((r) => r.status), [401, 401, 401, 401],
                    `round ${round}: carol's copied cookie after her logout`);
            }
            // A session made after the restarts works as well, and so does logout.
            const dave = new Client();
            await login(dave, stack.url('/app/'), 'dave');
            assert.equal((await info(dave, stack)).sub, 'dave');
            if (c.store === 'cookie') {
                // The copy was refused through the revocation entry (the cookie itself is sound).
                assert.ok(logLines(stack.httpd, /IPSIE11003/, /reason=revoked/, /sub=carol\b/).length >= 1,
                    stack.httpd.errorLog());
            }
        });
    });
}

// A full stop and start is not a graceful restart: shmcb lives in httpd's memory and goes with
// it (the user signs in again: a login required, never an error), Redis is outside httpd.
describe('full stop and start', () => {
    let kv;
    let shm;
    let redis;
    let cookie;

    before(async () => {
        kv = await startKvServer('redis');
        shm = await startStack({ directives: ['IPSIESessionStore cache'] });
        redis = await startStack({ directives: ['IPSIESessionStore cache', `IPSIESessionCache ${kv.spec}`] });
        cookie = await startStack({ directives: ['IPSIESessionStore cookie'] });
    });
    after(async () => {
        for (const s of [shm, redis, cookie]) {
            await s?.stop();
        }
        await kv?.stop();
    });

    test('shmcb sessions are lost (sent to log in); Redis and cookie sessions carry on', async () => {
        const clients = [new Client(), new Client(), new Client()];
        const stacks = [shm, redis, cookie];
        await Promise.all(stacks.map((s, i) => login(clients[i], s.url('/app/'), `user${i}`)));
        for (const s of stacks) {
            await s.restartHttpd();
        }
        const lost = await clients[0].get(shm.url('/app/'), { xhr: true });
        assert.equal(lost.status, 401);
        assert.equal(lost.json().error, 'login_required');
        const again = await login(clients[0], shm.url('/app/'), 'user0');
        assert.equal(again.res.status, 200);
        for (const i of [1, 2]) {
            const res = await clients[i].get(stacks[i].url('/app/'), { xhr: true });
            assert.equal(res.status, 200, `${i}: ${res.body}`);
            assert.equal(res.json().headers['ipsie-claim-sub'], `user${i}`);
        }
        for (const s of stacks) {
            assert.deepEqual(s.httpd.errorLogProblems([]), []);
        }
    });
});

// A new shmcb size cannot be given to shared memory made already. A graceful restart keeps the
// store as it was (its sessions and revocations) and says the size waits for a full restart,
// rather than start an empty store that would forget every revocation.
describe('graceful restart with a new shmcb size', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionStore cookie', 'IPSIESessionCache "shmcb:(4000000)"'] });
    });
    after(() => stack?.stop());

    test('the store stays, with its revocations, and a warning says when the size applies', async () => {
        const kim = new Client();
        await login(kim, stack.url('/app/'), 'kim');
        const copy = kim.jar.get('ipsie_session');
        const lee = new Client();
        await login(lee, stack.url('/app/'), 'lee');
        await kim.get(`${stack.redirectUri}?logout=`);
        assert.equal((await withCookie(copy).get(stack.url('/app/'), { xhr: true })).status, 401);

        const file = join(stack.httpd.dir, 'httpd.conf');
        writeFileSync(file, readFileSync(file, 'utf8').replace('shmcb:(4000000)', 'shmcb:(8000000)'));
        await stack.httpd.graceful();
        assert.equal(logLines(stack.httpd, /IPSIE10013/).length >= 1, true, stack.httpd.errorLog());
        assert.equal((await withCookie(copy).get(stack.url('/app/'), { xhr: true })).status, 401, 'still revoked');
        assert.equal((await lee.get(stack.url('/app/'), { xhr: true })).status, 200, 'others carry on');
        assert.deepEqual(stack.httpd.errorLogProblems([]), []);
    });
});
