// Configuration mistakes fail `apache2 -t` with a message naming the directive (SPEC 6).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { configtest, httpdConf } from './lib/httpd.mjs';
import { keyStore } from './lib/keys.mjs';
import { configtestDirectives, protectedLocation } from './lib/stack.mjs';

const PORT = 18443;
const BASE = configtestDirectives(PORT);
const keys = keyStore();
after(() => keys.remove());

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

    for (const issuer of ['ftp://op.example', 'op.example', '/realms/main', 'https://', '"https://op.example/?tenant=a"',
        'https://op.example/#top', '"https://op.example/a b"']) {
        test(`IPSIEProviderIssuer ${issuer} fails: an issuer is an absolute http(s) URL without query or fragment`, () => {
            const r = check({ add: [`IPSIEProviderIssuer ${issuer}`] });
            assertFails(r, 'IPSIEProviderIssuer');
            assert.match(r.output, /is not an absolute http\(s\) URL with a host and no query or fragment/);
        });
    }

    for (const issuer of ['https://login.example.com/realms/main', 'http://127.0.0.1:9/', 'http://127.0.0.1:9']) {
        test(`IPSIEProviderIssuer ${issuer} passes`, () => {
            const r = check({ add: [`IPSIEProviderIssuer ${issuer}`] });
            assert.equal(r.code, 0, r.output);
        });
    }

    // The metadata URL replaced by one that names no issuer, with more lines.
    const elsewhere = (...add) => check({
        without: ['IPSIEProviderMetadataURL'],
        add: ['IPSIEProviderMetadataURL https://cdn.example.com/oidc/tenant-a.json', ...add],
    });

    test('a metadata URL that does not end in /.well-known/openid-configuration fails without IPSIEProviderIssuer', () => {
        const r = elsewhere();
        assertFails(r, 'IPSIE10001');
        assert.match(r.output, /IPSIEProviderMetadataURL https:\/\/cdn\.example\.com\/oidc\/tenant-a\.json does not end in \/\.well-known\/openid-configuration/);
        assert.match(r.output, /set IPSIEProviderIssuer/);
    });

    test('a metadata URL that does not end in /.well-known/openid-configuration passes with IPSIEProviderIssuer', () => {
        const r = elsewhere('IPSIEProviderIssuer https://login.example.com/tenant-a');
        assert.equal(r.code, 0, r.output);
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

    test('a <VirtualHost> with AuthType ipsie and no provider configuration fails, naming it', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: [], locations: '' }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName second.example',
            protectedLocation('/app', 'http://127.0.0.1:9'),
            '</VirtualHost>',
        ].join('\n'));
        assertFails(r, 'IPSIE10020');
        assert.match(r.output, /<VirtualHost> at \S+httpd\.conf:\d+ \(ServerName second\.example\)/);
        assert.match(r.output, /no provider configuration/);
    });

    test('the main server with AuthType ipsie and no provider configuration fails when it has no virtual host', () => {
        const r = configtest(({ dir }) => httpdConf({ dir, port: PORT, directives: [], locations: protectedLocation('/app', 'http://127.0.0.1:9') }));
        assertFails(r, 'IPSIE10020');
        assert.match(r.output, /the main server protects/);
    });

    test('sections of the main server are checked in each virtual host that inherits them', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: [], locations: protectedLocation('/app', 'http://127.0.0.1:9') }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName configured.example',
            ...BASE.map((line) => `    ${line}`),
            '</VirtualHost>',
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName forgotten.example',
            '</VirtualHost>',
        ].join('\n'));
        assertFails(r, 'IPSIE10020');
        assert.match(r.output, /ServerName forgotten\.example/);
        assert.doesNotMatch(r.output, /configured\.example/);
    });

    test('a <VirtualHost> without AuthType ipsie needs no provider configuration', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: BASE, locations: protectedLocation('/app', 'http://127.0.0.1:9') }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName plain.example',
            '</VirtualHost>',
        ].join('\n'));
        assert.equal(r.code, 0, r.output);
    });

    test('an error in a <VirtualHost> names it by file, line and ServerName', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: [], locations: '' }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName third.example',
            ...BASE.filter((line) => !line.startsWith('IPSIEClientID ')).map((line) => `    ${line}`),
            protectedLocation('/app', 'http://127.0.0.1:9'),
            '</VirtualHost>',
        ].join('\n'));
        assertFails(r, 'IPSIEClientID');
        assert.match(r.output, /IPSIE10001: configuration of the <VirtualHost> at \S+:\d+ \(ServerName third\.example\)/);
    });

    for (const [name, location] of [
        ['with no Require', ['<Location /app>', '    AuthType ipsie', '</Location>']],
        ['with a Require for POST only', ['<Location /app>', '    AuthType ipsie', '    <Limit POST>', '        Require valid-user', '    </Limit>', '</Location>']],
        ['inside a location whose Require does not cover it', [protectedLocation('/app', 'http://127.0.0.1:9'), '<Location /open>', '    AuthType ipsie', '</Location>']],
    ]) {
        test(`a <Location> with AuthType ipsie ${name} fails: httpd would serve it without a login`, () => {
            const r = configtest(({ dir }) => httpdConf({ dir, port: PORT, directives: BASE, locations: location.join('\n') }));
            assertFails(r, 'IPSIE10001');
            assert.match(r.output, /AuthType ipsie' but no Require applies/);
        });
    }

    for (const [name, sections] of [
        ['a Require in an <If> inside it', () => ['<Location /app>', '    AuthType ipsie', '    <If "%{REQUEST_URI} !~ m#^/app/public/#">',
            '        Require valid-user', '    </If>', '</Location>']],
    ]) {
        test(`a <Location> with AuthType ipsie and ${name} passes: the Require may apply`, () => {
            const r = configtest(({ dir }) => httpdConf({ dir, port: PORT, directives: BASE, locations: sections(dir).join('\n') }));
            assert.equal(r.code, 0, r.output);
        });
    }

    test('provider settings in the main server, a protected location in one <VirtualHost>, another <VirtualHost> without: passes', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: BASE, locations: '' }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName app.example',
            protectedLocation('/app', 'http://127.0.0.1:9'),
            '</VirtualHost>',
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName plain.example',
            '</VirtualHost>',
        ].join('\n'));
        assert.equal(r.code, 0, r.output);
    });

    test('provider settings in the main server, a <VirtualHost> whose protected location misses the redirect URI: fails, naming it', () => {
        const r = configtest(({ dir }) => [
            httpdConf({ dir, port: PORT, directives: BASE, locations: '' }),
            `<VirtualHost 127.0.0.1:${PORT}>`,
            '    ServerName app.example',
            protectedLocation('/other', 'http://127.0.0.1:9'),
            '</VirtualHost>',
        ].join('\n'));
        assertFails(r, 'IPSIE10004');
    });

    test('a Require in an enclosing <Location> covers the inner one', () => {
        const r = check({ add: ['<Location /app/inner>\n    AuthType ipsie\n</Location>'] });
        assert.equal(r.code, 0, r.output);
    });

    for (const url of ['http://op.example/.well-known/openid-configuration', 'http://10.0.0.7:8080/.well-known/openid-configuration']) {
        test(`IPSIEProviderMetadataURL ${url} passes with a warning: plain http to another machine`, () => {
            const r = check({ without: ['IPSIEProviderMetadataURL'], add: [`IPSIEProviderMetadataURL ${url}`] });
            assert.equal(r.code, 0, r.output);
            assert.match(r.output, /IPSIE10021: .*plain http to another machine/);
        });
    }

    for (const url of ['http://127.0.0.1:9/.well-known/openid-configuration', 'http://localhost:9/.well-known/openid-configuration', 'https://op.example/.well-known/openid-configuration']) {
        test(`IPSIEProviderMetadataURL ${url} passes without a warning`, () => {
            const r = check({ without: ['IPSIEProviderMetadataURL'], add: [`IPSIEProviderMetadataURL ${url}`] });
            assert.equal(r.code, 0, r.output);
            assert.doesNotMatch(r.output, /IPSIE10021/);
        });
    }
});

