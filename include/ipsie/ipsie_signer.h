/* The module's own signing keys (RFC 7515, RFC 7517, RFC 7638): a private key loaded from a
 * PEM file or generated, compact JWS signatures made with it, its public JWK and that JWK's
 * thumbprint. Client assertions (private_key_jwt) and DPoP proofs are signed here. */
#ifndef IPSIE_SIGNER_H
#define IPSIE_SIGNER_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct ipsie_signer_t ipsie_signer_t;

/* Largest PEM file read for a key. */
#define IPSIE_SIGNER_PEM_MAX (64 * 1024)
/* Shortest RSA key accepted, bits (RFC 7518 3.3). */
#define IPSIE_SIGNER_RSA_MIN_BITS 2048

/* A signer of the unencrypted private key in PEM text (PKCS#8, or the traditional RSA or EC
 * form): an RSA key of 2048 bits or more signs rsa_alg ("RS256" or "PS256"; NULL: RS256), an
 * EC P-256 key ES256, an Ed25519 key EdDSA. kid NULL: the key's RFC 7638 thumbprint. Any other
 * key (a shorter RSA key, another curve, Ed448, DSA, an encrypted key, a public key or a
 * certificate) is IPSIE_ERR_CRYPTO with *why saying what is wrong and what would do. */
apr_status_t ipsie_signer_from_pem(ipsie_signer_t **out, const char **why, const char *pem,
                                   apr_size_t len, const char *rsa_alg, const char *kid,
                                   apr_pool_t *p);

/* ipsie_signer_from_pem of the file at path; a file that cannot be read, or is larger than
 * IPSIE_SIGNER_PEM_MAX, fails with *why saying so. */
apr_status_t ipsie_signer_load(ipsie_signer_t **out, const char **why, const char *path,
                               const char *rsa_alg, const char *kid, apr_pool_t *p);

/* A signer of a new key for alg "ES256" (P-256) or "EdDSA" (Ed25519); kid as above.
 * APR_EINVAL for another alg, IPSIE_ERR_CRYPTO when the library fails. */
apr_status_t ipsie_signer_generate(ipsie_signer_t **out, const char *alg, const char *kid,
                                   apr_pool_t *p);

/* The JWS alg the signer signs with: "RS256", "PS256", "ES256" or "EdDSA". */
const char *ipsie_signer_alg(const ipsie_signer_t *s);
/* The key's kid: as given, or its thumbprint. */
const char *ipsie_signer_kid(const ipsie_signer_t *s);
/* The RFC 7638 thumbprint of the public key (SHA-256, base64url): DPoP's jkt. */
const char *ipsie_signer_thumbprint(const ipsie_signer_t *s);

/* The public JWK of the key: kty and its public members, and with with_meta also kid, alg and
 * "use":"sig". Never a private member. A new reference (json_decref it), NULL on failure. */
json_t *ipsie_signer_public_jwk(const ipsie_signer_t *s, int with_meta);

/* The compact JWS of payload under header (NULL: an empty header), whose alg is set to the
 * signer's: base64url(header) "." base64url(payload) "." base64url(signature); an ES256
 * signature is R || S, 64 bytes (RFC 7518 3.4), not DER. IPSIE_ERR_CRYPTO on a library
 * failure. header and payload are left as they were. */
apr_status_t ipsie_signer_sign(const char **out, const ipsie_signer_t *s, const json_t *header,
                               const json_t *payload, apr_pool_t *p);

/* ipsie_signer_sign with alg instead of the signer's: an RSA key signs "RS256" or "PS256";
 * alg NULL or the signer's own is ipsie_signer_sign. APR_EINVAL for an alg the key cannot
 * sign. */
apr_status_t ipsie_signer_sign_as(const char **out, const ipsie_signer_t *s, const char *alg,
                                  const json_t *header, const json_t *payload, apr_pool_t *p);

#endif
