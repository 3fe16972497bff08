/* A session's tokens kept fresh on a request (SPEC section 1): the access token refreshed
 * IPSIERefreshAccessTokenBeforeExpiry seconds before it expires, UserInfo read again after
 * IPSIEUserInfoRefreshInterval, and, with IPSIESessionExpiryAction refresh, the session
 * re-validated at its ceiling by a refresh whose new ID token carries a later session_expiry.
 * The rules are the core's (ipsie_refresh.c); this file asks the provider, keeps the session
 * and logs.
 *
 * One refresh per session at a time, for every child and every host sharing the store: the
 * request that adds a single-use mark named after the session and the tokens it refreshes asks
 * the provider, and leaves the refreshed session, sealed, in the store for a while; the others
 * go on with the current access token (it has not expired yet) or, at the ceiling, wait for
 * that result. A request that still carries the tokens refreshed (its cookie sent before the
 * new one arrived) takes the result too, so that a refresh token the provider rotated is not
 * presented again. Without a shared store nothing is coordinated. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_refresh.h"

APLOG_USE_MODULE(auth_ipsie);

/* Seconds before another try when the provider could not be asked. */
#define RETRY_AFTER 10
/* Seconds a refreshed session is left for the requests that carry the one it replaced. */
#define RESULT_LIFETIME 120
/* How often a request waiting for another's refresh looks for its result. */
#define WAIT_STEP apr_time_from_msec(100)

/* What one attempt at a refresh came to. */
typedef enum {
    TRY_OK = 0,      /* the tokens refreshed, the ceiling kept */
    TRY_RENEWED,     /* at the ceiling: re-validated with a later ceiling */
    TRY_NOT_RENEWED, /* at the ceiling: the answer renews nothing */
    TRY_REFUSED,     /* the provider refused, or its ID token is not the session's: it ends */
    TRY_UNREACHABLE, /* the provider could not be asked, or answered out of order */
    TRY_BUSY,        /* another request refreshes this session now */
    TRY_ADOPTED      /* another request refreshed it: its result taken */
} try_e;

/* Why a refresh answer was not taken, by the core's outcome (those the session survives
 * outside the ceiling are not here). */
static const char *const not_taken[IPSIE_REFRESH_OUTCOMES] = {
    [IPSIE_REFRESH_KEYS_NEEDED] = "no key of the provider verifies the new ID token",
    [IPSIE_REFRESH_ID_TOKEN_REFUSED] = "the new ID token breaks a rule (see the IPSIE050nn line)",
    [IPSIE_REFRESH_OTHER_USER] = "the new ID token names another iss, sub or sid",
    [IPSIE_REFRESH_AUTH_TIME_EARLIER] = "the new ID token's auth_time is earlier than the "
                                        "session's, or missing",
    [IPSIE_REFRESH_NO_ID_TOKEN] = "the answer has no new ID token",
    [IPSIE_REFRESH_NOT_LATER] = "the new ID token has no session_expiry later than now and "
                                "IPSIESessionExpiryLeeway",
};

/* The name of kind (a mark, a result) for s and the tokens it holds now. */
static const char *generation_name(const auth_ipsie_settings_t *cfg, const char *kind,
                                   const ipsie_session_t *s, apr_pool_t *p)
{
    char expiry[32];

    apr_snprintf(expiry, sizeof(expiry), "%" APR_INT64_T_FMT, (apr_int64_t)s->access_token_expiry);
    return ipsie_crypto_name(cfg->crypto, 0, kind,
                             (const char *const[]){s->id, s->refresh_token, expiry}, 3, p);
}

/* What a refresh mark says: its attempt runs or left a result, failed and may be tried again
 * later, or was refused by the provider (the session has ended, a copy of its cookie too). */
#define MARK_BUSY '1'
#define MARK_FAILED '0'
#define MARK_REFUSED 'R'

/* Say how a mark's attempt ended, until then. */
static void settle_mark(request_rec *r, const auth_ipsie_settings_t *cfg, const char *mark,
                        char state, long long until)
{
    if (cfg->kv != NULL && mark != NULL) {
        ipsie_kv_set(cfg->kv, mark, (const unsigned char *)&state, 1, apr_time_from_sec(until),
                     r->pool);
    }
}

