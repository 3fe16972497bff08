/* The authentication hook: find the request's session, enforce the ceiling and the idle
 * timeout on every request, and send whoever has no valid session to log in. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_pkce.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

/* What the module remembers about one request. */
typedef struct {
    apr_table_t *cookies;
    const ipsie_session_t *session;
    int redirect_uri_handled; /* the authn hook served the redirect URI */
} req_state_t;

static req_state_t *req_state(const request_rec *r)
{
    req_state_t *st = ap_get_module_config(r->request_config, &auth_ipsie_module);

    if (st == NULL) {
        st = apr_pcalloc(r->pool, sizeof(*st));
        ap_set_module_config(r->request_config, &auth_ipsie_module, st);
    }
    return st;
}

apr_table_t *auth_ipsie_cookies(request_rec *r)
{
    req_state_t *st = req_state(r);

    if (st->cookies == NULL) {
        st->cookies = ipsie_cookie_parse(apr_table_get(r->headers_in, "Cookie"), r->pool);
    }
    return st->cookies;
}

const ipsie_session_t *auth_ipsie_request_session(const request_rec *r)
{
    /* Subrequests and internal redirects share the session their first request found. */
    for (; r != NULL; r = r->main != NULL ? r->main : r->prev) {
        const req_state_t *st = ap_get_module_config(r->request_config, &auth_ipsie_module);
        if (st != NULL && st->session != NULL) {
            return st->session;
        }
    }
    return NULL;
}

int auth_ipsie_is_token_text(const char *s, apr_size_t max)
{
    apr_size_t n = strlen(s);

    return n > 0 && n <= max
           && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

const char *auth_ipsie_origin(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return cfg->redirect_origin ? cfg->redirect_origin : ap_construct_url(r->pool, "", r);
}

static int is_https(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    const char *origin = auth_ipsie_origin(r, cfg);

    return strncasecmp(origin, "https:", 6) == 0;
}

void auth_ipsie_set_cookie(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name,
                           const char *value, long max_age, long long expires)
{
    const char *lifetime = "";
    const char *samesite = cfg->cookie_samesite;

    if (max_age == 0) {
        lifetime = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    }
    else if (max_age > 0) {
        lifetime = apr_psprintf(r->pool, "; Max-Age=%ld", max_age);
    }
    else if (expires > 0) {
        char date[APR_RFC822_DATE_LEN];
        apr_rfc822_date(date, apr_time_from_sec(expires));
        lifetime = apr_pstrcat(r->pool, "; Expires=", date, NULL);
    }
    /* State cookies must survive the cross-site return from the provider. */
    if (strncmp(name, IPSIE_STATE_COOKIE_PREFIX, sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1) == 0
        && strcmp(samesite, "Strict") == 0) {
        samesite = "Lax";
    }
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_pstrcat(r->pool, name, "=", value, "; Path=", cfg->cookie_path,
                               cfg->cookie_domain ? "; Domain=" : "",
                               cfg->cookie_domain ? cfg->cookie_domain : "", "; HttpOnly",
                               is_https(r, cfg) ? "; Secure" : "", "; SameSite=", samesite,
                               lifetime, NULL));
}

/* Name of the i-th chunk cookie of the session. */
static const char *chunk_name(request_rec *r, const auth_ipsie_settings_t *cfg, int i)
{
    return apr_psprintf(r->pool, "%s_%d", cfg->cookie_name, i);
}

/* Clear the chunk cookies from first on that the request carried. */
static void clear_chunks_from(request_rec *r, const auth_ipsie_settings_t *cfg, int first)
{
    apr_table_t *cookies = auth_ipsie_cookies(r);
    int i;

    for (i = first; i < IPSIE_COOKIE_MAX_CHUNKS; i++) {
        const char *name = chunk_name(r, cfg, i);
        if (apr_table_get(cookies, name) == NULL) {
            break;
        }
        auth_ipsie_set_cookie(r, cfg, name, "", 0, 0);
    }
}

