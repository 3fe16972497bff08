/* Unit tests of src/ipsie_jwt.c: JWKS parsing, JWS verification, ID token claim rules. */
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jwt.h"
#include "ipsie/ipsie_util.h"
#include "test_support.h"

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
static EVP_PKEY *ed_key;

static void keys_setup(void)
{
    rsa_key = EVP_RSA_gen(2048);
    rsa_other = EVP_RSA_gen(2048);
    rsa_small = EVP_RSA_gen(1024);
    ec_key = EVP_EC_gen("P-256");
    ec384_key = EVP_EC_gen("P-384");
    ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!rsa_key || !rsa_other || !rsa_small || !ec_key || !ec384_key || !ed_key) {
        abort();
    }
}

static void keys_teardown(void)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(rsa_small);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec384_key);
    EVP_PKEY_free(ed_key);
}

static const char *b64(const void *data, size_t len)
{
    return ipsie_b64url_encode(data, len, pool);
}

static const char *b64s(const char *s)
{
    return b64(s, strlen(s));
}

static json_t *bn_member(EVP_PKEY *k, const char *param, int pad)
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
static json_t *jwk_of(EVP_PKEY *k, const char *kid, const char *alg)
{
    json_t *jwk = json_object();

    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", bn_member(k, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(jwk, "e", bn_member(k, OSSL_PKEY_PARAM_RSA_E, 0));
    }
    else if (EVP_PKEY_is_a(k, "EC")) {
        int pad = EVP_PKEY_get_bits(k) == 384 ? 48 : 32;

        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(pad == 48 ? "P-384" : "P-256"));
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
static apr_status_t parse_keys(ipsie_jwks_t **jwks, json_t *keys)
{
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, JSON_COMPACT);
    apr_status_t rv = ipsie_jwks_parse(jwks, text, strlen(text), pool);

    free(text);
    json_decref(doc);
    return rv;
}

static ipsie_jwks_t *jwks_of(json_t *keys)
{
    ipsie_jwks_t *jwks = NULL;

    ck_assert_int_eq(parse_keys(&jwks, keys), APR_SUCCESS);
    ck_assert_ptr_nonnull(jwks);
    return jwks;
}

/* The usual OP key set: one RSA, one EC P-256 and one Ed25519 key. */
static ipsie_jwks_t *std_jwks(void)
{
    return jwks_of(json_pack("[ooo]", jwk_of(rsa_key, "rsa1", NULL), jwk_of(ec_key, "ec1", NULL),
                             jwk_of(ed_key, "ed1", NULL)));
}

static apr_array_header_t *algs(const char *list)
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

static apr_array_header_t *all_algs(void)
{
    return algs("RS256 PS256 ES256 EdDSA");
}

/* Raw signature over input as JWS alg wants it (RFC 7518), made with OpenSSL. */
static const char *signature(EVP_PKEY *k, const char *alg, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256();
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
        /* OpenSSL gives DER; JWS wants R || S, 32 bytes each. */
        const unsigned char *der = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)sig_len);
        unsigned char rs[64];

        ck_assert_ptr_nonnull(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        return b64(rs, sizeof(rs));
    }
    out = b64(sig, sig_len);
    return out;
}

/* A compact JWS of the given header and payload texts, signed with k under alg. */
static const char *sign_raw(EVP_PKEY *k, const char *alg, const char *header, const char *payload)
{
    const char *input = apr_pstrcat(pool, b64s(header), ".", b64s(payload), NULL);

    return apr_pstrcat(pool, input, ".", signature(k, alg, input), NULL);
}

static const char *json_text(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    const char *copy = apr_pstrdup(pool, s);

    free(s);
    json_decref(j);
    return copy;
}

static const char *header_text(const char *alg, const char *kid)
{
    json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");

    if (kid != NULL) {
        json_object_set_new(h, "kid", json_string(kid));
    }
    return json_text(h);
}

/* Claims of a valid ID token at NOW; tests change what they are about. */
static json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "iss", ISSUER, "aud", CLIENT, "sub",
                     "248289761001", "exp", (json_int_t)(NOW + 300), "iat", (json_int_t)NOW,
                     "nonce", NONCE, "session_expiry", (json_int_t)(NOW + 3600));
}

/* An RS256 ID token signed by rsa_key (kid rsa1) over claims (stolen). */
static const char *id_token(json_t *claims)
{
    return sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(claims));
}

static ipsie_id_token_expect_t expect_default(void)
{
    ipsie_id_token_expect_t e;

    memset(&e, 0, sizeof(e));
    e.issuer = ISSUER;
    e.client_id = CLIENT;
    e.nonce = NONCE;
    e.allowed_algs = all_algs();
    e.aud_single_string = 0;
    e.clock_skew = SKEW;
    e.now = NOW;
    return e;
}

static apr_status_t verify(const char *jwt)
{
    json_t *claims = (json_t *)1;
    apr_status_t rv = ipsie_jws_verify(&claims, jwt, std_jwks(), all_algs(), pool);

    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(claims);
    }
    return rv;
}

static apr_status_t validate_with(json_t *claims, const ipsie_id_token_expect_t *e)
{
    json_t *out = (json_t *)1;
    apr_status_t rv = ipsie_id_token_validate(&out, id_token(claims), std_jwks(), e, pool);

    if (rv == APR_SUCCESS) {
        ck_assert_ptr_nonnull(out);
    }
    else {
        ck_assert_ptr_null(out);
    }
    return rv;
}

