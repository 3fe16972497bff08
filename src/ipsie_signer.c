/* The module's own signing keys: private keys from PEM or generated, compact JWS signatures,
 * the public JWK and its RFC 7638 thumbprint. */
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_signer.h"
#include "ipsie/ipsie_util.h"

typedef enum { SIGNER_RSA, SIGNER_EC_P256, SIGNER_ED25519 } signer_type_e;

struct ipsie_signer_t {
    EVP_PKEY *key;
    signer_type_e type;
    const char *alg;
    const char *kid;
    const char *thumbprint;
    /* The public members, base64url: n and e (RSA), x and y (EC), x (Ed25519). */
    const char *n;
    const char *e;
    const char *x;
    const char *y;
};

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* A big number parameter of the key as base64url: minimal big-endian bytes, or exactly pad
 * bytes when pad is not 0. NULL on failure. */
static const char *bn_param(EVP_PKEY *key, const char *name, int pad, apr_pool_t *p)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int len;
    const char *out = NULL;

    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
        goto leave;
    }
    if ((apr_size_t)BN_num_bytes(bn) > sizeof(buf) || (pad && BN_num_bytes(bn) > pad)) {
        goto leave;
    }
    len = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    if (len > 0) {
        out = ipsie_b64url_encode(buf, (apr_size_t)len, p);
    }

leave:
    BN_free(bn);
    return out;
}

