/* mod_auth_ipsie: an OpenID Connect Relying Party for httpd whose sessions never outlive the
 * identity provider's (the IPSIE SL1 session_expiry claim). Module declaration, hooks and
 * directive table; the work is in src/. */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include "ipsie/ipsie_log.h"
#include "src/auth_ipsie.h"

#define SRV(name, id, how, help)                                                                   \
    AP_INIT_##how(name, auth_ipsie_cmd_##how##_fn, (void *)(apr_uintptr_t)(id), RSRC_CONF, help)
#define DIR(name, id, how, help)                                                                   \
    AP_INIT_##how(name, auth_ipsie_cmd_##how##_fn, (void *)(apr_uintptr_t)(id), ACCESS_CONF, help)
#define auth_ipsie_cmd_TAKE1_fn auth_ipsie_cmd_take1
#define auth_ipsie_cmd_FLAG_fn auth_ipsie_cmd_flag
#define auth_ipsie_cmd_ITERATE_fn auth_ipsie_cmd_list

static const command_rec auth_ipsie_cmds[] = {
    SRV("IPSIEProviderMetadataURL", CMD_METADATA_URL, TAKE1,
        "URL of the OpenID Provider's discovery document"),
    SRV("IPSIEClientID", CMD_CLIENT_ID, TAKE1, "client_id registered at the OpenID Provider"),
    SRV("IPSIEClientSecret", CMD_CLIENT_SECRET, TAKE1, "client secret"),
    SRV("IPSIEClientAuthMethod", CMD_CLIENT_AUTH_METHOD, TAKE1,
        "client_secret_basic (default) or client_secret_post"),
    SRV("IPSIEClientSigningKey", CMD_CLIENT_SIGNING_KEY, TAKE1, "private key for private_key_jwt"),
    SRV("IPSIERedirectURI", CMD_REDIRECT_URI, TAKE1,
        "redirect URI, inside a location protected with AuthType ipsie"),
    SRV("IPSIEScope", CMD_SCOPE, TAKE1, "scope of the authorization request (default openid)"),
    SRV("IPSIEAuthRequestParams", CMD_AUTH_REQUEST_PARAMS, TAKE1,
        "extra authorization request parameters, as a query string"),
    SRV("IPSIEMaxAge", CMD_MAX_AGE, TAKE1, "max_age of the authorization request, seconds"),
    SRV("IPSIEIDTokenSigningAlgs", CMD_SIGNING_ALGS, ITERATE,
        "accepted ID token signing algorithms (default RS256 PS256 ES256 EdDSA)"),
    SRV("IPSIEClockSkew", CMD_CLOCK_SKEW, TAKE1, "tolerated clock skew, seconds (default 60)"),
    SRV("IPSIEProviderTimeout", CMD_PROVIDER_TIMEOUT, TAKE1,
        "timeout of requests to the OpenID Provider, seconds (default 10)"),
    SRV("IPSIEProviderCacheMaxAge", CMD_PROVIDER_CACHE_MAX_AGE, TAKE1,
        "longest time provider metadata and keys are kept, seconds (default 3600)"),
    SRV("IPSIEProviderCACertificate", CMD_CA_CERTIFICATE, TAKE1,
        "PEM file of CA certificates trusted for the OpenID Provider"),
    SRV("IPSIECryptoPassphrase", CMD_CRYPTO_PASSPHRASE, ITERATE,
        "passphrases (32+ characters): the first encrypts, all decrypt"),
    SRV("IPSIESessionStore", CMD_SESSION_STORE, TAKE1, "cookie (default)"),
    SRV("IPSIESessionCache", CMD_SESSION_CACHE, TAKE1, "socache for the cache store"),
    SRV("IPSIESessionInactivityTimeout", CMD_INACTIVITY_TIMEOUT, TAKE1,
        "idle timeout, seconds (default 3600)"),
    SRV("IPSIESessionMaxDuration", CMD_MAX_DURATION, TAKE1,
        "local absolute session lifetime, seconds (default 28800)"),
    SRV("IPSIESessionExpiryLeeway", CMD_EXPIRY_LEEWAY, TAKE1,
        "seconds subtracted from session_expiry (default 30)"),
    SRV("IPSIERequireSessionExpiry", CMD_REQUIRE_SESSION_EXPIRY, FLAG,
        "refuse logins whose ID token has no session_expiry (default Off)"),
    SRV("IPSIESessionExpiryAction", CMD_EXPIRY_ACTION, TAKE1,
        "what happens at the ceiling: reauth (default)"),
    SRV("IPSIECookieName", CMD_COOKIE_NAME, TAKE1, "session cookie name (default ipsie_session)"),
    SRV("IPSIECookieDomain", CMD_COOKIE_DOMAIN, TAKE1, "Domain attribute of the cookies"),
    SRV("IPSIECookiePath", CMD_COOKIE_PATH, TAKE1, "Path attribute of the cookies (default /)"),
    SRV("IPSIECookieSameSite", CMD_COOKIE_SAMESITE, TAKE1, "Lax (default), Strict or None"),
    SRV("IPSIECookiePersistent", CMD_COOKIE_PERSISTENT, FLAG,
        "On: the session cookie expires at the ceiling (default Off)"),
    SRV("IPSIECookieChunkSize", CMD_COOKIE_CHUNK_SIZE, TAKE1,
        "largest cookie before splitting into chunks (default 4000)"),
    SRV("IPSIEStateTimeout", CMD_STATE_TIMEOUT, TAKE1,
        "lifetime of a login's state cookie, seconds (default 300)"),
    SRV("IPSIEStateMaxCookies", CMD_STATE_MAX_COOKIES, TAKE1,
        "state cookies alive at once (default 7)"),
    SRV("IPSIEPostLogoutRedirectURI", CMD_POST_LOGOUT_REDIRECT_URI, TAKE1,
        "default return URL after logout"),
    SRV("IPSIEProfile", CMD_PROFILE, TAKE1, "default, or sl1 for the strict IPSIE SL1 rules"),
    DIR("IPSIEUnauthAction", CMD_UNAUTH_ACTION, TAKE1, "auth (default), 401, 403 or pass"),
    DIR("IPSIEPassClaimsAs", CMD_PASS_CLAIMS_AS, TAKE1,
        "headers, environment, both (default) or none"),
    DIR("IPSIEClaimPrefix", CMD_CLAIM_PREFIX, TAKE1,
        "prefix of claim headers (default IPSIE-Claim-)"),
    DIR("IPSIERemoteUserClaim", CMD_REMOTE_USER_CLAIM, TAKE1,
        "claim that becomes REMOTE_USER (default sub)"),
    DIR("IPSIEPassAccessToken", CMD_PASS_ACCESS_TOKEN, FLAG,
        "pass the access token as IPSIE-Access-Token (default Off)"),
    {NULL}};

