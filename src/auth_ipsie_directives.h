/* Every directive of the module on one screen: the one list that is expanded into httpd's
 * directive table (mod_auth_ipsie.c), the directive identities (below) and the table that the
 * parser, the merge and the defaults work from (auth_ipsie_directives.c). README.md's
 * directive tables agree with it (t/integration/directives.test.mjs checks).
 *
 * X(name, id, scope, type, default, range, keywords, check, help):
 *   id        the identity, CMD_<id>
 *   scope     SERVER (server or virtual host) or DIRECTORY (<Location>, <Directory>)
 *   type      STRING, NUMBER, FLAG (On/Off), KEYWORD (one of keywords) or LIST (one or more
 *             arguments, each one of keywords when there are keywords)
 *   default   VALUE("text"): the value when the directive is not given, parsed as an argument
 *             is; the README shows text in code format. NONE("text"): there is no value; the
 *             README shows text
 *   range     RANGE(min, max) of a NUMBER; NO_RANGE for the other types
 *   keywords  the keyword_t list of a KEYWORD or keyword LIST, or NULL
 *   check     a directive's own rule on each argument, on top of its type's (a check_fn), or
 *             NULL; keyword lists and check functions are in auth_ipsie_directives.c
 *   help      what httpd shows after a wrong number of arguments, followed by the default
 */
#ifndef AUTH_IPSIE_DIRECTIVES_H
#define AUTH_IPSIE_DIRECTIVES_H

#include <limits.h>

#include <httpd.h>

#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_state.h"

