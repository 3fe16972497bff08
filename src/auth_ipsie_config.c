/* What the configuration means: each configured server's directives resolved into the
 * settings the rest reads, with the checks configtest applies (IPSIE10001, IPSIE10004,
 * IPSIE10020, IPSIE10021, IPSIE10023), and the provider cache and keys set up at start-up. The
 * directives themselves, their defaults and records are in auth_ipsie_directives.c. */
#include <httpd.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_fnmatch.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <apr_shm.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

/* Split the redirect URI into origin and path; a path alone has no origin. */
static const char *parse_redirect_uri(auth_ipsie_settings_t *st, const char *uri, apr_pool_t *p)
{
    const char *rest;
    const char *slash;

    if (uri[0] == '/' && uri[1] != '/') {
        st->redirect_path = uri;
        st->redirect_origin = NULL;
        return NULL;
    }
    if (strncasecmp(uri, "https://", 8) == 0) {
        rest = uri + 8;
    }
    else if (strncasecmp(uri, "http://", 7) == 0) {
        rest = uri + 7;
    }
    else {
        return "IPSIERedirectURI must be an absolute http(s) URL or a path starting with '/'";
    }
    slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || strpbrk(uri, "?#@\\ ") != NULL) {
        return "IPSIERedirectURI must name a host and a path (e.g. https://app.example/app/"
               "redirect_uri), with no query, fragment or user information";
    }
    st->redirect_origin = apr_pstrmemdup(p, uri, (apr_size_t)(slash - uri));
    st->redirect_path = slash;
    return NULL;
}

/* Extra authorization parameters must be a well-formed query that leaves alone what the
 * module itself sends (a second state or redirect_uri would undo its protections). */
static const char *check_auth_request_params(const char *params, apr_pool_t *p)
{
    static const char *const reserved[] = {
        "response_type", "client_id",      "redirect_uri",          "scope",    "state",
        "nonce",         "code_challenge", "code_challenge_method", "prompt",   "max_age",
        "request",       "request_uri",    "response_mode",         "dpop_jkt", NULL};
    apr_table_t *parsed;
    int i;

    if (strpbrk(params, " \t\r\n#") != NULL || params[0] == '?' || params[0] == '&'
        || ipsie_form_parse(&parsed, params, p) != APR_SUCCESS) {
        return "IPSIEAuthRequestParams must be an encoded query string such as "
               "\"acr_values=phr&ui_locales=en\"";
    }
    for (i = 0; reserved[i] != NULL; i++) {
        if (apr_table_get(parsed, reserved[i]) != NULL) {
            return apr_psprintf(p,
                                "IPSIEAuthRequestParams must not set %s: the module sends "
                                "it itself (use IPSIEScope / IPSIEMaxAge where they apply)",
                                reserved[i]);
        }
    }
    return NULL;
}

/* RFC 6265 5.1.4: the browser sends the cookies to the redirect URI only when their path
 * covers its path, so a cookie path that does not loses every login's state. */
static const char *check_cookie_path(const auth_ipsie_settings_t *st, apr_pool_t *p)
{
    const char *path = st->redirect_path;
    apr_size_t path_len = strcspn(path, "?#");
    apr_size_t len = strlen(st->cookie_path);
    const char *last_slash = path;
    const char *parent;
    apr_size_t i;

    if (len <= path_len && strncmp(path, st->cookie_path, len) == 0
        && (len == path_len || st->cookie_path[len - 1] == '/' || path[len] == '/')) {
        return NULL;
    }
    /* The redirect URI's parent path, e.g. /app for /app/redirect_uri, always covers it. */
    for (i = 0; i < path_len; i++) {
        if (path[i] == '/') {
            last_slash = path + i;
        }
    }
    parent = last_slash == path ? "/" : apr_pstrmemdup(p, path, (apr_size_t)(last_slash - path));
    return apr_psprintf(p,
                        "IPSIECookiePath %s does not cover the path %s of IPSIERedirectURI, so "
                        "browsers would not send the login state and session cookies back to "
                        "it and every login would fail: set IPSIECookiePath to %s (or remove it "
                        "for the default /), or move IPSIERedirectURI under %s",
                        st->cookie_path, apr_pstrmemdup(p, path, path_len), parent,
                        st->cookie_path);
}

/* A host that is an IP address: IPv6 in brackets, or IPv4 digits and dots. */
static int host_is_ip(const char *host, apr_size_t len)
{
    return host[0] == '[' || strspn(host, "0123456789.") >= len;
}

/* RFC 6265 5.1.3: browsers drop cookies whose Domain does not domain-match the host that
 * sets them. A path-only IPSIERedirectURI leaves the host to each request: not checked. */
static const char *check_cookie_domain(const auth_ipsie_settings_t *st, apr_pool_t *p)
{
    const char *domain = st->cookie_domain;
    const char *host;
    apr_size_t host_len, domain_len;

    if (domain == NULL || st->redirect_origin == NULL) {
        return NULL;
    }
    if (domain[0] == '.') {
        domain++;
    }
    host = strstr(st->redirect_origin, "://") + 3;
    host_len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    domain_len = strlen(domain);
    if (domain_len > 0 && host_len >= domain_len
        && strncasecmp(host + host_len - domain_len, domain, domain_len) == 0
        && (host_len == domain_len
            || (host[host_len - domain_len - 1] == '.' && !host_is_ip(host, host_len)))) {
        return NULL;
    }
    host = apr_pstrmemdup(p, host, host_len);
    return apr_psprintf(p,
                        "IPSIECookieDomain %s does not domain-match the host %s of "
                        "IPSIERedirectURI, so browsers would refuse the cookies and every login "
                        "would fail: set IPSIECookieDomain to %s%s, or remove it for cookies of "
                        "%s alone",
                        st->cookie_domain, host, host,
                        host_is_ip(host, host_len) ? " (an IP address has no parent domain)"
                                                   : " or a parent domain of it",
                        host);
}

