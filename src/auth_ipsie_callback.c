/* The login callback on the redirect URI: the glue around the core's login completion
 * (ipsie_login.c). It fetches what the rules need (the login state cookie, the provider's
 * metadata and keys, the token response) and maps each outcome to a status, a page and a log
 * line, in one table. */
#include <httpd.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_login.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_token.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define OP_ERROR_MAX_LEN 64

/* What each refused login answers and logs (level 0: not logged; %s: the result's detail). */
static const struct {
    int status;
    int level;
    const char *log;
    const char *page;
} refusals[IPSIE_LOGIN_OUTCOMES] = {
    [IPSIE_LOGIN_ISS_WRONG] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                               "IPSIE12006: authorization response iss is wrong",
                               "The sign-in response did not come from the expected identity "
                               "provider."},
    [IPSIE_LOGIN_ISS_MISSING] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                 "IPSIE12006: authorization response iss is missing",
                                 "The sign-in response did not come from the expected identity "
                                 "provider."},
    [IPSIE_LOGIN_NO_CODE] = {HTTP_BAD_REQUEST, 0, NULL,
                             "The sign-in response has no authorization code."},
    [IPSIE_LOGIN_KEYS_NEEDED] = {HTTP_BAD_REQUEST, APLOG_WARNING, "IPSIE12008: ID token rejected",
                                 "The identity provider's ID token could not be validated."},
    [IPSIE_LOGIN_ID_TOKEN_REFUSED] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                      "IPSIE12008: ID token rejected",
                                      "The identity provider's ID token could not be validated."},
    [IPSIE_LOGIN_AUTH_TIME_MISSING] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                       "IPSIE12013: login refused: the ID token has no integer "
                                       "auth_time, which %s requires",
                                       "The identity provider did not sign you in again as this "
                                       "site requires. Please start again."},
    [IPSIE_LOGIN_AUTH_TIME_OLD] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                   "IPSIE12014: login refused: auth_time is older than "
                                   "IPSIEMaxAge",
                                   "The identity provider did not sign you in again as this "
                                   "site requires. Please start again."},
    [IPSIE_LOGIN_AUTH_TIME_BEFORE] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                      "IPSIE12015: login refused: prompt=login was asked but "
                                      "auth_time is from before the request",
                                      "The identity provider did not sign you in again as this "
                                      "site requires. Please start again."},
    [IPSIE_LOGIN_SESSION_EXPIRY_INVALID] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                            "IPSIE12009: login refused: session_expiry is not "
                                            "valid",
                                            "The identity provider's session_expiry value is "
                                            "not valid."},
    [IPSIE_LOGIN_SESSION_EXPIRY_MISSING] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                            "IPSIE12009: login refused: no session_expiry, "
                                            "which IPSIERequireSessionExpiry requires",
                                            "The identity provider did not say when its session "
                                            "expires (session_expiry), and this site requires "
                                            "it."},
    [IPSIE_LOGIN_SESSION_EXPIRY_PAST] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                                         "IPSIE12009: login refused: the identity provider's "
                                         "session has already expired",
                                         "The identity provider's session has already expired. "
                                         "Please sign in again."},
    [IPSIE_LOGIN_UNUSABLE] = {HTTP_BAD_REQUEST, APLOG_WARNING,
                              "IPSIE12009: login refused: the ID token's claims cannot be kept",
                              "The identity provider's answer could not be used."},
};

/* The counter of each refusal (mod_auth_ipsie_logins_refused_total). */
static const ipsie_metric_e refusal_metrics[IPSIE_LOGIN_OUTCOMES] = {
    [IPSIE_LOGIN_ISS_WRONG] = IPSIE_M_REFUSED_ISS,
    [IPSIE_LOGIN_ISS_MISSING] = IPSIE_M_REFUSED_ISS,
    [IPSIE_LOGIN_NO_CODE] = IPSIE_M_REFUSED_NO_CODE,
    [IPSIE_LOGIN_KEYS_NEEDED] = IPSIE_M_REFUSED_ID_TOKEN,
    [IPSIE_LOGIN_ID_TOKEN_REFUSED] = IPSIE_M_REFUSED_ID_TOKEN,
    [IPSIE_LOGIN_AUTH_TIME_MISSING] = IPSIE_M_REFUSED_AUTH_TIME,
    [IPSIE_LOGIN_AUTH_TIME_OLD] = IPSIE_M_REFUSED_AUTH_TIME,
    [IPSIE_LOGIN_AUTH_TIME_BEFORE] = IPSIE_M_REFUSED_AUTH_TIME,
    [IPSIE_LOGIN_SESSION_EXPIRY_INVALID] = IPSIE_M_REFUSED_SESSION_EXPIRY,
    [IPSIE_LOGIN_SESSION_EXPIRY_MISSING] = IPSIE_M_REFUSED_SESSION_EXPIRY,
    [IPSIE_LOGIN_SESSION_EXPIRY_PAST] = IPSIE_M_REFUSED_SESSION_EXPIRY,
    [IPSIE_LOGIN_UNUSABLE] = IPSIE_M_REFUSED_CLAIMS,
};

