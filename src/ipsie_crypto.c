/* Authenticated encryption of cookies and cached sessions: AES-256-GCM, HKDF-SHA256 keys. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

#define KEY_LEN 32
#define SHA256_LEN 32
#define HMAC_BLOCK 64 /* SHA-256's block */
#define NONCE_LEN 12
#define TAG_LEN 16
#define VERSION_1 0x01
#define OVERHEAD (1 + NONCE_LEN + TAG_LEN)

/* Sessions are small; a cap keeps hostile cookies from costing memory and CPU. */
#define MAX_PLAIN (64 * 1024)
#define MAX_TEXT (((OVERHEAD + MAX_PLAIN) * 4 + 2) / 3)

/* Fixed labels: changing them changes every key, so they are versioned like the format. */
static const char hkdf_salt[] = "mod_auth_ipsie";
static const char hkdf_info[] = "mod_auth_ipsie cookie v1";
static const char hkdf_name_info[] = "mod_auth_ipsie store names v1";

struct ipsie_crypto_t {
    EVP_CIPHER *cipher; /* fetched once: implicit fetches per call are slow in OpenSSL 3 */
    int nkeys;
    unsigned char *keys;      /* nkeys * KEY_LEN, the first one seals */
    unsigned char *name_keys; /* nkeys * KEY_LEN: keyed names in the shared store */
    EVP_MD_CTX **namers;      /* per name key: HMAC-SHA256's inner and outer states (2 each) */
};

static apr_status_t crypto_cleanup(void *data)
{
    ipsie_crypto_t *c = data;

    OPENSSL_cleanse(c->keys, (size_t)c->nkeys * KEY_LEN);
    OPENSSL_cleanse(c->name_keys, (size_t)c->nkeys * KEY_LEN);
    for (int i = 0; c->namers != NULL && i < 2 * c->nkeys; i++) {
        EVP_MD_CTX_free(c->namers[i]);
    }
    EVP_CIPHER_free(c->cipher);
    return APR_SUCCESS;
}

static apr_status_t derive_key(unsigned char *key, const char *passphrase, const char *info)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    if (kctx == NULL) {
        goto leave;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)passphrase,
                                                  strlen(passphrase));
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)hkdf_salt,
                                                  sizeof(hkdf_salt) - 1);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, key, KEY_LEN, params) == 1) {
        rv = APR_SUCCESS;
    }
leave:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}

/* HMAC-SHA256 (RFC 2104) with the key's two padded blocks hashed once, per name key: the
 * inner state has absorbed key XOR ipad, the outer key XOR opad. A name then costs copying
 * the two states and two compressions; fetching, keying or copying an EVP_MAC per call costs
 * more than half again, on every request of the cache store. */
static apr_status_t prepare_namers(ipsie_crypto_t *c, apr_pool_t *p)
{
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned char pad[HMAC_BLOCK];
    apr_status_t rv = APR_SUCCESS;
    int i, half;

    c->namers = apr_pcalloc(p, sizeof(*c->namers) * 2 * (apr_size_t)c->nkeys);
    for (i = 0; i < c->nkeys && rv == APR_SUCCESS; i++) {
        const unsigned char *key = c->name_keys + (apr_size_t)i * KEY_LEN;

        for (half = 0; half < 2 && rv == APR_SUCCESS; half++) {
            EVP_MD_CTX *md = EVP_MD_CTX_new();

            memset(pad, half == 0 ? 0x36 : 0x5c, sizeof(pad));
            for (int k = 0; k < KEY_LEN; k++) {
                pad[k] ^= key[k];
            }
            c->namers[2 * i + half] = md;
            if (sha256 == NULL || md == NULL || EVP_DigestInit_ex(md, sha256, NULL) != 1
                || EVP_DigestUpdate(md, pad, sizeof(pad)) != 1) {
                rv = IPSIE_ERR_CRYPTO;
            }
        }
    }
    OPENSSL_cleanse(pad, sizeof(pad));
    EVP_MD_free(sha256);
    return rv;
}