/* clang-format off */
#define AUTH_IPSIE_DIRECTIVES(X)                                                                   \
    X("IPSIEProviderMetadataURL", METADATA_URL, SERVER, STRING, NONE("(required)"), NO_RANGE,      \
      NULL, NULL, "URL of the OpenID Provider's discovery document")                               \
    X("IPSIEProviderIssuer", PROVIDER_ISSUER, SERVER, STRING, NONE("from the metadata URL"),       \
      NO_RANGE, NULL, check_provider_issuer,                                                       \
      "the provider's exact issuer, when the metadata URL does not name it")                       \
    X("IPSIEClientID", CLIENT_ID, SERVER, STRING, NONE("(required)"), NO_RANGE,                    \
      NULL, NULL, "client_id registered at the OpenID Provider")                                   \
    X("IPSIEClientSecret", CLIENT_SECRET, SERVER, STRING, NONE("(required)"), NO_RANGE,            \
      NULL, check_client_secret, "client secret")                                                  \
    X("IPSIEClientAuthMethod", CLIENT_AUTH_METHOD, SERVER, KEYWORD, VALUE("client_secret_basic"),  \
      NO_RANGE, auth_methods, NULL, "client_secret_basic or client_secret_post")                   \
    X("IPSIEClientSigningKey", CLIENT_SIGNING_KEY, SERVER, STRING, NONE("none"), NO_RANGE,         \
      NULL, NULL, "private key for private_key_jwt")                                               \
    X("IPSIERedirectURI", REDIRECT_URI, SERVER, STRING, NONE("(required)"), NO_RANGE,              \
      NULL, NULL, "redirect URI, inside a location protected with AuthType ipsie")                 \
    X("IPSIEScope", SCOPE, SERVER, STRING, VALUE("openid"), NO_RANGE,                              \
      NULL, NULL, "scope of the authorization request")                                            \
    X("IPSIEAuthRequestParams", AUTH_REQUEST_PARAMS, SERVER, STRING, NONE("none"), NO_RANGE,       \
      NULL, NULL, "extra authorization request parameters, as a query string")                     \
    X("IPSIEMaxAge", MAX_AGE, SERVER, NUMBER, NONE("not sent"), RANGE(0, 31536000),                \
      NULL, NULL, "max_age of the authorization request, seconds")                                 \
    X("IPSIEIDTokenSigningAlgs", SIGNING_ALGS, SERVER, LIST, VALUE("RS256 PS256 ES256 EdDSA"),     \
      NO_RANGE, signing_algs, check_signing_alg, "accepted ID token signing algorithms")           \
    X("IPSIEClockSkew", CLOCK_SKEW, SERVER, NUMBER, VALUE("60"), RANGE(0, 600),                    \
      NULL, NULL, "tolerated clock skew, seconds")                                                 \
    X("IPSIEProviderTimeout", PROVIDER_TIMEOUT, SERVER, NUMBER, VALUE("10"), RANGE(1, 300),        \
      NULL, NULL, "timeout of requests to the OpenID Provider, seconds")                           \
    X("IPSIEProviderCacheMaxAge", PROVIDER_CACHE_MAX_AGE, SERVER, NUMBER, VALUE("3600"),           \
      RANGE(60, 86400), NULL, NULL,                                                                \
      "longest time provider metadata and keys are kept, seconds")                                 \
    X("IPSIEProviderCACertificate", CA_CERTIFICATE, SERVER, STRING, NONE("system store"),          \
      NO_RANGE, NULL, NULL, "PEM file of CA certificates trusted for the OpenID Provider")         \
    X("IPSIECryptoPassphrase", CRYPTO_PASSPHRASE, SERVER, LIST, NONE("(required)"), NO_RANGE,      \
      NULL, check_passphrase, "passphrases (32+ characters): the first encrypts, all decrypt")     \
    X("IPSIESessionStore", SESSION_STORE, SERVER, KEYWORD, VALUE("cookie"), NO_RANGE,              \
      session_stores, NULL, "where sessions are kept")                                             \
    X("IPSIESessionCache", SESSION_CACHE, SERVER, STRING, NONE("shmcb, when loaded"), NO_RANGE,    \
      NULL, check_session_cache, "where server-side sessions and revocations are kept: "           \
      "shmcb[:args], redis:host:port or memcache:host:port[,host:port...]")                        \
    X("IPSIESessionCacheTimeout", SESSION_CACHE_TIMEOUT, SERVER, NUMBER, VALUE("1000"),            \
      RANGE(50, 30000), NULL, NULL, "bound on each operation of Redis or memcached, milliseconds") \
    X("IPSIESessionInactivityTimeout", INACTIVITY_TIMEOUT, SERVER, NUMBER, VALUE("3600"),          \
      RANGE(1, 31536000), NULL, NULL, "idle timeout, seconds")                                     \
    X("IPSIESessionMaxDuration", MAX_DURATION, SERVER, NUMBER, VALUE("28800"),                     \
      RANGE(1, 31536000), NULL, NULL, "local absolute session lifetime, seconds")                  \
    X("IPSIESessionExpiryLeeway", EXPIRY_LEEWAY, SERVER, NUMBER, VALUE("30"), RANGE(0, 3600),      \
      NULL, NULL, "seconds subtracted from session_expiry")                                        \
    X("IPSIERequireSessionExpiry", REQUIRE_SESSION_EXPIRY, SERVER, FLAG, VALUE("Off"), NO_RANGE,   \
      NULL, NULL, "refuse logins whose ID token has no session_expiry")                            \
    X("IPSIESessionExpiryAction", EXPIRY_ACTION, SERVER, KEYWORD, VALUE("reauth"), NO_RANGE,       \
      expiry_actions, NULL, "what happens at the ceiling: reauth, or refresh first")               \
    X("IPSIERefreshAccessTokenBeforeExpiry", REFRESH_BEFORE, SERVER, NUMBER, NONE("never"),        \
      RANGE(0, 86400), NULL, NULL, "refresh the access token this many seconds before it expires") \
    X("IPSIEUserInfo", USERINFO, SERVER, FLAG, VALUE("On"), NO_RANGE,                              \
      NULL, NULL, "read UserInfo at login when the provider has a userinfo_endpoint")              \
    X("IPSIEUserInfoRefreshInterval", USERINFO_REFRESH_INTERVAL, SERVER, NUMBER, VALUE("0"),       \
      RANGE(0, 31536000), NULL, NULL, "read UserInfo again after this many seconds (0: never)")    \
    X("IPSIECookieName", COOKIE_NAME, SERVER, STRING, VALUE("ipsie_session"), NO_RANGE,            \
      NULL, NULL, "session cookie name")                                                           \
    X("IPSIECookieDomain", COOKIE_DOMAIN, SERVER, STRING, NONE("host only"), NO_RANGE,             \
      NULL, NULL, "Domain attribute of the cookies")                                               \
    X("IPSIECookiePath", COOKIE_PATH, SERVER, STRING, VALUE("/"), NO_RANGE,                        \
      NULL, NULL, "Path attribute of the cookies")                                                 \
    X("IPSIECookieSameSite", COOKIE_SAMESITE, SERVER, KEYWORD, VALUE("Lax"), NO_RANGE,             \
      samesite_values, NULL, "Lax, Strict or None")                                                \
    X("IPSIECookiePersistent", COOKIE_PERSISTENT, SERVER, FLAG, VALUE("Off"), NO_RANGE,            \
      NULL, NULL, "On: the session cookie expires at the ceiling")                                 \
    X("IPSIECookieChunkSize", COOKIE_CHUNK_SIZE, SERVER, NUMBER, VALUE("4000"),                    \
      RANGE(512, IPSIE_COOKIE_BROWSER_MAX), NULL, NULL,                                            \
      "largest cookie before splitting into chunks")                                               \
    X("IPSIEStateTimeout", STATE_TIMEOUT, SERVER, NUMBER, VALUE("300"), RANGE(10, 3600),           \
      NULL, NULL, "lifetime of a login's state cookie, seconds")                                   \
    X("IPSIEStateMaxCookies", STATE_MAX_COOKIES, SERVER, NUMBER, VALUE("7"),                       \
      RANGE(1, IPSIE_STATE_MAX_SLOTS), NULL, NULL, "state cookies alive at once")                  \
    X("IPSIEPostLogoutRedirectURI", POST_LOGOUT_REDIRECT_URI, SERVER, STRING, NONE("none"),        \
      NO_RANGE, NULL, NULL, "default return URL after logout")                                     \
    X("IPSIEProfile", PROFILE, SERVER, KEYWORD, VALUE("default"), NO_RANGE,                        \
      profiles, NULL, "the rules applied: default, or sl1 for the strict IPSIE SL1 rules")         \
    X("IPSIESessionWarningLead", SESSION_WARNING_LEAD, SERVER, NUMBER, VALUE("60"),                \
      RANGE(1, 3600), NULL, NULL,                                                                  \
      "seconds before the ceiling and the idle deadline that the warning shows")                   \
    X("IPSIEHTMLTemplate", HTML_TEMPLATE, SERVER, STRING, NONE("built-in"), NO_RANGE,              \
      NULL, NULL, "HTML file the module's pages are made from: {{title}}, {{message}}, "           \
      "{{link_url}}, {{link_text}}")                                                               \
    X("IPSIEUnauthAction", UNAUTH_ACTION, DIRECTORY, KEYWORD, VALUE("auth"), NO_RANGE,             \
      unauth_actions, NULL, "auth, 401, 403 or pass")                                              \
    X("IPSIEPassClaimsAs", PASS_CLAIMS_AS, DIRECTORY, KEYWORD, VALUE("both"), NO_RANGE,            \
      pass_as_values, NULL, "headers, environment, both or none")                                  \
    X("IPSIEClaimPrefix", CLAIM_PREFIX, DIRECTORY, STRING, VALUE("IPSIE-Claim-"), NO_RANGE,        \
      NULL, check_claim_prefix, "prefix of claim headers")                                         \
    X("IPSIERemoteUserClaim", REMOTE_USER_CLAIM, DIRECTORY, STRING, VALUE("sub"), NO_RANGE,        \
      NULL, NULL, "claim that becomes REMOTE_USER")                                                \
    X("IPSIEPassAccessToken", PASS_ACCESS_TOKEN, DIRECTORY, FLAG, VALUE("Off"), NO_RANGE,          \
      NULL, NULL, "pass the access token as IPSIE-Access-Token")                                   \
    X("IPSIESessionWarning", SESSION_WARNING, DIRECTORY, FLAG, VALUE("Off"), NO_RANGE,             \
      NULL, NULL, "add the session-expiring warning script to HTML pages")
