/* ?reauth=<URL on this site> on the redirect URI: where the session-expiring warning sends a
 * tab at (or just before) the ceiling: a fresh sign-in (prompt=login) that returns to the page.
 * A session far from its ceiling is not signed in again: the browser simply goes back, so a
 * link from elsewhere cannot make anyone type a password. */
#include <httpd.h>

#include <apr_strings.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_util.h"

/* Clocks of browser and server, and the whole seconds ?info=json counts in, may differ by this
 * much: a session this close to the warning's lead is near its ceiling. */
#define REAUTH_SLACK 30

int auth_ipsie_reauth(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    const char *target = apr_table_get(args, "reauth");
    long long now = apr_time_sec(r->request_time);
    const char *return_path;
    ipsie_session_t *s;
    ipsie_session_state_e state;

    if (ipsie_url_same_origin_path(&return_path, *target != '\0' ? target : "/",
                                   auth_ipsie_origin(r, cfg), r->pool)
        != APR_SUCCESS) {
        return auth_ipsie_bad_request(r, "The return address must be on this site.");
    }
    if (auth_ipsie_session_current(&s, &state, r, cfg, now) != APR_SUCCESS) {
        return auth_ipsie_store_unavailable(r);
    }
    if (state == IPSIE_SESSION_VALID && s->ceiling - now > cfg->warning_lead + REAUTH_SLACK) {
        return auth_ipsie_redirect(
            r, apr_pstrcat(r->pool, auth_ipsie_origin(r, cfg), return_path, NULL));
    }
    /* At the ceiling, near it, or with the session gone (ended at its ceiling by another
     * tab): a sign-in that the provider may not answer from its own session. After an idle
     * end, the provider's session may answer. */
    return auth_ipsie_start_login(r, cfg, return_path, state != IPSIE_SESSION_IDLE, NULL);
}
