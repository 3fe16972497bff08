/* Requests on the redirect URI, served from the authentication hook (so a proxied location
 * never forwards them): the first parameter of the table that the query holds names the
 * endpoint. */
#include <httpd.h>

#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_util.h"

typedef int endpoint_fn(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args);

static const struct {
    int method;
    const char *param;
    endpoint_fn *serve;
} endpoints[] = {
    {M_POST, "logout", auth_ipsie_backchannel},     /* auth_ipsie_backchannel.c */
    {M_GET, "logout", auth_ipsie_logout},           /* auth_ipsie_logout.c */
    {M_GET, "info", auth_ipsie_info},               /* auth_ipsie_info.c */
    {M_POST, "touch", auth_ipsie_touch},            /* auth_ipsie_touch.c */
    {M_GET, "reauth", auth_ipsie_reauth},           /* auth_ipsie_reauth.c */
    {M_GET, "warning.js", auth_ipsie_warning_js},   /* auth_ipsie_warning.c */
    {M_GET, "warning.css", auth_ipsie_warning_css}, /* ... */
    {M_GET, "state", auth_ipsie_callback},          /* auth_ipsie_callback.c */
    {M_GET, "code", auth_ipsie_callback},           /* ... */
    {M_GET, "error", auth_ipsie_callback},          /* ... */
    {M_GET, "iss", auth_ipsie_third_party},         /* auth_ipsie_third_party.c */
};

int auth_ipsie_redirect_uri_request(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    apr_table_t *args;
    size_t i;

    if (ipsie_form_parse(&args, r->args ? r->args : "", r->pool) != APR_SUCCESS) {
        return auth_ipsie_bad_request(r, "The request's parameters are malformed.");
    }
    for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (r->method_number == endpoints[i].method
            && apr_table_get(args, endpoints[i].param) != NULL) {
            return endpoints[i].serve(r, cfg, args);
        }
    }
    if (r->method_number != M_GET) {
        return auth_ipsie_error_page(r, HTTP_METHOD_NOT_ALLOWED, "Not allowed",
                                     "This address answers GET requests, and POST for "
                                     "logout=backchannel and touch.");
    }
    return auth_ipsie_bad_request(r, "This address is where the identity provider returns to; "
                                     "it was called without a sign-in response.");
}
