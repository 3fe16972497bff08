/* The authentication hook: on every request to a protected location, the session the store
 * holds is judged by the ceiling and idle rules; whoever has no valid session is sent to log
 * in (or answered 401/403); the redirect URI is served from here, so a proxied location never
 * forwards it. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "auth_ipsie.h"

APLOG_USE_MODULE(auth_ipsie);

/* Answer a request that needs a login: a login (browser) or a JSON error, as the location
 * says. Only the ceiling asks the provider for a new sign-in rather than its session. */
static int unauthenticated(request_rec *r, const auth_ipsie_settings_t *cfg,
                           const auth_ipsie_dir_settings_t *dir, ipsie_session_state_e state)
{
    const char *error = auth_ipsie_session_error(state);

    switch (dir->unauth_action) {
    case UNAUTH_PASS:
        /* Let the request through with no identity; Require rules still apply. */
        r->user = "";
        return OK;
    case UNAUTH_401:
        return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, error);
    case UNAUTH_403:
        return auth_ipsie_send_json_error(r, HTTP_FORBIDDEN, error);
    case UNAUTH_AUTH:
    default:
        if (!auth_ipsie_is_browser(r)) {
            return auth_ipsie_send_json_error(r, HTTP_UNAUTHORIZED, error);
        }
        return auth_ipsie_start_login(r, cfg, auth_ipsie_current_path(r),
                                      state == IPSIE_SESSION_CEILING, NULL);
    }
}

/* A subrequest (mod_dir, mod_autoindex, SSI, MultiViews) shares its main request's
 * response: it may use a valid session but never answers, redirects or sets cookies. */
static int check_subrequest(request_rec *r, const auth_ipsie_settings_t *cfg,
                            const auth_ipsie_dir_settings_t *dir, long long now)
{
    const ipsie_session_t *s = auth_ipsie_request_session(r);

    if (s == NULL) {
        s = auth_ipsie_session_peek(r, cfg, now);
    }
    return auth_ipsie_adopt(r, dir, s, now, 0, HTTP_UNAUTHORIZED);
}

int auth_ipsie_check_user_id(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const auth_ipsie_settings_t *cfg;
    auth_ipsie_dir_settings_t dir;
    ipsie_session_t *s;
    const ipsie_session_t *earlier;
    ipsie_session_state_e state;
    long long now;
    int rv;

    if (type == NULL || strcasecmp(type, AUTH_IPSIE_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    cfg = auth_ipsie_settings(r->server);
    if (cfg == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE11004: AuthType ipsie is used, but this server has no "
                      "IPSIEProviderMetadataURL/IPSIEClientID configuration");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    auth_ipsie_dir_settings(&dir, r);
    now = apr_time_sec(r->request_time);
    if (r->main != NULL) {
        return check_subrequest(r, cfg, &dir, now);
    }
    /* After an internal redirect (ErrorDocument, a CGI's local Location, mod_rewrite) the
     * first request's session goes on; its cookies are no longer in the request. */
    earlier = r->prev != NULL ? auth_ipsie_request_session(r) : NULL;
    if (earlier != NULL) {
        return auth_ipsie_adopt(r, &dir, earlier, now, 0, HTTP_FORBIDDEN);
    }
    if (strcmp(r->uri, cfg->redirect_path) == 0) {
        auth_ipsie_mark_redirect_uri_handled(r);
        return auth_ipsie_redirect_uri_request(r, cfg);
    }
    if (auth_ipsie_session_current(&s, &state, r, cfg, now) != APR_SUCCESS) {
        return auth_ipsie_store_unavailable(r);
    }
    if (state != IPSIE_SESSION_VALID) {
        return unauthenticated(r, cfg, &dir, state);
    }
    /* The request's headers were just cleaned of ours: identity is added without a search. */
    rv = auth_ipsie_adopt(r, &dir, s, now, 1, HTTP_FORBIDDEN);
    if (rv == OK) {
        auth_ipsie_session_touch(r, cfg, s, now);
        auth_ipsie_strip_own_cookies(r, cfg);
    }
    return rv;
}

int auth_ipsie_fixups(request_rec *r)
{
    const auth_ipsie_settings_t *cfg = auth_ipsie_settings(r->server);

    if (cfg == NULL || r->main != NULL || strcmp(r->uri, cfg->redirect_path) != 0
        || auth_ipsie_redirect_uri_handled(r)) {
        return DECLINED;
    }
    /* The callback would reach a handler or a backend with the authorization code. */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "IPSIE11008: %s is IPSIERedirectURI but authentication did not run for it: "
                  "put it inside a <Location> with 'AuthType ipsie' and no AuthType or "
                  "Require override",
                  cfg->redirect_path);
    return auth_ipsie_error_page(r, HTTP_INTERNAL_SERVER_ERROR, "Misconfigured sign-in",
                                 "This site's sign-in address is not set up correctly.");
}

int auth_ipsie_note_auth_failure(request_rec *r, const char *auth_type)
{
    /* Our answers to unauthenticated requests are made in the authn hook itself. */
    return strcasecmp(auth_type, AUTH_IPSIE_AUTH_TYPE) == 0 ? OK : DECLINED;
}