static apr_status_t validate(json_t *claims)
{
    ipsie_id_token_expect_t e = expect_default();

    return validate_with(claims, &e);
}

static int log_lines(void)
{
    int n = 0;
    const char *c;

    for (c = captured_log; *c; c++) {
        n += *c == '\n';
    }
    return n;
}

/* ---- JWKS ---- */

START_TEST(jwks_keeps_rsa_ec_and_ed25519_keys)
{
    ck_assert_int_eq(ipsie_jwks_count(std_jwks()), 3);
}
END_TEST

START_TEST(jwks_empty_key_set_is_fine)
{
    ipsie_jwks_t *jwks = NULL;

    ck_assert_int_eq(ipsie_jwks_parse(&jwks, "{\"keys\":[]}", 11, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(jwks), 0);
}
END_TEST

START_TEST(jwks_refuses_text_that_is_not_json)
{
    static const char *const bad[] = {"",
                                      "not json",
                                      "{\"keys\":[",
                                      "[]",
                                      "\"keys\"",
                                      "null",
                                      "{\"keys\":{}}",
                                      "{\"keys\":\"abc\"}",
                                      "{\"nokeys\":[]}",
                                      "{\"keys\":[],\"keys\":[]}"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ipsie_jwks_t *jwks = (ipsie_jwks_t *)1;

        ck_assert_int_eq(ipsie_jwks_parse(&jwks, bad[i], strlen(bad[i]), pool),
                         IPSIE_ERR_MALFORMED);
        ck_assert_ptr_null(jwks);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05002"));
}
END_TEST

START_TEST(jwks_document_with_nul_byte_is_refused)
{
    static const char doc[] = "{\"keys\":[]}\0garbage";
    ipsie_jwks_t *jwks = NULL;

    ck_assert_int_eq(ipsie_jwks_parse(&jwks, doc, sizeof(doc) - 1, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(jwks_skips_rsa_key_without_n_or_e)
{
    json_t *no_n = jwk_of(rsa_key, "a", NULL);
    json_t *no_e = jwk_of(rsa_key, "b", NULL);
    json_t *bad_n = jwk_of(rsa_key, "c", NULL);

    json_object_del(no_n, "n");
    json_object_del(no_e, "e");
    json_object_set_new(bad_n, "n", json_string("AQAB+/=="));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[ooo]", no_n, no_e, bad_n))), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05004"));
}
END_TEST

START_TEST(jwks_skips_rsa_key_with_a_trivial_even_or_huge_exponent)
{
    static const char *const exponents[] = {"AQ", "AAE", "Ag", "AAAB", "AQAA", "AQEBAQEBAQEBAQ",
                                            NULL};
    json_t *keys = json_array();
    int i;

    for (i = 0; exponents[i] != NULL; i++) {
        json_t *jwk = jwk_of(rsa_key, apr_psprintf(pool, "e%d", i), NULL);
        json_object_set_new(jwk, "e", json_string(exponents[i]));
        json_array_append_new(keys, jwk);
    }
    /* The same key with its real exponent (65537) stays usable. */
    json_array_append_new(keys, jwk_of(rsa_key, "good", NULL));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(keys)), 1);
}
END_TEST

START_TEST(jwks_skips_ec_key_on_another_curve)
{
    json_t *p384 = jwk_of(ec384_key, "p384", NULL);
    json_t *relabelled = jwk_of(ec384_key, "p384b", NULL);

    /* A P-384 point relabelled as P-256 has coordinates of the wrong size. */
    json_object_set_new(relabelled, "crv", json_string("P-256"));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[oo]", p384, relabelled))), 0);
}
END_TEST

START_TEST(jwks_skips_ec_point_not_on_the_curve)
{
    json_t *jwk = jwk_of(ec_key, "ec1", NULL);
    unsigned char y[32];

    memset(y, 0x42, sizeof(y));
    json_object_set_new(jwk, "y", json_string(b64(y, sizeof(y))));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[o]", jwk))), 0);
}
END_TEST

START_TEST(jwks_skips_ed25519_key_of_wrong_size_or_curve)
{
    json_t *short_x = jwk_of(ed_key, "a", NULL);
    json_t *x448 = jwk_of(ed_key, "b", NULL);

    json_object_set_new(short_x, "x", json_string("AAAA"));
    json_object_set_new(x448, "crv", json_string("Ed448"));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[oo]", short_x, x448))), 0);
}
END_TEST

START_TEST(jwks_skips_keys_not_for_signatures)
{
    json_t *enc = jwk_of(rsa_key, "enc", NULL);
    json_t *ops = jwk_of(ec_key, "ops", NULL);
    json_t *verify_ops = jwk_of(ed_key, "vops", NULL);

    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(ops, "key_ops", json_pack("[s]", "encrypt"));
    json_object_set_new(verify_ops, "key_ops", json_pack("[s]", "verify"));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[ooo]", enc, ops, verify_ops))), 1);
}
END_TEST

START_TEST(jwks_skips_keys_with_private_material)
{
    json_t *jwk = jwk_of(rsa_key, "leaked", NULL);

    json_object_set_new(jwk, "d", json_string("AQAB"));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[o]", jwk))), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05005"));
    ck_assert_ptr_null(strstr(captured_log, "AQAB"));
}
END_TEST

START_TEST(jwks_skips_rsa_keys_under_2048_bits)
{
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[o]", jwk_of(rsa_small, "s", NULL)))), 0);
}
END_TEST

