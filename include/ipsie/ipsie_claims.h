/* Claims read from a JSON object that was validated before (an ID token payload kept in a
 * session): a strict scanner cheap enough for every request, where a general JSON parser
 * would cost more than the rest of the request. */
#ifndef IPSIE_CLAIMS_H
#define IPSIE_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    IPSIE_CLAIM_STRING = 0,
    IPSIE_CLAIM_NUMBER,
    IPSIE_CLAIM_BOOLEAN,
    IPSIE_CLAIM_NULL,
    IPSIE_CLAIM_ARRAY,
    IPSIE_CLAIM_OBJECT
} ipsie_claim_kind_e;

typedef struct {
    const char *name;
    const char *value; /* strings unescaped, numbers as written, true/false, "" for null,
                        * arrays their elements' values joined with ",", objects their JSON */
    const char *json;  /* arrays: their JSON, to match elements; else NULL */
    ipsie_claim_kind_e kind;
    int hidden; /* not passed to the application: its name collides with another's */
} ipsie_claim_t;

/* The members of the JSON object text[0..len) as ipsie_claim_t, in document order. Strict
 * RFC 8259 (no trailing text); IPSIE_ERR_MALFORMED for anything else, for a string holding
 * \u0000 or a lone surrogate, and for nesting deeper than 32. */
apr_status_t ipsie_claims_scan(apr_array_header_t **out, const char *text, apr_size_t len,
                               apr_pool_t *p);

/* 1 when the JSON array array_json has an element whose value (as above) is value. */
int ipsie_claims_array_holds(const char *array_json, const char *value, apr_pool_t *p);

/* Mark as hidden the claims whose names map to the same header or variable name (letters
 * and digits kept without regard to case, every other character alike: "a-b", "a_b", "A.B").
 * In such a group the one spelled in lower-case letters, digits and '_' (as every OpenID
 * Connect claim is; at most one can be) stays; when none is, all are hidden. Returns how many were
 * hidden; *names, when not NULL, lists them separated by spaces (NULL when none). */
int ipsie_claims_hide_collisions(apr_array_header_t *claims, const char **names, apr_pool_t *p);

#endif
