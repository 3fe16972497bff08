/* JWS verification against a JWKS and ID token validation (OIDC Core 3.1.3.7, RFC 8725). */
#ifndef IPSIE_JWT_H
#define IPSIE_JWT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#define IPSIE_JWT_MAX_LEN 16384

typedef struct ipsie_jwks_t ipsie_jwks_t;

/* Parse a JWKS document. Keys that are not for signatures ("use" other than "sig"), of an
 * unsupported kty, or malformed are skipped (logged at debug); an empty result is fine.
 * IPSIE_ERR_MALFORMED when the document is not a JSON object with a "keys" array. */
apr_status_t ipsie_jwks_parse(ipsie_jwks_t **out, const char *json, apr_size_t len, apr_pool_t *p);

/* Number of usable keys. */
int ipsie_jwks_count(const ipsie_jwks_t *jwks);

/* Verify a compact JWS: alg must be on allowed_algs (array of const char *; "none" and HS*
 * are refused whatever the list says), and the signature must verify with a key of the
 * token's kid (the only key of a fitting type when the token has none). On success *claims holds
 * the payload object (a reference released with the pool). IPSIE_ERR_JWT_KID when no key
 * fits, IPSIE_ERR_JWT_SIGNATURE when none verifies: in both cases fresher keys may (the
 * caller may refetch the JWKS once and retry). */
apr_status_t ipsie_jws_verify(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                              const apr_array_header_t *allowed_algs, apr_pool_t *p);

typedef struct {
    const char *issuer;                     /* exact iss */
    const char *client_id;                  /* aud must hold it, and no other audience */
    const char *nonce;                      /* exact nonce; NULL: must be absent */
    const apr_array_header_t *allowed_algs; /* const char * */
    int aud_single_string;                  /* IPSIEProfile sl1: aud must be a plain string */
    long clock_skew;                        /* seconds of tolerance on exp and iat */
    long long now;                          /* Unix seconds */
} ipsie_id_token_expect_t;

/* ipsie_jws_verify, then the ID token claim rules: iss, aud, azp (when present it must be
 * the client id; required when aud has several values), exp > now - skew, iat present and
 * <= now + skew, sub present, nonce. IPSIE_ERR_JWT_CLAIMS with a logged reason otherwise. */
apr_status_t ipsie_id_token_validate(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                                     const ipsie_id_token_expect_t *expect, apr_pool_t *p);

#endif
