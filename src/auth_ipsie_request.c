/* What the module knows about one request: its cookies (parsed once), the session the
 * authentication hook accepted for it, where the site is, the clock for the provider, and what
 * the client's requests to the provider carry. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_core.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_util.h"

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

void auth_ipsie_set_request_session(request_rec *r, const ipsie_session_t *s)
{
    req_state(r)->session = s;
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

void auth_ipsie_mark_redirect_uri_handled(request_rec *r)
{
    req_state(r)->redirect_uri_handled = 1;
}

int auth_ipsie_redirect_uri_handled(const request_rec *r)
{
    const req_state_t *st = ap_get_module_config(r->request_config, &auth_ipsie_module);

    return st != NULL && st->redirect_uri_handled;
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

const char *auth_ipsie_redirect_uri_abs(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return cfg->redirect_origin
               ? cfg->redirect_uri
               : apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), cfg->redirect_path, NULL);
}

const char *auth_ipsie_current_path(const request_rec *r)
{
    return r->unparsed_uri != NULL && r->unparsed_uri[0] == '/' ? r->unparsed_uri : "/";
}

int auth_ipsie_is_browser(const request_rec *r)
{
    return ipsie_is_browser(apr_table_get(r->headers_in, "X-Requested-With"),
                            apr_table_get(r->headers_in, "Sec-Fetch-Mode"),
                            apr_table_get(r->headers_in, "Accept"));
}

long long auth_ipsie_now(void)
{
    return apr_time_sec(apr_time_now());
}

apr_time_t auth_ipsie_provider_deadline(const request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return r->request_time + apr_time_from_sec(cfg->http.timeout + 1);
}

void auth_ipsie_client_opts(ipsie_client_opts_t *out, const auth_ipsie_settings_t *cfg,
                            const ipsie_provider_t *op)
{
    out->dpop = cfg->dpop != NULL
                        && ipsie_dpop_wanted(cfg->dpop_mode, op,
                                             ipsie_signer_alg(ipsie_dpop_key(cfg->dpop)))
                    ? cfg->dpop
                    : NULL;
    out->dpop_required = cfg->dpop_mode == IPSIE_DPOP_REQUIRED;
    out->now = auth_ipsie_now();
}
