/* INTERNAL to the core's JOSE code: not an API, not installed. What src/ipsie_jwk.c shares
 * with src/ipsie_jws.c (a key's type, its cjose or OpenSSL handle and signature length, and the
 * choice of keys a JWS may verify with) and the member helpers src/ipsie_id_token.c and
 * src/ipsie_logout_token.c use too. Nothing outside those four files includes it. */
#ifndef IPSIE_JWK_INTERNAL_H
#define IPSIE_JWK_INTERNAL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_jwk.h"

/* An EC key's type is its curve: ES256, ES384 and ES512 each need their own (RFC 7518 3.4). */
typedef enum { KEY_RSA, KEY_EC_P256, KEY_EC_P384, KEY_EC_P521, KEY_OKP_ED25519 } key_type_e;

/* One usable signature key of a JWKS. */
typedef struct {
    const char *kid; /* NULL when the JWK has none */
    const char *alg; /* NULL when the JWK has none */
    const char *use; /* NULL when the JWK has none */
    key_type_e type;
    apr_size_t sig_len; /* exact signature length this key produces */
    cjose_jwk_t *cjwk;  /* RSA and EC keys */
    EVP_PKEY *ed25519;  /* OKP Ed25519 keys */
} ipsie_jwk_t;

/* A JWS alg this module verifies, and the key type it needs. */
typedef struct {
    const char *name;
    key_type_e type;
} alg_info_t;

/* The keys of jwks that may verify a token with this kid (NULL: none) and alg, as an array of
 * const ipsie_jwk_t *: those with its kid that fit its alg (a rotation may publish two under
 * one kid), or, without a kid, the one key that fits (OIDC Core 10.1). IPSIE_ERR_JWT_KID when
 * there is none (fresher keys may have it), IPSIE_ERR_JWT_ALG when the kid's keys do not fit. */
apr_status_t ipsie_jwks_select(apr_array_header_t **out, const ipsie_jwks_t *jwks, const char *kid,
                               const alg_info_t *alg, apr_pool_t *p);

/* s when it cannot forge a log line (at most 64 characters of [A-Za-z0-9._-]), else a
 * placeholder: for values taken from a token or a key. */
const char *ipsie_jose_loggable(const char *s);

/* An optional string member of obj: absent leaves *out NULL and returns 1; any other type
 * returns 0. */
int ipsie_jose_opt_string(const char **out, json_t *obj, const char *name);

#endif
