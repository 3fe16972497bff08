/* Requests on the redirect URI: the login callback, logout, session info and third-party
 * initiated login. Served from the authentication hook, so a proxied location never
 * forwards them. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_id_token.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define OP_ERROR_MAX_LEN 64

static int bad_request(request_rec *r, const char *message)
{
    return auth_ipsie_error_page(r, HTTP_BAD_REQUEST, "Sign-in failed", message);
}

static int bad_gateway(request_rec *r)
{
    return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                 "The identity provider could not complete the sign-in. "
                                 "Please try again in a moment.");
}

/* The provider or its keys cannot be had: 503 when asking again soon will do, else 502.
 * again: where a new sign-in starts (the login's return address), or NULL. */
static int provider_failure(request_rec *r, apr_status_t rv, long retry_after, const char *again)
{
    if (rv == IPSIE_ERR_BUSY || rv == IPSIE_ERR_THROTTLED) {
        return auth_ipsie_unavailable_page(r, retry_after, again);
    }
    return bad_gateway(r);
}

/* An OP error code, cut to what RFC 6749 allows in it, for pages and logs. */
static const char *op_error_text(request_rec *r, const char *error)
{
    char *text = apr_pstrndup(r->pool, error, OP_ERROR_MAX_LEN);
    char *c;

    for (c = text; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            *c = '?';
        }
    }
    return text;
}

static const char *session_expiry_message(apr_status_t rv)
{
    switch (rv) {
    case IPSIE_ERR_SESSION_EXPIRY_PAST:
        return "The identity provider's session has already expired. Please sign in again.";
    case IPSIE_ERR_SESSION_EXPIRY_MISSING:
        return "The identity provider did not say when its session expires (session_expiry), "
               "and this site requires it.";
    case IPSIE_ERR_SESSION_EXPIRY_INVALID:
        return "The identity provider's session_expiry value is not valid.";
    default:
        return "The identity provider's answer could not be used.";
    }
}

/* Why an ID token could not be accepted, beyond the token itself. */
typedef enum {
    KEYS_OK = 0,      /* the token was checked against the provider's keys */
    KEYS_UNAVAILABLE, /* the provider's keys cannot be had */
    KEYS_THROTTLED    /* new keys are needed but were fetched moments ago */
} keys_state_e;

/* Validate the ID token; when no key verifies it (an unknown kid, or a key rotated under the
 * same kid), once more with keys fetched again. */
static apr_status_t validate_id_token(json_t **claims, keys_state_e *keys, long *retry_after,
                                      request_rec *r, const auth_ipsie_settings_t *cfg,
                                      const char *id_token, const char *issuer, const char *nonce,
                                      long long now)
{
    const ipsie_jwks_t *jwks;
    const ipsie_jwks_t *fresh;
    ipsie_id_token_expect_t expect;
    apr_status_t rv;

    memset(&expect, 0, sizeof(expect));
    expect.issuer = issuer;
    expect.client_id = cfg->client.client_id;
    expect.nonce = nonce;
    expect.allowed_algs = cfg->signing_algs;
    expect.aud_single_string = cfg->profile_sl1;
    expect.clock_skew = cfg->clock_skew;
    expect.now = now;
    *keys = KEYS_OK;
    *retry_after = 0;
    rv = ipsie_provider_cache_jwks(&jwks, cfg->provider, auth_ipsie_now(),
                                   auth_ipsie_provider_deadline(r, cfg));
    if (rv != APR_SUCCESS) {
        *keys = KEYS_UNAVAILABLE;
        return rv;
    }
    rv = ipsie_id_token_validate(claims, id_token, jwks, &expect, r->pool);
    if (rv != IPSIE_ERR_JWT_KID && rv != IPSIE_ERR_JWT_SIGNATURE) {
        return rv;
    }
    rv = ipsie_provider_cache_jwks_refresh(&fresh, retry_after, cfg->provider, jwks,
                                           auth_ipsie_now(), auth_ipsie_provider_deadline(r, cfg));
    if (rv != APR_SUCCESS) {
        *keys = rv == IPSIE_ERR_THROTTLED ? KEYS_THROTTLED : KEYS_UNAVAILABLE;
        return rv;
    }
    return ipsie_id_token_validate(claims, id_token, fresh, &expect, r->pool);
}