/* The members RFC 7638 3.2 names for the key type, in lexicographic order, without spaces. */
static const char *thumbprint_input(const ipsie_signer_t *s, apr_pool_t *p)
{
    switch (s->type) {
    case SIGNER_RSA:
        return apr_psprintf(p, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", s->e, s->n);
    case SIGNER_EC_P256:
        return apr_psprintf(p, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", s->x,
                            s->y);
    case SIGNER_ED25519:
        return apr_psprintf(p, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", s->x);
    }
    return NULL;
}

/* Fill the public members and the thumbprint of s->key; IPSIE_ERR_CRYPTO on failure. */
static apr_status_t read_public(ipsie_signer_t *s, const char *kid, apr_pool_t *p)
{
    unsigned char raw[32];
    size_t raw_len = sizeof(raw);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const char *input;

    if (s->type == SIGNER_RSA) {
        s->n = bn_param(s->key, OSSL_PKEY_PARAM_RSA_N, 0, p);
        s->e = bn_param(s->key, OSSL_PKEY_PARAM_RSA_E, 0, p);
        if (s->n == NULL || s->e == NULL) {
            return IPSIE_ERR_CRYPTO;
        }
    }
    else if (s->type == SIGNER_EC_P256) {
        s->x = bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_X, 32, p);
        s->y = bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, p);
        if (s->x == NULL || s->y == NULL) {
            return IPSIE_ERR_CRYPTO;
        }
    }
    else {
        if (EVP_PKEY_get_raw_public_key(s->key, raw, &raw_len) != 1 || raw_len != 32) {
            return IPSIE_ERR_CRYPTO;
        }
        s->x = ipsie_b64url_encode(raw, raw_len, p);
    }
    input = thumbprint_input(s, p);
    if (SHA256((const unsigned char *)input, strlen(input), digest) == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    s->thumbprint = ipsie_b64url_encode(digest, sizeof(digest), p);
    s->kid = kid != NULL ? apr_pstrdup(p, kid) : s->thumbprint;
    return APR_SUCCESS;
}

/* The type and alg of key, or why it cannot sign for us. */
static const char *classify(ipsie_signer_t *s, const char *rsa_alg, apr_pool_t *p)
{
    char group[64];
    size_t group_len = 0;

    if (EVP_PKEY_is_a(s->key, "RSA")) {
        if (EVP_PKEY_get_bits(s->key) < IPSIE_SIGNER_RSA_MIN_BITS) {
            return apr_psprintf(p,
                                "an RSA key of %d bits: RSA keys must have at least %d bits "
                                "(e.g. openssl genpkey -algorithm RSA -pkeyopt "
                                "rsa_keygen_bits:3072)",
                                EVP_PKEY_get_bits(s->key), IPSIE_SIGNER_RSA_MIN_BITS);
        }
        if (rsa_alg != NULL && strcmp(rsa_alg, "RS256") != 0 && strcmp(rsa_alg, "PS256") != 0) {
            return apr_psprintf(p, "an RSA key cannot sign %s", rsa_alg);
        }
        s->type = SIGNER_RSA;
        s->alg = rsa_alg != NULL && strcmp(rsa_alg, "PS256") == 0 ? "PS256" : "RS256";
        return NULL;
    }
    if (EVP_PKEY_is_a(s->key, "EC")) {
        if (EVP_PKEY_get_utf8_string_param(s->key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &group_len)
                != 1
            || (strcmp(group, SN_X9_62_prime256v1) != 0 && strcmp(group, "P-256") != 0)) {
            return apr_psprintf(p,
                                "an EC key on curve %s: only P-256 (ES256) is supported "
                                "(e.g. openssl genpkey -algorithm EC -pkeyopt "
                                "ec_paramgen_curve:P-256)",
                                group_len > 0 ? group : "(unknown)");
        }
        s->type = SIGNER_EC_P256;
        s->alg = "ES256";
        return NULL;
    }
    if (EVP_PKEY_is_a(s->key, "ED25519")) {
        s->type = SIGNER_ED25519;
        s->alg = "EdDSA";
        return NULL;
    }
    return apr_psprintf(p,
                        "a %s key: use an RSA key of %d bits or more, an EC P-256 key or an "
                        "Ed25519 key",
                        EVP_PKEY_get0_type_name(s->key) ? EVP_PKEY_get0_type_name(s->key)
                                                        : "unsupported",
                        IPSIE_SIGNER_RSA_MIN_BITS);
}

/* A passphrase is never asked for: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

apr_status_t ipsie_signer_from_pem(ipsie_signer_t **out, const char **why, const char *pem,
                                   apr_size_t len, const char *rsa_alg, const char *kid,
                                   apr_pool_t *p)
{
    ipsie_signer_t *s = apr_pcalloc(p, sizeof(*s));
    const char *text;
    BIO *bio = NULL;
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    *out = NULL;
    *why = NULL;
    if (pem == NULL || len == 0 || len > IPSIE_SIGNER_PEM_MAX) {
        *why = "no PEM text, or too much of it";
        goto leave;
    }
    text = apr_pstrmemdup(p, pem, len);
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        *why = "out of memory";
        goto leave;
    }
    s->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (s->key == NULL) {
        if (strstr(text, "ENCRYPTED") != NULL) {
            *why = "the private key is encrypted: give it unencrypted, in a file only root can "
                   "read (e.g. openssl pkey -in encrypted.pem -out key.pem)";
        }
        else if (strstr(text, "PUBLIC KEY-----") != NULL || strstr(text, "CERTIFICATE-----")) {
            *why = "the file holds a public key or a certificate, not a private key";
        }
        else {
            *why = "the file holds no PEM private key";
        }
        goto leave;
    }
    apr_pool_cleanup_register(p, s->key, pkey_cleanup, apr_pool_cleanup_null);
    *why = classify(s, rsa_alg, p);
    if (*why != NULL) {
        goto leave;
    }
    if (read_public(s, kid, p) != APR_SUCCESS) {
        *why = "the public key cannot be read from it";
        goto leave;
    }
    *out = s;
    rv = APR_SUCCESS;

leave:
    BIO_free(bio);
    ERR_clear_error();
    return rv;
}

apr_status_t ipsie_signer_load(ipsie_signer_t **out, const char **why, const char *path,
                               const char *rsa_alg, const char *kid, apr_pool_t *p)
{
    apr_file_t *f = NULL;
    apr_finfo_t info;
    char *buf;
    apr_size_t len;
    apr_status_t rv;

    *out = NULL;
    *why = NULL;
    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&info, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS) {
        *why = "the file cannot be read";
        goto leave;
    }
    if (info.size <= 0 || info.size > IPSIE_SIGNER_PEM_MAX) {
        *why = apr_psprintf(p, "the file is empty or larger than %d bytes", IPSIE_SIGNER_PEM_MAX);
        rv = IPSIE_ERR_CRYPTO;
        goto leave;
    }
    len = (apr_size_t)info.size;
    buf = apr_palloc(p, len);
    rv = apr_file_read_full(f, buf, len, &len);
    if (rv != APR_SUCCESS) {
        *why = "the file cannot be read";
        goto leave;
    }
    rv = ipsie_signer_from_pem(out, why, buf, len, rsa_alg, kid, p);
    /* The private key's text goes no further than this pool's life. */
    memset(buf, 0, len);

leave:
    if (f != NULL) {
        apr_file_close(f);
    }
    return rv;
}

apr_status_t ipsie_signer_generate(ipsie_signer_t **out, const char *alg, const char *kid,
                                   apr_pool_t *p)
{
    ipsie_signer_t *s = apr_pcalloc(p, sizeof(*s));
    apr_status_t rv;

    *out = NULL;
    if (alg != NULL && strcmp(alg, "ES256") == 0) {
        s->key = EVP_EC_gen("P-256");
        s->type = SIGNER_EC_P256;
        s->alg = "ES256";
    }
    else if (alg != NULL && strcmp(alg, "EdDSA") == 0) {
        s->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        s->type = SIGNER_ED25519;
        s->alg = "EdDSA";
    }
    else {
        return APR_EINVAL;
    }
    if (s->key == NULL) {
        ERR_clear_error();
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE06001: cannot generate an %s key", alg);
        return IPSIE_ERR_CRYPTO;
    }
    apr_pool_cleanup_register(p, s->key, pkey_cleanup, apr_pool_cleanup_null);
    rv = read_public(s, kid, p);
    if (rv == APR_SUCCESS) {
        *out = s;
    }
    return rv;
}

