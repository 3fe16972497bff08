/* Shared fixture of the JWK, JWS and ID token suites: keys generated once per test case, the
 * public JWKs of them, and compact JWSs signed with them by OpenSSL. Include after
 * test_support.h. */
#ifndef IPSIE_TEST_JOSE_SUPPORT_H
#define IPSIE_TEST_JOSE_SUPPORT_H

#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "test_support.h"
#include "ipsie/ipsie_jwk.h"
#include "ipsie/ipsie_jws.h"
#include "ipsie/ipsie_util.h"

#define ISSUER "https://op.example.org"
#define CLIENT "client-1"
#define NONCE "n-0S6_WzA2Mj"
#define NOW 1700000000LL
#define SKEW 60

/* Keys are generated once per test case, in the parent, before Check forks. */
static EVP_PKEY *rsa_key;
static EVP_PKEY *rsa_other;
static EVP_PKEY *rsa_small;
static EVP_PKEY *ec_key;
static EVP_PKEY *ec384_key;
static EVP_PKEY *ec521_key;
static EVP_PKEY *ed_key;

static inline void keys_setup(void)
{
    rsa_key = EVP_RSA_gen(2048);
    rsa_other = EVP_RSA_gen(2048);
    rsa_small = EVP_RSA_gen(1024);
    ec_key = EVP_EC_gen("P-256");
    ec384_key = EVP_EC_gen("P-384");
    ec521_key = EVP_EC_gen("P-521");
    ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!rsa_key || !rsa_other || !rsa_small || !ec_key || !ec384_key || !ec521_key || !ed_key) {
        abort();
    }
}

static inline void keys_teardown(void)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(rsa_small);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec384_key);
    EVP_PKEY_free(ec521_key);
    EVP_PKEY_free(ed_key);
}

static inline const char *b64(const void *data, size_t len)
{
    return ipsie_b64url_encode(data, len, pool);
}

static inline const char *b64s(const char *s)
{
    return b64(s, strlen(s));
}

static inline json_t *bn_member(EVP_PKEY *k, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[512];
    int len;

    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
    len = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    ck_assert_int_gt(len, 0);
    return json_string(b64(buf, (size_t)len));
}

/* The public JWK of k, built from the key's own numbers. */
static inline json_t *jwk_of(EVP_PKEY *k, const char *kid, const char *alg)
{
    json_t *jwk = json_object();

    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", bn_member(k, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(jwk, "e", bn_member(k, OSSL_PKEY_PARAM_RSA_E, 0));
    }
    else if (EVP_PKEY_is_a(k, "EC")) {
        int pad = (EVP_PKEY_get_bits(k) + 7) / 8;

        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv",
                            json_string(pad == 66   ? "P-521"
                                        : pad == 48 ? "P-384"
                                                    : "P-256"));
        json_object_set_new(jwk, "x", bn_member(k, OSSL_PKEY_PARAM_EC_PUB_X, pad));
        json_object_set_new(jwk, "y", bn_member(k, OSSL_PKEY_PARAM_EC_PUB_Y, pad));
    }
    else {
        unsigned char raw[32];
        size_t raw_len = sizeof(raw);

        ck_assert_int_eq(EVP_PKEY_get_raw_public_key(k, raw, &raw_len), 1);
        json_object_set_new(jwk, "kty", json_string("OKP"));
        json_object_set_new(jwk, "crv", json_string("Ed25519"));
        json_object_set_new(jwk, "x", json_string(b64(raw, raw_len)));
    }
    if (kid != NULL) {
        json_object_set_new(jwk, "kid", json_string(kid));
    }
    if (alg != NULL) {
        json_object_set_new(jwk, "alg", json_string(alg));
    }
    json_object_set_new(jwk, "use", json_string("sig"));
    return jwk;
}

/* Serialise {"keys": keys} (stealing keys) and parse it. */
static inline apr_status_t parse_keys(ipsie_jwks_t **jwks, json_t *keys)
{
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, JSON_COMPACT);
    apr_status_t rv = ipsie_jwks_parse(jwks, text, strlen(text), pool);

    free(text);
    json_decref(doc);
    return rv;
}