/* OIDC Core 3.1.2.1 and 3.1.3.7: with max_age the sign-in must be that recent, and after
 * prompt=login (at the ceiling) it must be new, not the provider's old session. */
static int authenticated_recently(request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const ipsie_login_state_t *st, const json_t *claims,
                                  long long now)
{
    const json_t *auth_time = json_object_get(claims, "auth_time");
    long long t;

    if (cfg->max_age < 0 && !st->prompt_login) {
        return 1;
    }
    /* After prompt=login alone a provider that states no auth_time is taken at its word. */
    if (auth_time == NULL && cfg->max_age < 0) {
        return 1;
    }
    if (!json_is_integer(auth_time)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12013: login refused: the ID token has no integer auth_time, which "
                      "%s requires",
                      cfg->max_age >= 0 ? "IPSIEMaxAge" : "prompt=login");
        return 0;
    }
    t = (long long)json_integer_value(auth_time);
    if (cfg->max_age >= 0 && now - t > cfg->max_age + cfg->clock_skew) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12014: login refused: auth_time is older than IPSIEMaxAge");
        return 0;
    }
    if (st->prompt_login && t < st->created - cfg->clock_skew) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12015: login refused: prompt=login was asked but auth_time is "
                      "from before the request");
        return 0;
    }
    return 1;
}

static void log_login(request_rec *r, const auth_ipsie_settings_t *cfg, const ipsie_session_t *s)
{
    /* idp_session_expiry appears, in milliseconds, only when the IdP's value set the ceiling. */
    const char *idp = "";

    if (s->session_expiry > 0 && s->ceiling == s->session_expiry - cfg->policy.leeway) {
        idp = apr_psprintf(r->pool, " idp_session_expiry=%" APR_INT64_T_FMT "000",
                           (apr_int64_t)s->session_expiry);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "IPSIE12001: login sub=%s sid=%s%s ceiling=%" APR_INT64_T_FMT,
                  ipsie_log_safe(s->sub, r->pool), ipsie_log_safe(s->sid, r->pool), idp,
                  (apr_int64_t)s->ceiling);
}

/* A callback whose login state is gone: replayed (the back button, a reload), or its slot
 * taken by a sign-in started in parallel. With a valid session the user goes to the site;
 * when the slot holds another state (cookies work), a new sign-in starts, which the provider,
 * just signed in to, completes at once; otherwise a page says to start again. */
static int callback_without_state(request_rec *r, const auth_ipsie_settings_t *cfg, int slot_taken,
                                  long long now)
{
    int had_cookie;
    ipsie_session_t *s = auth_ipsie_session_load(r, cfg, &had_cookie);

    if (s != NULL && ipsie_session_check(s, &cfg->policy, now) == IPSIE_SESSION_VALID) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12003: callback for a spent login state, with a valid session: "
                      "on to the site");
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), "/", NULL));
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_MOVED_TEMPORARILY;
    }
    if (slot_taken) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12018: a sign-in started in parallel took this one's state cookie: "
                      "a new sign-in starts");
        return auth_ipsie_start_login(r, cfg, "/", 0, NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "IPSIE12003: callback for an unknown or spent login state");
    return bad_request(r, "This sign-in response does not belong to a sign-in started "
                          "here, or it has expired. Please start again.");
}

/* Where a new sign-in for st starts: its return address, when it is on this site. */
static const char *again_url(request_rec *r, const auth_ipsie_settings_t *cfg,
                             const ipsie_login_state_t *st)
{
    const char *url;

    return ipsie_url_same_origin(&url, st->return_path, auth_ipsie_origin(r, cfg), r->pool)
                   == APR_SUCCESS
               ? url
               : NULL;
}