/* clang-format on */

/* Directive identities, CMD_<id> for each entry of AUTH_IPSIE_DIRECTIVES: the directive table
 * passes one as cmd_data. Their order means nothing; the entry says what a directive is. */
#define AUTH_IPSIE_CMD_ID(name, id, ...) CMD_##id,
typedef enum { AUTH_IPSIE_DIRECTIVES(AUTH_IPSIE_CMD_ID) CMD_COUNT } auth_ipsie_cmd_e;

/* A server's record of what its configuration says (auth_ipsie_directives.c), read through
 * the getters below: each gives a server directive's value as given, else its default. */
typedef struct auth_ipsie_server_conf auth_ipsie_server_conf_t;

/* What auth_ipsie_conf_num gives for a number that is neither given nor defaulted. */
#define AUTH_IPSIE_NO_NUMBER LLONG_MIN

/* The server's record, or NULL when none of the module's directives is given for it. */
const auth_ipsie_server_conf_t *auth_ipsie_conf(const server_rec *s);
/* A string; NULL when neither given nor defaulted. */
const char *auth_ipsie_conf_str(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
/* 1 when the directive is given in the server's configuration (not its default). */
int auth_ipsie_conf_given(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
/* A number, or AUTH_IPSIE_NO_NUMBER. */
long long auth_ipsie_conf_num(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
/* A flag: 1 for On, 0 for Off. */
int auth_ipsie_conf_flag(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
/* A keyword's name as the table spells it, and the value it stands for. */
const char *auth_ipsie_conf_keyword_name(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
int auth_ipsie_conf_keyword(const auth_ipsie_server_conf_t *c, auth_ipsie_cmd_e id);
/* A list of const char *; NULL when neither given nor defaulted. */
const apr_array_header_t *auth_ipsie_conf_list(const auth_ipsie_server_conf_t *c,
                                               auth_ipsie_cmd_e id);

#endif
