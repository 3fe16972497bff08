/* POST ?touch on the redirect URI: "stay signed in" of the session-expiring warning. The
 * session's last activity is written back (as any request of a protected location writes it)
 * and the session is described as ?info=json describes it. Only a script of the site sends it:
 * X-Requested-With, which a cross-site form cannot set, is required. */
#include <httpd.h>

#include <http_protocol.h>

#include "auth_ipsie.h"

int auth_ipsie_touch(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    long long now = apr_time_sec(r->request_time);
    ipsie_session_t *s;
    ipsie_session_state_e state;

    if (ap_discard_request_body(r) != OK
        || apr_table_get(r->headers_in, "X-Requested-With") == NULL) {
        return auth_ipsie_send_json_error(r, HTTP_BAD_REQUEST, "invalid_request");
    }
    if (auth_ipsie_session_current(&s, &state, r, cfg, now) != APR_SUCCESS) {
        return auth_ipsie_store_unavailable(r);
    }
    if (state != IPSIE_SESSION_VALID) {
        return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, auth_ipsie_session_error(state));
    }
    auth_ipsie_session_touch(r, cfg, s, now);
    return auth_ipsie_info_send(r, cfg, s, now);
}