static int handle_callback(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *state = apr_table_get(args, "state");
    const char *error = apr_table_get(args, "error");
    const char *code = apr_table_get(args, "code");
    const char *iss = apr_table_get(args, "iss");
    const char *cookie_name;
    const char *cookie;
    const char *origin = auth_ipsie_origin(r, cfg);
    const char *return_to;
    const ipsie_provider_t *op;
    ipsie_login_state_t *st;
    ipsie_token_response_t *tokens;
    ipsie_session_t *s;
    json_t *claims;
    long long now = apr_time_sec(r->request_time);
    keys_state_e keys;
    long retry_after;
    auth_ipsie_dir_settings_t dir;
    ipsie_gate_lease_t lease;
    ipsie_http_opts_t http;
    apr_status_t rv;

    if (ipsie_login_state_slot(state) < 0 || !auth_ipsie_is_token_text(state, 64)) {
        return bad_request(r, "The sign-in response has no valid state. Please start again.");
    }
    cookie_name = ipsie_login_state_cookie_name(ipsie_login_state_slot(state), r->pool);
    cookie = apr_table_get(auth_ipsie_cookies(r), cookie_name);
    rv = cookie != NULL ? ipsie_login_state_open(&st, state, cookie, cfg->crypto,
                                                 cfg->state_timeout, now, r->pool)
                        : IPSIE_ERR_STATE_OTHER;
    if (rv == IPSIE_ERR_STATE_OTHER) {
        /* Spent, or its slot taken by a later sign-in, which keeps its cookie. */
        return callback_without_state(r, cfg, cookie != NULL && error == NULL, now);
    }
    /* Single use: whatever happens next, this state is spent. */
    auth_ipsie_set_cookie(r, cfg, cookie_name, "", 0, 0);
    if (error != NULL) {
        const char *text = op_error_text(r, error);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12002: the identity provider answered error=%s", text);
        return bad_request(r, apr_pstrcat(r->pool, "The identity provider refused the sign-in (",
                                          text, ").", NULL));
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "IPSIE12004: login state rejected (%s)",
                      rv == IPSIE_ERR_EXPIRED ? "expired" : "unreadable");
        return bad_request(r, "This sign-in took too long or its state is unreadable. "
                              "Please start again.");
    }
    rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                       auth_ipsie_provider_deadline(r, cfg));
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12005: provider metadata unavailable during the callback");
        return provider_failure(r, rv, 0, again_url(r, cfg, st));
    }
    /* RFC 9207: the response names its issuer; a mix-up attack names another. */
    if (iss != NULL ? strcmp(iss, op->issuer) != 0 : op->iss_parameter_supported) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12006: authorization response iss is %s", iss ? "wrong" : "missing");
        return bad_request(r, "The sign-in response did not come from the expected identity "
                              "provider.");
    }
    if (code == NULL || *code == '\0' || strlen(code) > 2048) {
        return bad_request(r, "The sign-in response has no authorization code.");
    }
    rv = ipsie_provider_cache_enter(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        return provider_failure(r, rv, 0, again_url(r, cfg, st));
    }
    http = cfg->http;
    http.deadline = auth_ipsie_provider_deadline(r, cfg);
    rv = ipsie_token_request(&tokens, op, &cfg->client, code, auth_ipsie_redirect_uri_abs(r, cfg),
                             st->code_verifier, &http, r->pool);
    ipsie_provider_cache_leave(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE12007: token request failed");
        return bad_gateway(r);
    }
    /* The issuer as configured: op may be replaced while the token request takes its time. */
    rv = validate_id_token(&claims, &keys, &retry_after, r, cfg, tokens->id_token, cfg->issuer,
                           st->nonce, now);
    if (rv != APR_SUCCESS && keys == KEYS_THROTTLED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12016: cannot validate the ID token yet: the provider's keys "
                      "changed and were fetched moments ago; retry in %ld s",
                      retry_after);
        return provider_failure(r, rv, retry_after, again_url(r, cfg, st));
    }
    if (rv != APR_SUCCESS && keys == KEYS_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12012: cannot validate the ID token: the provider's keys are "
                      "unavailable");
        return provider_failure(r, rv, 0, again_url(r, cfg, st));
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "IPSIE12008: ID token rejected");
        return bad_request(r, "The identity provider's ID token could not be validated.");
    }
    if (!authenticated_recently(r, cfg, st, claims, now)) {
        return bad_request(r, "The identity provider did not sign you in again as this site "
                              "requires. Please start again.");
    }
    /* Only what some location uses is kept: the cookie travels with every request. */
    rv = ipsie_session_create(&s, claims, tokens->id_token,
                              auth_ipsie_access_token_wanted() ? tokens->access_token : NULL, NULL,
                              &cfg->policy, now, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "IPSIE12009: login refused: %s",
                      session_expiry_message(rv));
        return bad_request(r, session_expiry_message(rv));
    }
    /* The identity this location hands on must be one: refused now, not on every request. */
    auth_ipsie_dir_settings(&dir, r);
    if (auth_ipsie_remote_user(r, s, dir.remote_user_claim) == NULL) {
        return bad_request(r, "The identity provider did not give a usable user name for this "
                              "site.");
    }
    rv = auth_ipsie_session_save(r, cfg, s);
    if (rv == IPSIE_ERR_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12010: login refused: the session of sub=%s is too large for the "
                      "browser's cookies",
                      ipsie_log_safe(s->sub, r->pool));
        return bad_request(r, "The identity provider sent more about your account than this "
                              "site can keep in your browser. Please tell the site's "
                              "administrators.");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "IPSIE12017: the session cannot be stored");
        return auth_ipsie_error_page(r, HTTP_INTERNAL_SERVER_ERROR, "Sign-in failed",
                                     "The session could not be stored.");
    }
    log_login(r, cfg, s);
    if (ipsie_url_same_origin(&return_to, st->return_path, origin, r->pool) != APR_SUCCESS) {
        return_to = apr_pstrcat(r->pool, origin, "/", NULL);
    }
    /* A redirect would still belong to the navigation that came from the provider's site,
     * which carries no Strict cookie: a page of ours starts a same-site navigation. */
    if (strcmp(cfg->cookie_samesite, "Strict") == 0) {
        const char *target = ap_escape_html(r->pool, return_to);
        /* The page's own URL carries the spent code: keep it out of the next Referer. */
        apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
        return auth_ipsie_send(
            r, HTTP_OK, "text/html; charset=utf-8",
            apr_pstrcat(r->pool,
                        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                        "<meta http-equiv=\"refresh\" content=\"0;url=",
                        target,
                        "\"><title>Signed in</title></head>\n<body><p>Signed in. "
                        "<a href=\"",
                        target, "\">Continue</a></p></body></html>\n", NULL));
    }
    apr_table_setn(r->headers_out, "Location", return_to);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