const char *ipsie_signer_alg(const ipsie_signer_t *s)
{
    return s->alg;
}

const char *ipsie_signer_kid(const ipsie_signer_t *s)
{
    return s->kid;
}

const char *ipsie_signer_thumbprint(const ipsie_signer_t *s)
{
    return s->thumbprint;
}

json_t *ipsie_signer_public_jwk(const ipsie_signer_t *s, int with_meta)
{
    json_t *jwk;

    switch (s->type) {
    case SIGNER_RSA:
        jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", s->n, "e", s->e);
        break;
    case SIGNER_EC_P256:
        jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", s->x, "y", s->y);
        break;
    default:
        jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", s->x);
        break;
    }
    if (jwk != NULL && with_meta
        && (json_object_set_new(jwk, "kid", json_string(s->kid)) != 0
            || json_object_set_new(jwk, "alg", json_string(s->alg)) != 0
            || json_object_set_new(jwk, "use", json_string("sig")) != 0)) {
        json_decref(jwk);
        jwk = NULL;
    }
    return jwk;
}

/* The base64url of a JSON value, compact. */
static const char *b64_json(const json_t *v, apr_pool_t *p)
{
    char *text = json_dumps(v, JSON_COMPACT);
    const char *out;

    if (text == NULL) {
        return NULL;
    }
    out = ipsie_b64url_encode((const unsigned char *)text, strlen(text), p);
    free(text);
    return out;
}

/* An ECDSA signature in DER made R || S, each of 32 bytes (RFC 7518 3.4). */
static apr_status_t ecdsa_raw(unsigned char *raw, const unsigned char *der, size_t der_len)
{
    const unsigned char *in = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &in, (long)der_len);
    const BIGNUM *r;
    const BIGNUM *sv;
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    if (sig == NULL) {
        return rv;
    }
    ECDSA_SIG_get0(sig, &r, &sv);
    if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32) {
        rv = APR_SUCCESS;
    }
    ECDSA_SIG_free(sig);
    return rv;
}

/* The signature of input with the signer's key and alg, base64url. */
static const char *signature(const ipsie_signer_t *s, const char *input, apr_pool_t *p)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = s->type == SIGNER_ED25519 ? NULL : EVP_sha256();
    unsigned char *sig = NULL;
    unsigned char raw[64];
    size_t sig_len = 0;
    const char *out = NULL;

    if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, md, NULL, s->key) != 1) {
        goto leave;
    }
    if (strcmp(s->alg, "PS256") == 0
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) {
        goto leave;
    }
    if (EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)input, strlen(input)) != 1) {
        goto leave;
    }
    sig = OPENSSL_malloc(sig_len);
    if (sig == NULL
        || EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) != 1) {
        goto leave;
    }
    if (s->type == SIGNER_EC_P256) {
        if (ecdsa_raw(raw, sig, sig_len) == APR_SUCCESS) {
            out = ipsie_b64url_encode(raw, sizeof(raw), p);
        }
    }
    else {
        out = ipsie_b64url_encode(sig, sig_len, p);
    }

leave:
    OPENSSL_free(sig);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return out;
}

apr_status_t ipsie_signer_sign(const char **out, const ipsie_signer_t *s, const json_t *header,
                               const json_t *payload, apr_pool_t *p)
{
    json_t *h = header != NULL ? json_deep_copy(header) : json_object();
    const char *head = NULL;
    const char *body;
    const char *input;
    const char *sig;
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    *out = NULL;
    if (h == NULL || !json_is_object(h) || !json_is_object(payload)
        || json_object_set_new(h, "alg", json_string(s->alg)) != 0) {
        goto leave;
    }
    head = b64_json(h, p);
    body = b64_json(payload, p);
    if (head == NULL || body == NULL) {
        goto leave;
    }
    input = apr_pstrcat(p, head, ".", body, NULL);
    sig = signature(s, input, p);
    if (sig == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE06002: cannot sign with the %s key %s", s->alg,
                  ipsie_log_safe(s->kid, p));
        goto leave;
    }
    *out = apr_pstrcat(p, input, ".", sig, NULL);
    rv = APR_SUCCESS;

leave:
    json_decref(h);
    return rv;
}

apr_status_t ipsie_signer_sign_as(const char **out, const ipsie_signer_t *s, const char *alg,
                                  const json_t *header, const json_t *payload, apr_pool_t *p)
{
    ipsie_signer_t as;

    if (alg == NULL || strcmp(alg, s->alg) == 0) {
        return ipsie_signer_sign(out, s, header, payload, p);
    }
    *out = NULL;
    if (s->type != SIGNER_RSA || (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0)) {
        return APR_EINVAL;
    }
    as = *s;
    as.alg = strcmp(alg, "PS256") == 0 ? "PS256" : "RS256";
    return ipsie_signer_sign(out, &as, header, payload, p);
}
