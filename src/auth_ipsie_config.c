/* Configuration: raw per-server and per-directory records with explicit UNSET markers,
 * merging, validation at configtest time, and the resolved settings the rest reads. */
#include <httpd.h>
#include <errno.h>
#include <string.h>

#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <apr_shm.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define UNSET_NUM (-1LL)
#define UNSET_INT (-1)
#define MIN_PASSPHRASE_LEN 32

typedef struct {
    const char *str[CMD_CLIENT_SIGNING_KEY + 1]; /* NULL: unset */
    long long num[CMD_STATE_MAX_COOKIES + 1];    /* UNSET_NUM: unset */
    int flag[CMD_COOKIE_PERSISTENT + 1];         /* UNSET_INT: unset */
    int keyword[CMD_PROFILE + 1];                /* UNSET_INT: unset */
    apr_array_header_t *signing_algs;            /* NULL: unset */
    apr_array_header_t *passphrases;             /* NULL: unset */
    int configured;                              /* any directive given here */
    auth_ipsie_settings_t *settings;             /* resolved at post_config */
} srv_cfg;

typedef struct {
    int unauth_action;
    int pass_claims_as;
    const char *claim_prefix;
    const char *remote_user_claim;
    int pass_access_token;
} dir_cfg;

/* The ID token algorithms the module verifies, all accepted by default. */
static const char *const signing_algs[] = {"RS256", "PS256", "ES256", "EdDSA", NULL};

/* Keywords of the enumerated directives, in the order of their values. */
static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt", NULL};
static const char *const session_stores[] = {"cookie", "cache", NULL};
static const char *const expiry_actions[] = {"reauth", "refresh", NULL};
static const char *const samesite_values[] = {"Lax", "Strict", "None", NULL};
static const char *const profiles[] = {"default", "sl1", NULL};
static const char *const unauth_actions[] = {"auth", "401", "403", "pass", NULL};
static const char *const pass_as_values[] = {"none", "headers", "environment", "both", NULL};

/* Bounds of the numeric directives: [min, max]. */
static const struct {
    long long min;
    long long max;
} num_bounds[] = {
    [CMD_MAX_AGE] = {0, 31536000},
    [CMD_CLOCK_SKEW] = {0, 600},
    [CMD_PROVIDER_TIMEOUT] = {1, 300},
    [CMD_PROVIDER_CACHE_MAX_AGE] = {60, 86400},
    [CMD_INACTIVITY_TIMEOUT] = {1, 31536000},
    [CMD_MAX_DURATION] = {1, 31536000},
    [CMD_EXPIRY_LEEWAY] = {0, 3600},
    [CMD_COOKIE_CHUNK_SIZE] = {512, IPSIE_COOKIE_BROWSER_MAX},
    [CMD_STATE_TIMEOUT] = {10, 3600},
    [CMD_STATE_MAX_COOKIES] = {1, IPSIE_STATE_MAX_SLOTS},
};

void *auth_ipsie_create_server_config(apr_pool_t *p, server_rec *s)
{
    srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    size_t i;

    for (i = 0; i < sizeof(c->num) / sizeof(c->num[0]); i++) {
        c->num[i] = UNSET_NUM;
    }
    for (i = 0; i < sizeof(c->flag) / sizeof(c->flag[0]); i++) {
        c->flag[i] = UNSET_INT;
    }
    for (i = 0; i < sizeof(c->keyword) / sizeof(c->keyword[0]); i++) {
        c->keyword[i] = UNSET_INT;
    }
    return c;
}

void *auth_ipsie_merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    const srv_cfg *base = basev;
    const srv_cfg *add = addv;
    srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    size_t i;

    for (i = 0; i < sizeof(c->str) / sizeof(c->str[0]); i++) {
        c->str[i] = add->str[i] ? add->str[i] : base->str[i];
    }
    for (i = 0; i < sizeof(c->num) / sizeof(c->num[0]); i++) {
        c->num[i] = add->num[i] != UNSET_NUM ? add->num[i] : base->num[i];
    }
    for (i = 0; i < sizeof(c->flag) / sizeof(c->flag[0]); i++) {
        c->flag[i] = add->flag[i] != UNSET_INT ? add->flag[i] : base->flag[i];
    }
    for (i = 0; i < sizeof(c->keyword) / sizeof(c->keyword[0]); i++) {
        c->keyword[i] = add->keyword[i] != UNSET_INT ? add->keyword[i] : base->keyword[i];
    }
    c->signing_algs = add->signing_algs ? add->signing_algs : base->signing_algs;
    c->passphrases = add->passphrases ? add->passphrases : base->passphrases;
    c->configured = add->configured || base->configured;
    return c;
}

