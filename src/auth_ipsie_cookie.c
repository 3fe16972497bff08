/* Set-Cookie for the module's cookies, with the attributes the configuration gives them. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_state.h"

/* Take back what this response was to set for cookie name: its last Set-Cookie is its only one. */
static void forget_set_cookie(request_rec *r, const char *name)
{
    const apr_array_header_t *all = apr_table_elts(r->err_headers_out);
    const apr_table_entry_t *e = (const apr_table_entry_t *)all->elts;
    apr_size_t n = strlen(name);
    apr_array_header_t *kept = NULL;
    int i, found = 0;

    for (i = 0; i < all->nelts; i++) {
        if (e[i].key != NULL && strcasecmp(e[i].key, "Set-Cookie") == 0) {
            if (strncmp(e[i].val, name, n) == 0 && e[i].val[n] == '=') {
                found = 1;
            }
            else {
                if (kept == NULL) {
                    kept = apr_array_make(r->pool, 4, sizeof(const char *));
                }
                APR_ARRAY_PUSH(kept, const char *) = e[i].val;
            }
        }
    }
    if (!found) {
        return;
    }
    apr_table_unset(r->err_headers_out, "Set-Cookie");
    for (i = 0; kept != NULL && i < kept->nelts; i++) {
        apr_table_addn(r->err_headers_out, "Set-Cookie", APR_ARRAY_IDX(kept, i, const char *));
    }
}

void auth_ipsie_set_cookie(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name,
                           const char *value, long max_age, long long expires)
{
    const char *lifetime = "";
    const char *samesite = cfg->cookie_samesite;

    if (max_age == 0) {
        lifetime = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    }
    else if (max_age > 0) {
        lifetime = apr_psprintf(r->pool, "; Max-Age=%ld", max_age);
    }
    else if (expires > 0) {
        char date[APR_RFC822_DATE_LEN];
        apr_rfc822_date(date, apr_time_from_sec(expires));
        lifetime = apr_pstrcat(r->pool, "; Expires=", date, NULL);
    }
    /* State cookies must survive the cross-site return from the provider. */
    if (strncmp(name, IPSIE_STATE_COOKIE_PREFIX, sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1) == 0
        && strcmp(samesite, "Strict") == 0) {
        samesite = "Lax";
    }
    /* A session written twice in one response (refreshed, then its activity) sets it once. */
    forget_set_cookie(r, name);
    apr_table_addn(
        r->err_headers_out, "Set-Cookie",
        apr_pstrcat(r->pool, name, "=", value, "; Path=", cfg->cookie_path,
                    cfg->cookie_domain ? "; Domain=" : "",
                    cfg->cookie_domain ? cfg->cookie_domain : "", "; HttpOnly",
                    strncasecmp(auth_ipsie_origin(r, cfg), "https:", 6) == 0 ? "; Secure" : "",
                    "; SameSite=", samesite, lifetime, NULL));
}

void auth_ipsie_clear_cookie(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name)
{
    auth_ipsie_set_cookie(r, cfg, name, "", 0, 0);
}
