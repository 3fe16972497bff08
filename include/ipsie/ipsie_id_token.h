/* ID token validation (OIDC Core 3.1.3.7): the JWS, then the claim rules. */
#ifndef IPSIE_ID_TOKEN_H
#define IPSIE_ID_TOKEN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "ipsie_jwk.h"

typedef struct {
    const char *issuer;    /* exact iss */
    const char *client_id; /* aud must hold it, and no other audience */
    const char *nonce;     /* exact nonce; NULL: must be absent */
    int nonce_optional;    /* a refreshed ID token (OIDC Core 12.2): nonce may also be absent */
    const apr_array_header_t *allowed_algs; /* const char * */
    int aud_single_string;                  /* IPSIEProfile sl1: aud must be a plain string */
    long clock_skew;                        /* seconds of tolerance on exp and iat */
    long long now;                          /* Unix seconds */
} ipsie_id_token_expect_t;

/* The JWS typ an ID token may name, when it names one (RFC 8725 3.11). */
#define IPSIE_ID_TOKEN_TYP "JWT"

/* ipsie_jws_verify_typed for IPSIE_ID_TOKEN_TYP (a typ of another kind of token, at+jwt,
 * logout+jwt, secevent+jwt, and any crit header are refused), then the ID token claim rules: iss,
 * aud, azp (when present it must be the client id; required when aud has several values), exp > now
 * - skew, iat present and
 * <= now + skew, sub present, nonce. IPSIE_ERR_JWT_CLAIMS with a logged reason otherwise. */
apr_status_t ipsie_id_token_validate(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                                     const ipsie_id_token_expect_t *expect, apr_pool_t *p);

#endif
