// A provider that answers, but slowly (a proxy in front of it holds each request back): a
// callback that needs several exchanges with it (metadata, the token request, the JWKS) waits
// for it no longer than IPSIEProviderTimeout + 1 s in all, not that long for each exchange.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { startStack } from './lib/stack.mjs';
import { sleep } from './lib/util.mjs';

const TIMEOUT = 2;
const URL_OF = (path) => `http:\\/\\/127\\.0\\.0\\.1:\\d+\\/${path}`;

describe('a slow provider', () => {
    let stack;

    before(async () => {
        stack = await startStack({ slowProxy: true, directives: [`IPSIEProviderTimeout ${TIMEOUT}`] });
    });
    after(() => stack?.stop());

    // A login stopped at its callback; then a new httpd (same config and secrets, nothing
    // cached, already serving) for the callback, which must fetch the metadata and the JWKS
    // besides the token.
    async function callbackWithEmptyCache(client) {
        const { callbackUrl } = await login(client, stack.url('/app/'), 'alice', { stopAtCallback: true });
        assert.match(callbackUrl, /[?&]code=/);
        assert.deepEqual(stack.httpd.errorLogProblems([]), []);
        await stack.restartHttpd();
        // Once a child serves (here the server's refusal of /).
        assert.equal((await request(stack.url('/'))).status, 403);
        assert.deepEqual(stack.httpd.errorLogProblems([/AH01630: client denied by server configuration/]), []);
        return callbackUrl;
    }

    // Seconds httpd took over the callback, from the request's start (%D in the access log,
    // written just after the response).
    async function servedSeconds() {
        for (let tries = 0; tries < 40; tries++) {
            const line = readFileSync(join(stack.httpd.dir, 'access.log'), 'utf8').split('\n')
                .find((l) => /GET \/app\/redirect_uri\?.* \d+$/.test(l));
            if (line) {
                return Number(/ (\d+)$/.exec(line)[1]) / 1e6;
            }
            await sleep(50);
        }
        throw new Error('the callback is not in the access log');
    }

    test('with the proxy passing everything on, a login completes across a restart', async () => {
        const first = await login(new Client(), stack.url('/app/'), 'alice');
        assert.equal(first.res.status, 200, first.res.body);
        const client = new Client();
        const callbackUrl = await callbackWithEmptyCache(client);
        const { res } = await client.follow(await client.get(callbackUrl));
        assert.equal(res.status, 200, res.body);
        assert.equal(res.url, stack.url('/app/'));
        assert.deepEqual(stack.httpd.errorLogProblems([]), []);
    });

    // Each exchange answers delay ms late, under the timeout: one after another, the three
    // would take 3 x delay; with the deadline, at most the timeout and 1 s. expected: the
    // error lines of the exchange that runs out of time.
    const slowCallback = (delay, expected) => async () => {
        const client = new Client();
        const callbackUrl = await callbackWithEmptyCache(client);
        stack.proxy.delay(delay);
        let res;
        const started = Date.now();
        try {
            res = await client.get(callbackUrl);
        } finally {
            stack.proxy.passThrough();
        }
        const seconds = (Date.now() - started) / 1000;
        const problems = stack.httpd.errorLogProblems(expected);
        const served = await servedSeconds();
        assert.ok(served <= TIMEOUT + 1 + 0.2, `httpd took ${served} s over the callback`);
        // As the browser saw it, with room for a busy machine.
        assert.ok(seconds <= TIMEOUT + 1 + 0.5, `the callback took ${seconds} s`);
        assert.equal(res.status, 502, res.body);
        assert.match(res.headers['content-type'], /text\/html/);
        assert.match(res.body, /Sign-in unavailable/);
        assert.deepEqual(problems, []);
        for (const re of expected) {
            assert.match(stack.httpd.errorLog(), re);
        }
    };

    // Metadata 1.5 s; the token request gets the 1.5 s left, not its 2 s (the log says when
    // curl gave up).
    test('1.5 s per exchange: the token request runs out of time', slowCallback(1500, [
        new RegExp(`IPSIE08005: request to ${URL_OF('token')} failed: Operation timed out after \\d+ milliseconds`),
        new RegExp(`IPSIE08202: token request to ${URL_OF('token')} failed`),
        /IPSIE12007: token request failed/,
    ]));

    // Metadata and token 1.2 s each; the JWKS fetch gets the 0.6 s left.
    test('1.2 s per exchange: the JWKS fetch runs out of time', slowCallback(1200, [
        new RegExp(`IPSIE08005: request to ${URL_OF('jwks')} failed: Operation timed out after \\d+ milliseconds`),
        new RegExp(`IPSIE08304: JWKS fetch failure: cannot fetch ${URL_OF('jwks')}`),
        /IPSIE12012: cannot validate the ID token: the provider's keys are unavailable/,
    ]));
});
