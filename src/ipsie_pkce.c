/* PKCE (RFC 7636), S256 only. */
#include <string.h>

#include <openssl/evp.h>

#include "ipsie/ipsie_pkce.h"
#include "ipsie/ipsie_util.h"

/* 32 random bytes give the 43-character verifier RFC 7636 section 4.1 recommends. */
#define VERIFIER_BYTES 32

char *ipsie_pkce_verifier(apr_pool_t *p)
{
    return ipsie_random_token(VERIFIER_BYTES, p);
}

char *ipsie_pkce_challenge_s256(const char *verifier, apr_pool_t *p)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (verifier == NULL
        || EVP_Digest(verifier, strlen(verifier), digest, &digest_len, EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    return ipsie_b64url_encode(digest, digest_len, p);
}