/* The state of the mark name, '\0' when there is none or it cannot be read. */
static char mark_state(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name)
{
    unsigned char *value;
    apr_size_t len;

    if (cfg->kv == NULL || name == NULL
        || ipsie_kv_get(cfg->kv, name, &value, &len, r->pool) != APR_SUCCESS || len != 1) {
        return '\0';
    }
    return (char)value[0];
}

/* The session another request refreshed from s and left under name, or NULL: it opens under
 * that name, decodes, and is s's (its id); the store's handle of s goes with it. */
static ipsie_session_t *result_of(request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const char *name, const ipsie_session_t *s)
{
    unsigned char *sealed;
    unsigned char *plain;
    apr_size_t sealed_len;
    apr_size_t len;
    ipsie_session_t *next;

    if (cfg->kv == NULL || name == NULL
        || ipsie_kv_get(cfg->kv, name, &sealed, &sealed_len, r->pool) != APR_SUCCESS
        || ipsie_crypto_open(&plain, &len, cfg->crypto, name, (const char *)sealed, sealed_len,
                             r->pool)
               != APR_SUCCESS
        || ipsie_session_decode(&next, plain, len, r->pool) != APR_SUCCESS
        || strcmp(next->id, s->id) != 0) {
        return NULL;
    }
    next->handle = s->handle;
    next->handle_key = s->handle_key;
    return next;
}

/* Leave the refreshed session s under name for the requests that carry the one before. */
static void leave_result(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name,
                         const ipsie_session_t *s, long long now)
{
    unsigned char *plain;
    apr_size_t len;
    char *sealed;

    if (cfg->kv == NULL || name == NULL) {
        return;
    }
    if (ipsie_session_encode(&plain, &len, s, r->pool) != APR_SUCCESS
        || ipsie_crypto_seal(&sealed, cfg->crypto, name, plain, len, r->pool) != APR_SUCCESS
        || ipsie_kv_set(cfg->kv, name, (const unsigned char *)sealed, strlen(sealed),
                        apr_time_from_sec(now + RESULT_LIFETIME), r->pool)
               != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE17011: a refreshed session cannot be left in the %s store for the "
                      "requests that carry the one before",
                      cfg->kv->ops->name);
    }
}

/* The refresh grant and the core's judgement of its answer on s; the provider's keys fetched
 * again once when none verifies the new ID token. Without the keys, outside the ceiling, the
 * new tokens are kept without the ID token (they come from the token endpoint itself). */
static try_e ask(ipsie_refresh_result_t *result, request_rec *r, const auth_ipsie_settings_t *cfg,
                 ipsie_session_t *s, int renew, long long now)
{
    const ipsie_provider_t *op;
    const ipsie_jwks_t *jwks = NULL;
    const ipsie_jwks_t *fresh;
    ipsie_token_response_t *tokens = NULL;
    ipsie_gate_lease_t lease;
    ipsie_client_opts_t copts;
    ipsie_http_opts_t http = cfg->http;
    apr_time_t deadline = auth_ipsie_provider_deadline(r, cfg);
    long retry_after;
    apr_status_t rv;

    rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(), deadline);
    if (rv == APR_SUCCESS && auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        return TRY_UNREACHABLE;
    }
    if (rv == APR_SUCCESS) {
        rv = ipsie_provider_cache_enter(cfg->provider, &lease);
    }
    if (rv == APR_SUCCESS) {
        /* With DPoP, the refresh carries a proof as the code exchange did: the new access
         * token stays bound to the key. */
        auth_ipsie_client_opts(&copts, cfg, op);
        http.deadline = deadline;
        rv = ipsie_token_refresh(&tokens, op, &cfg->client, s->refresh_token, &copts, &http,
                                 r->pool);
        ipsie_provider_cache_leave(cfg->provider, &lease);
    }
    if (rv == IPSIE_ERR_OP_REFUSED) {
        return TRY_REFUSED;
    }
    if (rv != APR_SUCCESS) {
        return TRY_UNREACHABLE;
    }
    if (tokens->id_token != NULL) {
        rv = ipsie_provider_cache_jwks(&jwks, cfg->provider, auth_ipsie_now(), deadline);
    }
    if (rv == APR_SUCCESS) {
        /* The issuer as the metadata spells it, as at login. */
        ipsie_refresh_apply(result, s, tokens, renew, op->issuer, jwks, 0, &cfg->login, now,
                            r->pool);
        if (result->outcome == IPSIE_REFRESH_KEYS_NEEDED) {
            rv = ipsie_provider_cache_jwks_refresh(&fresh, &retry_after, cfg->provider, jwks,
                                                   auth_ipsie_now(), deadline);
            if (rv == APR_SUCCESS) {
                ipsie_refresh_apply(result, s, tokens, renew, op->issuer, fresh, 1, &cfg->login,
                                    now, r->pool);
            }
        }
    }
    if (rv != APR_SUCCESS) {
        if (renew) {
            result->outcome = IPSIE_REFRESH_KEYS_NEEDED;
            return TRY_NOT_RENEWED;
        }
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE17008: the refreshed ID token cannot be checked (the provider's keys "
                      "are unavailable): the new tokens are kept, the ID token is not");
        ipsie_login_keep_tokens(s, tokens, &cfg->login, now, r->pool);
        return TRY_OK;
    }
    switch (result->outcome) {
    case IPSIE_REFRESH_OK:
        return TRY_OK;
    case IPSIE_REFRESH_RENEWED:
        return TRY_RENEWED;
    case IPSIE_REFRESH_NO_ID_TOKEN:
    case IPSIE_REFRESH_NOT_LATER:
        return TRY_NOT_RENEWED;
    default:
        return renew ? TRY_NOT_RENEWED : TRY_REFUSED;
    }
}

