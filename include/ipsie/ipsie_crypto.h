/* Authenticated encryption of cookies and cached sessions: AES-256-GCM with keys derived by
 * HKDF-SHA256 from the configured passphrases. The first passphrase seals, all open. */
#ifndef IPSIE_CRYPTO_H
#define IPSIE_CRYPTO_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct ipsie_crypto_t ipsie_crypto_t;

/* Derive one key per passphrase (array of const char *, at least one). Done once at start-up. */
apr_status_t ipsie_crypto_create(ipsie_crypto_t **out, const apr_array_header_t *passphrases,
                                 apr_pool_t *p);

/* Encrypt plain with the first key, binding aad (the cookie name). Output is base64url text:
 * version byte, 12-byte nonce, ciphertext, 16-byte tag. */
apr_status_t ipsie_crypto_seal(char **out, const ipsie_crypto_t *c, const char *aad,
                               const unsigned char *plain, apr_size_t len, apr_pool_t *p);

/* Length of the text ipsie_crypto_seal makes of len bytes. */
apr_size_t ipsie_crypto_sealed_len(apr_size_t len);

/* Decrypt text made by ipsie_crypto_seal with any of the keys and the same aad.
 * IPSIE_ERR_MALFORMED for bad encoding, IPSIE_ERR_CRYPTO when no key authenticates it.
 * *plain is NUL-terminated; *len excludes the NUL. */
apr_status_t ipsie_crypto_open(unsigned char **plain, apr_size_t *len, const ipsie_crypto_t *c,
                               const char *aad, const char *text, apr_size_t text_len,
                               apr_pool_t *p);

/* How many passphrases (keys) there are. */
int ipsie_crypto_key_count(const ipsie_crypto_t *c);

/* A name in the shared store for what parts say, under key number key (0: the first
 * passphrase's, which writes; every key is tried when reading): "ipsie:<kind>:" and the
 * base64url HMAC-SHA256 of kind and parts under a key derived from that passphrase, so that
 * a dump of the store names no user, no session and no cookie. kind: a short word without
 * ':' or spaces. NULL on a library failure. */
const char *ipsie_crypto_name(const ipsie_crypto_t *c, int key, const char *kind,
                              const char *const *parts, int nparts, apr_pool_t *p);

/* A name for a single-use mark (a spent login state, a spent logout token): "ipsie:<kind>:"
 * and the base64url SHA-256 of kind and parts, keyed by no passphrase, so that every server
 * sharing the store finds the same mark whatever passphrases it lists, in whatever order.
 * For values that are random or public already: a mark tells nothing a dump could use. NULL
 * on a library failure. */
const char *ipsie_crypto_mark_name(const char *kind, const char *const *parts, int nparts,
                                   apr_pool_t *p);

#endif
