// The module's own pages (SPEC section 6): one small template with a way back to the site, or
// the administrator's IPSIEHTMLTemplate; what a page says after the ceiling; the back button
// on a finished sign-in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, login, request } from './lib/client.mjs';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { configtestDirectives, protectedLocation, startStack } from './lib/stack.mjs';
import { query, sleepUntil, stateCookieName } from './lib/util.mjs';

// A callback with a state the module never issued: the 400 page every browser can reach.
const bogusCallback = (stack) => `${stack.redirectUri}?state=0${'A'.repeat(43)}&code=x`;

describe('the built-in page template', () => {
    let stack;

    before(async () => {
        stack = await startStack({ directives: ['IPSIESessionExpiryLeeway 0'] });
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test('an error page has a language, a title, the message and a link back to the site, and nothing from elsewhere', async () => {
        const res = await request(bogusCallback(stack), { headers: { Accept: 'text/html' } });
        assert.equal(res.status, 400);
        assert.match(res.headers['content-type'], /^text\/html; charset=utf-8/);
        assert.match(res.body, /^<!DOCTYPE html>\n<html lang="en">/);
        assert.match(res.body, /<meta name="viewport"/);
        assert.match(res.body, /<title>Sign-in failed<\/title>/);
        assert.match(res.body, /<h1>Sign-in failed<\/h1>/);
        assert.match(res.body, /does not belong to a sign-in started here/);
        assert.match(res.body, /<a href="\/">Back to the site<\/a>/);
        assert.doesNotMatch(res.body, /<script|<link|<img|src=|url\(|@import|https?:/i);
        assert.equal(res.headers['content-security-policy'],
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['cache-control'], 'no-store');
    });

    test("the provider's error code is shown escaped", async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'eve', { stopAtCallback: true });
        const state = query(callbackUrl).get('state');
        const hostile = `${stack.redirectUri}?state=${state}&error=${encodeURIComponent('<img src=x onerror=alert(1)>')}&iss=${encodeURIComponent(query(callbackUrl).get('iss'))}`;
        const res = await client.get(hostile);
        assert.equal(res.status, 400, res.body);
        assert.doesNotMatch(res.body, /<img/);
        assert.match(res.body, /The identity provider refused the sign-in/);
    });

    test('after the ceiling, a sign-in the provider does not complete says why it was asked, with a way to try again', async () => {
        const client = new Client();
        await login(client, stack.url('/app/deep?x=1'), 'ttl3-frank');
        const info = (await client.get(`${stack.redirectUri}?info=json`, { xhr: true })).json();
        await sleepUntil(info.ceiling);
        const reauth = await client.get(stack.url('/app/deep?x=1'));
        assert.equal(reauth.status, 302, reauth.body);
        assert.equal(query(reauth.location).get('prompt'), 'login');
        const state = query(reauth.location).get('state');
        assert.ok(client.jar.get(stateCookieName(state)), 'the state cookie of the new sign-in');
        // The user cancels at the provider: it answers with an error (OpenID Connect Core 3.1.2.6).
        const meta = (await request(stack.op.metadataUrl)).json();
        const res = await client.get(`${stack.redirectUri}?state=${state}&error=access_denied&iss=${encodeURIComponent(meta.issuer)}`);
        assert.equal(res.status, 400, res.body);
        assert.match(res.body, /<h1>Sign-in ended<\/h1>/);
        assert.match(res.body, /Your sign-in reached the limit set by your identity provider, so you need to sign in again\./);
        assert.match(res.body, /access_denied/);
        assert.match(res.body, /<a href="\/app\/deep\?x=1">Try again<\/a>/);
    });

    test('a sign-in refused by the provider without a ceiling says nothing of one', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'gina', { stopAtCallback: true });
        const q = query(callbackUrl);
        const res = await client.get(`${stack.redirectUri}?state=${q.get('state')}&error=access_denied&iss=${encodeURIComponent(q.get('iss'))}`);
        assert.equal(res.status, 400);
        assert.doesNotMatch(res.body, /reached the limit/);
    });
});

describe('IPSIEHTMLTemplate', () => {
    let stack;
    let dir;

    before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'ipsie-template-'));
        writeFileSync(join(dir, 'page.html'), [
            '<!DOCTYPE html><html lang="de"><head><title>{{title}} · Beispiel AG</title>',
            '<link rel="stylesheet" href="/static/site.css"></head>',
            '<body class="corporate"><h1>{{title}}</h1><div id="m">{{message}}</div>',
            '<a id="back" href="{{link_url}}">{{link_text}}</a></body></html>',
        ].join('\n'));
        stack = await startStack({ directives: [`IPSIEHTMLTemplate ${join(dir, 'page.html')}`] });
    });
    after(() => {
        stack?.stop();
        rmSync(dir, { recursive: true, force: true });
    });
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems(), []));

    test("the module's pages are made from the administrator's file, values escaped, without the built-in CSP", async () => {
        const res = await request(bogusCallback(stack), { headers: { Accept: 'text/html' } });
        assert.equal(res.status, 400);
        assert.match(res.body, /^<!DOCTYPE html><html lang="de"><head><title>Sign-in failed · Beispiel AG<\/title>/);
        assert.match(res.body, /<div id="m">This sign-in response does not belong/);
        assert.match(res.body, /<a id="back" href="\/">Back to the site<\/a>/);
        assert.equal(res.headers['content-security-policy'], undefined, 'the site sets its own policy for its own resources');
    });
});

describe('IPSIEHTMLTemplate at configtest', () => {
    const PORT = 18443;
    let dir;

    before(() => {
        dir = mkdtempSync(join(tmpdir(), 'ipsie-template-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const check = (file) => configtest(({ dir: confDir }) => httpdConf({
        dir: confDir,
        port: PORT,
        directives: [...configtestDirectives(PORT), `IPSIEHTMLTemplate ${file}`],
        locations: protectedLocation('/app', 'http://127.0.0.1:9'),
    }));

    for (const [name, content, why] of [
        ['a misspelt placeholder', '<p>{{message}}</p><h1>{{titel}}</h1>', /\{\{titel\}\} is not a placeholder/],
        ['no message', '<h1>{{title}}</h1>', /has no \{\{message\}\}/],
        ['an unclosed placeholder', '<p>{{message}}</p>{{title', /not closed/],
        ['bytes that are not UTF-8', '<p>{{message}}</p>\xff', /not UTF-8/],
        ['more than 64 KiB', `<p>{{message}}</p>${'x'.repeat(70000)}`, /larger than 65536 bytes/],
    ]) {
        test(`a template with ${name} fails, naming the file and what is wrong`, () => {
            const file = join(dir, `${name.replace(/\W+/g, '-')}.html`);
            writeFileSync(file, Buffer.from(content, 'latin1'));
            const r = check(file);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /IPSIEHTMLTemplate/);
            assert.ok(r.output.includes(file), r.output);
            assert.match(r.output, why);
        });
    }

    test('a template that cannot be read fails', () => {
        const r = check(join(dir, 'missing.html'));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /IPSIEHTMLTemplate \S+missing\.html cannot be read/);
    });

    test('a directory fails', () => {
        const r = check(dir);
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /is not a regular file/);
    });

    test('a good template passes', () => {
        const file = join(dir, 'good.html');
        writeFileSync(file, '<main><h1>{{title}}</h1><p>{{message}}</p><a href="{{link_url}}">{{link_text}}</a></main>');
        const r = check(file);
        assert.equal(r.code, 0, r.output);
    });
});
