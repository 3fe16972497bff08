/* ?iss=<issuer>&target_link_uri=<URL on this site> on the redirect URI: a login the provider
 * (or a portal) starts (OpenID Connect Core 4, required by IPSIE SL1). */
#include <httpd.h>
#include <string.h>

#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define LOGIN_HINT_MAX_LEN 256

int auth_ipsie_third_party(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *iss = apr_table_get(args, "iss");
    const char *target = apr_table_get(args, "target_link_uri");
    const char *hint = apr_table_get(args, "login_hint");
    const char *return_path;
    const ipsie_provider_t *op;
    apr_status_t rv;

    /* The issuer exactly as the provider's metadata spells it. */
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
                                     "The identity provider cannot be reached right now. "
                                     "Please try again in a moment.");
    }
    if (strcmp(iss, op->issuer) != 0) {
        return auth_ipsie_bad_request(r, "The login was initiated for another identity provider.");
    }
    if (ipsie_url_same_origin_path(&return_path, target ? target : "/", auth_ipsie_origin(r, cfg),
                                   r->pool)
        != APR_SUCCESS) {
        return auth_ipsie_bad_request(r, "The login target must be on this site.");
    }
    if (hint != NULL && (strlen(hint) > LOGIN_HINT_MAX_LEN || strpbrk(hint, "\r\n") != NULL)) {
        hint = NULL;
    }
    return auth_ipsie_start_login(r, cfg, return_path, 0, hint);
}
