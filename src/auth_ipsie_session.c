/* A session's life on every request: read through the store, judged by the ceiling and idle
 * rules (SPEC section 1) and by the revocation entries of the shared store (SPEC section 3),
 * ended with its reason logged, and its last activity written back lazily. Which store keeps
 * it is the configuration's business, not this file's. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_revocation.h"

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

/* Whether a revocation entry ends s: *revoked. IPSIE_ERR_KV when the store cannot say. One
 * round trip for every name of s. */
static apr_status_t check_revoked(int *revoked, request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const ipsie_session_t *s)
{
    apr_array_header_t *names;
    unsigned char **values;
    apr_size_t *lens;
    apr_status_t rv;

    *revoked = 0;
    /* On one host, a store no revocation was ever written to has none to find. */
    if (auth_ipsie_kv_socache_is(cfg->kv) && !auth_ipsie_kv_socache_any_revocation(cfg->kv)) {
        return APR_SUCCESS;
    }
    names = ipsie_revocation_names(cfg->crypto, s, r->pool);
    if (names == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    values = apr_pcalloc(r->pool, sizeof(*values) * (apr_size_t)names->nelts);
    lens = apr_pcalloc(r->pool, sizeof(*lens) * (apr_size_t)names->nelts);
    rv = ipsie_kv_get_many(cfg->kv, (const char *const *)names->elts, names->nelts, values, lens,
                           r->pool);
    if (rv == APR_SUCCESS) {
        *revoked = ipsie_revocation_applies(s, values, lens, names->nelts);
    }
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
        rv = check_revoked(&revoked, r, cfg, s);
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
        && (check_revoked(&revoked, r, cfg, s) != APR_SUCCESS || revoked)) {
        return NULL;
    }
    return s;
}

/* After a server-side session was written: a back-channel logout that removed it (or read
 * its index) while this request ran would not see the new entry, but its revocation entries
 * were written first, so they are read now, and take the entry away again. A store that
 * cannot say takes it away too. IPSIE_ERR_REVOKED, IPSIE_ERR_KV, or APR_SUCCESS. */
static apr_status_t recheck_after_write(request_rec *r, const auth_ipsie_settings_t *cfg,
                                        const ipsie_session_t *s)
{
    int revoked = 0;
    apr_status_t rv;

    if (cfg->kv == NULL || cfg->revocation_per_request) {
        return APR_SUCCESS;
    }
    rv = check_revoked(&revoked, r, cfg, s);
    if (rv == APR_SUCCESS && !revoked) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE11015: a session was revoked while it was being written: removed");
    }
    /* The request's own cookie is cleared only with the entry gone. */
    if (cfg->store->remove(r, cfg, s) != APR_SUCCESS) {
        return IPSIE_ERR_KV;
    }
    return rv == APR_SUCCESS ? IPSIE_ERR_REVOKED : IPSIE_ERR_KV;
}

void auth_ipsie_session_touch(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                              long long now)
{
    /* Lazy write-back: most requests leave the session alone. */
    if (!ipsie_session_needs_touch(s, &cfg->policy, now)) {
        return;
    }
    s->last_activity = now;
    /* The new cookie rides on the application's response: keep it out of shared caches. */
    apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
    if (cfg->store->save(r, cfg, s) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE11007: cannot rewrite the session");
        return;
    }
    recheck_after_write(r, cfg, s);
}

apr_status_t auth_ipsie_session_keep(request_rec *r, const auth_ipsie_settings_t *cfg,
                                     ipsie_session_t *s)
{
    apr_status_t rv;

    /* Its last activity is the request's to write (auth_ipsie_session_touch): ?info=json,
     * which may refresh a session too, is no activity. */
    /* The new cookie rides on the application's response: keep it out of shared caches. */
    apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
    rv = cfg->store->save(r, cfg, s);
    if (rv == IPSIE_ERR_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE11018: the refreshed session of sub=%s no longer fits the cookies: "
                      "the one before is kept",
                      ipsie_log_safe(s->sub, r->pool));
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return IPSIE_ERR_KV;
    }
    rv = recheck_after_write(r, cfg, s);
    return rv == IPSIE_ERR_KV ? IPSIE_ERR_KV : APR_SUCCESS;
}

apr_status_t auth_ipsie_session_start(request_rec *r, const auth_ipsie_settings_t *cfg,
                                      ipsie_session_t *s)
{
    apr_status_t rv = cfg->store->save(r, cfg, s);

    return rv == APR_SUCCESS ? recheck_after_write(r, cfg, s) : rv;
}

apr_status_t auth_ipsie_revoke(request_rec *r, const auth_ipsie_settings_t *cfg,
                               const apr_array_header_t *names, long long now)
{
    apr_size_t len;
    const unsigned char *value = ipsie_revocation_value(now, &len, r->pool);
    long long later = now > apr_time_sec(r->request_time) ? now : apr_time_sec(r->request_time);
    apr_time_t until = apr_time_from_sec(ipsie_revocation_expiry(later, cfg->policy.max_duration));
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (cfg->kv == NULL || names == NULL) {
        return names == NULL ? IPSIE_ERR_CRYPTO : APR_SUCCESS;
    }
    /* Before the entries: a request that sees the mark then finds them. */
    if (auth_ipsie_kv_socache_is(cfg->kv)) {
        auth_ipsie_kv_socache_note_revocation(cfg->kv);
    }
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; i++) {
        rv = ipsie_kv_set(cfg->kv, APR_ARRAY_IDX(names, i, const char *), value, len, until,
                          r->pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "IPSIE11014: a revocation cannot be written to the %s store",
                      cfg->kv->ops->name);
    }
    return rv;
}