static inline ipsie_jwks_t *jwks_of(json_t *keys)
{
    ipsie_jwks_t *jwks = NULL;

    ck_assert_int_eq(parse_keys(&jwks, keys), APR_SUCCESS);
    ck_assert_ptr_nonnull(jwks);
    return jwks;
}

/* The usual OP key set: one RSA, one EC P-256 and one Ed25519 key. */
static inline ipsie_jwks_t *std_jwks(void)
{
    return jwks_of(json_pack("[ooo]", jwk_of(rsa_key, "rsa1", NULL), jwk_of(ec_key, "ec1", NULL),
                             jwk_of(ed_key, "ed1", NULL)));
}

static inline apr_array_header_t *algs(const char *list)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    char *last = NULL;
    char *tok = apr_strtok(apr_pstrdup(pool, list), " ", &last);

    while (tok != NULL) {
        APR_ARRAY_PUSH(a, const char *) = tok;
        tok = apr_strtok(NULL, " ", &last);
    }
    return a;
}

static inline apr_array_header_t *all_algs(void)
{
    return algs("RS256 PS256 ES256 EdDSA");
}

/* The digest of a JWS alg: SHA-256 unless it ends in 384 or 512; none for EdDSA. */
static inline const EVP_MD *alg_digest(const char *alg)
{
    size_t n = strlen(alg);

    if (strcmp(alg, "EdDSA") == 0) {
        return NULL;
    }
    if (n > 3 && strcmp(alg + n - 3, "384") == 0) {
        return EVP_sha384();
    }
    if (n > 3 && strcmp(alg + n - 3, "512") == 0) {
        return EVP_sha512();
    }
    return EVP_sha256();
}

/* Raw signature over input as JWS alg wants it (RFC 7518), made with OpenSSL: with k's
 * own curve for an ES alg, so that a test may sign with a key that does not fit its alg. */
static inline const char *signature(EVP_PKEY *k, const char *alg, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = alg_digest(alg);
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    const char *out;

    ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, md, NULL, k), 1);
    if (alg[0] == 'P') {
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    ck_assert_int_eq(
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    if (alg[0] == 'E' && alg[1] == 'S') {
        /* OpenSSL gives DER; JWS wants R || S, each as long as a coordinate. */
        const unsigned char *der = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)sig_len);
        int half = (EVP_PKEY_get_bits(k) + 7) / 8;
        unsigned char rs[132];

        ck_assert_ptr_nonnull(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, half);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + half, half);
        ECDSA_SIG_free(es);
        return b64(rs, (size_t)(2 * half));
    }
    out = b64(sig, sig_len);
    return out;
}

/* A compact JWS of the given header and payload texts, signed with k under alg. */
static inline const char *sign_raw(EVP_PKEY *k, const char *alg, const char *header,
                                   const char *payload)
{
    const char *input = apr_pstrcat(pool, b64s(header), ".", b64s(payload), NULL);

    return apr_pstrcat(pool, input, ".", signature(k, alg, input), NULL);
}

static inline const char *json_text(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    const char *copy = apr_pstrdup(pool, s);

    free(s);
    json_decref(j);
    return copy;
}

/* A JWS header of alg, kid and typ (either NULL: absent). */
static inline const char *header_typed(const char *alg, const char *kid, const char *typ)
{
    json_t *h = json_pack("{s:s}", "alg", alg);

    if (kid != NULL) {
        json_object_set_new(h, "kid", json_string(kid));
    }
    if (typ != NULL) {
        json_object_set_new(h, "typ", json_string(typ));
    }
    return json_text(h);
}

static inline const char *header_text(const char *alg, const char *kid)
{
    return header_typed(alg, kid, "JWT");
}

/* Claims of a valid ID token at NOW; tests change what they are about. */
static inline json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "iss", ISSUER, "aud", CLIENT, "sub",
                     "248289761001", "exp", (json_int_t)(NOW + 300), "iat", (json_int_t)NOW,
                     "nonce", NONCE, "session_expiry", (json_int_t)(NOW + 3600));
}

static inline apr_status_t verify(const char *jwt)
{
    json_t *claims = (json_t *)1;
    apr_status_t rv = ipsie_jws_verify(&claims, jwt, std_jwks(), all_algs(), pool);

    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(claims);
    }
    return rv;
}

#endif
