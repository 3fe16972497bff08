/* Starting a login: a login state in a slot cookie, then the browser sent to the provider's
 * authorization endpoint. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_login.h"
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

int auth_ipsie_provider_breaks_profile(request_rec *r, const auth_ipsie_settings_t *cfg,
                                       const ipsie_provider_t *op)
{
    const char *plain = cfg->profile_sl1 ? ipsie_provider_plain_endpoint(op) : NULL;

    if (plain != NULL) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            "IPSIE10022: IPSIEProfile sl1: the provider's metadata gives %s as a URL that is "
            "not https; no login is started or completed with it",
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
    apr_array_header_t *clear;
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
        clear_states(r, cfg, clear);
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
    req.client_id = cfg->client.client_id;
    req.redirect_uri = auth_ipsie_redirect_uri_abs(r, cfg);
    req.scope = cfg->scope;
    req.max_age = cfg->max_age;
    req.login_hint = login_hint;
    req.extra_params = cfg->auth_request_params;
    return auth_ipsie_redirect(r, ipsie_login_authorization_url(op, &req, st, r->pool));
}