START_TEST(jwks_skips_symmetric_unknown_and_odd_entries)
{
    json_t *keys =
        json_pack("[{s:s, s:s}, {s:s}, {s:i}, i, s, n, [], {s:s, s:i}]", "kty", "oct", "k",
                  "c2VjcmV0", "kty", "XYZ", "kty", 3, 7, "x", "kty", "RSA", "kid", 5);

    json_array_append_new(keys, jwk_of(rsa_key, "ok", NULL));
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(keys)), 1);
}
END_TEST

START_TEST(jwks_refuses_5000_keys)
{
    json_t *keys = json_array();
    ipsie_jwks_t *jwks = (ipsie_jwks_t *)1;
    int i;

    for (i = 0; i < 5000; i++) {
        json_array_append_new(keys, json_pack("{s:s}", "kty", "OKP"));
    }
    ck_assert_int_eq(parse_keys(&jwks, keys), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(jwks);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05003"));
}
END_TEST

START_TEST(jwks_refuses_oversized_document)
{
    apr_size_t len = 300 * 1024;
    char *doc = apr_palloc(pool, len + 1);
    ipsie_jwks_t *jwks = NULL;

    memset(doc, ' ', len);
    memcpy(doc, "{\"keys\":[]}", 11);
    doc[len] = '\0';
    ck_assert_int_eq(ipsie_jwks_parse(&jwks, doc, len, pool), IPSIE_ERR_TOO_LARGE);
}
END_TEST

/* ---- JWS verification ---- */

static void assert_good(EVP_PKEY *k, const char *alg, const char *kid)
{
    json_t *claims = NULL;
    const char *jwt = sign_raw(k, alg, header_text(alg, kid), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), all_algs(), pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(claims);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "248289761001");
}

START_TEST(rs256_token_verifies)
{
    assert_good(rsa_key, "RS256", "rsa1");
}
END_TEST

START_TEST(ps256_token_verifies)
{
    assert_good(rsa_key, "PS256", "rsa1");
}
END_TEST

START_TEST(es256_token_verifies)
{
    assert_good(ec_key, "ES256", "ec1");
}
END_TEST

START_TEST(eddsa_token_verifies)
{
    assert_good(ed_key, "EdDSA", "ed1");
}
END_TEST

START_TEST(claims_stay_valid_until_the_pool_goes)
{
    json_t *claims = NULL;
    const char *jwt =
        sign_raw(ed_key, "EdDSA", header_text("EdDSA", "ed1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), all_algs(), pool), APR_SUCCESS);
    ck_assert_int_eq(claims->refcount, 1);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), ISSUER);
}
END_TEST

START_TEST(unsigned_alg_none_token_is_refused_whatever_the_allow_list)
{
    const char *payload = b64s(json_text(good_claims()));
    const char *variants[] = {"none", "None", "NONE", "nOnE"};
    size_t i;

    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        json_t *claims = NULL;
        const char *jwt =
            apr_pstrcat(pool, b64s(header_text(variants[i], NULL)), ".", payload, ".", NULL);
        apr_array_header_t *allowed = algs("RS256 none None NONE nOnE");

        ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), allowed, pool),
                         IPSIE_ERR_JWT_ALG);
        ck_assert_ptr_null(claims);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05016"));
}
END_TEST

START_TEST(hs256_token_keyed_with_the_rsa_public_key_is_refused)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pem_len;
    unsigned char mac[32];
    size_t mac_len = 0;
    const char *input;
    const char *jwt;
    const char *hs[] = {"HS256", "hs256", "Hs512"};
    size_t i;

    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, rsa_key), 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        json_t *claims = NULL;

        input = apr_pstrcat(pool, b64s(header_text(hs[i], "rsa1")), ".",
                            b64s(json_text(good_claims())), NULL);
        ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pem_len,
                                        (const unsigned char *)input, strlen(input), mac,
                                        sizeof(mac), &mac_len));
        jwt = apr_pstrcat(pool, input, ".", b64(mac, mac_len), NULL);
        ck_assert_int_eq(
            ipsie_jws_verify(&claims, jwt, std_jwks(), algs("RS256 HS256 hs256 Hs512"), pool),
            IPSIE_ERR_JWT_ALG);
        ck_assert_ptr_null(claims);
    }
    BIO_free(bio);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05016"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE05018"));
}
END_TEST

START_TEST(alg_not_on_the_allow_list_is_refused)
{
    json_t *claims = NULL;
    const char *jwt =
        sign_raw(ec_key, "ES256", header_text("ES256", "ec1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), algs("RS256 PS256"), pool),
                     IPSIE_ERR_JWT_ALG);
    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), NULL, pool), IPSIE_ERR_JWT_ALG);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05017"));
}
END_TEST

START_TEST(allowed_but_unsupported_alg_is_refused)
{
    json_t *claims = NULL;
    const char *jwt =
        sign_raw(rsa_key, "RS384", header_text("RS384", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), algs("RS256 RS384"), pool),
                     IPSIE_ERR_JWT_ALG);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05018"));
}
END_TEST

START_TEST(unknown_kid_asks_for_a_jwks_refetch)
{
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rotated-2"), json_text(good_claims()));

    ck_assert_int_eq(verify(jwt), IPSIE_ERR_JWT_KID);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05021"));
}
END_TEST

START_TEST(kid_of_a_key_of_another_type_is_refused)
{
    const char *es_on_rsa =
        sign_raw(ec_key, "ES256", header_text("ES256", "rsa1"), json_text(good_claims()));
    const char *rs_on_ed =
        sign_raw(rsa_key, "RS256", header_text("RS256", "ed1"), json_text(good_claims()));

    ck_assert_int_eq(verify(es_on_rsa), IPSIE_ERR_JWT_ALG);
    ck_assert_int_eq(verify(rs_on_ed), IPSIE_ERR_JWT_ALG);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05022"));
}
END_TEST

