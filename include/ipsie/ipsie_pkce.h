/* PKCE (RFC 7636), S256 only. */
#ifndef IPSIE_PKCE_H
#define IPSIE_PKCE_H

#include <apr_pools.h>

/* A fresh code_verifier: 43 characters of base64url from 32 random bytes. NULL on RNG failure. */
char *ipsie_pkce_verifier(apr_pool_t *p);

/* BASE64URL(SHA256(ASCII(verifier))). */
char *ipsie_pkce_challenge_s256(const char *verifier, apr_pool_t *p);

#endif