describe('configtest of IPSIEClientSecret with private_key_jwt', () => {
    const pkj = () => ['IPSIEClientAuthMethod private_key_jwt', `IPSIEClientSigningKey ${keys.make('ec').path}`];

    test('a secret beside private_key_jwt passes with a warning naming both directives', () => {
        const r = check({ add: pkj() });
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /IPSIE10023: .*IPSIEClientSecret is not used with IPSIEClientAuthMethod private_key_jwt/);
    });

    test('private_key_jwt without a secret, and a secret method with one, pass without the warning', () => {
        for (const r of [check({ without: ['IPSIEClientSecret'], add: pkj() }), check(),
            check({ add: ['IPSIEClientAuthMethod client_secret_post'] })]) {
            assert.equal(r.code, 0, r.output);
            assert.doesNotMatch(r.output, /IPSIE10023/);
        }
    });
});

// IPSIEProfile sl1 (SPEC section 10): each rule refused at configtest, naming it.
describe('configtest of IPSIEProfile sl1', () => {
    const PORT = 18443;
    const SL1 = [
        'IPSIEProfile sl1',
        'IPSIEProviderMetadataURL https://op.example/.well-known/openid-configuration',
        `IPSIERedirectURI https://127.0.0.1:${PORT}/app/redirect_uri`,
        'IPSIEMaxAge 3600',
    ];
    const replaced = (line) => SL1.some((l) => l.split(' ')[0] === line.split(' ')[0]);
    const check = (add = [], without = []) => configtest(({ dir }) => httpdConf({
        dir,
        port: PORT,
        directives: [...configtestDirectives(PORT).filter((l) => !replaced(l)),
            ...SL1.filter((l) => !without.includes(l.split(' ')[0])), ...add],
        locations: protectedLocation('/app', 'http://127.0.0.1:9'),
    }));
    const refused = (r, rule) => {
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /IPSIEProfile sl1: /);
        assert.match(r.output, rule);
    };

    test('a configuration that follows every rule passes', () => {
        const r = check();
        assert.equal(r.code, 0, r.output);
    });
    test('ID token algorithms PS256, ES256 and EdDSA pass', () => {
        const r = check(['IPSIEIDTokenSigningAlgs PS256 ES256 EdDSA']);
        assert.equal(r.code, 0, r.output);
    });
    test('https everywhere: a metadata URL in http is refused', () => {
        refused(check(['IPSIEProviderMetadataURL http://127.0.0.1:9/.well-known/openid-configuration'], ['IPSIEProviderMetadataURL']),
            /IPSIEProviderMetadataURL must be an https URL \(SL1: https/);
    });
    test('https everywhere: an IPSIEProviderIssuer in http is refused', () => {
        refused(check(['IPSIEProviderIssuer http://op.example']), /IPSIEProviderIssuer must be an https URL/);
    });
    test('https everywhere: a redirect URI in http is refused', () => {
        refused(check([`IPSIERedirectURI http://127.0.0.1:${PORT}/app/redirect_uri`], ['IPSIERedirectURI']),
            /IPSIERedirectURI must be an absolute https URL/);
    });
    test('https everywhere: a redirect URI that is only a path is refused', () => {
        refused(check(['IPSIERedirectURI /app/redirect_uri'], ['IPSIERedirectURI']),
            /IPSIERedirectURI must be an absolute https URL/);
    });
    for (const alg of ['RS256', 'ES384', 'PS512']) {
        test(`ID token algorithms: ${alg} is refused`, () => {
            refused(check([`IPSIEIDTokenSigningAlgs ES256 ${alg}`]), new RegExp(`IPSIEIDTokenSigningAlgs lists ${alg} \\(SL1: ID tokens signed PS256, ES256 or EdDSA only\\)`));
        });
    }
    test('session_expiry required: IPSIERequireSessionExpiry Off is refused', () => {
        refused(check(['IPSIERequireSessionExpiry Off']), /IPSIERequireSessionExpiry Off \(SL1: every ID token carries session_expiry/);
    });
    test('DPoP used: IPSIEDPoP off is refused, auto and required pass', () => {
        refused(check(['IPSIEDPoP off']), /IPSIEDPoP off \(SL1: DPoP is used for the requests to the provider\)/);
        for (const mode of ['auto', 'required']) {
            const r = check([`IPSIEDPoP ${mode}`]);
            assert.equal(r.code, 0, `${mode}: ${r.output}`);
        }
    });
    test('max_age sent: a missing IPSIEMaxAge is refused', () => {
        refused(check([], ['IPSIEMaxAge']), /IPSIEMaxAge is missing \(SL1: the authorization request sends max_age\)/);
    });
    test('a plain http metadata URL to another machine, a warning elsewhere, is refused under sl1', () => {
        refused(check(['IPSIEProviderMetadataURL http://op.example/.well-known/openid-configuration'], ['IPSIEProviderMetadataURL']),
            /must be an https URL/);
    });
});