void auth_ipsie_session_clear(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    apr_table_t *cookies = auth_ipsie_cookies(r);
    const char *count_name = apr_pstrcat(r->pool, cfg->cookie_name, "_chunks", NULL);

    if (apr_table_get(cookies, cfg->cookie_name) != NULL) {
        auth_ipsie_set_cookie(r, cfg, cfg->cookie_name, "", 0, 0);
    }
    if (apr_table_get(cookies, count_name) != NULL) {
        auth_ipsie_set_cookie(r, cfg, count_name, "", 0, 0);
    }
    clear_chunks_from(r, cfg, 0);
    req_state(r)->session = NULL;
}

apr_size_t auth_ipsie_session_room(const request_rec *r, const auth_ipsie_settings_t *cfg)
{
    apr_size_t limit = (apr_size_t)r->server->limit_req_fieldsize;
    apr_size_t taken = sizeof("Cookie: ") - 1 + ipsie_login_state_budget(cfg->state_max_cookies)
                       + IPSIE_COOKIE_ROOM_FOR_SITE + 2;

    return limit > taken ? limit - taken : 0;
}

apr_status_t auth_ipsie_session_save(request_rec *r, const auth_ipsie_settings_t *cfg,
                                     const ipsie_session_t *s)
{
    apr_table_t *cookies = auth_ipsie_cookies(r);
    const char *count_name = apr_pstrcat(r->pool, cfg->cookie_name, "_chunks", NULL);
    unsigned char *plain;
    apr_size_t len;
    char *sealed;
    apr_array_header_t *pieces;
    long long expires = cfg->cookie_persistent ? s->ceiling : 0;
    apr_size_t size;
    apr_size_t room;
    apr_status_t rv;
    int i;

    rv = ipsie_session_encode(&plain, &len, s, r->pool);
    if (rv == APR_SUCCESS) {
        rv = ipsie_crypto_seal(&sealed, cfg->crypto, cfg->cookie_name, plain, len, r->pool);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* NULL when even IPSIE_COOKIE_MAX_CHUNKS chunks cannot hold it. */
    pieces = ipsie_cookie_split(cfg->cookie_name, sealed, cfg->cookie_chunk_size, r->pool);
    if (pieces == NULL) {
        return IPSIE_ERR_TOO_LARGE;
    }
    /* A Cookie header over the server's limit would lock the browser out of the whole site:
     * the session leaves room for every login state and for the site's own cookies. */
    size = ipsie_cookie_split_size(cfg->cookie_name, pieces);
    room = auth_ipsie_session_room(r, cfg);
    if (size > room) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11009: the session takes %" APR_SIZE_T_FMT
                      " bytes of cookies, more than the %" APR_SIZE_T_FMT
                      " this server leaves it (LimitRequestFieldSize %d, less %" APR_SIZE_T_FMT
                      " for login states and %d for the site's own cookies): raise "
                      "LimitRequestFieldSize or ask the provider for fewer claims",
                      size, room, r->server->limit_req_fieldsize,
                      ipsie_login_state_budget(cfg->state_max_cookies), IPSIE_COOKIE_ROOM_FOR_SITE);
        return IPSIE_ERR_TOO_LARGE;
    }
    if (pieces->nelts == 1) {
        auth_ipsie_set_cookie(r, cfg, cfg->cookie_name, sealed, -1, expires);
        if (apr_table_get(cookies, count_name) != NULL) {
            auth_ipsie_set_cookie(r, cfg, count_name, "", 0, 0);
        }
        clear_chunks_from(r, cfg, 0);
        return APR_SUCCESS;
    }
    auth_ipsie_set_cookie(r, cfg, count_name, apr_itoa(r->pool, pieces->nelts), -1, expires);
    for (i = 0; i < pieces->nelts; i++) {
        auth_ipsie_set_cookie(r, cfg, chunk_name(r, cfg, i), APR_ARRAY_IDX(pieces, i, const char *),
                              -1, expires);
    }
    if (apr_table_get(cookies, cfg->cookie_name) != NULL) {
        auth_ipsie_set_cookie(r, cfg, cfg->cookie_name, "", 0, 0);
    }
    clear_chunks_from(r, cfg, pieces->nelts);
    return APR_SUCCESS;
}