apr_status_t ipsie_crypto_create(ipsie_crypto_t **out, const apr_array_header_t *passphrases,
                                 apr_pool_t *p)
{
    ipsie_crypto_t *c;
    int i;

    *out = NULL;
    if (passphrases == NULL || passphrases->nelts < 1) {
        return APR_EINVAL;
    }
    for (i = 0; i < passphrases->nelts; i++) {
        const char *pass = APR_ARRAY_IDX(passphrases, i, const char *);
        if (pass == NULL || *pass == '\0') {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE01101: crypto passphrase %d is empty", i + 1);
            return APR_EINVAL;
        }
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->keys = apr_pcalloc(p, (apr_size_t)passphrases->nelts * KEY_LEN);
    c->name_keys = apr_pcalloc(p, (apr_size_t)passphrases->nelts * KEY_LEN);
    c->nkeys = passphrases->nelts;
    apr_pool_cleanup_register(p, c, crypto_cleanup, apr_pool_cleanup_null);
    c->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (c->cipher == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE01102: OpenSSL offers no AES-256-GCM");
        return IPSIE_ERR_CRYPTO;
    }
    for (i = 0; i < c->nkeys; i++) {
        const char *pass = APR_ARRAY_IDX(passphrases, i, const char *);
        if (derive_key(c->keys + (apr_size_t)i * KEY_LEN, pass, hkdf_info) != APR_SUCCESS
            || derive_key(c->name_keys + (apr_size_t)i * KEY_LEN, pass, hkdf_name_info)
                   != APR_SUCCESS) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE01103: HKDF-SHA256 key derivation failed");
            return IPSIE_ERR_CRYPTO;
        }
    }
    if (prepare_namers(c, p) != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE01104: OpenSSL offers no HMAC-SHA256");
        return IPSIE_ERR_CRYPTO;
    }
    *out = c;
    return APR_SUCCESS;
}

apr_status_t ipsie_crypto_seal(char **out, const ipsie_crypto_t *c, const char *aad,
                               const unsigned char *plain, apr_size_t len, apr_pool_t *p)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf, *nonce, *ct;
    apr_size_t aad_len = aad ? strlen(aad) : 0;
    apr_status_t rv = IPSIE_ERR_CRYPTO;
    int n;

    *out = NULL;
    if (len > MAX_PLAIN) {
        return IPSIE_ERR_TOO_LARGE;
    }
    if (aad_len > INT_MAX) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, OVERHEAD + len);
    buf[0] = VERSION_1;
    nonce = buf + 1;
    ct = nonce + NONCE_LEN;
    /* A random 96-bit nonce per message: safe far beyond the cookies one key will ever seal. */
    rv = ipsie_random_bytes(nonce, NONCE_LEN);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = IPSIE_ERR_CRYPTO;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_EncryptInit_ex2(ctx, c->cipher, c->keys, nonce, NULL) != 1) {
        goto leave;
    }
    if (aad_len > 0
        && EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)aad_len) != 1) {
        goto leave;
    }
    if (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1) {
        goto leave;
    }
    if (EVP_EncryptFinal_ex(ctx, ct + len, &n) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, ct + len) != 1) {
        goto leave;
    }
    *out = ipsie_b64url_encode(buf, OVERHEAD + len, p);
    rv = APR_SUCCESS;
leave:
    if (rv == IPSIE_ERR_CRYPTO) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE01104: AES-256-GCM encryption failed");
    }
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

/* 1 when key authenticates nonce, aad, ct and tag; the plaintext is then in plain. */
static int open_with_key(EVP_CIPHER_CTX *ctx, const ipsie_crypto_t *c, const unsigned char *key,
                         const unsigned char *nonce, const char *aad, int aad_len,
                         const unsigned char *ct, int ct_len, unsigned char *tag,
                         unsigned char *plain)
{
    int n;

    if (EVP_DecryptInit_ex2(ctx, c->cipher, key, nonce, NULL) != 1) {
        return 0;
    }
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) != 1) {
        return 0;
    }
    if (ct_len > 0 && EVP_DecryptUpdate(ctx, plain, &n, ct, ct_len) != 1) {
        return 0;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1) {
        return 0;
    }
    return EVP_DecryptFinal_ex(ctx, plain + ct_len, &n) == 1;
}

