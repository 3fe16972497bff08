/* Logout on the redirect URI (?logout=<URL on this site>): the session ends whatever the
 * return address, then the provider's end-session endpoint (RP-Initiated Logout 1.0) or the
 * address itself. */
#include <httpd.h>

#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_login.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_revocation.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

int auth_ipsie_logout(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *target = apr_table_get(args, "logout");
    const char *return_to;
    const char *end_session;
    const ipsie_provider_t *op;
    ipsie_session_t *s = NULL;
    int presented = 0;

    /* The session ends whatever the return address: a refused one must not keep it. A copy
     * of its cookie must not keep it either: the revocation entry ends it everywhere. A store
     * that cannot do that gets a 503, and the cookie stays, so that logging out again can
     * finish the job: a logout is never confirmed that did not happen. */
    if (auth_ipsie_session_read(&s, &presented, r, cfg) != APR_SUCCESS
        || (s != NULL
            && auth_ipsie_revoke(r, cfg, ipsie_revocation_session_names(cfg->crypto, s, r->pool),
                                 apr_time_sec(r->request_time))
                   != APR_SUCCESS)
        || ((s != NULL || presented)
            && auth_ipsie_session_end(r, cfg, s, s ? AUTH_IPSIE_END_LOGOUT : AUTH_IPSIE_END_INVALID)
                   != APR_SUCCESS)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12026: logout not completed: the session store (%s) failed; "
                      "answered 503",
                      cfg->kv ? cfg->kv->ops->name : cfg->store->name);
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return auth_ipsie_error_page(r, HTTP_SERVICE_UNAVAILABLE, "Not logged out yet",
                                     "This site cannot end your session right now. Please try "
                                     "logging out again in a few seconds.");
    }
    if (*target == '\0') {
        target = cfg->post_logout_redirect_uri ? cfg->post_logout_redirect_uri : "/";
    }
    if (ipsie_url_same_origin(&return_to, target, auth_ipsie_origin(r, cfg), r->pool)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE12011: logout refused an off-site return URL");
        return auth_ipsie_error_page(r, HTTP_BAD_REQUEST, "Logged out",
                                     "You are logged out of this site. The return address "
                                     "given was refused: it must be on this site.");
    }
    if (s != NULL
        && ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(),
                                         auth_ipsie_provider_deadline(r, cfg))
               == APR_SUCCESS
        /* Under sl1 the ID token goes to no endpoint that is not https: ended here only. */
        && !auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        /* RP-Initiated Logout 1.0: the provider hands state back to the return address. */
        end_session =
            ipsie_logout_url(op, ipsie_session_id_token(s, r->pool), return_to,
                             cfg->client.client_id, ipsie_random_token(16, r->pool), r->pool);
        if (end_session != NULL) {
            ipsie_metric_inc(IPSIE_M_PROVIDER_END_SESSION);
            return_to = end_session;
        }
    }
    return auth_ipsie_redirect(r, return_to);
}