static int handle_logout(request_rec *r, const auth_ipsie_settings_t *cfg, const char *target)
{
    const char *origin = auth_ipsie_origin(r, cfg);
    const char *return_to;
    const ipsie_provider_t *op;
    ipsie_session_t *s;
    const char *id_token;
    int had_cookie;

    /* The session ends whatever the return address: a refused one must not keep it. */
    s = auth_ipsie_session_load(r, cfg, &had_cookie);
    if (s != NULL || had_cookie) {
        auth_ipsie_session_end(r, cfg, s, s ? "logout" : "invalid");
    }
    if (*target == '\0') {
        target = cfg->post_logout_redirect_uri ? cfg->post_logout_redirect_uri : "/";
    }
    if (ipsie_url_same_origin(&return_to, target, origin, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12011: logout refused an off-site return URL");
        return auth_ipsie_error_page(r, HTTP_BAD_REQUEST, "Logged out",
                                     "You are logged out of this site. The return address "
                                     "given was refused: it must be on this site.");
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    id_token = s ? ipsie_session_id_token(s, r->pool) : NULL;
    if (id_token != NULL
        && ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                         auth_ipsie_provider_deadline(r, cfg))
               == APR_SUCCESS
        && op->end_session_endpoint != NULL) {
        return_to = apr_pstrcat(
            r->pool, op->end_session_endpoint, strchr(op->end_session_endpoint, '?') ? "&" : "?",
            "id_token_hint=", ipsie_url_encode(id_token, r->pool),
            "&post_logout_redirect_uri=", ipsie_url_encode(return_to, r->pool),
            "&client_id=", ipsie_url_encode(cfg->client.client_id, r->pool), NULL);
    }
    apr_table_setn(r->headers_out, "Location", return_to);
    return HTTP_MOVED_TEMPORARILY;
}

static int handle_info(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    long long now = apr_time_sec(r->request_time);
    ipsie_session_t *s;
    json_t *info;
    char *dumped;
    const char *body;
    const char *error;

    s = auth_ipsie_session_valid(r, cfg, now, &error);
    if (s == NULL) {
        return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, error);
    }
    /* Reading the session's state is not activity: last_activity is left alone. */
    info =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "sub", s->sub, "iss", s->iss,
                  "session_expiry", (json_int_t)s->session_expiry, "ceiling",
                  (json_int_t)s->ceiling, "remaining", (json_int_t)(s->ceiling - now),
                  "idle_remaining", (json_int_t)ipsie_session_idle_remaining(s, &cfg->policy, now),
                  "login_time", (json_int_t)s->login_time);
    if (info == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (s->session_expiry == 0) {
        json_object_set_new(info, "session_expiry", json_null());
    }
    dumped = json_dumps(info, JSON_COMPACT);
    json_decref(info);
    if (dumped == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    body = apr_pstrcat(r->pool, dumped, "\n", NULL);
    free(dumped);
    return auth_ipsie_send(r, HTTP_OK, "application/json", body);
}

/* OIDC Core 4: the provider (or a portal) asks us to start a login for a target. */
static int handle_third_party(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *iss = apr_table_get(args, "iss");
    const char *target = apr_table_get(args, "target_link_uri");
    const char *hint = apr_table_get(args, "login_hint");
    const char *return_path;

    if (strcmp(iss, cfg->issuer) != 0) {
        return bad_request(r, "The login was initiated for another identity provider.");
    }
    if (ipsie_url_same_origin_path(&return_path, target ? target : "/", auth_ipsie_origin(r, cfg),
                                   r->pool)
        != APR_SUCCESS) {
        return bad_request(r, "The login target must be on this site.");
    }
    if (hint != NULL && (strlen(hint) > 256 || strpbrk(hint, "\r\n") != NULL)) {
        hint = NULL;
    }
    return auth_ipsie_start_login(r, cfg, return_path, 0, hint);
}

int auth_ipsie_redirect_uri_request(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    apr_table_t *args;
    const char *v;

    if (r->method_number != M_GET) {
        return auth_ipsie_error_page(r, HTTP_METHOD_NOT_ALLOWED, "Not allowed",
                                     "This address only answers GET requests.");
    }
    if (ipsie_form_parse(&args, r->args ? r->args : "", r->pool) != APR_SUCCESS) {
        return bad_request(r, "The request's parameters are malformed.");
    }
    v = apr_table_get(args, "logout");
    if (v != NULL) {
        return handle_logout(r, cfg, v);
    }
    v = apr_table_get(args, "info");
    if (v != NULL) {
        if (strcmp(v, "json") != 0) {
            return bad_request(r, "Only info=json is offered.");
        }
        return handle_info(r, cfg);
    }
    if (apr_table_get(args, "state") != NULL || apr_table_get(args, "code") != NULL
        || apr_table_get(args, "error") != NULL) {
        return handle_callback(r, cfg, args);
    }
    if (apr_table_get(args, "iss") != NULL) {
        return handle_third_party(r, cfg, args);
    }
    return bad_request(r, "This address is where the identity provider returns to; it was "
                          "called without a sign-in response.");
}