START_TEST(jwk_alg_must_equal_the_token_alg)
{
    json_t *claims = NULL;
    ipsie_jwks_t *jwks = jwks_of(json_pack("[o]", jwk_of(rsa_key, "rsa1", "PS256")));
    const char *rs =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));
    const char *ps =
        sign_raw(rsa_key, "PS256", header_text("PS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, rs, jwks, all_algs(), pool), IPSIE_ERR_JWT_ALG);
    ck_assert_int_eq(ipsie_jws_verify(&claims, ps, jwks, all_algs(), pool), APR_SUCCESS);
}
END_TEST

START_TEST(token_without_kid_uses_the_only_fitting_key)
{
    assert_good(rsa_key, "RS256", NULL);
    assert_good(ec_key, "ES256", NULL);
    assert_good(ed_key, "EdDSA", NULL);
}
END_TEST

START_TEST(token_without_kid_is_refused_when_two_keys_fit)
{
    json_t *claims = NULL;
    ipsie_jwks_t *jwks =
        jwks_of(json_pack("[oo]", jwk_of(rsa_key, "a", NULL), jwk_of(rsa_other, "b", NULL)));
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", NULL), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, jwks, all_algs(), pool), IPSIE_ERR_JWT_KID);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05023"));
}
END_TEST

START_TEST(token_signed_by_a_foreign_key_under_our_kid_is_refused)
{
    ck_assert_int_eq(verify(sign_raw(rsa_other, "RS256", header_text("RS256", "rsa1"),
                                     json_text(good_claims()))),
                     IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify(sign_raw(rsa_other, "PS256", header_text("PS256", "rsa1"),
                                     json_text(good_claims()))),
                     IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05024"));
}
END_TEST

START_TEST(two_keys_under_one_kid_are_both_tried)
{
    json_t *claims = NULL;
    ipsie_jwks_t *jwks =
        jwks_of(json_pack("[oo]", jwk_of(rsa_other, "k", NULL), jwk_of(rsa_key, "k", NULL)));
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "k"), json_text(good_claims()));
    const char *foreign =
        sign_raw(ec_key, "ES256", header_text("ES256", "k"), json_text(good_claims()));
    const char *forged =
        sign_raw(rsa_small, "RS256", header_text("RS256", "k"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, jwks, all_algs(), pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jws_verify(&claims, foreign, jwks, all_algs(), pool), IPSIE_ERR_JWT_ALG);
    ck_assert_int_eq(ipsie_jws_verify(&claims, forged, jwks, all_algs(), pool),
                     IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

START_TEST(embedded_jwk_header_is_not_trusted)
{
    json_t *h = json_pack("{s:s, s:o}", "alg", "RS256", "jwk", jwk_of(rsa_other, NULL, NULL));
    const char *jwt = sign_raw(rsa_other, "RS256", json_text(h), json_text(good_claims()));

    ck_assert_int_eq(verify(jwt), IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

/* Replace the payload of jwt by another one, keeping header and signature. */
static const char *swap_payload(const char *jwt, const char *payload)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = strchr(d1 + 1, '.');

    return apr_pstrcat(pool, apr_pstrndup(pool, jwt, (apr_size_t)(d1 - jwt)), ".", b64s(payload),
                       d2, NULL);
}

START_TEST(tampered_payload_is_refused)
{
    static const char *const algs_kids[][2] = {
        {"RS256", "rsa1"}, {"PS256", "rsa1"}, {"ES256", "ec1"}, {"EdDSA", "ed1"}};
    EVP_PKEY *keys[] = {rsa_key, rsa_key, ec_key, ed_key};
    size_t i;

    for (i = 0; i < 4; i++) {
        json_t *evil = good_claims();
        const char *jwt =
            sign_raw(keys[i], algs_kids[i][0], header_text(algs_kids[i][0], algs_kids[i][1]),
                     json_text(good_claims()));

        json_object_set_new(evil, "sub", json_string("admin"));
        ck_assert_int_eq(verify(swap_payload(jwt, json_text(evil))), IPSIE_ERR_JWT_SIGNATURE);
    }
}
END_TEST

START_TEST(tampered_signature_is_refused)
{
    static const char *const algs_kids[][2] = {
        {"RS256", "rsa1"}, {"PS256", "rsa1"}, {"ES256", "ec1"}, {"EdDSA", "ed1"}};
    EVP_PKEY *keys[] = {rsa_key, rsa_key, ec_key, ed_key};
    size_t i;

    for (i = 0; i < 4; i++) {
        const char *jwt =
            sign_raw(keys[i], algs_kids[i][0], header_text(algs_kids[i][0], algs_kids[i][1]),
                     json_text(good_claims()));
        char *flipped = apr_pstrdup(pool, jwt);
        char *mid = strrchr(flipped, '.') + 10;
        const char *sig = strrchr(jwt, '.') + 1;
        unsigned char *raw = NULL;
        apr_size_t raw_len = 0;
        const char *truncated;

        const char *extended = apr_pstrcat(pool, jwt, "AAAA", NULL);

        /* One byte short, re-encoded so that only the length is wrong. */
        ck_assert_int_eq(ipsie_b64url_decode(&raw, &raw_len, sig, strlen(sig), pool), APR_SUCCESS);
        truncated = apr_pstrcat(pool, apr_pstrndup(pool, jwt, (apr_size_t)(sig - jwt)),
                                b64(raw, raw_len - 1), NULL);
        *mid = *mid == 'A' ? 'B' : 'A';
        ck_assert_int_eq(verify(flipped), IPSIE_ERR_JWT_SIGNATURE);
        ck_assert_int_eq(verify(truncated), IPSIE_ERR_JWT_SIGNATURE);
        ck_assert_int_eq(verify(extended), IPSIE_ERR_JWT_SIGNATURE);
    }
}
END_TEST

START_TEST(es256_signature_with_zero_padded_coordinates_is_refused)
{
    const char *jwt =
        sign_raw(ec_key, "ES256", header_text("ES256", "ec1"), json_text(good_claims()));
    const char *sig = strrchr(jwt, '.') + 1;
    unsigned char *raw = NULL;
    apr_size_t raw_len = 0;
    unsigned char padded[66];

    /* Same r and s, one leading zero each: a second encoding of one signature. */
    ck_assert_int_eq(ipsie_b64url_decode(&raw, &raw_len, sig, strlen(sig), pool), APR_SUCCESS);
    ck_assert_uint_eq(raw_len, 64);
    padded[0] = 0;
    memcpy(padded + 1, raw, 32);
    padded[33] = 0;
    memcpy(padded + 34, raw + 32, 32);
    ck_assert_int_eq(verify(jwt), APR_SUCCESS);
    ck_assert_int_eq(verify(apr_pstrcat(pool, apr_pstrndup(pool, jwt, (apr_size_t)(sig - jwt)),
                                        b64(padded, sizeof(padded)), NULL)),
                     IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

START_TEST(empty_signature_is_refused)
{
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(verify(apr_pstrndup(pool, jwt, (apr_size_t)(strrchr(jwt, '.') - jwt + 1))),
                     IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

START_TEST(malformed_header_is_refused)
{
    static const char *const headers[] = {
        "{\"alg\":\"RS256\"",
        "[\"RS256\"]",
        "{}",
        "{\"alg\":256}",
        "{\"alg\":null}",
        "{\"alg\":\"RS256\",\"alg\":\"RS256\"}",
        "{\"alg\":\"RS256\",\"kid\":7}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"],\"exp\":1}",
        ""};
    size_t i;

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *jwt = sign_raw(rsa_key, "RS256", headers[i], json_text(good_claims()));

        ck_assert_int_eq(verify(jwt), IPSIE_ERR_MALFORMED);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05014"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05015"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05019"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05020"));
}
END_TEST

START_TEST(signed_but_malformed_payload_is_refused)
{
    static const char *const payloads[] = {
        "{\"sub\":",          "[1,2]", "\"sub\"", "", "{\"sub\":\"a\",\"sub\":\"b\"}",
        "{\"exp\":1}trailing"};
    size_t i;

    for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        const char *jwt = sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), payloads[i]);

        ck_assert_int_eq(verify(jwt), IPSIE_ERR_MALFORMED);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05025"));
}
END_TEST

START_TEST(bad_base64url_is_refused)
{
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));
    const char *d1 = strchr(jwt, '.');
    const char *d2 = strrchr(jwt, '.');
    const char *head = apr_pstrndup(pool, jwt, (apr_size_t)(d1 - jwt));
    const char *body = apr_pstrndup(pool, d1 + 1, (apr_size_t)(d2 - d1 - 1));
    const char *sig = d2 + 1;

    ck_assert_int_eq(verify(apr_pstrcat(pool, head, "+.", body, ".", sig, NULL)),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, head, ".", body, "==.", sig, NULL)),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, head, ".", body, ".", sig, "!", NULL)),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, head, ".", body, ". ", sig, NULL)),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, "A", head, ".", body, ".", sig, NULL)),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05013"));
}
END_TEST

