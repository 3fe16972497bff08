// The provider's issuer and the ID token's JWS, against the real OP (SPEC section 2): an issuer
// with a trailing slash (OpenID Connect Discovery 4) and IPSIEProviderIssuer; ID tokens signed
// RS384, RS512, PS384, PS512, ES384 or ES512, accepted when IPSIEIDTokenSigningAlgs lists them
// and refused when it does not; and ID tokens whose typ names another kind of token, or that
// carry crit, refused (RFC 8725).
//
// The OP's opt-ins (t/op/op.mjs): issuerTrailingSlash names it http://127.0.0.1:<port>/ with its
// metadata still at /.well-known/openid-configuration; idTokenAlgs gives it a key for an
// algorithm beyond its defaults; idTokenHeader sets members of every ID token's JWS header.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, confirmOpLogout, login, request } from './lib/client.mjs';
import { CLIENT_ID, startStack } from './lib/stack.mjs';
import { jwtPayload, logLines, pageText, query } from './lib/util.mjs';

// The session's iss (?info=json), or the status when there is no session.
async function sessionIss(client, stack) {
    const res = await client.get(`${stack.redirectUri}?info=json`, { xhr: true });
    return res.status === 200 ? res.json().iss : res.status;
}

describe('a provider whose issuer ends in a slash', () => {
    let stack;
    let meta;

    before(async () => {
        stack = await startStack({ opIssuerSlash: true, backchannelLogout: true, opTestHooks: true });
        meta = (await request(stack.op.metadataUrl)).json();
    });
    after(() => stack?.stop());
    afterEach(() => assert.deepEqual(stack.httpd.errorLogProblems([]), []));

    test('the OP names itself with the slash, its metadata where the URL without it says', () => {
        assert.match(stack.op.issuer, /^http:\/\/127\.0\.0\.1:\d+\/$/);
        assert.equal(meta.issuer, stack.op.issuer);
        assert.equal(stack.op.metadataUrl, `${stack.op.issuer}.well-known/openid-configuration`);
        assert.equal(meta.authorization_response_iss_parameter_supported, true);
    });

    test('a login completes, with the RFC 9207 iss and the ID token iss spelled as the metadata spells it', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/page'), 'alice', { stopAtCallback: true });
        assert.equal(query(callbackUrl).get('iss'), stack.op.issuer);
        const { res, chain } = await client.follow(await client.get(callbackUrl));
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(chain.at(-1), stack.url('/app/page'));
        assert.equal(await sessionIss(client, stack), stack.op.issuer);
        assert.equal(logLines(stack.httpd, /IPSIE08105/).length, 0);
        assert.equal(logLines(stack.httpd, /IPSIE12001: login sub=alice /).length, 1);
    });

    test('a callback whose iss lacks the slash is refused as another issuer\'s (RFC 9207)', async () => {
        const client = new Client();
        const { callbackUrl } = await login(client, stack.url('/app/'), 'bob', { stopAtCallback: true });
        const url = new URL(callbackUrl);
        url.searchParams.set('iss', stack.op.issuer.slice(0, -1));
        const res = await client.get(url.href);
        assert.equal(res.status, 400, res.body);
        assert.equal(await sessionIss(client, stack), 401);
    });

    test('a login the provider starts names the issuer with its slash; without it, it is refused', async () => {
        const target = encodeURIComponent(stack.url('/app/deep?x=1'));
        const client = new Client();
        const start = await client.get(`${stack.redirectUri}?iss=${encodeURIComponent(stack.op.issuer)}&target_link_uri=${target}`);
        assert.equal(start.status, 302, start.body);
        assert.ok(start.location.startsWith(meta.authorization_endpoint), start.location);
        const { res, chain } = await login(client, start, 'carol');
        assert.equal(res.status, 200);
        assert.equal(chain.at(-1), stack.url('/app/deep?x=1'));

        const other = await new Client().get(`${stack.redirectUri}?iss=${encodeURIComponent(stack.op.issuer.slice(0, -1))}&target_link_uri=${target}`);
        assert.equal(other.status, 400);
        assert.match(pageText(other), /another identity provider/);
    });

    test('a back-channel logout token with the slashed iss ends the session', async () => {
        const dave = new Client();
        await login(dave, stack.url('/app/'), 'dave');
        assert.equal(await sessionIss(dave, stack), stack.op.issuer);
        const done = await confirmOpLogout(dave, meta.end_session_endpoint);
        assert.equal(done.status, 303, done.body);
        const sent = (await stack.op.report()).logoutTokens.at(-1);
        assert.equal(jwtPayload(sent.token).iss, stack.op.issuer);
        assert.equal(sent.status, 200);
        assert.equal(await sessionIss(dave, stack), 401);
        assert.equal(logLines(stack.httpd, /IPSIE12024/, /sub=dave/).length, 1);
    });
});