static int bad_gateway(request_rec *r)
{
    return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                 "The identity provider could not complete the sign-in. "
                                 "Please try again in a moment.");
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

/* The provider or its keys cannot be had: 503 when asking again soon will do, else 502. */
static int provider_failure(request_rec *r, const auth_ipsie_settings_t *cfg,
                            const ipsie_login_state_t *st, apr_status_t rv, long retry_after)
{
    if (rv == IPSIE_ERR_BUSY || rv == IPSIE_ERR_THROTTLED) {
        return auth_ipsie_unavailable_page(r, retry_after, again_url(r, cfg, st));
    }
    return bad_gateway(r);
}

static int refuse(request_rec *r, const ipsie_login_result_t *result)
{
    const char *detail = result->detail ? result->detail : "";

    if (refusals[result->outcome].level != 0) {
        ap_log_rerror(APLOG_MARK, refusals[result->outcome].level, 0, r, "%s",
                      apr_psprintf(r->pool, refusals[result->outcome].log, detail));
    }
    ipsie_metric_inc(refusal_metrics[result->outcome]);
    return auth_ipsie_error_page(r, refusals[result->outcome].status, "Sign-in failed",
                                 refusals[result->outcome].page);
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

/* A callback whose login state is gone: replayed (the back button, a reload), or its slot
 * taken by a sign-in started in parallel. With a valid session the user goes to the site;
 * when the slot holds another state (cookies work), a new sign-in starts, which the provider,
 * just signed in to, completes at once; otherwise a page says to start again. */
static int without_state(request_rec *r, const auth_ipsie_settings_t *cfg, int slot_taken,
                         long long now)
{
    if (auth_ipsie_session_peek(r, cfg, now) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12003: callback for a spent login state, with a valid session: "
                      "on to the site");
        return auth_ipsie_redirect(r, apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), "/", NULL));
    }
    if (slot_taken) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12018: a sign-in started in parallel took this one's state cookie: "
                      "a new sign-in starts");
        return auth_ipsie_start_login(r, cfg, "/", 0, NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "IPSIE12003: callback for an unknown or spent login state");
    ipsie_metric_inc(IPSIE_M_REFUSED_STATE);
    return auth_ipsie_bad_request(r, "This sign-in response does not belong to a sign-in "
                                     "started here, or it has expired. Please start again.");
}

/* Mark st spent in the shared store (when there is one): a state cookie replayed, on this
 * server or another, is refused without asking the provider. The first replay of a state is
 * logged at warning, the others at debug. IPSIE_ERR_REPLAY, or IPSIE_ERR_KV (logged). */
