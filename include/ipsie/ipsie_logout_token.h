/* Logout token validation (OpenID Connect Back-Channel Logout 1.0 section 2.6, RFC 8725): the
 * JWS, then the claim rules. */
#ifndef IPSIE_LOGOUT_TOKEN_H
#define IPSIE_LOGOUT_TOKEN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ipsie_jwk.h"

/* Back-Channel Logout 1.0 2.4: the member of events that makes a JWT a logout token. */
#define IPSIE_LOGOUT_EVENT "http://schemas.openid.net/event/backchannel-logout"

/* The header typ a logout token may carry (Back-Channel Logout 1.0 2.4, RFC 8725 3.11). */
#define IPSIE_LOGOUT_TOKEN_TYP "logout+jwt"

/* The longest jti accepted: it becomes a key of the replay records. */
#define IPSIE_LOGOUT_JTI_MAX_LEN 256

typedef struct {
    const char *issuer;                     /* exact iss */
    const char *client_id;                  /* aud must hold it (string, or array holding it;
                                               with aud_single_string only a string) */
    const apr_array_header_t *allowed_algs; /* const char *, as for ID tokens; none/HS* never */
    int aud_single_string;                  /* IPSIEProfile sl1: aud must be a plain string */
    long clock_skew;                        /* seconds of tolerance on iat and exp */
    long max_age;                           /* iat no older than this many seconds (> 0) */
    long long now;                          /* Unix seconds */
} ipsie_logout_token_expect_t;

typedef struct {
    const char *iss;
    const char *sub; /* NULL when absent */
    const char *sid; /* NULL when absent; at least one of sub and sid is there */
    const char *jti; /* always present */
    long long iat;
    long long exp; /* 0 when absent */
} ipsie_logout_token_t;

/* Validate a logout token: ipsie_jws_verify_typed with typ logout+jwt (IPSIE_ERR_JWT_KID and
 * IPSIE_ERR_JWT_SIGNATURE: the caller may refetch the keys once and retry), then iss, aud,
 * iat (not beyond now + skew, not before now - max_age), exp when present (after now - skew),
 * jti (printable, at most 256), events holding the back-channel logout event as an object, sub
 * and/or sid (as ID token sub), no nonce. IPSIE_ERR_JWT_CLAIMS with one IPSIE052nn line else.
 * *out lives in p. */
apr_status_t ipsie_logout_token_validate(ipsie_logout_token_t **out, const char *jwt,
                                         const ipsie_jwks_t *jwks,
                                         const ipsie_logout_token_expect_t *expect, apr_pool_t *p);

#endif
