// Configuration mistakes fail `apache2 -t` with a message naming the directive (SPEC 6).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { configtestDirectives, protectedLocation } from './lib/stack.mjs';

const PORT = 18443;
const BASE = configtestDirectives(PORT);

// apache2 -t on the base configuration with lines removed (by prefix) and lines added.
function check({ without = [], add = [] } = {}) {
    const directives = BASE.filter((line) => !without.some((p) => line.startsWith(`${p} `))).concat(add);
    return configtest(({ dir }) => httpdConf({
        dir,
        port: PORT,
        directives,
        locations: protectedLocation('/app', 'http://127.0.0.1:9'),
    }));
}

function assertFails(result, directive) {
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, new RegExp(directive), result.output);
}

describe('configtest', () => {
    test('the base configuration passes', () => {
        const r = check();
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Syntax OK/);
    });

    for (const directive of ['IPSIEClientID', 'IPSIEClientSecret', 'IPSIEProviderMetadataURL',
        'IPSIECryptoPassphrase', 'IPSIERedirectURI']) {
        test(`a missing ${directive} fails`, () => {
            assertFails(check({ without: [directive] }), directive);
        });
    }

    test('an IPSIECryptoPassphrase shorter than 32 characters fails', () => {
        assertFails(check({ without: ['IPSIECryptoPassphrase'], add: ['IPSIECryptoPassphrase short-passphrase'] }),
            'IPSIECryptoPassphrase');
    });

    const malformed = [
        ['IPSIESessionMaxDuration', 'abc'],
        ['IPSIESessionMaxDuration', '-1'],
        ['IPSIESessionExpiryLeeway', '-5'],
        ['IPSIESessionExpiryLeeway', '10s'],
        ['IPSIESessionInactivityTimeout', '12x'],
        ['IPSIESessionInactivityTimeout', '99999999999999999999999'],
        ['IPSIEStateTimeout', 'soon'],
        ['IPSIECookieChunkSize', 'big'],
        ['IPSIERequireSessionExpiry', 'maybe'],
        ['IPSIESessionExpiryAction', 'explode'],
        ['IPSIERefreshAccessTokenBeforeExpiry', '-1'],
        ['IPSIERefreshAccessTokenBeforeExpiry', '86401'],
        ['IPSIERefreshAccessTokenBeforeExpiry', 'soon'],
        ['IPSIEUserInfo', 'sometimes'],
        ['IPSIEUserInfoRefreshInterval', '-1'],
        ['IPSIEUserInfoRefreshInterval', '31536001'],
        ['IPSIEUserInfoRefreshInterval', '1h'],
        ['IPSIESessionStore', 'floppy'],
        ['IPSIECookieSameSite', 'Sometimes'],
        ['IPSIEAuthRequestParams', 'state=fixed'],
        ['IPSIEAuthRequestParams', '"redirect_uri=https://evil.example/"'],
        ['IPSIEAuthRequestParams', '"a=%zz"'],
        ['IPSIEIDTokenSigningAlgs', 'HS256'],
        ['IPSIEIDTokenSigningAlgs', 'none'],
        ['IPSIEScope', 'email'],
        ['IPSIEUnauthAction', 'maybe'],
        ['IPSIEClientAuthMethod', 'private_key_jwt'],
        ['IPSIECookieSameSite', 'None'],
    ];
    for (const [directive, value] of malformed) {
        test(`${directive} ${value} fails`, () => {
            assertFails(check({ add: [`${directive} ${value}`] }), directive);
        });
    }

    for (const prefix of ['X-', 'x_', 'IPSIE-', 'IPSIE-Session-', 'Accept']) {
        test(`IPSIEClaimPrefix ${prefix} fails: it would strip headers that are not claims`, () => {
            const r = check({ add: [`<Location /app/legacy>\n    IPSIEClaimPrefix ${prefix}\n</Location>`] });
            assertFails(r, 'IPSIEClaimPrefix');
            assert.match(r.output, /would also strip/);
        });
    }

    test('IPSIEClaimPrefix X-Remote- passes', () => {
        const r = check({ add: ['<Location /app/legacy>\n    IPSIEClaimPrefix X-Remote-\n</Location>'] });
        assert.equal(r.code, 0, r.output);
    });

    test('refresh and UserInfo settings at their bounds pass', () => {
        for (const add of [
            ['IPSIESessionExpiryAction refresh', 'IPSIERefreshAccessTokenBeforeExpiry 0', 'IPSIEUserInfo Off'],
            ['IPSIERefreshAccessTokenBeforeExpiry 86400', 'IPSIEUserInfoRefreshInterval 31536000'],
        ]) {
            const r = check({ add });
            assert.equal(r.code, 0, r.output);
        }
    });

    test('extra authorization parameters that touch nothing of ours pass', () => {
        const r = check({ add: ['IPSIEAuthRequestParams "acr_values=phr&ui_locales=en"'] });
        assert.equal(r.code, 0, r.output);
    });

    // The redirect URI replaced by another one, with more lines.
    const withRedirect = (uri, ...add) => check({ without: ['IPSIERedirectURI'], add: [`IPSIERedirectURI ${uri}`, ...add] });
    const SITE = `http://127.0.0.1:${PORT}`;

    for (const path of ['/other', '/ap', '/app/redirect_uri/', '/app/redirect_uri2', '/APP']) {
        test(`IPSIECookiePath ${path} fails: the callback would never get the login's cookies`, () => {
            const r = check({ add: [`IPSIECookiePath ${path}`] });
            assertFails(r, 'IPSIE10001');
            assert.match(r.output, new RegExp(`IPSIECookiePath ${path} does not cover the path /app/redirect_uri of IPSIERedirectURI`));
            assert.match(r.output, /set IPSIECookiePath to \/app /);
        });
    }

    test('IPSIECookiePath is checked against a redirect URI that is only a path', () => {
        const r = withRedirect('/app/redirect_uri', 'IPSIECookiePath /elsewhere');
        assertFails(r, 'IPSIECookiePath /elsewhere does not cover the path /app/redirect_uri');
    });

    for (const path of ['/', '/app', '/app/']) {
        test(`IPSIECookiePath ${path} passes: it covers /app/redirect_uri`, () => {
            const r = check({ add: [`IPSIECookiePath ${path}`] });
            assert.equal(r.code, 0, r.output);
        });
    }

    test('IPSIECookiePath / passes with a redirect URI that is only a path', () => {
        const r = withRedirect('/app/redirect_uri', 'IPSIECookiePath /');
        assert.equal(r.code, 0, r.output);
    });

    for (const [host, domain] of [['127.0.0.1', 'example.com'], ['127.0.0.1', '0.0.1'],
        ['app.example.com', 'other.example'], ['app.example.com', 'pp.example.com'],
        ['app.example.com', 'www.app.example.com'], ['example.com', 'app.example.com']]) {
        test(`IPSIECookieDomain ${domain} fails for the host ${host}: browsers would refuse the cookies`, () => {
            const r = withRedirect(`https://${host}/app/redirect_uri`, `IPSIECookieDomain ${domain}`);
            assertFails(r, 'IPSIE10001');
            assert.match(r.output, new RegExp(`IPSIECookieDomain ${domain} does not domain-match the host ${host} of IPSIERedirectURI`));
            assert.match(r.output, new RegExp(`set IPSIECookieDomain to ${host}`));
        });
    }

    test('IPSIECookieDomain is checked against the host of the base redirect URI, port aside', () => {
        const r = check({ add: ['IPSIECookieDomain example.com'] });
        assertFails(r, 'IPSIECookieDomain example.com does not domain-match the host 127.0.0.1');
        assert.match(r.output, /an IP address has no parent domain/);
    });

    for (const [host, domain] of [['app.example.com', 'example.com'], ['app.example.com', '.example.com'],
        ['app.example.com', 'EXAMPLE.com'], ['app.example.com', 'app.example.com'],
        ['App.Example.Com:8443', 'example.com'], ['127.0.0.1', '127.0.0.1']]) {
        test(`IPSIECookieDomain ${domain} passes for the host ${host}`, () => {
            const r = withRedirect(`https://${host}/app/redirect_uri`, `IPSIECookieDomain ${domain}`);
            assert.equal(r.code, 0, r.output);
        });
    }

    test('IPSIECookieDomain passes unchecked with a redirect URI that is only a path', () => {
        const r = withRedirect('/app/redirect_uri', 'IPSIECookieDomain example.com');
        assert.equal(r.code, 0, r.output);
    });

    for (const uri of ['https://evil.example/', `https://127.0.0.1:${PORT}/bye`, 'http://127.0.0.1:8080/bye',
        'http://127.0.0.1/bye', `http://evil.example@127.0.0.1:${PORT}/bye`, '//evil.example/', '/\\evil.example',
        'bye', '"/bye now"', 'javascript:alert(1)']) {
        test(`IPSIEPostLogoutRedirectURI ${uri} fails: logout only returns to this site`, () => {
            const r = check({ add: [`IPSIEPostLogoutRedirectURI ${uri}`] });
            assertFails(r, 'IPSIE10001');
            assert.match(r.output, /IPSIEPostLogoutRedirectURI .* is not on this site/);
            assert.match(r.output, new RegExp(`scheme, host and port of IPSIERedirectURI \\(${SITE}/\\.\\.\\.\\)`));
        });
    }

    test('an absolute IPSIEPostLogoutRedirectURI fails when the redirect URI is only a path', () => {
        const r = withRedirect('/app/redirect_uri', `IPSIEPostLogoutRedirectURI ${SITE}/bye`);
        assertFails(r, 'IPSIE10001');
        assert.match(r.output, /IPSIEPostLogoutRedirectURI \S+ is not a path, and IPSIERedirectURI \/app\/redirect_uri is only a path/);
        assert.match(r.output, /use a path .* or make IPSIERedirectURI an absolute URL/);
    });

    for (const uri of ['//evil.example/', '/\\evil.example', 'bye']) {
        test(`IPSIEPostLogoutRedirectURI ${uri} fails when the redirect URI is only a path`, () => {
            const r = withRedirect('/app/redirect_uri', `IPSIEPostLogoutRedirectURI ${uri}`);
            assertFails(r, 'IPSIE10001');
            assert.match(r.output, /IPSIEPostLogoutRedirectURI/);
            assert.match(r.output, /starting with a single '\/'/);
        });
    }

    for (const uri of ['/bye', '/', '/bye?from=app', `${SITE}/bye`, `HTTP://127.0.0.1:${PORT}/bye`, SITE]) {
        test(`IPSIEPostLogoutRedirectURI ${uri} passes: it is on this site`, () => {
            const r = check({ add: [`IPSIEPostLogoutRedirectURI ${uri}`] });
            assert.equal(r.code, 0, r.output);
        });
    }

    test('IPSIEPostLogoutRedirectURI with an explicit default port passes: it is the same origin', () => {
        const r = withRedirect('https://App.Example.com/app/redirect_uri',
            'IPSIEPostLogoutRedirectURI https://app.example.COM:443/bye');
        assert.equal(r.code, 0, r.output);
    });

    test('IPSIEPostLogoutRedirectURI /bye passes with a redirect URI that is only a path', () => {
        const r = withRedirect('/app/redirect_uri', 'IPSIEPostLogoutRedirectURI /bye');
        assert.equal(r.code, 0, r.output);
    });

    test('a redirect URI outside any protected location fails', () => {
        const r = check({ without: ['IPSIERedirectURI'], add: [`IPSIERedirectURI http://127.0.0.1:${PORT}/elsewhere/cb`] });
        assertFails(r, 'IPSIERedirectURI');
    });
});
