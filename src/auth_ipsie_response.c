/* The responses the module sends itself: pages, JSON errors, and the 503 of a busy provider. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "auth_ipsie.h"

APLOG_USE_MODULE(auth_ipsie);

int auth_ipsie_send(request_rec *r, int status, const char *content_type, const char *body)
{
    return auth_ipsie_send_cached(r, status, content_type, body, "no-store");
}

int auth_ipsie_send_bytes(request_rec *r, int status, const char *content_type, const char *body,
                          apr_size_t len)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);

    r->status = status;
    if (body != NULL) {
        ap_set_content_type(r, content_type);
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only) {
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(body, len, bb->bucket_alloc));
        }
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    if (ap_pass_brigade(r->output_filters, bb) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "IPSIE11006: client went away");
    }
    return DONE;
}

int auth_ipsie_send_cached(request_rec *r, int status, const char *content_type, const char *body,
                           const char *cache_control)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", cache_control);
    return auth_ipsie_send_bytes(r, status, content_type, body, strlen(body));
}

/* A page of the module: the configured template (or the built-in one) filled in. Every page
 * has one link: "again" when given, else back to the site. */
int auth_ipsie_page(request_rec *r, int status, const char *title, const char *message,
                    const char *link_url, const char *link_text)
{
    const auth_ipsie_settings_t *cfg = auth_ipsie_settings(r->server);
    const ipsie_template_t *t = cfg != NULL ? cfg->page_template : NULL;
    const char *values[IPSIE_TPL_FIELDS];
    const char *why;

    if (t == NULL || cfg->page_template_builtin) {
        /* Nothing but its own inline style: no script, no resource from anywhere. */
        apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                       "form-action 'none'; frame-ancestors 'none'");
    }
    if (t == NULL) {
        ipsie_template_t *builtin = NULL;

        if (ipsie_template_parse(&builtin, ipsie_template_builtin, strlen(ipsie_template_builtin),
                                 &why, r->pool)
            != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        t = builtin;
    }
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    values[IPSIE_TPL_TITLE] = title;
    values[IPSIE_TPL_MESSAGE] = message;
    values[IPSIE_TPL_LINK_URL] = link_url != NULL ? link_url : "/";
    values[IPSIE_TPL_LINK_TEXT] = link_text != NULL ? link_text : "Back to the site";
    return auth_ipsie_send(r, status, "text/html; charset=utf-8",
                           ipsie_template_render(t, values, r->pool));
}

int auth_ipsie_error_page_again(request_rec *r, int status, const char *title, const char *message,
                                const char *again)
{
    return again != NULL ? auth_ipsie_page(r, status, title, message, again, "Try again")
                         : auth_ipsie_page(r, status, title, message, NULL, NULL);
}

int auth_ipsie_error_page(request_rec *r, int status, const char *title, const char *message)
{
    return auth_ipsie_error_page_again(r, status, title, message, NULL);
}

int auth_ipsie_unavailable_page(request_rec *r, long retry_after, const char *again)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_ltoa(r->pool, retry_after > 0 ? retry_after : 5));
    return auth_ipsie_error_page_again(r, HTTP_SERVICE_UNAVAILABLE, "Sign-in busy",
                                       "Signing in cannot be completed right now. Please try "
                                       "again in a few seconds.",
                                       again);
}

int auth_ipsie_send_json_error(request_rec *r, int status, const char *error)
{
    return auth_ipsie_send(r, status, "application/json",
                           apr_psprintf(r->pool, "{\"error\":\"%s\"}\n", error));
}

int auth_ipsie_redirect(request_rec *r, const char *location)
{
    apr_table_setn(r->headers_out, "Location", location);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

int auth_ipsie_bad_request(request_rec *r, const char *message)
{
    return auth_ipsie_error_page(r, HTTP_BAD_REQUEST, "Sign-in failed", message);
}

int auth_ipsie_store_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    if (!auth_ipsie_is_browser(r)) {
        return auth_ipsie_send_json_error(r, HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable");
    }
    return auth_ipsie_error_page(r, HTTP_SERVICE_UNAVAILABLE, "Temporarily unavailable",
                                 "This site cannot check your sign-in right now. Please try "
                                 "again in a few seconds.");
}
