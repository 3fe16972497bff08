/* Cookie header parsing and splitting of large values into numbered chunk cookies. */
#ifndef IPSIE_COOKIE_H
#define IPSIE_COOKIE_H

#include <apr_pools.h>
#include <apr_tables.h>

#define IPSIE_COOKIE_MAX_CHUNKS 32
/* Browsers drop a cookie whose name and value pass this (RFC 6265 6.1). */
#define IPSIE_COOKIE_BROWSER_MAX 4096
/* Bytes of a Cookie header left for the site's own cookies when the module's are counted. */
#define IPSIE_COOKIE_ROOM_FOR_SITE 1024

/* Parse a Cookie request header ("a=b; c=d") into a table name -> value. Tolerates
 * whitespace and empty pairs; skips pairs without '=' or with an empty name; keeps the first
 * of duplicated names. Never fails: hostile input yields fewer entries. */
apr_table_t *ipsie_cookie_parse(const char *header, apr_pool_t *p);

/* The value of the first cookie called name (case-insensitively, as ipsie_cookie_parse
 * keys them) in a Cookie header, without parsing the rest; NULL when absent. */
const char *ipsie_cookie_find(const char *header, const char *name, apr_pool_t *p);

/* Split value for cookie name into pieces, each of which makes a "name_N=piece" pair no
 * longer than chunk_size. Returns an array of const char * (one element when the whole
 * "name=value" fits in chunk_size: then it is written unchunked). NULL when the value would
 * need more than IPSIE_COOKIE_MAX_CHUNKS pieces. */
apr_array_header_t *ipsie_cookie_split(const char *name, const char *value, apr_size_t chunk_size,
                                       apr_pool_t *p);

/* Bytes the cookies ipsie_cookie_split made for name add to a Cookie header: "name=value"
 * for one piece; "name_chunks=N" and every "name_i=piece" for several, with "; " between. */
apr_size_t ipsie_cookie_split_size(const char *name, const apr_array_header_t *pieces);

/* Read a possibly chunked value from parsed cookies: "name" itself, or "name_chunks"=N with
 * "name_0" .. "name_{N-1}". NULL when absent, incomplete, or N out of 1..MAX_CHUNKS. */
const char *ipsie_cookie_join(apr_table_t *cookies, const char *name, apr_pool_t *p);

#endif
