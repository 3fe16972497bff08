/* A session's life on every request: read through the store, judged by the ceiling and idle
 * rules (SPEC section 1) and by the revocation entries of the shared store (SPEC section 3),
 * refreshed or renewed when due, and ended with its reason logged; writes are in
 * auth_ipsie_session_write.c. Which store keeps it is the configuration's business. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"

APLOG_USE_MODULE(auth_ipsie);

static const char *const end_reasons[] = {
    [AUTH_IPSIE_END_CEILING] = "ceiling",
    [AUTH_IPSIE_END_IDLE] = "idle",
    [AUTH_IPSIE_END_LOGOUT] = "logout",
    [AUTH_IPSIE_END_BACKCHANNEL] = "backchannel",
    [AUTH_IPSIE_END_REVOKED] = "revoked",
    [AUTH_IPSIE_END_INVALID] = "invalid",
    [AUTH_IPSIE_END_REFRESH_FAILED] = "refresh_failed",
};

/* The counter of each reason (mod_auth_ipsie_session_ends_total); a new reason needs its entry. */
static const ipsie_metric_e end_metrics[] = {
    [AUTH_IPSIE_END_CEILING] = IPSIE_M_END_CEILING,
    [AUTH_IPSIE_END_IDLE] = IPSIE_M_END_IDLE,
    [AUTH_IPSIE_END_LOGOUT] = IPSIE_M_END_LOGOUT,
    [AUTH_IPSIE_END_BACKCHANNEL] = IPSIE_M_END_BACKCHANNEL,
    [AUTH_IPSIE_END_REVOKED] = IPSIE_M_END_REVOKED,
    [AUTH_IPSIE_END_INVALID] = IPSIE_M_END_INVALID,
    [AUTH_IPSIE_END_REFRESH_FAILED] = IPSIE_M_END_REFRESH_FAILED,
};

const char *auth_ipsie_session_error(ipsie_session_state_e state)
{
    static const char *const errors[] = {
        [IPSIE_SESSION_VALID] = NULL,
        [IPSIE_SESSION_CEILING] = "session_expired",
        [IPSIE_SESSION_IDLE] = "session_idle",
        [IPSIE_SESSION_NONE] = "login_required",
    };

    return errors[state];
}

apr_status_t auth_ipsie_session_read(ipsie_session_t **out, int *presented, request_rec *r,
                                     const auth_ipsie_settings_t *cfg)
{
    return cfg->store->load(out, presented, r, cfg);
}

apr_status_t auth_ipsie_session_end(request_rec *r, const auth_ipsie_settings_t *cfg,
                                    const ipsie_session_t *s, auth_ipsie_end_e reason)
{
    apr_status_t rv;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "IPSIE11003: session ended: reason=%s sub=%s sid=%s ceiling=%" APR_INT64_T_FMT,
                  end_reasons[reason], ipsie_log_safe(s ? s->sub : NULL, r->pool),
                  ipsie_log_safe(s ? s->sid : NULL, r->pool), (apr_int64_t)(s ? s->ceiling : 0));
    ipsie_metric_inc(end_metrics[reason]);
    rv = cfg->store->remove(r, cfg, s);
    auth_ipsie_set_request_session(r, NULL);
    return rv;
}

/* The store failed: one tagged line; the caller answers 503. */
static apr_status_t store_failed(request_rec *r, const auth_ipsie_settings_t *cfg, apr_status_t rv)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "IPSIE11010: the session store (%s) cannot be read: the request is answered "
                  "503",
                  cfg->kv ? cfg->kv->ops->name : cfg->store->name);
    return IPSIE_ERR_KV;
}

apr_status_t auth_ipsie_session_current(ipsie_session_t **out, ipsie_session_state_e *state,
                                        request_rec *r, const auth_ipsie_settings_t *cfg,
                                        long long now)
{
    ipsie_session_t *s = NULL;
    int presented = 0;
    int revoked = 0;
    int renewable;
    int renewed = 0;
    int refused = 0;
    apr_status_t rv;

    *out = NULL;
    *state = IPSIE_SESSION_NONE;
    rv = auth_ipsie_session_read(&s, &presented, r, cfg);
    if (rv != APR_SUCCESS) {
        return store_failed(r, cfg, rv);
    }
    if (s == NULL) {
        if (presented) {
            auth_ipsie_session_end(r, cfg, NULL, AUTH_IPSIE_END_INVALID);
        }
        return APR_SUCCESS;
    }
    *state = ipsie_session_check(s, &cfg->policy, now);
    renewable = *state == IPSIE_SESSION_CEILING && cfg->expiry_action_refresh
                && s->refresh_token != NULL
                && (cfg->policy.inactivity_timeout <= 0
                    || ipsie_session_idle_remaining(s, &cfg->policy, now) > 0);
    /* A revoked session is neither served nor renewed. */
    if ((*state == IPSIE_SESSION_VALID || renewable) && cfg->revocation_per_request) {
        rv = auth_ipsie_session_revoked(&revoked, r, cfg, s);
        if (rv != APR_SUCCESS) {
            *state = IPSIE_SESSION_NONE;
            return store_failed(r, cfg, rv);
        }
    }
    if (revoked) {
        auth_ipsie_session_end(r, cfg, s, AUTH_IPSIE_END_REVOKED);
        *state = IPSIE_SESSION_NONE;
        return APR_SUCCESS;
    }
    if (renewable) {
        rv = auth_ipsie_session_renew(&renewed, r, cfg, s, now);
        if (rv != APR_SUCCESS) {
            *state = IPSIE_SESSION_NONE;
            return IPSIE_ERR_KV;
        }
        if (renewed) {
            *state = ipsie_session_check(s, &cfg->policy, now);
        }
    }
    if (*state == IPSIE_SESSION_VALID) {
        rv = auth_ipsie_session_freshen(&refused, r, cfg, s, now);
        if (rv != APR_SUCCESS) {
            *state = IPSIE_SESSION_NONE;
            return IPSIE_ERR_KV;
        }
        if (refused) {
            auth_ipsie_session_end(r, cfg, s, AUTH_IPSIE_END_REFRESH_FAILED);
            *state = IPSIE_SESSION_NONE;
            return APR_SUCCESS;
        }
        *out = s;
    }
    else {
        auth_ipsie_session_end(r, cfg, s,
                               *state == IPSIE_SESSION_CEILING ? AUTH_IPSIE_END_CEILING
                                                               : AUTH_IPSIE_END_IDLE);
    }
    return APR_SUCCESS;
}

ipsie_session_t *auth_ipsie_session_peek(request_rec *r, const auth_ipsie_settings_t *cfg,
                                         long long now)
{
    ipsie_session_t *s = NULL;
    int presented;
    int revoked = 0;

    if (auth_ipsie_session_read(&s, &presented, r, cfg) != APR_SUCCESS || s == NULL
        || ipsie_session_check(s, &cfg->policy, now) != IPSIE_SESSION_VALID) {
        return NULL;
    }
    /* A store that cannot say counts as revoked here: nothing is ended, nothing granted. */
    if (cfg->revocation_per_request
        && (auth_ipsie_session_revoked(&revoked, r, cfg, s) != APR_SUCCESS || revoked)) {
        return NULL;
    }
    return s;
}
