/* HTTP client for talking to the OpenID Provider (libcurl), TLS verification always on. */
#ifndef IPSIE_HTTP_H
#define IPSIE_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define IPSIE_HTTP_MAX_BODY (512 * 1024)
#define IPSIE_HTTP_DEFAULT_TIMEOUT 10L

typedef struct {
    long timeout;        /* seconds for the whole exchange */
    const char *ca_file; /* extra trust anchors (PEM), NULL: system store */
    apr_time_t deadline; /* when the caller stops waiting, whatever the timeout; 0: none */
} ipsie_http_opts_t;

typedef struct {
    long status;      /* HTTP status */
    const char *body; /* NUL-terminated */
    apr_size_t body_len;
    const char *content_type;
    const char *cache_control; /* the Cache-Control header, NULL when absent */
    apr_table_t *headers;      /* every response header (of the last response) */
} ipsie_http_response_t;

/* Call once at start-up (curl_global_init). */
apr_status_t ipsie_http_global_init(void);

/* GET url. IPSIE_ERR_HTTP on transport failure or when opts->deadline is past (the exchange
 * never runs past it), IPSIE_ERR_TOO_LARGE past IPSIE_HTTP_MAX_BODY. Any HTTP status is a
 * success here: callers judge it. */
apr_status_t ipsie_http_get(ipsie_http_response_t *resp, const char *url,
                            const ipsie_http_opts_t *opts, apr_pool_t *p);

/* POST an application/x-www-form-urlencoded body; basic_user/basic_pass (may be NULL) add
 * HTTP Basic authentication, each form-urlencoded first as RFC 6749 2.3.1 asks. */
apr_status_t ipsie_http_post_form(ipsie_http_response_t *resp, const char *url, const char *form,
                                  const char *basic_user, const char *basic_pass,
                                  const ipsie_http_opts_t *opts, apr_pool_t *p);

/* The general exchange: GET when form is NULL, otherwise a form POST; headers: more request
 * headers ("Name: value", NULL-terminated list; NULL for none), e.g. Authorization or DPoP;
 * basic_user/basic_pass as for ipsie_http_post_form. */
apr_status_t ipsie_http_send(ipsie_http_response_t *resp, const char *url, const char *form,
                             const char *const *headers, const char *basic_user,
                             const char *basic_pass, const ipsie_http_opts_t *opts, apr_pool_t *p);

/* The freshness lifetime a Cache-Control header gives (RFC 9111 5.2.2.1 max-age), in
 * seconds: 0 for no-store or no-cache, -1 when it states none (header absent, no max-age,
 * or a malformed value). */
long long ipsie_http_max_age(const char *cache_control);

#endif
