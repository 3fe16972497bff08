/* Starting a login: a login state in a slot cookie, then the browser sent to the provider's
 * authorization endpoint, with the request's parameters or, pushed to the provider first
 * (RFC 9126), with its request_uri alone. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_login.h"
#include "ipsie/ipsie_par.h"
#include "ipsie/ipsie_state.h"

APLOG_USE_MODULE(auth_ipsie);

/* Clear the request's state cookies the new login's choice of slot named. */
static void clear_states(request_rec *r, const auth_ipsie_settings_t *cfg,
                         const apr_array_header_t *clear)
{
    int i;

    for (i = 0; i < clear->nelts; i++) {
        const char *name = APR_ARRAY_IDX(clear, i, const char *);
        /* Names come from the request: echo only those a state of ours could have. */
        if (auth_ipsie_is_token_text(name + sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1,
                                     AUTH_IPSIE_STATE_MAX_LEN)) {
            auth_ipsie_clear_cookie(r, cfg, name);
        }
    }
}

/* The authorization URL of a pushed request: the parameters POSTed to the provider, holding a
 * lease of the provider's gate and within the request's time, as the token request does. */
static apr_status_t push_request(const char **url, request_rec *r, const auth_ipsie_settings_t *cfg,
                                 const ipsie_provider_t *op, const char *params,
                                 const ipsie_client_opts_t *copts)
{
    ipsie_gate_lease_t lease;
    ipsie_http_opts_t http = cfg->http;
    const char *request_uri;
    apr_status_t rv;

    *url = NULL;
    if (op->par_endpoint == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE19004: cannot start a login: %s, and the provider's metadata has no "
                      "pushed_authorization_request_endpoint",
                      cfg->auth_request_par ? "IPSIEAuthRequestMethod is PAR"
                                            : "the provider requires pushed requests");
        return IPSIE_ERR_METADATA;
    }
    rv = ipsie_provider_cache_enter(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    http.deadline = auth_ipsie_provider_deadline(r, cfg);
    rv = ipsie_par_push(&request_uri, op, &cfg->client, params, copts, &http, r->pool);
    ipsie_provider_cache_leave(cfg->provider, &lease);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE19005: cannot start a login: the pushed authorization request "
                      "failed");
        return rv;
    }
    *url = ipsie_par_authorization_url(op, cfg->client.client_id, request_uri, r->pool);
    return APR_SUCCESS;
}

/* A pushed request that failed: busy (503), or the provider cannot take it (502). */
static int push_failure(request_rec *r, apr_status_t rv)
{
    if (rv == IPSIE_ERR_BUSY) {
        return auth_ipsie_unavailable_page(r, 0, NULL);
    }
    if (rv == IPSIE_ERR_METADATA) {
        return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                     "This site sends its sign-in requests to the identity "
                                     "provider ahead of the browser (pushed authorization "
                                     "requests), which the identity provider does not offer. "
                                     "Please tell the site's administrators.");
    }
    return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                 "The identity provider could not start the sign-in. Please try "
                                 "again in a moment.");
}

int auth_ipsie_provider_breaks_profile(request_rec *r, const auth_ipsie_settings_t *cfg,
                                       const ipsie_provider_t *op)
{
    const char *plain = cfg->profile_sl1 ? ipsie_provider_plain_endpoint(op) : NULL;

    if (plain != NULL) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            "IPSIE10022: IPSIEProfile sl1: the provider's metadata gives %s as a URL that is "
            "not https; no login is started or completed, no logout token checked and no "
            "ID token sent with it",
            plain);
        return 1;
    }
    return 0;
}

int auth_ipsie_start_login(request_rec *r, const auth_ipsie_settings_t *cfg,
                           const char *return_path, int prompt_login, const char *login_hint)
{
    const ipsie_provider_t *op;
    ipsie_login_state_t *st;
    ipsie_login_request_t req;
    ipsie_client_opts_t copts;
    apr_array_header_t *clear;
    const char *location;
    char *sealed;
    long long now = apr_time_sec(r->request_time);
    apr_status_t rv;
    int slot;

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
                                     apr_pstrcat(r->pool,
                                                 prompt_login ? AUTH_IPSIE_CEILING_TEXT : "",
                                                 "The identity provider cannot be reached right "
                                                 "now. Please try again in a moment.",
                                                 NULL));
    }
    if (auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        return auth_ipsie_error_page(r, HTTP_BAD_GATEWAY, "Sign-in unavailable",
                                     "The identity provider is not set up as this site requires. "
                                     "Please tell the site's administrators.");
    }
    rv = ipsie_login_state_choose(&slot, &clear, auth_ipsie_cookies(r), cfg->crypto,
                                  cfg->state_max_cookies, cfg->state_timeout, now, r->pool);
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
    memset(&req, 0, sizeof(req));
    req.client_id = cfg->client.client_id;
    req.redirect_uri = auth_ipsie_redirect_uri_abs(r, cfg);
    req.scope = cfg->scope;
    req.max_age = cfg->max_age;
    req.login_hint = login_hint;
    req.extra_params = cfg->auth_request_params;
    auth_ipsie_client_opts(&copts, cfg, op);
    /* RFC 9449 10: the code is bound to the DPoP key (dpop_jkt, and a proof on the push) only
     * when that key is IPSIEDPoPSigningKey: a generated one is not the same on another host or
     * after a restart, where a login in progress must still redeem its code. */
    if (copts.dpop != NULL && !cfg->dpop_key_configured) {
        copts.dpop = NULL;
    }
    req.dpop_jkt = copts.dpop ? ipsie_signer_thumbprint(ipsie_dpop_key(copts.dpop)) : NULL;
    if (ipsie_par_wanted(cfg->auth_request_par, op)) {
        rv = push_request(&location, r, cfg, op,
                          ipsie_login_authorization_params(&req, st, r->pool), &copts);
        if (rv != APR_SUCCESS) {
            return push_failure(r, rv);
        }
    }
    else {
        location = ipsie_login_authorization_url(op, &req, st, r->pool);
    }
    clear_states(r, cfg, clear);
    auth_ipsie_set_cookie(r, cfg, ipsie_login_state_cookie_name(st->slot, r->pool), sealed,
                          cfg->state_timeout, 0);
    return auth_ipsie_redirect(r, location);
}
