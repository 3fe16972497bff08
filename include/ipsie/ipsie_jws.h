/* JWS verification (RFC 7515, RFC 8725): a compact JWS checked against an allow-list of
 * algorithms and the provider's keys. */
#ifndef IPSIE_JWS_H
#define IPSIE_JWS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "ipsie_jwk.h"

#define IPSIE_JWT_MAX_LEN 16384

/* Verify a compact JWS: alg must be on allowed_algs (array of const char *; "none" and HS*
 * are refused whatever the list says), and the signature must verify with a key of the
 * token's kid (the only key of a fitting type when the token has none). On success *claims holds
 * the payload object (a reference released with the pool). IPSIE_ERR_JWT_KID when no key
 * fits, IPSIE_ERR_JWT_SIGNATURE when none verifies: in both cases fresher keys may (the
 * caller may refetch the JWKS once and retry). */
apr_status_t ipsie_jws_verify(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                              const apr_array_header_t *allowed_algs, apr_pool_t *p);

/* ipsie_jws_verify for a token explicitly typed (RFC 8725 3.11): its header's typ, when
 * present, must be typ (e.g. "logout+jwt"), without regard to case and with or without the
 * "application/" prefix; otherwise IPSIE_ERR_JWT_CLAIMS, before any key is sought. */
apr_status_t ipsie_jws_verify_typed(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                                    const apr_array_header_t *allowed_algs, const char *typ,
                                    apr_pool_t *p);

#endif
