/* ?info=json on the redirect URI: where the session stands, for scripts of the application
 * and the session-expiring warning. Reading it is not activity. */
#include <httpd.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <http_protocol.h>
#include <jansson.h>

#include "auth_ipsie.h"

int auth_ipsie_info_send(request_rec *r, const auth_ipsie_settings_t *cfg, const ipsie_session_t *s,
                         long long now)
{
    json_t *info;
    char *dumped;
    const char *body;

    info = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sub", s->sub, "iss", s->iss,
        "session_expiry", (json_int_t)s->session_expiry, "ceiling", (json_int_t)s->ceiling,
        "remaining", (json_int_t)(s->ceiling - now), "idle_remaining",
        (json_int_t)ipsie_session_idle_remaining(s, &cfg->policy, now), "login_time",
        (json_int_t)s->login_time, "inactivity_timeout", (json_int_t)cfg->policy.inactivity_timeout,
        "warning_lead", (json_int_t)cfg->warning_lead);
    if (info == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (s->session_expiry == 0) {
        json_object_set_new(info, "session_expiry", json_null());
    }
    dumped = json_dumps(info, JSON_COMPACT);
    json_decref(info);
    if (dumped == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    body = apr_pstrcat(r->pool, dumped, "\n", NULL);
    free(dumped);
    return auth_ipsie_send(r, HTTP_OK, "application/json", body);
}

int auth_ipsie_info(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    long long now = apr_time_sec(r->request_time);
    ipsie_session_t *s;
    ipsie_session_state_e state;

    if (strcmp(apr_table_get(args, "info"), "json") != 0) {
        return auth_ipsie_bad_request(r, "Only info=json is offered.");
    }
    if (auth_ipsie_session_current(&s, &state, r, cfg, now) != APR_SUCCESS) {
        return auth_ipsie_store_unavailable(r);
    }
    if (state != IPSIE_SESSION_VALID) {
        return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, auth_ipsie_session_error(state));
    }
    /* Reading the session's state is not activity: last_activity is left alone. */
    return auth_ipsie_info_send(r, cfg, s, now);
}
