/* JSON Web Keys (RFC 7517): the provider's key set, loaded into the keys this module verifies
 * signatures with. */
#ifndef IPSIE_JWK_H
#define IPSIE_JWK_H

#include <apr_pools.h>

typedef struct ipsie_jwks_t ipsie_jwks_t;

/* Parse a JWKS document. Keys that are not for signatures ("use" other than "sig"), of an
 * unsupported kty, or malformed are skipped (logged at debug); an empty result is fine.
 * IPSIE_ERR_MALFORMED when the document is not a JSON object with a "keys" array. */
apr_status_t ipsie_jwks_parse(ipsie_jwks_t **out, const char *json, apr_size_t len, apr_pool_t *p);

/* Number of usable keys. */
int ipsie_jwks_count(const ipsie_jwks_t *jwks);

#endif