ipsie_session_t *auth_ipsie_session_load(request_rec *r, const auth_ipsie_settings_t *cfg,
                                         int *had_cookie)
{
    const char *sealed;
    unsigned char *plain;
    apr_size_t len;
    ipsie_session_t *s = NULL;

    /* The common case, one unchunked cookie, is found without parsing every cookie. */
    sealed = ipsie_cookie_find(apr_table_get(r->headers_in, "Cookie"), cfg->cookie_name, r->pool);
    *had_cookie = sealed != NULL;
    if (sealed == NULL) {
        apr_table_t *cookies = auth_ipsie_cookies(r);
        sealed = ipsie_cookie_join(cookies, cfg->cookie_name, r->pool);
        *had_cookie =
            sealed != NULL
            || apr_table_get(cookies, apr_pstrcat(r->pool, cfg->cookie_name, "_chunks", NULL))
                   != NULL;
    }
    if (sealed == NULL || *sealed == '\0') {
        return NULL;
    }
    if (ipsie_crypto_open(&plain, &len, cfg->crypto, cfg->cookie_name, sealed, strlen(sealed),
                          r->pool)
            != APR_SUCCESS
        || ipsie_session_decode(&s, plain, len, r->pool) != APR_SUCCESS) {
        return NULL;
    }
    /* A session made for another provider or another client is no session here. */
    if (strcmp(s->iss, cfg->issuer) != 0
        || !ipsie_session_claim_holds(s, "aud", cfg->client.client_id, r->pool)) {
        return NULL;
    }
    return s;
}

int auth_ipsie_send(request_rec *r, int status, const char *content_type, const char *body)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_size_t len = strlen(body);

    r->status = status;
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(body, len, bb->bucket_alloc));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    if (ap_pass_brigade(r->output_filters, bb) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "IPSIE11006: client went away");
    }
    return DONE;
}

int auth_ipsie_error_page_again(request_rec *r, int status, const char *title, const char *message,
                                const char *again)
{
    const char *t = ap_escape_html(r->pool, title);
    const char *link = again != NULL
                           ? apr_pstrcat(r->pool, "\n<p><a href=\"", ap_escape_html(r->pool, again),
                                         "\">Try again</a></p>", NULL)
                           : "";

    return auth_ipsie_send(
        r, status, "text/html; charset=utf-8",
        apr_pstrcat(r->pool, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", t,
                    "</title></head>\n<body><h1>", t, "</h1>\n<p>",
                    ap_escape_html(r->pool, message), "</p>", link, "</body></html>\n", NULL));
}

int auth_ipsie_error_page(request_rec *r, int status, const char *title, const char *message)
{
    return auth_ipsie_error_page_again(r, status, title, message, NULL);
}

long long auth_ipsie_now(void)
{
    return apr_time_sec(apr_time_now());
}

apr_time_t auth_ipsie_provider_deadline(const request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return r->request_time + apr_time_from_sec(cfg->http.timeout + 1);
}

int auth_ipsie_unavailable_page(request_rec *r, long retry_after, const char *again)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_ltoa(r->pool, retry_after > 0 ? retry_after : 5));
    return auth_ipsie_error_page_again(r, HTTP_SERVICE_UNAVAILABLE, "Sign-in busy",
                                       "Signing in cannot be completed right now. Please try "
                                       "again in a few seconds.",
                                       again);
}

int auth_ipsie_send_json_error(request_rec *r, int status, const char *error)
{
    return auth_ipsie_send(r, status, "application/json",
                           apr_psprintf(r->pool, "{\"error\":\"%s\"}\n", error));
}

/* An API or script client cannot follow a login page: XHR, fetch without navigation, or an
 * Accept header that admits no HTML. */