START_TEST(wrong_number_of_parts_is_refused)
{
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(verify(""), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify("abc"), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(strchr(jwt, '.') + 1), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, jwt, ".", NULL)), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(apr_pstrcat(pool, jwt, ".abc.def.ghi", NULL)), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(verify(".."), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05012"));
}
END_TEST

START_TEST(encrypted_jwt_is_refused)
{
    const char *jwe = apr_pstrcat(pool, b64s("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}"),
                                  ".AAAA.AAAA.AAAA.AAAA", NULL);

    ck_assert_int_eq(verify(jwe), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05011"));
}
END_TEST

START_TEST(token_of_exactly_the_size_limit_verifies_and_one_more_byte_does_not)
{
    const char *jwt = NULL;
    apr_size_t extra;

    /* Pad the header and a claim until the token is exactly IPSIE_JWT_MAX_LEN bytes long. */
    for (extra = 0; extra < 4 && jwt == NULL; extra++) {
        json_t *h = json_pack("{s:s, s:s, s:s%}", "alg", "EdDSA", "kid", "ed1", "x", "xxx", extra);
        const char *header = json_text(h);
        apr_size_t pad;

        for (pad = 11000; pad < 13000 && jwt == NULL; pad++) {
            json_t *c = good_claims();
            char *fill = malloc(pad + 1);
            const char *payload;

            memset(fill, 'p', pad);
            fill[pad] = '\0';
            json_object_set_new(c, "pad", json_string(fill));
            free(fill);
            payload = json_text(c);
            /* An Ed25519 signature is 86 base64url characters. */
            if (strlen(b64s(header)) + strlen(b64s(payload)) + 2 + 86 == IPSIE_JWT_MAX_LEN) {
                jwt = sign_raw(ed_key, "EdDSA", header, payload);
            }
        }
    }
    ck_assert_ptr_nonnull(jwt);
    ck_assert_uint_eq(strlen(jwt), IPSIE_JWT_MAX_LEN);
    ck_assert_int_eq(verify(jwt), APR_SUCCESS);
    ck_assert_int_eq(verify(apr_pstrcat(pool, jwt, "A", NULL)), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05010"));
}
END_TEST

START_TEST(huge_token_is_refused_without_parsing)
{
    apr_size_t len = 1024 * 1024;
    char *big = apr_palloc(pool, len + 1);

    memset(big, 'A', len);
    big[10] = '.';
    big[20] = '.';
    big[len] = '\0';
    ck_assert_int_eq(verify(big), IPSIE_ERR_TOO_LARGE);
}
END_TEST

START_TEST(null_token_or_empty_jwks_fail_cleanly)
{
    json_t *claims = NULL;
    ipsie_jwks_t *empty = NULL;
    const char *jwt =
        sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, NULL, std_jwks(), all_algs(), pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_jwks_parse(&empty, "{\"keys\":[]}", 11, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, empty, all_algs(), pool), IPSIE_ERR_JWT_KID);
    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, NULL, all_algs(), pool), IPSIE_ERR_JWT_KID);
    ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(refusals_never_log_the_token)
{
    json_t *evil = good_claims();
    const char *jwt =
        sign_raw(rsa_other, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));
    const char *tampered;

    json_object_set_new(evil, "sub", json_string("admin"));
    tampered = swap_payload(jwt, json_text(evil));
    ck_assert_int_eq(verify(jwt), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify(tampered), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify(apr_pstrcat(pool, jwt, ".x", NULL)), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(strstr(captured_log, strrchr(jwt, '.') + 1));
    ck_assert_ptr_null(strstr(captured_log, apr_pstrndup(pool, jwt, 20)));
    ck_assert_ptr_null(strstr(captured_log, "admin"));
}
END_TEST

