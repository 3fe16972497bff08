/* UserInfo around the core's request (ipsie_userinfo.c): read at login with the token
 * response's access token, whose failure refuses the login, and read again on a request
 * after IPSIEUserInfoRefreshInterval, whose failure keeps the claims the session has. Each
 * request holds a lease of the provider's gate and stays within the request's time. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_userinfo.h"

APLOG_USE_MODULE(auth_ipsie);

/* The UserInfo of the user sub, read with access_token at op's endpoint; dpop_bound: the token
 * is DPoP-bound, and goes with a proof. */
static ipsie_userinfo_outcome_e fetch(json_t **claims, request_rec *r,
                                      const auth_ipsie_settings_t *cfg, const ipsie_provider_t *op,
                                      const char *access_token, int dpop_bound, const char *sub)
{
    ipsie_userinfo_request_t req;
    ipsie_gate_lease_t lease;
    ipsie_http_opts_t http = cfg->http;
    ipsie_userinfo_outcome_e outcome;

    *claims = NULL;
    if (ipsie_provider_cache_enter(cfg->provider, &lease) != APR_SUCCESS) {
        return IPSIE_USERINFO_UNREACHABLE;
    }
    req.endpoint = op->userinfo_endpoint;
    req.access_token = access_token;
    req.dpop = dpop_bound ? cfg->dpop : NULL;
    req.now = auth_ipsie_now();
    http.deadline = auth_ipsie_provider_deadline(r, cfg);
    outcome = ipsie_userinfo_fetch(claims, &req, sub, &http, r->pool);
    ipsie_provider_cache_leave(cfg->provider, &lease);
    return outcome;
}

auth_ipsie_userinfo_e auth_ipsie_userinfo_at_login(request_rec *r, const auth_ipsie_settings_t *cfg,
                                                   const ipsie_provider_t *op,
                                                   const char *access_token, int dpop_bound,
                                                   ipsie_session_t *s, long long now)
{
    json_t *claims;
    ipsie_userinfo_outcome_e outcome;

    if (!cfg->userinfo || op->userinfo_endpoint == NULL) {
        return AUTH_IPSIE_USERINFO_SKIPPED;
    }
    outcome = fetch(&claims, r, cfg, op, access_token, dpop_bound, s->sub);
    if (outcome == IPSIE_USERINFO_SUB_MISMATCH) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE18002: login refused: the provider's UserInfo is about another user "
                      "than its ID token (sub=%s)",
                      ipsie_log_safe(s->sub, r->pool));
        return AUTH_IPSIE_USERINFO_REFUSED;
    }
    if (outcome != IPSIE_USERINFO_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE18001: login refused: UserInfo could not be read (the reason in the "
                      "IPSIE087nn line before)");
        return AUTH_IPSIE_USERINFO_FAILED;
    }
    if (ipsie_session_set_userinfo(s, claims, now, r->pool) != APR_SUCCESS) {
        return AUTH_IPSIE_USERINFO_FAILED;
    }
    return AUTH_IPSIE_USERINFO_READ;
}

int auth_ipsie_userinfo_due(const auth_ipsie_settings_t *cfg, const ipsie_session_t *s,
                            long long now)
{
    return cfg->userinfo_refresh > 0 && s->access_token != NULL
           && now - s->userinfo_time >= cfg->userinfo_refresh;
}

void auth_ipsie_userinfo_again(int *changed, request_rec *r, const auth_ipsie_settings_t *cfg,
                               ipsie_session_t *s, long long now)
{
    const ipsie_provider_t *op = NULL;
    const char *mark;
    char when[32];
    json_t *claims = NULL;
    ipsie_userinfo_outcome_e outcome = IPSIE_USERINFO_UNREACHABLE;
    apr_status_t rv;

    *changed = 0;
    rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                       auth_ipsie_provider_deadline(r, cfg));
    /* A provider that no longer has the endpoint: nothing to read, nothing to write. */
    if (rv == APR_SUCCESS && op->userinfo_endpoint == NULL) {
        return;
    }
    /* One request reads it for the session, across children and hosts; the others go on with
     * the claims they have. */
    apr_snprintf(when, sizeof(when), "%" APR_INT64_T_FMT, (apr_int64_t)s->userinfo_time);
    mark = ipsie_crypto_name(cfg->crypto, 0, "fu", (const char *const[]){s->id, when}, 2, r->pool);
    if (auth_ipsie_take_mark(r, cfg, mark, now + cfg->http.timeout + 2) != APR_SUCCESS) {
        return;
    }
    if (rv == APR_SUCCESS && !auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        /* As the token response said: a provider may answer a DPoP proof with a Bearer
         * token. */
        outcome = fetch(&claims, r, cfg, op, s->access_token, s->access_token_dpop, s->sub);
    }
    if (outcome == IPSIE_USERINFO_OK
        && ipsie_session_set_userinfo(s, claims, now, r->pool) == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "IPSIE18004: UserInfo read again for sub=%s",
                      ipsie_log_safe(s->sub, r->pool));
    }
    else {
        /* Tried again after the interval, not on every request. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE18003: UserInfo could not be read again for sub=%s: the claims the "
                      "session has are kept, and it is tried again in %" APR_INT64_T_FMT " s",
                      ipsie_log_safe(s->sub, r->pool), (apr_int64_t)cfg->userinfo_refresh);
        s->userinfo_time = now;
    }
    *changed = 1;
}