/* Logout only ever returns to this site; a configured default elsewhere fails every logout. */
static const char *check_post_logout_redirect_uri(const auth_ipsie_settings_t *st, apr_pool_t *p)
{
    const char *uri = st->post_logout_redirect_uri;
    const char *abs;
    apr_status_t rv;

    if (uri == NULL) {
        return NULL;
    }
    if (uri[0] != '/' && st->redirect_origin == NULL) {
        return apr_psprintf(p,
                            "IPSIEPostLogoutRedirectURI %s is not a path, and IPSIERedirectURI "
                            "%s is only a path, so the site's origin is unknown: use a path "
                            "starting with a single '/' (e.g. /), or make IPSIERedirectURI an "
                            "absolute URL on the same origin",
                            uri, st->redirect_uri);
    }
    /* A path does not depend on the origin: any origin checks it as logout will. */
    rv = ipsie_url_same_origin(&abs, uri,
                               st->redirect_origin ? st->redirect_origin : "http://localhost", p);
    if (rv == APR_SUCCESS) {
        return NULL;
    }
    if (rv == IPSIE_ERR_MALFORMED) {
        return apr_psprintf(p,
                            "IPSIEPostLogoutRedirectURI %s cannot be checked: the scheme, host "
                            "or port of IPSIERedirectURI %s is malformed; fix IPSIERedirectURI",
                            uri, st->redirect_uri);
    }
    if (st->redirect_origin == NULL) {
        return apr_psprintf(p,
                            "IPSIEPostLogoutRedirectURI %s is not a path on this site: use a "
                            "path starting with a single '/' (not '//', no backslash, space "
                            "or control character), e.g. /",
                            uri);
    }
    return apr_psprintf(p,
                        "IPSIEPostLogoutRedirectURI %s is not on this site, and logout only "
                        "returns to this site: use a path starting with a single '/' (not '//', "
                        "no backslash, e.g. /), or an absolute URL with the scheme, host and "
                        "port of IPSIERedirectURI (%s/...)",
                        uri, st->redirect_origin);
}

/* Where sessions live and what keeps revocations: IPSIESessionStore and IPSIESessionCache.
 * The cookie store uses the shared store for revocation when there is one (shmcb by default,
 * when mod_socache_shmcb is loaded); the cache store needs one. */
/* The page template: IPSIEHTMLTemplate's file (an absolute path, or one under ServerRoot), or
 * the built-in one. NULL, or what is wrong with the file. */