static int is_browser(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (xrw != NULL && strcasecmp(xrw, "XMLHttpRequest") == 0) {
        return 0;
    }
    if (mode != NULL && strcasecmp(mode, "navigate") != 0) {
        return 0;
    }
    if (accept != NULL && ap_strcasestr(accept, "text/html") == NULL
        && strstr(accept, "*/*") == NULL) {
        return 0;
    }
    return 1;
}

/* The path of the current request, to come back to after login; "/" for the rare request
 * line that names no path ("*", an absolute-form URL). */
static const char *current_path(request_rec *r)
{
    return r->unparsed_uri != NULL && r->unparsed_uri[0] == '/' ? r->unparsed_uri : "/";
}

const char *auth_ipsie_redirect_uri_abs(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return cfg->redirect_origin
               ? cfg->redirect_uri
               : apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), cfg->redirect_path, NULL);
}

int auth_ipsie_start_login(request_rec *r, const auth_ipsie_settings_t *cfg,
                           const char *return_path, int prompt_login, const char *login_hint)
{
    const ipsie_provider_t *op;
    ipsie_login_state_t *st;
    apr_array_header_t *clear;
    char *sealed;
    const char *url;
    long long now = apr_time_sec(r->request_time);
    apr_status_t rv;
    int slot;
    int i;

    rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                       auth_ipsie_provider_deadline(r, cfg));
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE11001: cannot start a login: provider metadata unavailable from %s",
                      cfg->metadata_url);
        if (rv == IPSIE_ERR_BUSY) {
            return auth_ipsie_unavailable_page(r, 0, NULL);
        }
        return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                     "The identity provider cannot be reached right now. "
                                     "Please try again in a moment.");
    }
    rv = ipsie_login_state_choose(&slot, &clear, auth_ipsie_cookies(r), cfg->crypto,
                                  cfg->state_max_cookies, cfg->state_timeout, now, r->pool);
    for (i = 0; rv == APR_SUCCESS && i < clear->nelts; i++) {
        const char *name = APR_ARRAY_IDX(clear, i, const char *);
        /* Names come from the request: echo only those a state of ours could have. */
        if (auth_ipsie_is_token_text(name + sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1,
                                     AUTH_IPSIE_STATE_MAX_LEN)) {
            auth_ipsie_set_cookie(r, cfg, name, "", 0, 0);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = ipsie_login_state_new(&st, slot, cfg->state_max_cookies, return_path, prompt_login,
                                   now, r->pool);
    }
    if (rv == APR_SUCCESS) {
        rv = ipsie_login_state_seal(&sealed, st, cfg->crypto, r->pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE11002: cannot create login state");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    auth_ipsie_set_cookie(r, cfg, ipsie_login_state_cookie_name(st->slot, r->pool), sealed,
                          cfg->state_timeout, 0);
    url = apr_pstrcat(
        r->pool, op->authorization_endpoint, strchr(op->authorization_endpoint, '?') ? "&" : "?",
        "response_type=code&client_id=", ipsie_url_encode(cfg->client.client_id, r->pool),
        "&redirect_uri=", ipsie_url_encode(auth_ipsie_redirect_uri_abs(r, cfg), r->pool),
        "&scope=", ipsie_url_encode(cfg->scope, r->pool), "&state=", st->state,
        "&nonce=", st->nonce,
        "&code_challenge=", ipsie_pkce_challenge_s256(st->code_verifier, r->pool),
        "&code_challenge_method=S256", prompt_login ? "&prompt=login" : "",
        cfg->max_age >= 0
            ? apr_psprintf(r->pool, "&max_age=%" APR_INT64_T_FMT, (apr_int64_t)cfg->max_age)
            : "",
        login_hint ? "&login_hint=" : "", login_hint ? ipsie_url_encode(login_hint, r->pool) : "",
        cfg->auth_request_params ? "&" : "",
        cfg->auth_request_params ? cfg->auth_request_params : "", NULL);
    apr_table_setn(r->headers_out, "Location", url);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

/* Answer a request that needs a login: redirect to the OP (browser) or a JSON error. */
static int unauthenticated(request_rec *r, const auth_ipsie_settings_t *cfg,
                           const auth_ipsie_dir_settings_t *dir, const char *error,
                           int prompt_login)
{
    switch (dir->unauth_action) {
    case UNAUTH_PASS:
        /* Let the request through with no identity; Require rules still apply. */
        r->user = "";
        return OK;
    case UNAUTH_401:
        return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, error);
    case UNAUTH_403:
        return auth_ipsie_send_json_error(r, HTTP_FORBIDDEN, error);
    case UNAUTH_AUTH:
    default:
        if (!is_browser(r)) {
            return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, error);
        }
        return auth_ipsie_start_login(r, cfg, current_path(r), prompt_login, NULL);
    }
}

