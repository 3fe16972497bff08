// Configuration mistakes fail `apache2 -t` with a message naming the directive (SPEC 6).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { ipsieDirectives, protectedLocation } from './lib/stack.mjs';

const PORT = 18443;
const BASE = ipsieDirectives({
    metadataUrl: 'http://127.0.0.1:9/.well-known/openid-configuration',
    httpdPort: PORT,
    clientSecret: 'configtest-secret',
    passphrase: 'a-passphrase-of-more-than-32-characters',
});

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

    test('extra authorization parameters that touch nothing of ours pass', () => {
        const r = check({ add: ['IPSIEAuthRequestParams "acr_values=phr&ui_locales=en"'] });
        assert.equal(r.code, 0, r.output);
    });

    test('a redirect URI outside any protected location fails', () => {
        const r = check({ without: ['IPSIERedirectURI'], add: [`IPSIERedirectURI http://127.0.0.1:${PORT}/elsewhere/cb`] });
        assertFails(r, 'IPSIERedirectURI');
    });
});
