/* ?warning.js and ?warning.css on the redirect URI: the session-expiring warning's script and
 * stylesheet (src/assets/), the same bytes for everyone and for every session, so cacheable.
 * Pages get the script tag from the IPSIESessionWarning filter (auth_ipsie_inject.c), whose URL
 * names the version: that URL is cached for a year, any other for 5 minutes. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "auth_ipsie.h"
#include "auth_ipsie_assets.h"

APLOG_USE_MODULE(auth_ipsie);

const char auth_ipsie_warning_version[] = AUTH_IPSIE_WARNING_VERSION;

/* One of the assets, with its version as ETag; 304 when the browser holds it already. */
static int send_asset(request_rec *r, const char *asked_version, const char *content_type,
                      const char *body, apr_size_t len)
{
    apr_table_setn(r->headers_out, "ETag", "\"" AUTH_IPSIE_WARNING_VERSION "\"");
    apr_table_setn(r->headers_out, "Cache-Control",
                   strcmp(asked_version, AUTH_IPSIE_WARNING_VERSION) == 0
                       ? "public, max-age=31536000, immutable"
                       : "public, max-age=300");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (ap_meets_conditions(r) == HTTP_NOT_MODIFIED) {
        return auth_ipsie_send_bytes(r, HTTP_NOT_MODIFIED, NULL, NULL, 0);
    }
    return auth_ipsie_send_bytes(r, HTTP_OK, content_type, body, len);
}

int auth_ipsie_warning_js(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    return send_asset(r, apr_table_get(args, "warning.js"), "text/javascript; charset=utf-8",
                      warning_js_text, sizeof(warning_js_text) - 1);
}

int auth_ipsie_warning_css(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    return send_asset(r, apr_table_get(args, "warning.css"), "text/css; charset=utf-8",
                      warning_css_text, sizeof(warning_css_text) - 1);
}