/* One attempt at a refresh of s: a result left by another request taken, or the mark taken
 * and the provider asked. */
static try_e attempt(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                     int renew, long long now)
{
    const char *mark = generation_name(cfg, "fm", s, r->pool);
    /* An "x" name: kept with sessions (their size), not with the small marks. */
    const char *result_name = generation_name(cfg, "xr", s, r->pool);
    ipsie_session_t *next = result_of(r, cfg, result_name, s);
    ipsie_refresh_result_t result;
    try_e outcome;
    apr_status_t rv;

    if (next != NULL) {
        *s = *next;
        return TRY_ADOPTED;
    }
    /* A mark the store cannot take (logged) leaves the refresh to a later request. */
    rv = auth_ipsie_take_mark(r, cfg, mark, now + cfg->http.timeout + 2);
    if (rv == APR_EEXIST && mark_state(r, cfg, mark) == MARK_REFUSED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE17003: the refresh of sub=%s was refused (for another request with "
                      "the same session); the session ends",
                      ipsie_log_safe(s->sub, r->pool));
        return TRY_REFUSED;
    }
    if (rv != APR_SUCCESS) {
        return TRY_BUSY;
    }
    memset(&result, 0, sizeof(result));
    outcome = ask(&result, r, cfg, s, renew, now);
    if (outcome == TRY_OK || outcome == TRY_RENEWED) {
        leave_result(r, cfg, result_name, s, now);
        settle_mark(r, cfg, mark, MARK_BUSY, now + RESULT_LIFETIME);
        return outcome;
    }
    /* Those waiting stop; after the provider failed, a new try waits a little; a refusal ends
     * every copy of the session that comes to refresh these tokens. */
    if (outcome == TRY_REFUSED) {
        settle_mark(r, cfg, mark, MARK_REFUSED,
                    (s->ceiling > now ? s->ceiling : now) + RESULT_LIFETIME);
    }
    else {
        settle_mark(r, cfg, mark, MARK_FAILED, auth_ipsie_now() + RETRY_AFTER);
    }
    if (outcome == TRY_UNREACHABLE && renew) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE17006: the session of sub=%s is not renewed at its ceiling: the "
                      "provider cannot be asked (see the line before)",
                      ipsie_log_safe(s->sub, r->pool));
    }
    else if (outcome == TRY_UNREACHABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE17004: the access token of sub=%s cannot be refreshed now (the "
                      "provider cannot be asked, see the line before): the session keeps its "
                      "access token, which expires in %" APR_INT64_T_FMT " s",
                      ipsie_log_safe(s->sub, r->pool), (apr_int64_t)(s->access_token_expiry - now));
    }
    else if (outcome == TRY_REFUSED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE17003: the refresh of sub=%s was refused: %s; the session ends",
                      ipsie_log_safe(s->sub, r->pool),
                      not_taken[result.outcome] != NULL
                          ? not_taken[result.outcome]
                          : "the provider refused the refresh token (see the IPSIE08203 line)");
    }
    else if (outcome == TRY_NOT_RENEWED && not_taken[result.outcome] != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE17006: the session of sub=%s is not renewed at its ceiling: %s",
                      ipsie_log_safe(s->sub, r->pool), not_taken[result.outcome]);
    }
    return outcome;
}

