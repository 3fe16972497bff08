/* Small helpers shared by the core: base64url, randomness, constant-time compare, URLs. */
#ifndef IPSIE_UTIL_H
#define IPSIE_UTIL_H

#include <apr_pools.h>
#include <apr_tables.h>

/* base64url without padding of len bytes. */
char *ipsie_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *p);

/* Strict base64url decode (no padding accepted, no whitespace, no foreign characters).
 * *out is NUL-terminated for convenience; *out_len excludes the NUL. */
apr_status_t ipsie_b64url_decode(unsigned char **out, apr_size_t *out_len, const char *in,
                                 apr_size_t in_len, apr_pool_t *p);

/* Fill buf with len bytes from the OpenSSL CSPRNG. */
apr_status_t ipsie_random_bytes(unsigned char *buf, apr_size_t len);

/* nbytes of randomness as base64url text (e.g. 32 -> 43 characters). NULL on RNG failure. */
char *ipsie_random_token(apr_size_t nbytes, apr_pool_t *p);

/* 1 when a and b are equal strings; time depends only on the lengths. NULL equals nothing. */
int ipsie_ct_streq(const char *a, const char *b);

/* 1 when s holds a control character (below 0x20, or DEL): such a value could forge a log line
 * or a header. Bytes past ASCII are no control characters. */
int ipsie_has_control(const char *s);

/* Percent-encode everything but unreserved characters (RFC 3986). */
char *ipsie_url_encode(const char *s, apr_pool_t *p);

/* Percent-decode (and '+' to space when form is set). Rejects bad escapes and NULs. */
apr_status_t ipsie_url_decode(char **out, const char *s, int form, apr_pool_t *p);

/* Parse an application/x-www-form-urlencoded string (or a query) into a table.
 * Fails on malformed escapes; keeps only the first value of a repeated name. */
apr_status_t ipsie_form_parse(apr_table_t **out, const char *s, apr_pool_t *p);

/* Resolve target against origin ("https://host[:port]", no trailing slash): accepts an
 * absolute path ("/x", not "//x" nor "/\x") or an absolute URL whose scheme, host and port
 * equal the origin's. Rejects control characters, backslashes and anything else with
 * IPSIE_ERR_NOT_SAME_ORIGIN. *abs_url receives the absolute URL. */
apr_status_t ipsie_url_same_origin(const char **abs_url, const char *target, const char *origin,
                                   apr_pool_t *p);

/* As ipsie_url_same_origin, but *path receives the path, query and fragment of the
 * same-origin URL (always starting with '/'). */
apr_status_t ipsie_url_same_origin_path(const char **path, const char *target, const char *origin,
                                        apr_pool_t *p);

/* 1 when name starts with prefix, without regard to case and with '-' and '_' alike: how
 * incoming header names are matched against the module's own. */
int ipsie_name_has_prefix_loose(const char *name, const char *prefix);

/* 1 when a request comes from a browser navigating, which a login page can serve; 0 for a
 * script or an API client: X-Requested-With XMLHttpRequest, a Sec-Fetch-Mode other than
 * navigate, or an Accept that admits neither text/html nor any type. Each value may be NULL. */
int ipsie_is_browser(const char *x_requested_with, const char *sec_fetch_mode, const char *accept);

/* Why a configured secret (a passphrase, a client secret) is guessable, or NULL: it holds a
 * placeholder of documentation ("change-me", "replace with the output of ...", "openssl
 * rand"), has fewer than min_distinct different characters, repeats one character 8 times in
 * a row, or is a short pattern repeated (period of 6 or less over 16 characters or more). */
const char *ipsie_secret_weakness(const char *secret, int min_distinct);

#endif