describe('IPSIEProviderIssuer', () => {
    const stacks = [];
    after(async () => {
        for (const s of stacks) {
            await s.stop();
        }
    });

    test('names the issuer of metadata published elsewhere, and a login completes', async () => {
        // oidc-provider serves its metadata whatever the query: a URL that names no issuer.
        const stack = await startStack({
            opIssuerSlash: true,
            directives: (op) => [
                `IPSIEProviderMetadataURL ${op.metadataUrl}?tenant=main`,
                `IPSIEProviderIssuer ${op.issuer}`,
            ],
        });
        stacks.push(stack);
        const client = new Client();
        const { res } = await login(client, stack.url('/app/'), 'erin');
        assert.equal(res.status, 200, `${res.status} ${res.body}`);
        assert.equal(await sessionIss(client, stack), stack.op.issuer);
        assert.deepEqual(stack.httpd.errorLogProblems([]), []);
    });

    test('accepts that spelling alone: the provider\'s other spelling is a 502 with IPSIE08105', async () => {
        const stack = await startStack({
            opIssuerSlash: true,
            directives: (op) => [`IPSIEProviderIssuer ${op.issuer.slice(0, -1)}`],
        });
        stacks.push(stack);
        const res = await new Client().get(stack.url('/app/'));
        assert.equal(res.status, 502, res.body);
        const lines = logLines(stack.httpd, /IPSIE08105/);
        assert.equal(lines.length, 1, stack.httpd.errorLog());
        assert.ok(lines[0].includes(`issuer '${stack.op.issuer}' is not the expected '${stack.op.issuer.slice(0, -1)}'`), lines[0]);
        assert.deepEqual(stack.httpd.errorLogProblems([/IPSIE0810[0-9]|IPSIE0830[0-9]/]), []);
    });
});

// A login as name through a stack whose OP signs ID tokens with idTokenAlg; the final response.
async function loginWith(stack, name) {
    const client = new Client();
    const { res } = await login(client, stack.url('/app/'), name);
    return { res, client };
}

describe('ID tokens signed with algorithms beyond the defaults', () => {
    for (const alg of ['RS384', 'RS512', 'PS384', 'PS512', 'ES384', 'ES512']) {
        describe(alg, () => {
            let stack;
            before(async () => {
                stack = await startStack({ idTokenAlg: alg, directives: [`IPSIEIDTokenSigningAlgs RS256 ${alg}`] });
            });
            after(() => stack?.stop());

            test(`an ID token signed ${alg} is accepted when IPSIEIDTokenSigningAlgs lists it`, async () => {
                const idTokenAlgs = (await request(stack.op.metadataUrl)).json().id_token_signing_alg_values_supported;
                assert.ok(idTokenAlgs.includes(alg), idTokenAlgs.join(' '));
                const { res, client } = await loginWith(stack, 'frank');
                assert.equal(res.status, 200, `${res.status} ${res.body}`);
                assert.equal(await sessionIss(client, stack), stack.op.issuer);
                assert.deepEqual(stack.httpd.errorLogProblems([]), []);
            });
        });
    }

    for (const [alg, listed] of [['ES384', null], ['PS512', null], ['RS512', 'RS256 RS384 PS512 ES512']]) {
        describe(`${alg}, not listed`, () => {
            let stack;
            before(async () => {
                stack = await startStack({
                    idTokenAlg: alg,
                    directives: listed ? [`IPSIEIDTokenSigningAlgs ${listed}`] : [],
                });
            });
            after(() => stack?.stop());

            test(`an ID token signed ${alg} is refused when IPSIEIDTokenSigningAlgs is ${listed ?? 'the default'}`, async () => {
                const { res, client } = await loginWith(stack, 'grace');
                assert.equal(res.status, 400, `${res.status} ${res.body}`);
                assert.equal(await sessionIss(client, stack), 401);
                assert.equal(logLines(stack.httpd, /IPSIE05017/, new RegExp(`alg ${alg} is not on the allow-list`)).length, 1,
                    stack.httpd.errorLog());
                assert.equal(logLines(stack.httpd, /IPSIE12008/).length, 1);
                assert.deepEqual(stack.httpd.errorLogProblems([]), []);
            });
        });
    }
});

describe('the JWS header of an ID token', () => {
    const cases = [
        { header: { typ: 'application/jwt' }, ok: true, what: 'typ application/jwt' },
        { header: { typ: 'JWT', kid: undefined }, ok: true, what: 'typ JWT and no kid (the one key that fits)' },
        { header: { typ: 'at+jwt' }, tag: /IPSIE05026: JWS refused: typ at\+jwt is not JWT/, what: 'typ at+jwt (an access token)' },
        { header: { typ: 'logout+jwt' }, tag: /IPSIE05026: JWS refused: typ logout\+jwt is not JWT/, what: 'typ logout+jwt' },
        { header: { typ: 'secevent+jwt' }, tag: /IPSIE05026: JWS refused: typ secevent\+jwt is not JWT/, what: 'typ secevent+jwt' },
        { header: { crit: ['exp'], exp: 1 }, tag: /IPSIE05019/, what: 'a crit header' },
    ];
    for (const { header, ok, tag, what } of cases) {
        describe(what, () => {
            let stack;
            before(async () => {
                stack = await startStack({ opIdTokenHeader: header, opTestHooks: true });
            });
            after(() => stack?.stop());

            test(`an ID token with ${what} is ${ok ? 'accepted' : 'refused: a 400 page and no session'}`, async () => {
                const { res, client } = await loginWith(stack, 'heidi');
                if (ok) {
                    assert.equal(res.status, 200, `${res.status} ${res.body}`);
                    assert.equal(await sessionIss(client, stack), stack.op.issuer);
                } else {
                    assert.equal(res.status, 400, `${res.status} ${res.body}`);
                    assert.equal(await sessionIss(client, stack), 401);
                    assert.equal(logLines(stack.httpd, tag).length, 1, stack.httpd.errorLog());
                    assert.equal(logLines(stack.httpd, /IPSIE12008/).length, 1);
                }
                assert.equal((await stack.op.report()).tokenRequests, 1);
                assert.deepEqual(stack.httpd.errorLogProblems([]), []);
            });
        });
    }
});