static const char *load_page_template(auth_ipsie_settings_t *st, const char *path, apr_pool_t *p)
{
    ipsie_template_t *t;
    const char *why;
    const char *full;
    apr_file_t *f;
    apr_finfo_t info;
    char *text;
    apr_size_t got;

    if (path == NULL) {
        st->page_template_builtin = 1;
        if (ipsie_template_parse(&t, ipsie_template_builtin, strlen(ipsie_template_builtin), &why,
                                 p)
            != APR_SUCCESS) {
            return apr_psprintf(p, "the built-in page template is broken: %s", why);
        }
        st->page_template = t;
        return NULL;
    }
    full = ap_server_root_relative(p, path);
    if (full == NULL
        || apr_file_open(&f, full, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS) {
        return apr_psprintf(p, "IPSIEHTMLTemplate %s cannot be read", path);
    }
    if (apr_file_info_get(&info, APR_FINFO_SIZE | APR_FINFO_TYPE, f) != APR_SUCCESS
        || info.filetype != APR_REG) {
        apr_file_close(f);
        return apr_psprintf(p, "IPSIEHTMLTemplate %s is not a regular file", path);
    }
    if (info.size > IPSIE_TEMPLATE_MAX) {
        apr_file_close(f);
        return apr_psprintf(p,
                            "IPSIEHTMLTemplate %s is not a usable page template: it is larger "
                            "than %d bytes",
                            path, IPSIE_TEMPLATE_MAX);
    }
    text = apr_palloc(p, (apr_size_t)info.size + 1);
    if (apr_file_read_full(f, text, (apr_size_t)info.size, &got) != APR_SUCCESS
        && got != (apr_size_t)info.size) {
        apr_file_close(f);
        return apr_psprintf(p, "IPSIEHTMLTemplate %s cannot be read", path);
    }
    apr_file_close(f);
    text[got] = '\0';
    if (ipsie_template_parse(&t, text, got, &why, p) != APR_SUCCESS) {
        return apr_psprintf(p, "IPSIEHTMLTemplate %s is not a usable page template: %s", path, why);
    }
    st->page_template = t;
    st->page_template_builtin = 0;
    return NULL;
}

/* IPSIEProfile sl1 (SPEC section 10): what the IPSIE SL1 OpenID Connect profile asks of a
 * relying party, applied to st and c. NULL, or the rule a setting breaks. */
static const char *apply_profile_sl1(auth_ipsie_settings_t *st, const auth_ipsie_server_conf_t *c,
                                     apr_pool_t *p)
{
    static const char *const sl1_algs[] = {"PS256", "ES256", "EdDSA"};
    apr_array_header_t *algs;
    int i;

    if (strncasecmp(st->metadata_url, "https://", 8) != 0) {
        return "IPSIEProfile sl1: IPSIEProviderMetadataURL must be an https URL (SL1: https for "
               "the provider's metadata and every endpoint)";
    }
    if (st->configured_issuer != NULL && strncasecmp(st->configured_issuer, "https://", 8) != 0) {
        return "IPSIEProfile sl1: IPSIEProviderIssuer must be an https URL (SL1: https for the "
               "provider's metadata and every endpoint)";
    }
    if (st->redirect_origin == NULL || strncasecmp(st->redirect_origin, "https://", 8) != 0) {
        return "IPSIEProfile sl1: IPSIERedirectURI must be an absolute https URL (SL1: https for "
               "the redirect URI)";
    }
    if (auth_ipsie_conf_given(c, CMD_SIGNING_ALGS)) {
        for (i = 0; i < st->signing_algs->nelts; i++) {
            const char *alg = APR_ARRAY_IDX(st->signing_algs, i, const char *);

            if (strcmp(alg, "PS256") != 0 && strcmp(alg, "ES256") != 0
                && strcmp(alg, "EdDSA") != 0) {
                return apr_psprintf(p,
                                    "IPSIEProfile sl1: IPSIEIDTokenSigningAlgs lists %s (SL1: ID "
                                    "tokens signed PS256, ES256 or EdDSA only)",
                                    alg);
            }
        }
    }
    else {
        algs = apr_array_make(p, 3, sizeof(const char *));
        for (i = 0; i < 3; i++) {
            APR_ARRAY_PUSH(algs, const char *) = sl1_algs[i];
        }
        st->signing_algs = algs;
    }
    if (auth_ipsie_conf_given(c, CMD_REQUIRE_SESSION_EXPIRY)
        && !st->policy.require_session_expiry) {
        return "IPSIEProfile sl1: IPSIERequireSessionExpiry Off (SL1: every ID token carries "
               "session_expiry, and a login without one is refused)";
    }
    st->policy.require_session_expiry = 1;
    if (auth_ipsie_conf_keyword(c, CMD_DPOP) == IPSIE_DPOP_OFF) {
        return "IPSIEProfile sl1: IPSIEDPoP off (SL1: DPoP is used for the requests to the "
               "provider): set IPSIEDPoP auto or required";
    }
    if (st->max_age < 0) {
        return "IPSIEProfile sl1: IPSIEMaxAge is missing (SL1: the authorization request sends "
               "max_age): set it to the longest time, in seconds, since the user last "
               "authenticated at the provider that this site accepts";
    }
    return NULL;
}

static const char *resolve_store(auth_ipsie_settings_t *st, const auth_ipsie_server_conf_t *c,
                                 apr_pool_t *p)
{
    int cache_store = auth_ipsie_conf_keyword(c, CMD_SESSION_STORE) == 1;
    const char *spec = auth_ipsie_conf_str(c, CMD_SESSION_CACHE);
    const char *missing;

    st->store = cache_store ? &auth_ipsie_cache_store : &auth_ipsie_cookie_store;
    st->cache_given = cache_store || auth_ipsie_conf_given(c, CMD_SESSION_CACHE);
    st->cache_spec = spec != NULL ? spec : "shmcb";
    st->cache_timeout_ms = (long)auth_ipsie_conf_num(c, CMD_SESSION_CACHE_TIMEOUT);
    /* The address list is checked now, not when the server starts: a configtest that passes
     * must not be followed by a (graceful) restart that stops httpd. Nothing connects. */
    if (strncmp(st->cache_spec, "redis:", 6) == 0 || strncmp(st->cache_spec, "memcache:", 9) == 0) {
        ipsie_kv_t *kv;
        int redis = st->cache_spec[0] == 'r';
        apr_status_t rv = redis ? ipsie_kv_redis_create(&kv, st->cache_spec + 6, 1000, p)
                                : ipsie_kv_memcache_create(&kv, st->cache_spec + 9, 1000, p);
        if (rv != APR_SUCCESS) {
            return apr_psprintf(p, "IPSIESessionCache %s: %s, e.g. %s", st->cache_spec,
                                redis ? "give one Redis server as host:port (a name, an IPv4 "
                                        "address or [IPv6], a port 1-65535)"
                                      : "give memcached servers as host:port[,host:port...] (at "
                                        "most 16, each once; names, IPv4 addresses or [IPv6], "
                                        "ports 1-65535)",
                                redis ? "redis:127.0.0.1:6379"
                                      : "memcache:10.0.0.1:11211,10.0.0.2:11211");
        }
        return NULL;
    }
    missing = auth_ipsie_kv_socache_check(st->cache_spec, p);
    if (missing != NULL && st->cache_given) {
        return missing;
    }
    /* Without a shared store, cookie sessions end only by their rules (no revocation). */
    if (missing != NULL) {
        st->cache_spec = NULL;
    }
    return NULL;
}

/* A kid given in the configuration: 1 to 128 printable characters, no space or quote. */
static int kid_usable(const char *kid)
{
    const char *c;

    if (*kid == '\0' || strlen(kid) > 128) {
        return 0;
    }
    for (c = kid; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '"' || *c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* The client's signing key (private_key_jwt) and the DPoP key, read from their PEM files (at
 * configtest too, so that a key that cannot be used fails it), and the DPoP and PAR choices.
 * A DPoP key to be generated is made at start-up (setup_dpop). */
static const char *resolve_keys(auth_ipsie_settings_t *st, const auth_ipsie_server_conf_t *c,
                                apr_pool_t *p)
{
    const apr_array_header_t *key = auth_ipsie_conf_list(c, CMD_CLIENT_SIGNING_KEY);
    const char *dpop_file = auth_ipsie_conf_str(c, CMD_DPOP_SIGNING_KEY);
    const char *file;
    const char *kid = NULL;
    const char *why;
    ipsie_signer_t *signer;
    const char *alg;

    st->auth_request_par = auth_ipsie_conf_keyword(c, CMD_AUTH_REQUEST_METHOD) == 1;
    st->dpop_mode = (ipsie_dpop_mode_e)auth_ipsie_conf_keyword(c, CMD_DPOP);
    if (key != NULL && st->client.auth_method != IPSIE_AUTH_PRIVATE_KEY_JWT) {
        return "IPSIEClientSigningKey is used only with IPSIEClientAuthMethod private_key_jwt: "
               "set that too, or remove IPSIEClientSigningKey";
    }
    if (key == NULL && st->client.auth_method == IPSIE_AUTH_PRIVATE_KEY_JWT) {
        return "IPSIEClientAuthMethod private_key_jwt needs IPSIEClientSigningKey <PEM file> "
               "[kid]: the private key whose public key is registered at the OpenID Provider";
    }
    if (key != NULL) {
        if (key->nelts > 2) {
            return "IPSIEClientSigningKey takes a PEM file and, optionally, a kid";
        }
        file = ap_server_root_relative(p, APR_ARRAY_IDX(key, 0, const char *));
        if (key->nelts == 2) {
            kid = APR_ARRAY_IDX(key, 1, const char *);
            if (!kid_usable(kid)) {
                return "IPSIEClientSigningKey: the kid must be 1 to 128 printable characters "
                       "without spaces or quotes";
            }
        }
        /* IPSIE SL1 allows PS256, not RS256, for an RSA key. */
        if (file == NULL
            || ipsie_signer_load(&signer, &why, file, st->profile_sl1 ? "PS256" : "RS256", kid, p)
                   != APR_SUCCESS) {
            return apr_psprintf(p, "IPSIEClientSigningKey %s cannot be used: %s",
                                APR_ARRAY_IDX(key, 0, const char *),
                                file ? why : "not a valid path");
        }
        st->client.signing_key = signer;
    }
    st->dpop_key_configured = dpop_file != NULL;
    if (dpop_file != NULL) {
        file = ap_server_root_relative(p, dpop_file);
        if (file == NULL || ipsie_signer_load(&signer, &why, file, NULL, NULL, p) != APR_SUCCESS) {
            return apr_psprintf(p, "IPSIEDPoPSigningKey %s cannot be used: %s", dpop_file,
                                file ? why : "not a valid path");
        }
        alg = ipsie_signer_alg(signer);
        if (strcmp(alg, "ES256") != 0 && strcmp(alg, "EdDSA") != 0) {
            return apr_psprintf(p,
                                "IPSIEDPoPSigningKey %s is an RSA key: DPoP keys must be EC "
                                "P-256 (ES256) or Ed25519 (EdDSA)",
                                dpop_file);
        }
        if (st->dpop_mode != IPSIE_DPOP_OFF
            && ipsie_dpop_create(&st->dpop, signer, p) != APR_SUCCESS) {
            return "IPSIEDPoPSigningKey: cannot set up DPoP";
        }
    }
    return NULL;
}

/* Resolve one server's raw record into settings, or say what to fix. */
static const char *resolve(auth_ipsie_settings_t **out, const auth_ipsie_server_conf_t *c,
                           apr_pool_t *p)
{
    auth_ipsie_settings_t *st = apr_pcalloc(p, sizeof(*st));
    const char *err;
    long long max_age;

    *out = NULL;
    if (auth_ipsie_conf_str(c, CMD_METADATA_URL) == NULL) {
        return "IPSIEProviderMetadataURL is missing: set it to the OpenID Provider's discovery "
               "document, e.g. https://op.example/.well-known/openid-configuration";
    }
    if (strncasecmp(auth_ipsie_conf_str(c, CMD_METADATA_URL), "https://", 8) != 0
        && strncasecmp(auth_ipsie_conf_str(c, CMD_METADATA_URL), "http://", 7) != 0) {
        return "IPSIEProviderMetadataURL must be an http(s) URL";
    }
    if (auth_ipsie_conf_str(c, CMD_CLIENT_ID) == NULL) {
        return "IPSIEClientID is missing: set it to the client_id registered at the OpenID "
               "Provider";
    }
    if (auth_ipsie_conf_str(c, CMD_CLIENT_SECRET) == NULL
        && auth_ipsie_conf_keyword(c, CMD_CLIENT_AUTH_METHOD) != IPSIE_AUTH_PRIVATE_KEY_JWT) {
        return "IPSIEClientSecret is missing: set it to the client secret registered at the "
               "OpenID Provider (or authenticate with a key: IPSIEClientAuthMethod "
               "private_key_jwt and IPSIEClientSigningKey)";
    }
    if (auth_ipsie_conf_str(c, CMD_REDIRECT_URI) == NULL) {
        return "IPSIERedirectURI is missing: set it to a URL inside a location protected with "
               "'AuthType ipsie', registered at the OpenID Provider";
    }
    if (auth_ipsie_conf_list(c, CMD_CRYPTO_PASSPHRASE) == NULL) {
        return "IPSIECryptoPassphrase is missing: set it to a random value of at least 32 "
               "characters";
    }
    err = parse_redirect_uri(st, auth_ipsie_conf_str(c, CMD_REDIRECT_URI), p);
    if (err != NULL) {
        return err;
    }
    st->metadata_url = auth_ipsie_conf_str(c, CMD_METADATA_URL);
    st->configured_issuer = auth_ipsie_conf_str(c, CMD_PROVIDER_ISSUER);
    if (st->configured_issuer == NULL && !ipsie_provider_url_names_issuer(st->metadata_url)) {
        return apr_psprintf(p,
                            "IPSIEProviderMetadataURL %s does not end in "
                            "/.well-known/openid-configuration, so the provider's issuer cannot "
                            "be derived from it: set IPSIEProviderIssuer to the issuer exactly "
                            "as the provider's metadata names it",
                            st->metadata_url);
    }
    st->client.client_id = auth_ipsie_conf_str(c, CMD_CLIENT_ID);
    st->client.client_secret = auth_ipsie_conf_str(c, CMD_CLIENT_SECRET);
    st->client.auth_method =
        (ipsie_client_auth_e)auth_ipsie_conf_keyword(c, CMD_CLIENT_AUTH_METHOD);
    st->redirect_uri = auth_ipsie_conf_str(c, CMD_REDIRECT_URI);
    st->scope = auth_ipsie_conf_str(c, CMD_SCOPE);
    if (strcmp(st->scope, "openid") != 0 && strncmp(st->scope, "openid ", 7) != 0
        && strstr(st->scope, " openid") == NULL) {
        return "IPSIEScope must include 'openid'";
    }
    st->auth_request_params = auth_ipsie_conf_str(c, CMD_AUTH_REQUEST_PARAMS);
    if (st->auth_request_params != NULL) {
        err = check_auth_request_params(st->auth_request_params, p);
        if (err != NULL) {
            return err;
        }
    }
    max_age = auth_ipsie_conf_num(c, CMD_MAX_AGE);
    st->max_age = max_age != AUTH_IPSIE_NO_NUMBER ? max_age : -1;
    st->signing_algs = auth_ipsie_conf_list(c, CMD_SIGNING_ALGS);
    st->clock_skew = (long)auth_ipsie_conf_num(c, CMD_CLOCK_SKEW);
    st->http.timeout = (long)auth_ipsie_conf_num(c, CMD_PROVIDER_TIMEOUT);
    st->http.ca_file = auth_ipsie_conf_str(c, CMD_CA_CERTIFICATE);
    st->provider_cache_max_age = (long)auth_ipsie_conf_num(c, CMD_PROVIDER_CACHE_MAX_AGE);
    st->policy.leeway = auth_ipsie_conf_num(c, CMD_EXPIRY_LEEWAY);
    st->policy.max_duration = auth_ipsie_conf_num(c, CMD_MAX_DURATION);
    st->policy.inactivity_timeout = auth_ipsie_conf_num(c, CMD_INACTIVITY_TIMEOUT);
    st->policy.require_session_expiry = auth_ipsie_conf_flag(c, CMD_REQUIRE_SESSION_EXPIRY);
    st->expiry_action_refresh = auth_ipsie_conf_keyword(c, CMD_EXPIRY_ACTION) == 1;
    st->refresh_before = auth_ipsie_conf_num(c, CMD_REFRESH_BEFORE);
    if (st->refresh_before == AUTH_IPSIE_NO_NUMBER) {
        st->refresh_before = -1;
    }
    st->userinfo = auth_ipsie_conf_flag(c, CMD_USERINFO);
    st->userinfo_refresh = st->userinfo ? auth_ipsie_conf_num(c, CMD_USERINFO_REFRESH_INTERVAL) : 0;
    st->warning_lead = (long)auth_ipsie_conf_num(c, CMD_SESSION_WARNING_LEAD);
    st->cookie_name = auth_ipsie_conf_str(c, CMD_COOKIE_NAME);
    if (strspn(st->cookie_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_")
            != strlen(st->cookie_name)
        || strncasecmp(st->cookie_name, IPSIE_STATE_COOKIE_PREFIX,
                       sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1)
               == 0) {
        return "IPSIECookieName must be letters, digits, '-' or '_' and not start with "
               "'ipsie_state_'";
    }
    st->cookie_domain = auth_ipsie_conf_str(c, CMD_COOKIE_DOMAIN);
    st->cookie_path = auth_ipsie_conf_str(c, CMD_COOKIE_PATH);
    if (st->cookie_path[0] != '/' || strpbrk(st->cookie_path, "; \t\r\n") != NULL) {
        return "IPSIECookiePath must be a path starting with '/'";
    }
    if (st->cookie_domain != NULL && strpbrk(st->cookie_domain, "; \t\r\n/") != NULL) {
        return "IPSIECookieDomain must be a plain domain name";
    }
    err = check_cookie_path(st, p);
    if (err == NULL) {
        err = check_cookie_domain(st, p);
    }
    if (err != NULL) {
        return err;
    }
    st->cookie_samesite = auth_ipsie_conf_keyword_name(c, CMD_COOKIE_SAMESITE);
    /* Browsers drop SameSite=None cookies that are not Secure, and Secure needs https. */
    if (strcmp(st->cookie_samesite, "None") == 0
        && (st->redirect_origin == NULL || strncasecmp(st->redirect_origin, "https://", 8) != 0)) {
        return "IPSIECookieSameSite None needs an absolute https IPSIERedirectURI: browsers drop "
               "SameSite=None cookies that are not Secure";
    }
    st->cookie_persistent = auth_ipsie_conf_flag(c, CMD_COOKIE_PERSISTENT);
    st->cookie_chunk_size = (apr_size_t)auth_ipsie_conf_num(c, CMD_COOKIE_CHUNK_SIZE);
    st->state_timeout = (long)auth_ipsie_conf_num(c, CMD_STATE_TIMEOUT);
    st->state_max_cookies = (int)auth_ipsie_conf_num(c, CMD_STATE_MAX_COOKIES);
    st->post_logout_redirect_uri = auth_ipsie_conf_str(c, CMD_POST_LOGOUT_REDIRECT_URI);
    err = check_post_logout_redirect_uri(st, p);
    if (err != NULL) {
        return err;
    }
    st->profile_sl1 = auth_ipsie_conf_keyword(c, CMD_PROFILE);
    if (st->profile_sl1) {
        err = apply_profile_sl1(st, c, p);
        if (err != NULL) {
            return err;
        }
    }
    err = load_page_template(st, auth_ipsie_conf_str(c, CMD_HTML_TEMPLATE), p);
    if (err != NULL) {
        return err;
    }
    err = resolve_store(st, c, p);
    if (err != NULL) {
        return err;
    }
    err = resolve_keys(st, c, p);
    if (err != NULL) {
        return err;
    }
    st->login.client_id = st->client.client_id;
    st->login.signing_algs = st->signing_algs;
    st->login.aud_single_string = st->profile_sl1;
    st->login.clock_skew = st->clock_skew;
    st->login.max_age = st->max_age;
    st->login.session = st->policy;
    /* Only what something uses is kept: the session travels with every request. */
    st->login.keep_access_token = auth_ipsie_access_token_wanted() || st->userinfo_refresh > 0;
    st->login.keep_refresh_token = st->refresh_before >= 0 || st->expiry_action_refresh;
    *out = st;
    return NULL;
}

/* The AuthType a configuration section sets, read the way httpd itself reads it. */
static const char *section_auth_type(ap_conf_vector_t *section, apr_pool_t *p)
{
    APR_OPTIONAL_FN_TYPE(authn_ap_auth_type) *auth_type_of =
        APR_RETRIEVE_OPTIONAL_FN(authn_ap_auth_type);
    module *authn_core = ap_find_linked_module("mod_authn_core.c");
    request_rec *probe;

    /* A section holds a module's record only when one of its directives appears in it. */
    if (auth_type_of == NULL || authn_core == NULL
        || ap_get_module_config(section, authn_core) == NULL) {
        return NULL;
    }
    /* mod_authn_core only looks at the per-directory configuration. */
    probe = apr_pcalloc(p, sizeof(*probe));
    probe->pool = p;
    probe->per_dir_config = section;
    return auth_type_of(probe);
}

static int section_is_ours(ap_conf_vector_t *section, apr_pool_t *p)
{
    const char *type = section_auth_type(section, p);

    return type != NULL && strcasecmp(type, AUTH_IPSIE_AUTH_TYPE) == 0;
}

/* Does a <Location> section match path as httpd's location walk would? */
static int location_matches(const core_dir_config *entry, const char *path)
{
    size_t len;

    if (entry->r != NULL) {
        return ap_regexec(entry->r, path, 0, NULL, 0) == 0;
    }
    if (entry->d_is_fnmatch) {
        return apr_fnmatch(entry->d, path, APR_FNM_PATHNAME) == APR_SUCCESS;
    }
    len = strlen(entry->d);
    return strncmp(entry->d, path, len) == 0
           && (len == 0 || entry->d[len - 1] == '/' || path[len] == '/' || path[len] == '\0');
}

/* Does a <Location> that matches path, as httpd's location walk would, set AuthType ipsie?
 * The last matching section that names an AuthType decides. Sections of other kinds cannot be
 * matched against a URL here, so one of them with AuthType ipsie is given the benefit. */
static int redirect_path_protected(server_rec *s, const char *path, apr_pool_t *p)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    ap_conf_vector_t **sections;
    int protected = 0;
    int i;

    sections = (ap_conf_vector_t **)core->sec_url->elts;
    for (i = 0; i < core->sec_url->nelts; i++) {
        int match = location_matches(ap_get_core_module_config(sections[i]), path);

        if (match && section_auth_type(sections[i], p) != NULL) {
            protected = section_is_ours(sections[i], p);
        }
    }
    sections = (ap_conf_vector_t **)core->sec_dir->elts;
    for (i = 0; !protected && i < core->sec_dir->nelts; i++) {
        protected = section_is_ours(sections[i], p);
    }
    return protected;
}

/* The server as an administrator finds it in the configuration: the main server, or the
 * <VirtualHost> by its file and line and its name. */
static const char *server_label(const server_rec *sp, apr_pool_t *p)
{
    if (sp->is_virtual && sp->defn_name != NULL) {
        return apr_psprintf(p, "the <VirtualHost> at %s:%u (ServerName %s)", sp->defn_name,
                            sp->defn_line_number,
                            sp->server_hostname ? sp->server_hostname : "unset");
    }
    return "the main server";
}

/* Does the server, in any <Location> or <Directory> it has or inherits, or outside them, set
 * AuthType ipsie? */
static int server_uses_ipsie(server_rec *sp, apr_pool_t *p)
{
    core_server_config *core = ap_get_core_module_config(sp->module_config);
    const apr_array_header_t *lists[2] = {core->sec_url, core->sec_dir};
    int l;
    int i;

    if (section_is_ours(sp->lookup_defaults, p)) {
        return 1;
    }
    for (l = 0; l < 2; l++) {
        ap_conf_vector_t **sections = (ap_conf_vector_t **)lists[l]->elts;

        for (i = 0; i < lists[l]->nelts; i++) {
            if (section_is_ours(sections[i], p)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Does a request for path, with the <Location> sections that match it merged in order as
 * httpd's location walk does, need some Require for GET? Without one httpd never asks for
 * authentication, and AuthType ipsie protects nothing. */
static int location_requires(server_rec *sp, const char *path, apr_pool_t *p)
{
    APR_OPTIONAL_FN_TYPE(authz_some_auth_required) *some_required =
        APR_RETRIEVE_OPTIONAL_FN(authz_some_auth_required);
    module *authz_core = ap_find_linked_module("mod_authz_core.c");
    core_server_config *core = ap_get_core_module_config(sp->module_config);
    ap_conf_vector_t **sections = (ap_conf_vector_t **)core->sec_url->elts;
    ap_conf_vector_t *merged = sp->lookup_defaults;
    request_rec *probe;
    int i;

    if (some_required == NULL || authz_core == NULL) {
        return 1; /* without mod_authz_core there is nothing to check */
    }
    for (i = 0; i < core->sec_url->nelts; i++) {
        if (location_matches(ap_get_core_module_config(sections[i]), path)) {
            merged = ap_merge_per_dir_configs(p, merged, sections[i]);
        }
    }
    probe = apr_pcalloc(p, sizeof(*probe));
    probe->pool = p;
    probe->method_number = M_GET;
    if (ap_get_module_config(merged, authz_core) != NULL) {
        probe->per_dir_config = merged;
        if (some_required(probe)) {
            return 1;
        }
    }
    /* A Require in an <If> of a matching section applies when its condition holds, which only
     * a request can tell: given the benefit of the doubt. */
    for (i = -1; i < core->sec_url->nelts; i++) {
        ap_conf_vector_t *section = i < 0 ? sp->lookup_defaults : sections[i];
        const core_dir_config *entry = ap_get_core_module_config(section);
        int k;

        if (entry == NULL || entry->sec_if == NULL || (i >= 0 && !location_matches(entry, path))) {
            continue;
        }
        for (k = 0; k < entry->sec_if->nelts; k++) {
            ap_conf_vector_t *cond = APR_ARRAY_IDX(entry->sec_if, k, ap_conf_vector_t *);

            if (ap_get_module_config(cond, authz_core) != NULL) {
                probe->per_dir_config = cond;
                if (some_required(probe)) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* Every plain <Location> with AuthType ipsie must come with a Require: NULL, or the message. */
static const char *check_locations_require(server_rec *sp, apr_pool_t *p)
{
    core_server_config *core = ap_get_core_module_config(sp->module_config);
    ap_conf_vector_t **sections = (ap_conf_vector_t **)core->sec_url->elts;
    int i;

    for (i = 0; i < core->sec_url->nelts; i++) {
        const core_dir_config *entry = ap_get_core_module_config(sections[i]);

        if (entry->r != NULL || entry->d_is_fnmatch || entry->d == NULL
            || !section_is_ours(sections[i], p) || location_requires(sp, entry->d, p)) {
            continue;
        }
        return apr_psprintf(p,
                            "<Location %s> sets 'AuthType ipsie' but no Require applies to it, so "
                            "httpd serves it without asking anyone to sign in: add 'Require "
                            "valid-user' (or a Require claim rule) inside it; a Require of a "
                            "<Directory> or <Files> "
                            "section cannot be told to apply here: repeat it in the <Location>",
                            entry->d);
    }
    return NULL;
}

/* A metadata URL in plain http to another machine: anyone on the way can change the keys. */
static int metadata_url_plain_remote(const char *url, apr_pool_t *p)
{
    apr_uri_t uri;

    if (strncasecmp(url, "http://", 7) != 0) {
        return 0;
    }
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || uri.hostname == NULL) {
        return 1;
    }
    return !(strcasecmp(uri.hostname, "localhost") == 0 || strcmp(uri.hostname, "::1") == 0
             || strncmp(uri.hostname, "127.", 4) == 0);
}

int auth_ipsie_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;

    for (sp = s; sp != NULL; sp = sp->next) {
        const auth_ipsie_server_conf_t *c = auth_ipsie_conf(sp);
        auth_ipsie_settings_t *st;
        const char *err;

        if (c == NULL) {
            /* With virtual hosts, the main server's sections are theirs (checked with them),
             * and the main server itself may answer nothing. */
            if ((sp->is_virtual || s->next == NULL) && server_uses_ipsie(sp, ptemp)) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp,
                             "IPSIE10020: %s protects locations with 'AuthType ipsie' but has no "
                             "provider configuration: set IPSIEProviderMetadataURL, "
                             "IPSIEClientID, IPSIEClientSecret, IPSIERedirectURI and "
                             "IPSIECryptoPassphrase in it, or in the main server for every "
                             "virtual host",
                             server_label(sp, ptemp));
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            continue;
        }
        err = resolve(&st, c, ptemp);
        if (err == NULL) {
            err = check_locations_require(sp, ptemp);
        }
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp, "IPSIE10001: configuration of %s: %s",
                         server_label(sp, ptemp), err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (metadata_url_plain_remote(st->metadata_url, ptemp)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                         "IPSIE10021: %s: IPSIEProviderMetadataURL %s is plain http to another "
                         "machine: anyone on the way can change the provider's metadata and "
                         "keys; use https",
                         server_label(sp, ptemp), st->metadata_url);
        }
        /* A secret beside a key is set for nothing: the key authenticates the client. */
        if (st->client.auth_method == IPSIE_AUTH_PRIVATE_KEY_JWT
            && st->client.client_secret != NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                         "IPSIE10023: %s: IPSIEClientSecret is not used with "
                         "IPSIEClientAuthMethod private_key_jwt (the client authenticates with "
                         "IPSIEClientSigningKey): remove IPSIEClientSecret",
                         server_label(sp, ptemp));
        }
        /* Settings that a server only inherits (from the main server, with virtual hosts) and
         * never uses need no protected redirect URI in it. */
        if ((s->next == NULL || server_uses_ipsie(sp, ptemp))
            && !redirect_path_protected(sp, st->redirect_path, ptemp)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp,
                         "IPSIE10004: IPSIERedirectURI %s is not inside a <Location> with "
                         "'AuthType ipsie': put it inside the protected location (e.g. "
                         "<Location /app> ... IPSIERedirectURI https://host/app/redirect_uri)",
                         st->redirect_uri);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static const int log_levels[] = {APLOG_ERR, APLOG_WARNING, APLOG_INFO, APLOG_DEBUG};

/* A core line logged while a request is served goes out with the request (its client, virtual
 * host and per-directory LogLevel); any other with the server. */
static void log_sink(void *baton, void *call_baton, ipsie_log_level_e level, const char *msg)
{
    if (call_baton != NULL) {
        ap_log_rerror(APLOG_MARK, log_levels[level], 0, (request_rec *)call_baton, "%s", msg);
    }
    else {
        ap_log_error(APLOG_MARK, log_levels[level], 0, (server_rec *)baton, "%s", msg);
    }
}

static int log_is_level(void *baton, void *call_baton, ipsie_log_level_e level)
{
    if (call_baton != NULL) {
        return APLOG_R_IS_LEVEL((request_rec *)call_baton, log_levels[level]);
    }
    return APLOG_IS_LEVEL((server_rec *)baton, log_levels[level]);
}

/* The gate every provider cache of the server shares: leases for half of all the server's
 * workers, in memory every child sees, so that a provider that never answers leaves the other
 * half to serve everything else, however many virtual hosts or processes there are. Made once
 * in the process pool and found again after a graceful restart, so that the children of the
 * old and the new generation count against the same bound. */
static apr_status_t provider_gate(ipsie_gate_t **out, server_rec *s, apr_pool_t *pconf)
{
    struct retained_gate {
        apr_shm_t *shm;
        int leases;
    } * kept;
    int daemons = 1;
    int threads = 1;
    int leases;
    apr_status_t rv;

    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS || daemons < 1) {
        daemons = 1;
    }
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    leases = daemons * threads / 2 > 0 ? daemons * threads / 2 : 1;
    kept = ap_retained_data_get("auth_ipsie_gate");
    if (kept == NULL) {
        kept = ap_retained_data_create("auth_ipsie_gate", sizeof(*kept));
        kept->shm = NULL;
    }
    /* A new size (MaxRequestWorkers changed) needs a new segment; else the same one. */
    if (kept->shm == NULL || kept->leases != leases) {
        /* Anonymous: made by the parent before the children are forked, inherited by them. */
        rv = apr_shm_create(&kept->shm, ipsie_gate_size(leases), NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            kept->shm = NULL;
            return rv;
        }
        memset(apr_shm_baseaddr_get(kept->shm), 0, ipsie_gate_size(leases));
        kept->leases = leases;
    }
    *out = ipsie_gate_attach(apr_shm_baseaddr_get(kept->shm), leases, pconf);
    return APR_SUCCESS;
}

/* The shared store of st->cache_spec: Redis and memcached through the core's clients (with
 * bounded waits), anything else through the httpd socache provider of that name. Sessions of
 * the cookie store then check revocation entries on every request. */
static apr_status_t make_shared_store(auth_ipsie_settings_t *st, server_rec *s, apr_pool_t *pconf)
{
    apr_interval_time_t timeout = (apr_interval_time_t)st->cache_timeout_ms * 1000;
    apr_status_t rv;

    st->kv = NULL;
    st->revocation_per_request = 0;
    if (st->cache_spec == NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "IPSIE10011: no shared store for revocations (mod_socache_shmcb is not "
                     "loaded and IPSIESessionCache is not set): a session copied before a "
                     "logout stays usable until its ceiling");
        if (st->login.keep_refresh_token) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "IPSIE17012: no shared store for refreshes either: requests of one "
                         "session may each refresh its tokens at once, and a provider that "
                         "rotates refresh tokens then ends the session; load "
                         "mod_socache_shmcb or set IPSIESessionCache");
        }
        return APR_SUCCESS;
    }
    if (strncmp(st->cache_spec, "redis:", 6) == 0) {
        rv = ipsie_kv_redis_create(&st->kv, st->cache_spec + 6, timeout, pconf);
    }
    else if (strncmp(st->cache_spec, "memcache:", 9) == 0) {
        rv = ipsie_kv_memcache_create(&st->kv, st->cache_spec + 9, timeout, pconf);
    }
    else {
        rv = auth_ipsie_kv_socache_create(&st->kv, st->cache_spec, s, pconf);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "IPSIE10012: IPSIESessionCache %s cannot be used", st->cache_spec);
        return rv;
    }
    st->revocation_per_request = st->store == &auth_ipsie_cookie_store;
    return APR_SUCCESS;
}

/* The DPoP key generated at start-up for servers without IPSIEDPoPSigningKey: made once in
 * the parent, before the children are forked (so that every child signs with it), and kept
 * across graceful restarts (a session's DPoP-bound tokens stay usable). */
static apr_status_t generated_dpop_key(const ipsie_signer_t **out, server_rec *s)
{
    struct retained_key {
        ipsie_signer_t *key;
    } * kept;
    apr_status_t rv;

    kept = ap_retained_data_get("auth_ipsie_dpop_key");
    if (kept == NULL) {
        kept = ap_retained_data_create("auth_ipsie_dpop_key", sizeof(*kept));
        kept->key = NULL;
    }
    if (kept->key == NULL) {
        rv = ipsie_signer_generate(&kept->key, "ES256", NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "IPSIE19001: generated the DPoP key (ES256, kid %s) for servers without "
                     "IPSIEDPoPSigningKey",
                     ipsie_signer_kid(kept->key));
    }
    *out = kept->key;
    return APR_SUCCESS;
}

/* With IPSIEDPoP on and no key of its own, the server signs proofs with the generated key. */
static apr_status_t setup_dpop(auth_ipsie_settings_t *st, server_rec *s, apr_pool_t *pconf)
{
    const ipsie_signer_t *key;
    apr_status_t rv;

    if (st->dpop_mode == IPSIE_DPOP_OFF) {
        return APR_SUCCESS;
    }
    if (st->dpop == NULL) {
        rv = generated_dpop_key(&key, s);
        if (rv == APR_SUCCESS) {
            rv = ipsie_dpop_create(&st->dpop, key, pconf);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "IPSIE19002: cannot make a DPoP key");
            return rv;
        }
    }
    if (auth_ipsie_access_token_wanted()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "IPSIE19003: IPSIEPassAccessToken On with IPSIEDPoP %s: access tokens the "
                     "provider binds to the module's DPoP key are passed on, and the "
                     "application cannot use them without that key (IPSIEDPoP off gives it "
                     "Bearer tokens)",
                     st->dpop_mode == IPSIE_DPOP_REQUIRED ? "required" : "auto");
    }
    return APR_SUCCESS;
}