static apr_status_t spend_state(request_rec *r, const auth_ipsie_settings_t *cfg,
                                const ipsie_login_state_t *st)
{
    const char *spent;
    apr_time_t until = apr_time_from_sec(st->created + cfg->state_timeout + 60);
    apr_status_t rv;

    if (cfg->kv == NULL) {
        return APR_SUCCESS;
    }
    spent = ipsie_crypto_mark_name("st", (const char *const[]){cfg->client.client_id, st->state}, 2,
                                   r->pool);
    rv = spent ? ipsie_kv_add(cfg->kv, spent, (const unsigned char *)"1", 1, until, r->pool)
               : IPSIE_ERR_CRYPTO;
    if (rv == APR_EEXIST) {
        const char *replayed = ipsie_crypto_mark_name(
            "sr", (const char *const[]){cfg->client.client_id, st->state}, 2, r->pool);
        int first =
            replayed != NULL
            && ipsie_kv_add(cfg->kv, replayed, (const unsigned char *)"1", 1, until, r->pool)
                   == APR_SUCCESS;
        ap_log_rerror(APLOG_MARK, first ? APLOG_WARNING : APLOG_DEBUG, 0, r,
                      "IPSIE12019: a login state was used again: refused without asking the "
                      "provider%s",
                      first ? "" : " (again)");
        ipsie_metric_inc(IPSIE_M_REFUSED_REPLAYED);
        return IPSIE_ERR_REPLAY;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "IPSIE12020: the login state cannot be marked spent in the %s store",
                      cfg->kv->ops->name);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

/* The token request, holding a lease of the provider's gate and within the request's time. */
static apr_status_t request_tokens(ipsie_token_response_t **tokens, request_rec *r,
                                   const auth_ipsie_settings_t *cfg, const ipsie_provider_t *op,
                                   const char *code, const ipsie_login_state_t *st)
{
    ipsie_gate_lease_t lease;
    ipsie_http_opts_t http = cfg->http;
    ipsie_client_opts_t copts;
    apr_status_t rv;

    rv = ipsie_provider_cache_enter(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    http.deadline = auth_ipsie_provider_deadline(r, cfg);
    auth_ipsie_client_opts(&copts, cfg, op);
    rv = ipsie_token_request(tokens, op, &cfg->client, code, auth_ipsie_redirect_uri_abs(r, cfg),
                             st->code_verifier, &copts, &http, r->pool);
    ipsie_provider_cache_leave(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE12007: token request failed");
    }
    return rv;
}

/* Complete the login with the provider's keys, and once more with keys fetched again when
 * none of those held verifies the ID token. *keys_rv: why keys could not be had. */
static void complete(ipsie_login_result_t *result, apr_status_t *keys_rv, long *retry_after,
                     request_rec *r, const auth_ipsie_settings_t *cfg, const ipsie_provider_t *op,
                     const ipsie_login_state_t *st, const ipsie_token_response_t *tokens,
                     long long now)
{
    const ipsie_jwks_t *jwks;
    const ipsie_jwks_t *fresh;
    apr_time_t deadline = auth_ipsie_provider_deadline(r, cfg);

    *retry_after = 0;
    *keys_rv = ipsie_provider_cache_jwks(&jwks, cfg->provider, auth_ipsie_now(), deadline);
    if (*keys_rv != APR_SUCCESS) {
        return;
    }
    /* The issuer of the metadata the code was exchanged with, exactly as it spells itself. */
    ipsie_login_complete(result, st, tokens, op->issuer, jwks, 0, &cfg->login, now, r->pool);
    if (result->outcome != IPSIE_LOGIN_KEYS_NEEDED) {
        return;
    }
    *keys_rv = ipsie_provider_cache_jwks_refresh(&fresh, retry_after, cfg->provider, jwks,
                                                 auth_ipsie_now(), deadline);
    if (*keys_rv == APR_SUCCESS) {
        ipsie_login_complete(result, st, tokens, op->issuer, fresh, 1, &cfg->login, now, r->pool);
    }
}

/* The login is complete: the session kept, the login logged, the user on their way. */
static int signed_in(request_rec *r, const auth_ipsie_settings_t *cfg,
                     const ipsie_login_state_t *st, const ipsie_session_t *s)
{
    const char *origin = auth_ipsie_origin(r, cfg);
    const char *return_to;
    const char *idp = "";

    if (ipsie_login_provider_set_ceiling(s, &cfg->policy)) {
        /* In milliseconds, as the provider's own logs give it. */
        idp = apr_psprintf(r->pool, " idp_session_expiry=%" APR_INT64_T_FMT "000",
                           (apr_int64_t)s->session_expiry);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "IPSIE12001: login sub=%s sid=%s%s ceiling=%" APR_INT64_T_FMT,
                  ipsie_log_safe(s->sub, r->pool), ipsie_log_safe(s->sid, r->pool), idp,
                  (apr_int64_t)s->ceiling);
    ipsie_metric_inc(IPSIE_M_LOGINS);
    if (ipsie_url_same_origin(&return_to, st->return_path, origin, r->pool) != APR_SUCCESS) {
        return_to = apr_pstrcat(r->pool, origin, "/", NULL);
    }
    if (strcmp(cfg->cookie_samesite, "Strict") != 0) {
        return auth_ipsie_redirect(r, return_to);
    }
    /* A redirect would still belong to the navigation that came from the provider's site,
     * which carries no Strict cookie: a page of ours starts a same-site navigation. The
     * page's own URL carries the spent code: it stays out of the next Referer. */
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->err_headers_out, "Refresh", apr_pstrcat(r->pool, "0;url=", return_to, NULL));
    return auth_ipsie_page(r, HTTP_OK, "Signed in", "You are signed in.", return_to, "Continue");
}

int auth_ipsie_callback(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *state = apr_table_get(args, "state");
    const char *error = apr_table_get(args, "error");
    const char *cookie_name;
    const char *cookie;
    const ipsie_provider_t *op;
    ipsie_login_state_t *st = NULL;
    ipsie_token_response_t *tokens;
    ipsie_login_result_t result;
    auth_ipsie_dir_settings_t dir;
    long long now = apr_time_sec(r->request_time);
    long retry_after;
    apr_status_t rv;

    /* The login state: the one this response names, single use. */
    if (ipsie_login_state_slot(state) < 0 || !auth_ipsie_is_token_text(state, 64)) {
        ipsie_metric_inc(IPSIE_M_REFUSED_STATE);
        return auth_ipsie_bad_request(r, "The sign-in response has no valid state. Please start "
                                         "again.");
    }
    cookie_name = ipsie_login_state_cookie_name(ipsie_login_state_slot(state), r->pool);
    cookie = apr_table_get(auth_ipsie_cookies(r), cookie_name);
    rv = cookie != NULL ? ipsie_login_state_open(&st, state, cookie, cfg->crypto,
                                                 cfg->state_timeout, now, r->pool)
                        : IPSIE_ERR_STATE_OTHER;
    if (rv == IPSIE_ERR_STATE_OTHER) {
        return without_state(r, cfg, cookie != NULL && error == NULL, now);
    }
    auth_ipsie_clear_cookie(r, cfg, cookie_name);
    if (error != NULL) {
        const char *text = op_error_text(r, error);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE12002: the identity provider answered error=%s", text);
        ipsie_metric_inc(IPSIE_M_REFUSED_PROVIDER_ERROR);
        /* st is NULL when the state cookie is expired or does not open. */
        if (st != NULL && st->prompt_login) {
            /* The sign-in again after the ceiling did not happen: say why it was asked. */
            return auth_ipsie_error_page_again(
                r, HTTP_BAD_REQUEST, "Sign-in ended",
                apr_pstrcat(r->pool, AUTH_IPSIE_CEILING_TEXT,
                            "The identity provider did not complete it (", text, ").", NULL),
                st->return_path);
        }
        return auth_ipsie_bad_request(
            r,
            apr_pstrcat(r->pool, "The identity provider refused the sign-in (", text, ").", NULL));
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "IPSIE12004: login state rejected (%s)",
                      rv == IPSIE_ERR_EXPIRED ? "expired" : "unreadable");
        ipsie_metric_inc(IPSIE_M_REFUSED_STATE);
        return auth_ipsie_bad_request(r, "This sign-in took too long or its state is unreadable. "
                                         "Please start again.");
    }

    /* Spent for every server sharing the store, before anything is sent to the provider. */
    rv = spend_state(r, cfg, st);
    if (rv == IPSIE_ERR_REPLAY && auth_ipsie_session_peek(r, cfg, now) != NULL) {
        const char *back;

        /* The back button on a finished sign-in: the user is signed in, so on to the site. */
        if (ipsie_url_same_origin(&back, st->return_path, auth_ipsie_origin(r, cfg), r->pool)
            != APR_SUCCESS) {
            back = apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), "/", NULL);
        }
        return auth_ipsie_redirect(r, back);
    }
    if (rv == IPSIE_ERR_REPLAY) {
        return auth_ipsie_bad_request(r, "This sign-in response was used already. Please start "
                                         "again.");
    }
    if (rv != APR_SUCCESS) {
        return auth_ipsie_store_unavailable(r);
    }

    /* The response, then the tokens it is exchanged for. */
    rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                       auth_ipsie_provider_deadline(r, cfg));
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12005: provider metadata unavailable during the callback");
        return provider_failure(r, cfg, st, rv, 0);
    }
    if (auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        return bad_gateway(r);
    }
    memset(&result, 0, sizeof(result));
    result.outcome = ipsie_login_check_response_iss(
        apr_table_get(args, "code"), apr_table_get(args, "iss"), op, cfg->profile_sl1);
    if (result.outcome != IPSIE_LOGIN_OK) {
        return refuse(r, &result);
    }
    rv = request_tokens(&tokens, r, cfg, op, apr_table_get(args, "code"), st);
    if (rv == IPSIE_ERR_DPOP_UNBOUND) {
        return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in failed",
                                     "The identity provider did not bind its tokens to this "
                                     "site's key (DPoP), which this site requires. Please tell "
                                     "the site's administrators.");
    }
    if (rv != APR_SUCCESS) {
        return rv == IPSIE_ERR_BUSY ? provider_failure(r, cfg, st, rv, 0) : bad_gateway(r);
    }

    /* The ID token and the session it makes. */
    complete(&result, &rv, &retry_after, r, cfg, op, st, tokens, now);
    if (rv == IPSIE_ERR_THROTTLED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12016: cannot validate the ID token yet: the provider's keys "
                      "changed and were fetched moments ago; retry in %ld s",
                      retry_after);
        return provider_failure(r, cfg, st, rv, retry_after);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12012: cannot validate the ID token: the provider's keys are "
                      "unavailable");
        return provider_failure(r, cfg, st, rv, 0);
    }
    if (result.outcome != IPSIE_LOGIN_OK) {
        return refuse(r, &result);
    }
    /* UserInfo before the identity: a claim for REMOTE_USER may come from it. A login without
     * it is no half session: refused. */
    switch (auth_ipsie_userinfo_at_login(r, cfg, op, tokens->access_token,
                                         strcasecmp(tokens->token_type, "DPoP") == 0,
                                         result.session, now)) {
    case AUTH_IPSIE_USERINFO_REFUSED:
        return auth_ipsie_bad_request(r, "The identity provider's user information is about "
                                         "another account than the one you signed in with.");
    case AUTH_IPSIE_USERINFO_FAILED:
        return bad_gateway(r);
    default:
        break;
    }
    /* A token that is due as soon as it is issued would be refreshed on every request. */
    if (cfg->refresh_before >= 0 && result.session->refresh_token != NULL && tokens->expires_in > 0
        && tokens->expires_in <= cfg->refresh_before) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE17013: the provider's access tokens live %" APR_INT64_T_FMT
                      " s, no longer than IPSIERefreshAccessTokenBeforeExpiry %" APR_INT64_T_FMT
                      ": every request of the session asks for a new one; set it below their "
                      "lifetime",
                      (apr_int64_t)tokens->expires_in, (apr_int64_t)cfg->refresh_before);
    }
    /* The identity this location hands on must be one: refused now, not on every request. */
    auth_ipsie_dir_settings(&dir, r);
    if (auth_ipsie_remote_user(r, result.session, dir.remote_user_claim) == NULL) {
        ipsie_metric_inc(IPSIE_M_REFUSED_CLAIMS);
        return auth_ipsie_bad_request(r, "The identity provider did not give a usable user name "
                                         "for this site.");
    }
    rv = auth_ipsie_session_start(r, cfg, result.session);
    if (rv == IPSIE_ERR_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12010: login refused: the session of sub=%s is too large for the "
                      "browser's cookies",
                      ipsie_log_safe(result.session->sub, r->pool));
        ipsie_metric_inc(IPSIE_M_REFUSED_TOO_LARGE);
        return auth_ipsie_bad_request(r, "The identity provider sent more about your account "
                                         "than this site can keep in your browser. Please tell "
                                         "the site's administrators.");
    }
    if (rv == IPSIE_ERR_REVOKED) {
        ipsie_metric_inc(IPSIE_M_REFUSED_REVOKED);
        return auth_ipsie_bad_request(r, "This sign-in was ended by a logout at the identity "
                                         "provider while it completed. Please sign in again.");
    }
    if (rv == IPSIE_ERR_KV) {
        return auth_ipsie_store_unavailable(r);
    }
    if (rv == IPSIE_ERR_BUSY) {
        ipsie_metric_inc(IPSIE_M_REFUSED_TOO_MANY_SESSIONS);
        return auth_ipsie_bad_request(r, "You are signed in to this site in too many places at "
                                         "once. Please log out of some of them, or wait until "
                                         "they end, and sign in again.");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "IPSIE12017: the session cannot be stored");
        return auth_ipsie_error_page(r, HTTP_INTERNAL_SERVER_ERROR, "Sign-in failed",
                                     "The session could not be stored.");
    }
    return signed_in(r, cfg, st, result.session);
}