/* Each hook that serves a request names it to the core's log seam while it runs, so that core
 * lines logged meanwhile carry the request; the outer call, if any, is restored after. */
static int strip_spoofed(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_strip_spoofed(r);

    ipsie_log_set_call(outer);
    return status;
}

static int check_user_id(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_check_user_id(r);

    ipsie_log_set_call(outer);
    return status;
}

static int fixups(request_rec *r)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_fixups(r);

    ipsie_log_set_call(outer);
    return status;
}

static int note_auth_failure(request_rec *r, const char *auth_type)
{
    void *outer = ipsie_log_set_call(r);
    int status = auth_ipsie_note_auth_failure(r, auth_type);

    ipsie_log_set_call(outer);
    return status;
}

static authz_status check_claim(request_rec *r, const char *require_args,
                                const void *parsed_require_args)
{
    void *outer = ipsie_log_set_call(r);
    authz_status status =
        auth_ipsie_authz_claim_provider.check_authorization(r, require_args, parsed_require_args);

    ipsie_log_set_call(outer);
    return status;
}

/* "Require claim", its check wrapped as the hooks are. */
static authz_provider claim_provider;

static void auth_ipsie_register_hooks(apr_pool_t *p)
{
    claim_provider = auth_ipsie_authz_claim_provider;
    claim_provider.check_authorization = check_claim;
    ap_hook_pre_config(auth_ipsie_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(auth_ipsie_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(auth_ipsie_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Spoofed identity headers go before any module or application can read them. */
    ap_hook_header_parser(strip_spoofed, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(check_user_id, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_note_auth_failure(note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "claim", AUTHZ_PROVIDER_VERSION,
                              &claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(auth_ipsie) = {STANDARD20_MODULE_STUFF,        auth_ipsie_create_dir_config,
                                 auth_ipsie_merge_dir_config,    auth_ipsie_create_server_config,
                                 auth_ipsie_merge_server_config, auth_ipsie_cmds,
                                 auth_ipsie_register_hooks,      AP_MODULE_FLAG_NONE};