START_TEST(hostile_kid_is_not_logged_verbatim)
{
    const char *jwt = sign_raw(rsa_key, "RS256", header_text("RS256", "x\nIPSIE00000: forged"),
                               json_text(good_claims()));

    ck_assert_int_eq(verify(jwt), IPSIE_ERR_JWT_KID);
    ck_assert_ptr_null(strstr(captured_log, "forged"));
}
END_TEST

/* ---- ID token claims ---- */

START_TEST(valid_id_token_is_accepted)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();

    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), &e, pool),
        APR_SUCCESS);
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "session_expiry")), NOW + 3600);
    ck_assert_int_eq(log_lines(), 0);
}
END_TEST

START_TEST(signature_failure_is_reported_as_such)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();
    const char *jwt =
        sign_raw(rsa_other, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_id_token_validate(&claims, jwt, std_jwks(), &e, pool),
                     IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_ptr_null(claims);
}
END_TEST

static void assert_claim_refused(json_t *claims, const char *tag, const char *claim)
{
    ck_assert_int_eq(validate(claims), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(log_lines(), 1);
    ck_assert_ptr_nonnull(strstr(captured_log, tag));
    ck_assert_ptr_nonnull(strstr(captured_log, claim));
}

START_TEST(wrong_iss_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "iss", json_string(ISSUER "/"));
    assert_claim_refused(c, "IPSIE05040", "iss");
}
END_TEST

START_TEST(missing_or_non_string_iss_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_del(c, "iss");
    ck_assert_int_eq(validate(c), IPSIE_ERR_JWT_CLAIMS);
    json_object_set_new(d, "iss", json_pack("[s]", ISSUER));
    ck_assert_int_eq(validate(d), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(aud_of_another_client_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_string("client-2"));
    assert_claim_refused(c, "IPSIE05041", "aud");
}
END_TEST

START_TEST(aud_array_holding_only_the_client_is_accepted)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_pack("[s]", CLIENT));
    ck_assert_int_eq(validate(c), APR_SUCCESS);
}
END_TEST

START_TEST(aud_array_with_an_extra_audience_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_pack("[ss]", CLIENT, "other-api"));
    json_object_set_new(c, "azp", json_string(CLIENT));
    assert_claim_refused(c, "IPSIE05041", "aud");
}
END_TEST