/* Wait, within the request's time for the provider, for the refresh another request makes of
 * s: TRY_ADOPTED with its result, or TRY_NOT_RENEWED when it left none. */
static try_e wait_for_result(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s)
{
    const char *mark = generation_name(cfg, "fm", s, r->pool);
    const char *result_name = generation_name(cfg, "xr", s, r->pool);
    apr_time_t deadline = auth_ipsie_provider_deadline(r, cfg);

    while (apr_time_now() < deadline) {
        ipsie_session_t *next;

        apr_sleep(WAIT_STEP);
        next = result_of(r, cfg, result_name, s);
        if (next != NULL) {
            *s = *next;
            return TRY_ADOPTED;
        }
        if (mark_state(r, cfg, mark) != MARK_BUSY) {
            break;
        }
    }
    return TRY_NOT_RENEWED;
}

apr_status_t auth_ipsie_session_renew(int *renewed, request_rec *r,
                                      const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                                      long long now)
{
    long long before = s->ceiling;
    try_e outcome;

    *renewed = 0;
    if (!cfg->expiry_action_refresh || s->refresh_token == NULL) {
        return APR_SUCCESS;
    }
    outcome = attempt(r, cfg, s, 1, now);
    if (outcome == TRY_BUSY) {
        outcome = wait_for_result(r, cfg, s);
    }
    if (outcome == TRY_RENEWED) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "IPSIE17002: session renewed at its ceiling by a refresh: sub=%s sid=%s "
                      "idp_session_expiry=%" APR_INT64_T_FMT "000 ceiling=%" APR_INT64_T_FMT
                      " (was %" APR_INT64_T_FMT ")",
                      ipsie_log_safe(s->sub, r->pool), ipsie_log_safe(s->sid, r->pool),
                      (apr_int64_t)s->session_expiry, (apr_int64_t)s->ceiling, (apr_int64_t)before);
        ipsie_metric_inc(IPSIE_M_REFRESHES);
    }
    /* Another request's result renews this one when its ceiling is later. */
    if (outcome == TRY_RENEWED || (outcome == TRY_ADOPTED && s->ceiling > now)) {
        *renewed = 1;
        return auth_ipsie_session_keep(r, cfg, s);
    }
    return APR_SUCCESS;
}

apr_status_t auth_ipsie_session_freshen(int *refused, request_rec *r,
                                        const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                                        long long now)
{
    int changed = 0;
    int userinfo_changed = 0;

    *refused = 0;
    if (ipsie_refresh_due(s, cfg->refresh_before, now)) {
        switch (attempt(r, cfg, s, 0, now)) {
        case TRY_OK:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "IPSIE17001: access token refreshed for sub=%s; it expires in "
                          "%" APR_INT64_T_FMT " s",
                          ipsie_log_safe(s->sub, r->pool),
                          (apr_int64_t)(s->access_token_expiry - now));
            ipsie_metric_inc(IPSIE_M_REFRESHES);
            changed = 1;
            break;
        case TRY_ADOPTED:
            changed = 1;
            break;
        case TRY_REFUSED:
            *refused = 1;
            return APR_SUCCESS;
        default:
            /* Another request refreshes it, or the provider could not be asked: the current
             * token goes on until it expires. */
            break;
        }
    }
    if (auth_ipsie_userinfo_due(cfg, s, now)) {
        auth_ipsie_userinfo_again(&userinfo_changed, r, cfg, s, now);
    }
    return changed || userinfo_changed ? auth_ipsie_session_keep(r, cfg, s) : APR_SUCCESS;
}