void auth_ipsie_session_end(request_rec *r, const auth_ipsie_settings_t *cfg,
                            const ipsie_session_t *s, const char *reason)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "IPSIE11003: session ended: reason=%s sub=%s sid=%s ceiling=%" APR_INT64_T_FMT,
                  reason, ipsie_log_safe(s ? s->sub : NULL, r->pool),
                  ipsie_log_safe(s ? s->sid : NULL, r->pool), (apr_int64_t)(s ? s->ceiling : 0));
    auth_ipsie_session_clear(r, cfg);
}

ipsie_session_t *auth_ipsie_session_valid(request_rec *r, const auth_ipsie_settings_t *cfg,
                                          long long now, const char **error)
{
    int had_cookie;
    ipsie_session_t *s = auth_ipsie_session_load(r, cfg, &had_cookie);

    if (s == NULL) {
        if (had_cookie) {
            auth_ipsie_session_end(r, cfg, NULL, "invalid");
        }
        *error = "login_required";
        return NULL;
    }
    switch (ipsie_session_check(s, &cfg->policy, now)) {
    case IPSIE_SESSION_CEILING:
        auth_ipsie_session_end(r, cfg, s, "ceiling");
        *error = "session_expired";
        return NULL;
    case IPSIE_SESSION_IDLE:
        auth_ipsie_session_end(r, cfg, s, "idle");
        *error = "session_idle";
        return NULL;
    case IPSIE_SESSION_VALID:
    default:
        *error = NULL;
        return s;
    }
}

const char *auth_ipsie_remote_user(request_rec *r, const ipsie_session_t *s, const char *claim)
{
    static const char *const why[] = {
        [IPSIE_REMOTE_USER_MISSING] = "has no",
        [IPSIE_REMOTE_USER_NOT_STRING] = "has a non-string",
        [IPSIE_REMOTE_USER_CONTROL] = "has control characters in its",
    };
    const char *user;
    ipsie_remote_user_e state = ipsie_session_remote_user(&user, s, claim);

    if (state != IPSIE_REMOTE_USER_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11005: the session of sub=%s %s '%s' claim for REMOTE_USER",
                      ipsie_log_safe(s->sub, r->pool), why[state], ipsie_log_safe(claim, r->pool));
        return NULL;
    }
    return user;
}

/* Give r the identity of session s; denied is the answer when s names no user. */
static int adopt_session(request_rec *r, const auth_ipsie_dir_settings_t *dir,
                         const ipsie_session_t *s, long long now, int denied)
{
    const char *user = s ? auth_ipsie_remote_user(r, s, dir->remote_user_claim) : NULL;

    if (user == NULL) {
        return denied;
    }
    req_state(r)->session = s;
    r->user = apr_pstrdup(r->pool, user);
    r->ap_auth_type = AUTH_IPSIE_AUTH_TYPE;
    auth_ipsie_pass_identity(r, dir, s, now, 0);
    return OK;
}

/* A subrequest (mod_dir, mod_autoindex, SSI, MultiViews) shares its main request's
 * response: it may use a valid session but never answers, redirects or sets cookies. */