START_TEST(aud_empty_missing_or_not_strings_is_refused)
{
    json_t *empty = good_claims();
    json_t *missing = good_claims();
    json_t *number = good_claims();
    json_t *nested = good_claims();

    json_object_set_new(empty, "aud", json_array());
    json_object_del(missing, "aud");
    json_object_set_new(number, "aud", json_integer(1));
    json_object_set_new(nested, "aud", json_pack("[[s]]", CLIENT));
    ck_assert_int_eq(validate(empty), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(missing), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(nested), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(sl1_profile_refuses_aud_array_even_of_one_element)
{
    json_t *arr = good_claims();
    ipsie_id_token_expect_t e = expect_default();

    e.aud_single_string = 1;
    json_object_set_new(arr, "aud", json_pack("[s]", CLIENT));
    ck_assert_int_eq(validate_with(arr, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05041"));
    ck_assert_int_eq(validate_with(good_claims(), &e), APR_SUCCESS);
}
END_TEST

START_TEST(wrong_azp_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "azp", json_string("client-2"));
    assert_claim_refused(c, "IPSIE05042", "azp");
    json_object_set_new(d, "azp", json_string(CLIENT));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(azp_is_required_when_aud_has_several_values)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "aud", json_pack("[ss]", CLIENT, CLIENT));
    ck_assert_int_eq(validate(c), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "azp"));
    json_object_set_new(d, "aud", json_pack("[ss]", CLIENT, CLIENT));
    json_object_set_new(d, "azp", json_string(CLIENT));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(exp_at_now_minus_skew_is_refused_one_second_later_accepted)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "exp", json_integer(NOW - SKEW));
    assert_claim_refused(c, "IPSIE05044", "exp");
    json_object_set_new(d, "exp", json_integer(NOW - SKEW + 1));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(exp_that_is_not_an_integer_is_refused)
{
    json_t *str = good_claims();
    json_t *real = good_claims();
    json_t *missing = good_claims();

    json_object_set_new(str, "exp", json_string("1700000300"));
    json_object_set_new(real, "exp", json_real((double)(NOW + 300)));
    json_object_del(missing, "exp");
    assert_claim_refused(str, "IPSIE05043", "exp");
    ck_assert_int_eq(validate(real), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(missing), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(iat_beyond_now_plus_skew_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "iat", json_integer(NOW + SKEW + 1));
    assert_claim_refused(c, "IPSIE05046", "iat");
    json_object_set_new(d, "iat", json_integer(NOW + SKEW));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(iat_missing_or_not_an_integer_is_refused)
{
    json_t *missing = good_claims();
    json_t *str = good_claims();

    json_object_del(missing, "iat");
    json_object_set_new(str, "iat", json_string("now"));
    assert_claim_refused(missing, "IPSIE05045", "iat");
    ck_assert_int_eq(validate(str), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(nbf_in_the_future_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "nbf", json_integer(NOW + SKEW + 1));
    assert_claim_refused(c, "IPSIE05050", "nbf");
    json_object_set_new(d, "nbf", json_integer(NOW));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(sub_missing_empty_or_oversized_is_refused)
{
    json_t *missing = good_claims();
    json_t *empty = good_claims();
    json_t *number = good_claims();
    json_t *longer = good_claims();
    char big[257];

    memset(big, 's', 256);
    big[256] = '\0';
    json_object_del(missing, "sub");
    json_object_set_new(empty, "sub", json_string(""));
    json_object_set_new(number, "sub", json_integer(42));
    json_object_set_new(longer, "sub", json_string(big));
    assert_claim_refused(missing, "IPSIE05047", "sub");
    ck_assert_int_eq(validate(empty), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(longer), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

/* sub becomes REMOTE_USER and goes into log lines: no control character may forge either. */
START_TEST(sub_with_a_control_character_is_refused)
{
    static const char *const subs[] = {
        "alice\r\nX-Injected: yes", "alice\n", "\ralice", "ali\tce", "alice\x7f", "\x01", "a\x1f",
    };
    json_t *fine = good_claims();
    size_t i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        json_t *c = good_claims();
        captured_log[0] = '\0';
        json_object_set_new(c, "sub", json_string(subs[i]));
        ck_assert_msg(validate(c) == IPSIE_ERR_JWT_CLAIMS, "sub %zu was accepted", i);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05047"));
        ck_assert_ptr_null(strstr(captured_log, "Injected"));
    }
    /* Spaces and bytes past ASCII are no control characters. */
    json_object_set_new(fine, "sub", json_string("al ice \xc3\xa9\xc2\x80"));
    ck_assert_int_eq(validate(fine), APR_SUCCESS);
}
END_TEST

START_TEST(missing_or_different_nonce_is_refused)
{
    json_t *missing = good_claims();
    json_t *other = good_claims();
    json_t *prefix = good_claims();
    json_t *number = good_claims();

    json_object_del(missing, "nonce");
    json_object_set_new(other, "nonce", json_string("n-0S6_WzA2Mk"));
    json_object_set_new(prefix, "nonce", json_string("n-0S6_WzA2M"));
    json_object_set_new(number, "nonce", json_integer(1));
    assert_claim_refused(missing, "IPSIE05048", "nonce");
    ck_assert_int_eq(validate(other), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(prefix), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_null(strstr(captured_log, NONCE));
}
END_TEST

START_TEST(nonce_present_when_none_was_sent_is_refused)
{
    json_t *with = good_claims();
    json_t *without = good_claims();
    ipsie_id_token_expect_t e = expect_default();

    e.nonce = NULL;
    ck_assert_int_eq(validate_with(with, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05049"));
    json_object_del(without, "nonce");
    ck_assert_int_eq(validate_with(without, &e), APR_SUCCESS);
}
END_TEST

START_TEST(missing_expectations_refuse_every_token)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();

    e.client_id = NULL;
    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), &e, pool),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), NULL, pool),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_null(claims);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("ipsie_jwt");
    TCase *jwks = tcase_create("jwks");
    TCase *jws = tcase_create("jws");
    TCase *claims = tcase_create("id_token");

    tcase_add_unchecked_fixture(jwks, keys_setup, keys_teardown);
    tcase_add_checked_fixture(jwks, pool_setup, pool_teardown);
    tcase_add_test(jwks, jwks_keeps_rsa_ec_and_ed25519_keys);
    tcase_add_test(jwks, jwks_empty_key_set_is_fine);
    tcase_add_test(jwks, jwks_refuses_text_that_is_not_json);
    tcase_add_test(jwks, jwks_document_with_nul_byte_is_refused);
    tcase_add_test(jwks, jwks_skips_rsa_key_without_n_or_e);
    tcase_add_test(jwks, jwks_skips_rsa_key_with_a_trivial_even_or_huge_exponent);
    tcase_add_test(jwks, jwks_skips_ec_key_on_another_curve);
    tcase_add_test(jwks, jwks_skips_ec_point_not_on_the_curve);
    tcase_add_test(jwks, jwks_skips_ed25519_key_of_wrong_size_or_curve);
    tcase_add_test(jwks, jwks_skips_keys_not_for_signatures);
    tcase_add_test(jwks, jwks_skips_keys_with_private_material);
    tcase_add_test(jwks, jwks_skips_rsa_keys_under_2048_bits);
    tcase_add_test(jwks, jwks_skips_symmetric_unknown_and_odd_entries);
    tcase_add_test(jwks, jwks_refuses_5000_keys);
    tcase_add_test(jwks, jwks_refuses_oversized_document);
    suite_add_tcase(s, jwks);

    tcase_add_unchecked_fixture(jws, keys_setup, keys_teardown);
    tcase_add_checked_fixture(jws, pool_setup, pool_teardown);
    tcase_set_timeout(jws, 60);
    tcase_add_test(jws, rs256_token_verifies);
    tcase_add_test(jws, ps256_token_verifies);
    tcase_add_test(jws, es256_token_verifies);
    tcase_add_test(jws, eddsa_token_verifies);
    tcase_add_test(jws, claims_stay_valid_until_the_pool_goes);
    tcase_add_test(jws, unsigned_alg_none_token_is_refused_whatever_the_allow_list);
    tcase_add_test(jws, hs256_token_keyed_with_the_rsa_public_key_is_refused);
    tcase_add_test(jws, alg_not_on_the_allow_list_is_refused);
    tcase_add_test(jws, allowed_but_unsupported_alg_is_refused);
    tcase_add_test(jws, unknown_kid_asks_for_a_jwks_refetch);
    tcase_add_test(jws, kid_of_a_key_of_another_type_is_refused);
    tcase_add_test(jws, jwk_alg_must_equal_the_token_alg);
    tcase_add_test(jws, token_without_kid_uses_the_only_fitting_key);
    tcase_add_test(jws, token_without_kid_is_refused_when_two_keys_fit);
    tcase_add_test(jws, token_signed_by_a_foreign_key_under_our_kid_is_refused);
    tcase_add_test(jws, two_keys_under_one_kid_are_both_tried);
    tcase_add_test(jws, embedded_jwk_header_is_not_trusted);
    tcase_add_test(jws, tampered_payload_is_refused);
    tcase_add_test(jws, tampered_signature_is_refused);
    tcase_add_test(jws, es256_signature_with_zero_padded_coordinates_is_refused);
    tcase_add_test(jws, empty_signature_is_refused);
    tcase_add_test(jws, malformed_header_is_refused);
    tcase_add_test(jws, signed_but_malformed_payload_is_refused);
    tcase_add_test(jws, bad_base64url_is_refused);
    tcase_add_test(jws, wrong_number_of_parts_is_refused);
    tcase_add_test(jws, encrypted_jwt_is_refused);
    tcase_add_test(jws, token_of_exactly_the_size_limit_verifies_and_one_more_byte_does_not);
    tcase_add_test(jws, huge_token_is_refused_without_parsing);
    tcase_add_test(jws, null_token_or_empty_jwks_fail_cleanly);
    tcase_add_test(jws, refusals_never_log_the_token);
    tcase_add_test(jws, hostile_kid_is_not_logged_verbatim);
    suite_add_tcase(s, jws);

    tcase_add_unchecked_fixture(claims, keys_setup, keys_teardown);
    tcase_add_checked_fixture(claims, pool_setup, pool_teardown);
    tcase_add_test(claims, valid_id_token_is_accepted);
    tcase_add_test(claims, signature_failure_is_reported_as_such);
    tcase_add_test(claims, wrong_iss_is_refused);
    tcase_add_test(claims, missing_or_non_string_iss_is_refused);
    tcase_add_test(claims, aud_of_another_client_is_refused);
    tcase_add_test(claims, aud_array_holding_only_the_client_is_accepted);
    tcase_add_test(claims, aud_array_with_an_extra_audience_is_refused);
    tcase_add_test(claims, aud_empty_missing_or_not_strings_is_refused);
    tcase_add_test(claims, sl1_profile_refuses_aud_array_even_of_one_element);
    tcase_add_test(claims, wrong_azp_is_refused);
    tcase_add_test(claims, azp_is_required_when_aud_has_several_values);
    tcase_add_test(claims, exp_at_now_minus_skew_is_refused_one_second_later_accepted);
    tcase_add_test(claims, exp_that_is_not_an_integer_is_refused);
    tcase_add_test(claims, iat_beyond_now_plus_skew_is_refused);
    tcase_add_test(claims, iat_missing_or_not_an_integer_is_refused);
    tcase_add_test(claims, nbf_in_the_future_is_refused);
    tcase_add_test(claims, sub_missing_empty_or_oversized_is_refused);
    tcase_add_test(claims, sub_with_a_control_character_is_refused);
    tcase_add_test(claims, missing_or_different_nonce_is_refused);
    tcase_add_test(claims, nonce_present_when_none_was_sent_is_refused);
    tcase_add_test(claims, missing_expectations_refuse_every_token);
    suite_add_tcase(s, claims);
    return s;
}

int main(void)
{
    return run_suite(jwt_suite());
}
