/* A session's life on every request: read through the store, judged by the ceiling and idle
 * rules (SPEC section 1), ended with its reason logged, and its last activity written back
 * lazily. Which store keeps it is the configuration's business, not this file's. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_log.h"

APLOG_USE_MODULE(auth_ipsie);

static const char *const end_reasons[] = {
    [AUTH_IPSIE_END_CEILING] = "ceiling",
    [AUTH_IPSIE_END_IDLE] = "idle",
    [AUTH_IPSIE_END_LOGOUT] = "logout",
    [AUTH_IPSIE_END_INVALID] = "invalid",
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

void auth_ipsie_session_end(request_rec *r, const auth_ipsie_settings_t *cfg,
                            const ipsie_session_t *s, auth_ipsie_end_e reason)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "IPSIE11003: session ended: reason=%s sub=%s sid=%s ceiling=%" APR_INT64_T_FMT,
                  end_reasons[reason], ipsie_log_safe(s ? s->sub : NULL, r->pool),
                  ipsie_log_safe(s ? s->sid : NULL, r->pool), (apr_int64_t)(s ? s->ceiling : 0));
    cfg->store->remove(r, cfg, s);
    auth_ipsie_set_request_session(r, NULL);
}

ipsie_session_state_e auth_ipsie_session_current(ipsie_session_t **out, request_rec *r,
                                                 const auth_ipsie_settings_t *cfg, long long now)
{
    ipsie_session_t *s = NULL;
    ipsie_session_state_e state;
    int presented = 0;

    *out = NULL;
    auth_ipsie_session_read(&s, &presented, r, cfg);
    if (s == NULL) {
        if (presented) {
            auth_ipsie_session_end(r, cfg, NULL, AUTH_IPSIE_END_INVALID);
        }
        return IPSIE_SESSION_NONE;
    }
    state = ipsie_session_check(s, &cfg->policy, now);
    switch (state) {
    case IPSIE_SESSION_VALID:
        *out = s;
        break;
    case IPSIE_SESSION_CEILING:
        auth_ipsie_session_end(r, cfg, s, AUTH_IPSIE_END_CEILING);
        break;
    case IPSIE_SESSION_IDLE:
    default:
        auth_ipsie_session_end(r, cfg, s, AUTH_IPSIE_END_IDLE);
        break;
    }
    return state;
}

ipsie_session_t *auth_ipsie_session_peek(request_rec *r, const auth_ipsie_settings_t *cfg,
                                         long long now)
{
    ipsie_session_t *s = NULL;
    int presented;

    auth_ipsie_session_read(&s, &presented, r, cfg);
    return s != NULL && ipsie_session_check(s, &cfg->policy, now) == IPSIE_SESSION_VALID ? s : NULL;
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
    }
}

apr_status_t auth_ipsie_session_start(request_rec *r, const auth_ipsie_settings_t *cfg,
                                      const ipsie_session_t *s)
{
    return cfg->store->save(r, cfg, s);
}