static int check_subrequest(request_rec *r, const auth_ipsie_settings_t *cfg,
                            const auth_ipsie_dir_settings_t *dir, long long now)
{
    const ipsie_session_t *s = auth_ipsie_request_session(r);
    int had_cookie;

    if (s == NULL) {
        ipsie_session_t *loaded = auth_ipsie_session_load(r, cfg, &had_cookie);
        if (loaded != NULL
            && ipsie_session_check(loaded, &cfg->policy, now) == IPSIE_SESSION_VALID) {
            s = loaded;
        }
    }
    return adopt_session(r, dir, s, now, HTTP_UNAUTHORIZED);
}

int auth_ipsie_check_user_id(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const auth_ipsie_settings_t *cfg;
    auth_ipsie_dir_settings_t dir;
    ipsie_session_t *s;
    const ipsie_session_t *earlier;
    const char *user;
    const char *error;
    long long now;

    if (type == NULL || strcasecmp(type, AUTH_IPSIE_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    cfg = auth_ipsie_settings(r->server);
    if (cfg == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE11004: AuthType ipsie is used, but this server has no "
                      "IPSIEProviderMetadataURL/IPSIEClientID configuration");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    auth_ipsie_dir_settings(&dir, r);
    now = apr_time_sec(r->request_time);
    if (r->main != NULL) {
        return check_subrequest(r, cfg, &dir, now);
    }
    /* After an internal redirect (ErrorDocument, a CGI's local Location, mod_rewrite) the
     * first request's session goes on; its cookies are no longer in the request. */
    earlier = r->prev != NULL ? auth_ipsie_request_session(r) : NULL;
    if (earlier != NULL) {
        return adopt_session(r, &dir, earlier, now, HTTP_FORBIDDEN);
    }
    if (strcmp(r->uri, cfg->redirect_path) == 0) {
        req_state(r)->redirect_uri_handled = 1;
        return auth_ipsie_redirect_uri_request(r, cfg);
    }
    s = auth_ipsie_session_valid(r, cfg, now, &error);
    if (s == NULL) {
        /* Only the ceiling asks the provider for a new sign-in rather than its session. */
        return unauthenticated(r, cfg, &dir, error, strcmp(error, "session_expired") == 0);
    }
    user = auth_ipsie_remote_user(r, s, dir.remote_user_claim);
    if (user == NULL) {
        return HTTP_FORBIDDEN;
    }
    /* Lazy write-back: most requests leave the cookie alone. */
    if (ipsie_session_needs_touch(s, &cfg->policy, now)) {
        s->last_activity = now;
        /* The new cookie rides on the application's response: keep it out of shared caches. */
        apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
        if (auth_ipsie_session_save(r, cfg, s) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE11007: cannot rewrite the session");
        }
    }
    req_state(r)->session = s;
    r->user = apr_pstrdup(r->pool, user);
    r->ap_auth_type = AUTH_IPSIE_AUTH_TYPE;
    auth_ipsie_pass_identity(r, &dir, s, now, 1);
    auth_ipsie_strip_own_cookies(r, cfg);
    return OK;
}

int auth_ipsie_fixups(request_rec *r)
{
    const auth_ipsie_settings_t *cfg = auth_ipsie_settings(r->server);

    if (cfg == NULL || r->main != NULL || strcmp(r->uri, cfg->redirect_path) != 0
        || req_state(r)->redirect_uri_handled) {
        return DECLINED;
    }
    /* The callback would reach a handler or a backend with the authorization code. */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "IPSIE11008: %s is IPSIERedirectURI but authentication did not run for it: "
                  "put it inside a <Location> with 'AuthType ipsie' and no AuthType or "
                  "Require override",
                  cfg->redirect_path);
    return auth_ipsie_error_page(r, HTTP_INTERNAL_SERVER_ERROR, "Misconfigured sign-in",
                                 "This site's sign-in address is not set up correctly.");
}

int auth_ipsie_note_auth_failure(request_rec *r, const char *auth_type)
{
    /* Our answers to unauthenticated requests are made in the authn hook itself. */
    return strcasecmp(auth_type, AUTH_IPSIE_AUTH_TYPE) == 0 ? OK : DECLINED;
}