int auth_ipsie_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;
    ipsie_gate_t *gate = NULL;
    apr_status_t rv;

    ipsie_log_set_sink(log_sink, log_is_level, s);
    /* Once per start and restart: not in the dry run httpd makes before it starts. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "IPSIE10014: mod_auth_ipsie %s",
                     AUTH_IPSIE_VERSION);
    }
    rv = ipsie_http_global_init();
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "IPSIE10002: libcurl initialisation failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = auth_ipsie_metrics_init(s);
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = provider_gate(&gate, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "IPSIE10007: cannot create the shared memory that bounds waits for the "
                     "provider");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (sp = s; sp != NULL; sp = sp->next) {
        const auth_ipsie_server_conf_t *c = auth_ipsie_conf(sp);
        auth_ipsie_settings_t *st;
        const char *err;

        if (c == NULL) {
            continue;
        }
        err = resolve(&st, c, pconf);
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp, "IPSIE10005: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv =
            ipsie_crypto_create(&st->crypto, auth_ipsie_conf_list(c, CMD_CRYPTO_PASSPHRASE), pconf);
        if (rv == APR_SUCCESS) {
            rv = ipsie_provider_cache_create(&st->provider, st->metadata_url,
                                             st->provider_cache_max_age, &st->http, pconf);
        }
        if (rv == APR_SUCCESS) {
            ipsie_provider_cache_set_gate(st->provider, gate);
            ipsie_provider_cache_set_issuer(st->provider, st->configured_issuer);
            rv = make_shared_store(st, sp, pconf);
        }
        if (rv == APR_SUCCESS) {
            rv = setup_dpop(st, sp, pconf);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, sp,
                         "IPSIE10003: cannot set up keys or provider cache");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        auth_ipsie_keep_settings(sp, st);
    }
    return OK;
}