apr_size_t ipsie_crypto_sealed_len(apr_size_t len)
{
    apr_size_t n = OVERHEAD + len;

    /* base64url without padding */
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

apr_status_t ipsie_crypto_open(unsigned char **plain, apr_size_t *len, const ipsie_crypto_t *c,
                               const char *aad, const char *text, apr_size_t text_len,
                               apr_pool_t *p)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *raw, *out = NULL;
    unsigned char tag[TAG_LEN];
    apr_size_t raw_len, ct_len = 0, aad_len = aad ? strlen(aad) : 0;
    apr_status_t rv;
    int i;

    *plain = NULL;
    *len = 0;
    if (text == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    if (text_len > MAX_TEXT) {
        return IPSIE_ERR_TOO_LARGE;
    }
    if (aad_len > INT_MAX) {
        return APR_EINVAL;
    }
    rv = ipsie_b64url_decode(&raw, &raw_len, text, text_len, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = IPSIE_ERR_MALFORMED;
    if (raw_len < OVERHEAD || raw[0] != VERSION_1) {
        goto leave;
    }
    ct_len = raw_len - OVERHEAD;
    memcpy(tag, raw + raw_len - TAG_LEN, TAG_LEN);
    out = apr_palloc(p, ct_len + 1);
    rv = IPSIE_ERR_CRYPTO;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        goto leave;
    }
    /* The first key is the likeliest; older ones stay usable during a rotation. */
    for (i = 0; i < c->nkeys; i++) {
        if (open_with_key(ctx, c, c->keys + (apr_size_t)i * KEY_LEN, raw + 1, aad, (int)aad_len,
                          raw + 1 + NONCE_LEN, (int)ct_len, tag, out)) {
            out[ct_len] = '\0';
            *plain = out;
            *len = ct_len;
            rv = APR_SUCCESS;
            goto leave;
        }
    }
    ipsie_log(IPSIE_LOG_DEBUG, "IPSIE01105: encrypted value does not authenticate with any key");
leave:
    /* GCM writes plaintext before checking the tag: never leave unauthenticated bytes behind. */
    if (rv != APR_SUCCESS && out != NULL) {
        OPENSSL_cleanse(out, ct_len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

int ipsie_crypto_key_count(const ipsie_crypto_t *c)
{
    return c->nkeys;
}

const char *ipsie_crypto_name(const ipsie_crypto_t *c, int key, const char *kind,
                              const char *const *parts, int nparts, apr_pool_t *p)
{
    unsigned char inner[SHA256_LEN], mac[SHA256_LEN];
    unsigned int len = 0;
    EVP_MD_CTX *md;
    const char *name = NULL;
    int i, ok;

    if (key < 0 || key >= c->nkeys || (md = EVP_MD_CTX_new()) == NULL) {
        return NULL;
    }
    ok = EVP_MD_CTX_copy_ex(md, c->namers[2 * key]) == 1
         && EVP_DigestUpdate(md, kind, strlen(kind) + 1) == 1;
    /* Each part with its terminating NUL: no two lists of parts hash alike. */
    for (i = 0; ok && i < nparts; i++) {
        const char *part = parts[i] ? parts[i] : "";
        ok = EVP_DigestUpdate(md, part, strlen(part) + 1) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, inner, &len) == 1 && len == SHA256_LEN
         && EVP_MD_CTX_copy_ex(md, c->namers[2 * key + 1]) == 1
         && EVP_DigestUpdate(md, inner, sizeof(inner)) == 1
         && EVP_DigestFinal_ex(md, mac, &len) == 1 && len == SHA256_LEN;
    if (ok) {
        name = apr_pstrcat(p, "ipsie:", kind, ":", ipsie_b64url_encode(mac, sizeof(mac), p), NULL);
    }
    EVP_MD_CTX_free(md);
    return name;
}

const char *ipsie_crypto_mark_name(const char *kind, const char *const *parts, int nparts,
                                   apr_pool_t *p)
{
    unsigned char digest[SHA256_LEN];
    unsigned int len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *name = NULL;
    int i, ok;

    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
         && EVP_DigestUpdate(md, kind, strlen(kind) + 1) == 1;
    for (i = 0; ok && i < nparts; i++) {
        const char *part = parts[i] ? parts[i] : "";
        ok = EVP_DigestUpdate(md, part, strlen(part) + 1) == 1;
    }
    if (ok && EVP_DigestFinal_ex(md, digest, &len) == 1 && len == SHA256_LEN) {
        name = apr_pstrcat(p, "ipsie:", kind, ":", ipsie_b64url_encode(digest, sizeof(digest), p),
                           NULL);
    }
    EVP_MD_CTX_free(md);
    return name;
}