void *auth_ipsie_create_dir_config(apr_pool_t *p, char *dir)
{
    dir_cfg *c = apr_pcalloc(p, sizeof(*c));

    c->unauth_action = UNSET_INT;
    c->pass_claims_as = UNSET_INT;
    c->pass_access_token = UNSET_INT;
    return c;
}

void *auth_ipsie_merge_dir_config(apr_pool_t *p, void *basev, void *addv)
{
    const dir_cfg *base = basev;
    const dir_cfg *add = addv;
    dir_cfg *c = apr_pcalloc(p, sizeof(*c));

    c->unauth_action = add->unauth_action != UNSET_INT ? add->unauth_action : base->unauth_action;
    c->pass_claims_as =
        add->pass_claims_as != UNSET_INT ? add->pass_claims_as : base->pass_claims_as;
    c->claim_prefix = add->claim_prefix ? add->claim_prefix : base->claim_prefix;
    c->remote_user_claim =
        add->remote_user_claim ? add->remote_user_claim : base->remote_user_claim;
    c->pass_access_token =
        add->pass_access_token != UNSET_INT ? add->pass_access_token : base->pass_access_token;
    return c;
}

static int keyword_index(const char *const *keywords, const char *arg)
{
    int i;

    for (i = 0; keywords[i] != NULL; i++) {
        if (strcasecmp(keywords[i], arg) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *keyword_error(cmd_parms *cmd, const char *const *keywords, const char *arg)
{
    const char *list = NULL;
    int i;

    for (i = 0; keywords[i] != NULL; i++) {
        list = list ? apr_pstrcat(cmd->pool, list, ", ", keywords[i], NULL) : keywords[i];
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is not one of: %s", cmd->cmd->name, arg, list);
}

static const char *set_number(cmd_parms *cmd, srv_cfg *c, int id, const char *arg)
{
    char *end = NULL;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (*arg == '\0' || end == NULL || *end != '\0' || errno != 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number", cmd->cmd->name, arg);
    }
    if (v < num_bounds[id].min || v > num_bounds[id].max) {
        return apr_psprintf(
            cmd->pool, "%s: %s is out of range: use %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
            cmd->cmd->name, arg, (apr_int64_t)num_bounds[id].min, (apr_int64_t)num_bounds[id].max);
    }
    c->num[id] = v;
    return NULL;
}

static const char *set_keyword(cmd_parms *cmd, srv_cfg *c, int id, const char *arg)
{
    static const char *const *const tables[] = {
        [CMD_CLIENT_AUTH_METHOD] = auth_methods,
        [CMD_SESSION_STORE] = session_stores,
        [CMD_EXPIRY_ACTION] = expiry_actions,
        [CMD_COOKIE_SAMESITE] = samesite_values,
        [CMD_PROFILE] = profiles,
    };
    int v = keyword_index(tables[id], arg);

    if (v < 0) {
        return keyword_error(cmd, tables[id], arg);
    }
    /* Named in the interface but not offered by this version: say so instead of ignoring. */
    if ((id == CMD_CLIENT_AUTH_METHOD && v == 2) || (id == CMD_SESSION_STORE && v == 1)
        || (id == CMD_EXPIRY_ACTION && v == 1)) {
        return apr_psprintf(cmd->pool,
                            "%s %s is not supported by this version of "
                            "mod_auth_ipsie",
                            cmd->cmd->name, arg);
    }
    c->keyword[id] = v;
    return NULL;
}

/* What any location of the configuration asks for, which the whole server must honour:
 * every claim prefix is stripped from incoming requests everywhere, and access tokens are
 * kept in sessions only when some location passes them on. Reset with each reading. */
static apr_array_header_t *claim_prefixes;
static int access_token_wanted;

const apr_array_header_t *auth_ipsie_claim_prefixes(void)
{
    return claim_prefixes;
}

int auth_ipsie_access_token_wanted(void)
{
    return access_token_wanted;
}

int auth_ipsie_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    claim_prefixes = NULL;
    access_token_wanted = 0;
    return OK;
}

/* Headers that a claim prefix must not cover: it is stripped from every incoming request,
 * and these are the module's own or ones that clients and proxies need. */
static const char *prefix_covers_known_header(const char *prefix)
{
    static const char *const known[] = {"IPSIE-Session-Expiry",
                                        "IPSIE-Session-Remaining",
                                        "IPSIE-Access-Token",
                                        "Accept",
                                        "Accept-Encoding",
                                        "Accept-Language",
                                        "Authorization",
                                        "Cache-Control",
                                        "Connection",
                                        "Content-Length",
                                        "Content-Type",
                                        "Cookie",
                                        "Expect",
                                        "Forwarded",
                                        "Host",
                                        "If-Modified-Since",
                                        "If-None-Match",
                                        "Origin",
                                        "Pragma",
                                        "Range",
                                        "Referer",
                                        "Sec-Fetch-Mode",
                                        "TE",
                                        "Transfer-Encoding",
                                        "Upgrade",
                                        "User-Agent",
                                        "Via",
                                        "X-Forwarded-For",
                                        "X-Forwarded-Host",
                                        "X-Forwarded-Proto",
                                        "X-Real-IP",
                                        "X-Requested-With",
                                        NULL};
    int i;

    /* The very test the stripping applies to incoming header names. */
    for (i = 0; known[i] != NULL; i++) {
        if (ipsie_name_has_prefix_loose(known[i], prefix)) {
            return known[i];
        }
    }
    return NULL;
}

static const char *set_dir(cmd_parms *cmd, dir_cfg *d, int id, const char *arg)
{
    const char *covered;
    int v;

    switch (id) {
    case CMD_UNAUTH_ACTION:
        v = keyword_index(unauth_actions, arg);
        if (v < 0) {
            return keyword_error(cmd, unauth_actions, arg);
        }
        d->unauth_action = v;
        return NULL;
    case CMD_PASS_CLAIMS_AS:
        v = keyword_index(pass_as_values, arg);
        if (v < 0) {
            return keyword_error(cmd, pass_as_values, arg);
        }
        d->pass_claims_as = v; /* none=0, headers=1, environment=2, both=3: the bit set */
        return NULL;
    case CMD_CLAIM_PREFIX:
        if (*arg == '\0'
            || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789-_")
                   != strlen(arg)) {
            return apr_psprintf(cmd->pool, "%s: '%s' must be letters, digits, '-' or '_'",
                                cmd->cmd->name, arg);
        }
        covered = prefix_covers_known_header(arg);
        if (covered != NULL) {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' would also strip the %s header from every "
                                "request (prefixes are removed from incoming requests): choose "
                                "a longer, distinct prefix such as X-Remote-",
                                cmd->cmd->name, arg, covered);
        }
        d->claim_prefix = arg;
        if (claim_prefixes == NULL) {
            claim_prefixes = apr_array_make(cmd->pool, 2, sizeof(const char *));
        }
        APR_ARRAY_PUSH(claim_prefixes, const char *) = arg;
        return NULL;
    case CMD_REMOTE_USER_CLAIM:
        d->remote_user_claim = arg;
        return NULL;
    default:
        return "unknown directive";
    }
}

const char *auth_ipsie_cmd_take1(cmd_parms *cmd, void *dcfg, const char *arg)
{
    srv_cfg *c = ap_get_module_config(cmd->server->module_config, &auth_ipsie_module);
    int id = (int)(apr_uintptr_t)cmd->info;

    if (id >= CMD_UNAUTH_ACTION) {
        return set_dir(cmd, dcfg, id, arg);
    }
    c->configured = 1;
    if (id <= CMD_CLIENT_SIGNING_KEY) {
        if (*arg == '\0') {
            return apr_psprintf(cmd->pool, "%s must not be empty", cmd->cmd->name);
        }
        c->str[id] = arg;
        return NULL;
    }
    if (id <= CMD_STATE_MAX_COOKIES) {
        return set_number(cmd, c, id, arg);
    }
    return set_keyword(cmd, c, id, arg);
}

const char *auth_ipsie_cmd_flag(cmd_parms *cmd, void *dcfg, int on)
{
    srv_cfg *c = ap_get_module_config(cmd->server->module_config, &auth_ipsie_module);
    int id = (int)(apr_uintptr_t)cmd->info;

    if (id == CMD_PASS_ACCESS_TOKEN) {
        ((dir_cfg *)dcfg)->pass_access_token = on;
        access_token_wanted |= on;
        return NULL;
    }
    c->configured = 1;
    c->flag[id] = on;
    return NULL;
}

const char *auth_ipsie_cmd_list(cmd_parms *cmd, void *dcfg, const char *arg)
{
    srv_cfg *c = ap_get_module_config(cmd->server->module_config, &auth_ipsie_module);
    int id = (int)(apr_uintptr_t)cmd->info;
    int alg;

    c->configured = 1;
    if (id == CMD_SIGNING_ALGS) {
        alg = keyword_index(signing_algs, arg);
        if (alg < 0) {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' is not an accepted signing algorithm "
                                "(none and HMAC algorithms are never accepted)",
                                cmd->cmd->name, arg);
        }
        if (c->signing_algs == NULL) {
            c->signing_algs = apr_array_make(cmd->pool, 4, sizeof(const char *));
        }
        APR_ARRAY_PUSH(c->signing_algs, const char *) = signing_algs[alg];
        return NULL;
    }
    if (strlen(arg) < MIN_PASSPHRASE_LEN) {
        return apr_psprintf(cmd->pool,
                            "IPSIECryptoPassphrase: each passphrase must be at least "
                            "%d characters long (one given has %d); use a long random value, "
                            "e.g. from 'openssl rand -base64 48'",
                            MIN_PASSPHRASE_LEN, (int)strlen(arg));
    }
    if (c->passphrases == NULL) {
        c->passphrases = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->passphrases, const char *) = arg;
    return NULL;
}

static long long num_or(const srv_cfg *c, int id, long long dflt)
{
    return c->num[id] != UNSET_NUM ? c->num[id] : dflt;
}

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
        "response_type", "client_id",      "redirect_uri",          "scope",  "state",
        "nonce",         "code_challenge", "code_challenge_method", "prompt", "max_age",
        "request",       "request_uri",    "response_mode",         NULL};
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

/* Resolve one server's raw record into settings, or say what to fix. */
static const char *resolve(auth_ipsie_settings_t **out, const srv_cfg *c, apr_pool_t *p)
{
    auth_ipsie_settings_t *st = apr_pcalloc(p, sizeof(*st));
    const char *err;
    size_t i;

    *out = NULL;
    if (c->str[CMD_METADATA_URL] == NULL) {
        return "IPSIEProviderMetadataURL is missing: set it to the OpenID Provider's discovery "
               "document, e.g. https://op.example/.well-known/openid-configuration";
    }
    if (strncasecmp(c->str[CMD_METADATA_URL], "https://", 8) != 0
        && strncasecmp(c->str[CMD_METADATA_URL], "http://", 7) != 0) {
        return "IPSIEProviderMetadataURL must be an http(s) URL";
    }
    if (c->str[CMD_CLIENT_ID] == NULL) {
        return "IPSIEClientID is missing: set it to the client_id registered at the OpenID "
               "Provider";
    }
    if (c->str[CMD_CLIENT_SECRET] == NULL) {
        return "IPSIEClientSecret is missing: set it to the client secret registered at the "
               "OpenID Provider";
    }
    if (c->str[CMD_REDIRECT_URI] == NULL) {
        return "IPSIERedirectURI is missing: set it to a URL inside a location protected with "
               "'AuthType ipsie', registered at the OpenID Provider";
    }
    if (c->passphrases == NULL) {
        return "IPSIECryptoPassphrase is missing: set it to a random value of at least 32 "
               "characters";
    }
    err = parse_redirect_uri(st, c->str[CMD_REDIRECT_URI], p);
    if (err != NULL) {
        return err;
    }
    st->metadata_url = c->str[CMD_METADATA_URL];
    st->issuer = ipsie_provider_issuer_from_url(st->metadata_url, p);
    st->client.client_id = c->str[CMD_CLIENT_ID];
    st->client.client_secret = c->str[CMD_CLIENT_SECRET];
    st->client.auth_method = c->keyword[CMD_CLIENT_AUTH_METHOD] != UNSET_INT
                                 ? (ipsie_client_auth_e)c->keyword[CMD_CLIENT_AUTH_METHOD]
                                 : IPSIE_AUTH_CLIENT_SECRET_BASIC;
    st->redirect_uri = c->str[CMD_REDIRECT_URI];
    st->scope = c->str[CMD_SCOPE] ? c->str[CMD_SCOPE] : "openid";
    if (strcmp(st->scope, "openid") != 0 && strncmp(st->scope, "openid ", 7) != 0
        && strstr(st->scope, " openid") == NULL) {
        return "IPSIEScope must include 'openid'";
    }
    st->auth_request_params = c->str[CMD_AUTH_REQUEST_PARAMS];
    if (st->auth_request_params != NULL) {
        err = check_auth_request_params(st->auth_request_params, p);
        if (err != NULL) {
            return err;
        }
    }
    st->max_age = num_or(c, CMD_MAX_AGE, -1);
    if (c->signing_algs != NULL) {
        st->signing_algs = c->signing_algs;
    }
    else {
        st->signing_algs = apr_array_make(p, 4, sizeof(const char *));
        for (i = 0; signing_algs[i] != NULL; i++) {
            APR_ARRAY_PUSH(st->signing_algs, const char *) = signing_algs[i];
        }
    }
    st->clock_skew = (long)num_or(c, CMD_CLOCK_SKEW, 60);
    st->http.timeout = (long)num_or(c, CMD_PROVIDER_TIMEOUT, 10);
    st->http.ca_file = c->str[CMD_CA_CERTIFICATE];
    st->provider_cache_max_age = (long)num_or(c, CMD_PROVIDER_CACHE_MAX_AGE, 3600);
    st->policy.leeway = num_or(c, CMD_EXPIRY_LEEWAY, 30);
    st->policy.max_duration = num_or(c, CMD_MAX_DURATION, 28800);
    st->policy.inactivity_timeout = num_or(c, CMD_INACTIVITY_TIMEOUT, 3600);
    st->policy.require_session_expiry =
        c->flag[CMD_REQUIRE_SESSION_EXPIRY] != UNSET_INT ? c->flag[CMD_REQUIRE_SESSION_EXPIRY] : 0;
    st->cookie_name = c->str[CMD_COOKIE_NAME] ? c->str[CMD_COOKIE_NAME] : "ipsie_session";
    if (strspn(st->cookie_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_")
            != strlen(st->cookie_name)
        || strncasecmp(st->cookie_name, IPSIE_STATE_COOKIE_PREFIX,
                       sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1)
               == 0) {
        return "IPSIECookieName must be letters, digits, '-' or '_' and not start with "
               "'ipsie_state_'";
    }
    st->cookie_domain = c->str[CMD_COOKIE_DOMAIN];
    st->cookie_path = c->str[CMD_COOKIE_PATH] ? c->str[CMD_COOKIE_PATH] : "/";
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
    st->cookie_samesite = samesite_values[c->keyword[CMD_COOKIE_SAMESITE] != UNSET_INT
                                              ? c->keyword[CMD_COOKIE_SAMESITE]
                                              : 0];
    /* Browsers drop SameSite=None cookies that are not Secure, and Secure needs https. */
    if (strcmp(st->cookie_samesite, "None") == 0
        && (st->redirect_origin == NULL || strncasecmp(st->redirect_origin, "https://", 8) != 0)) {
        return "IPSIECookieSameSite None needs an absolute https IPSIERedirectURI: browsers drop "
               "SameSite=None cookies that are not Secure";
    }
    st->cookie_persistent =
        c->flag[CMD_COOKIE_PERSISTENT] != UNSET_INT ? c->flag[CMD_COOKIE_PERSISTENT] : 0;
    st->cookie_chunk_size = (apr_size_t)num_or(c, CMD_COOKIE_CHUNK_SIZE, 4000);
    st->state_timeout = (long)num_or(c, CMD_STATE_TIMEOUT, 300);
    st->state_max_cookies = (int)num_or(c, CMD_STATE_MAX_COOKIES, 7);
    st->post_logout_redirect_uri = c->str[CMD_POST_LOGOUT_REDIRECT_URI];
    err = check_post_logout_redirect_uri(st, p);
    if (err != NULL) {
        return err;
    }
    st->profile_sl1 = c->keyword[CMD_PROFILE] == 1;
    if (c->str[CMD_SESSION_CACHE] != NULL) {
        return "IPSIESessionCache is not supported by this version of mod_auth_ipsie "
               "(sessions are kept in encrypted cookies)";
    }
    if (c->str[CMD_CLIENT_SIGNING_KEY] != NULL) {
        return "IPSIEClientSigningKey is not supported by this version of mod_auth_ipsie";
    }
    st->login.client_id = st->client.client_id;
    st->login.signing_algs = st->signing_algs;
    st->login.aud_single_string = st->profile_sl1;
    st->login.clock_skew = st->clock_skew;
    st->login.max_age = st->max_age;
    st->login.session = st->policy;
    /* Only what some location uses is kept: the session travels with every request. */
    st->login.keep_access_token = access_token_wanted;
    st->store = &auth_ipsie_cookie_store;
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
        const core_dir_config *entry = ap_get_core_module_config(sections[i]);
        int match;

        if (entry->r != NULL) {
            match = ap_regexec(entry->r, path, 0, NULL, 0) == 0;
        }
        else if (entry->d_is_fnmatch) {
            match = apr_fnmatch(entry->d, path, APR_FNM_PATHNAME) == APR_SUCCESS;
        }
        else {
            size_t len = strlen(entry->d);
            match =
                strncmp(entry->d, path, len) == 0
                && (len == 0 || entry->d[len - 1] == '/' || path[len] == '/' || path[len] == '\0');
        }
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

int auth_ipsie_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;

    for (sp = s; sp != NULL; sp = sp->next) {
        const srv_cfg *c = ap_get_module_config(sp->module_config, &auth_ipsie_module);
        auth_ipsie_settings_t *st;
        const char *err;

        if (!c->configured) {
            continue;
        }
        err = resolve(&st, c, ptemp);
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp, "IPSIE10001: configuration of %s:%u: %s",
                         sp->server_hostname ? sp->server_hostname : "(default)",
                         (unsigned)sp->port, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!redirect_path_protected(sp, st->redirect_path, ptemp)) {
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
 * half to serve everything else, however many virtual hosts or processes there are. */
static apr_status_t provider_gate(ipsie_gate_t **out, apr_pool_t *pconf)
{
    int daemons = 1;
    int threads = 1;
    int leases;
    apr_shm_t *shm;
    apr_status_t rv;

    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS || daemons < 1) {
        daemons = 1;
    }
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    leases = daemons * threads / 2 > 0 ? daemons * threads / 2 : 1;
    /* Anonymous: made by the parent before the children are forked, inherited by them. */
    rv = apr_shm_create(&shm, ipsie_gate_size(leases), NULL, pconf);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    memset(apr_shm_baseaddr_get(shm), 0, ipsie_gate_size(leases));
    *out = ipsie_gate_attach(apr_shm_baseaddr_get(shm), leases, pconf);
    return APR_SUCCESS;
}

int auth_ipsie_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;
    ipsie_gate_t *gate = NULL;
    apr_status_t rv;

    ipsie_log_set_sink(log_sink, log_is_level, s);
    rv = ipsie_http_global_init();
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "IPSIE10002: libcurl initialisation failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = provider_gate(&gate, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "IPSIE10006: cannot create the shared memory that bounds waits for the "
                     "provider");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (sp = s; sp != NULL; sp = sp->next) {
        srv_cfg *c = ap_get_module_config(sp->module_config, &auth_ipsie_module);
        const char *err;

        if (!c->configured) {
            continue;
        }
        err = resolve(&c->settings, c, pconf);
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sp, "IPSIE10005: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv = ipsie_crypto_create(&c->settings->crypto, c->passphrases, pconf);
        if (rv == APR_SUCCESS) {
            rv = ipsie_provider_cache_create(&c->settings->provider, c->settings->metadata_url,
                                             c->settings->provider_cache_max_age,
                                             &c->settings->http, pconf);
        }
        if (rv == APR_SUCCESS) {
            ipsie_provider_cache_set_gate(c->settings->provider, gate);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, sp,
                         "IPSIE10003: cannot set up keys or provider cache");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

const auth_ipsie_settings_t *auth_ipsie_settings(const server_rec *s)
{
    const srv_cfg *c = ap_get_module_config(s->module_config, &auth_ipsie_module);

    return c->settings;
}

void auth_ipsie_dir_settings(auth_ipsie_dir_settings_t *out, const request_rec *r)
{
    const dir_cfg *d = ap_get_module_config(r->per_dir_config, &auth_ipsie_module);

    out->unauth_action =
        d->unauth_action != UNSET_INT ? (auth_ipsie_unauth_e)d->unauth_action : UNAUTH_AUTH;
    out->pass_claims_as =
        d->pass_claims_as != UNSET_INT ? d->pass_claims_as : (PASS_HEADERS | PASS_ENVIRONMENT);
    out->claim_prefix = d->claim_prefix ? d->claim_prefix : "IPSIE-Claim-";
    out->remote_user_claim = d->remote_user_claim ? d->remote_user_claim : "sub";
    out->pass_access_token = d->pass_access_token != UNSET_INT ? d->pass_access_token : 0;
}
