/* Unit tests of src/ipsie_jws.c: algorithms, key choice, signatures and malformed tokens. */
#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jws.h"

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
        sign_raw(ec_key, "ES256K", header_text("ES256K", "ec1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, jwt, std_jwks(), algs("RS256 ES256K"), pool),
                     IPSIE_ERR_JWT_ALG);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05018"));
}
END_TEST

/* ---- RS384, RS512, PS384, PS512, ES384, ES512: opt-in, each with the key it needs ---- */

#define WIDE_ALGS "RS384 RS512 PS384 PS512 ES384 ES512"

/* The usual key set and EC keys on P-384 (kid ec384) and P-521 (kid ec521). */
static ipsie_jwks_t *wide_jwks(void)
{
    return jwks_of(json_pack("[ooooo]", jwk_of(rsa_key, "rsa1", NULL), jwk_of(ec_key, "ec1", NULL),
                             jwk_of(ec384_key, "ec384", NULL), jwk_of(ec521_key, "ec521", NULL),
                             jwk_of(ed_key, "ed1", NULL)));
}

static apr_status_t verify_wide(const char *jwt, const char *allowed)
{
    json_t *claims = (json_t *)1;
    apr_status_t rv = ipsie_jws_verify(&claims, jwt, wide_jwks(), algs(allowed), pool);

    ck_assert(rv == APR_SUCCESS ? claims != NULL : claims == NULL);
    return rv;
}

static const struct {
    const char *alg;
    EVP_PKEY **key;
    const char *kid;
} wide[] = {
    {"RS384", &rsa_key, "rsa1"}, {"RS512", &rsa_key, "rsa1"},    {"PS384", &rsa_key, "rsa1"},
    {"PS512", &rsa_key, "rsa1"}, {"ES384", &ec384_key, "ec384"}, {"ES512", &ec521_key, "ec521"},
};

START_TEST(each_longer_hash_alg_verifies_when_listed)
{
    size_t i;

    for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        const char *jwt = sign_raw(*wide[i].key, wide[i].alg, header_text(wide[i].alg, wide[i].kid),
                                   json_text(good_claims()));

        ck_assert_msg(verify_wide(jwt, wide[i].alg) == APR_SUCCESS, "%s was refused", wide[i].alg);
        ck_assert_msg(verify_wide(jwt, WIDE_ALGS) == APR_SUCCESS, "%s was refused", wide[i].alg);
    }
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(each_longer_hash_alg_is_refused_when_not_listed)
{
    size_t i;

    for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        const char *jwt = sign_raw(*wide[i].key, wide[i].alg, header_text(wide[i].alg, wide[i].kid),
                                   json_text(good_claims()));

        captured_log[0] = '\0';
        ck_assert_msg(verify_wide(jwt, "RS256 PS256 ES256 EdDSA") == IPSIE_ERR_JWT_ALG,
                      "%s was accepted by the default list", wide[i].alg);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05017"));
        /* The name must match exactly: another alg of the same family does not admit it. */
        ck_assert_int_eq(verify_wide(jwt, "RS256 RS512 PS256 ES256 es384 Es512"),
                         strcmp(wide[i].alg, "RS512") == 0 ? APR_SUCCESS : IPSIE_ERR_JWT_ALG);
    }
}
END_TEST

START_TEST(es_alg_needs_a_key_on_its_own_curve)
{
    /* The kid names a key of another curve than the alg's: refused before any signature. */
    static const struct {
        const char *alg;
        EVP_PKEY **signer;
        const char *kid;
    } cases[] = {
        {"ES384", &ec_key, "ec1"},      {"ES384", &ec521_key, "ec521"},
        {"ES512", &ec384_key, "ec384"}, {"ES512", &ec_key, "ec1"},
        {"ES256", &ec384_key, "ec384"}, {"ES256", &ec521_key, "ec521"},
        {"ES384", &ec384_key, "rsa1"},  {"ES512", &ec521_key, "ed1"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *jwt =
            sign_raw(*cases[i].signer, cases[i].alg, header_text(cases[i].alg, cases[i].kid),
                     json_text(good_claims()));

        captured_log[0] = '\0';
        ck_assert_msg(verify_wide(jwt, "ES256 " WIDE_ALGS) == IPSIE_ERR_JWT_ALG,
                      "%s with the key %s was not refused", cases[i].alg, cases[i].kid);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05022"));
    }
}
END_TEST

START_TEST(es_signature_made_on_another_curve_is_refused)
{
    /* Signed with a P-256 key (64 bytes of R || S) under the P-384 key's kid, and the reverse. */
    const char *short_sig =
        sign_raw(ec_key, "ES384", header_text("ES384", "ec384"), json_text(good_claims()));
    const char *long_sig =
        sign_raw(ec384_key, "ES256", header_text("ES256", "ec1"), json_text(good_claims()));
    /* The right curve and length, the wrong digest (SHA-256 under ES384). */
    const char *input = apr_pstrcat(pool, b64s(header_text("ES384", "ec384")), ".",
                                    b64s(json_text(good_claims())), NULL);
    const char *wrong_digest =
        apr_pstrcat(pool, input, ".", signature(ec384_key, "ES256", input), NULL);

    ck_assert_int_eq(verify_wide(short_sig, WIDE_ALGS), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify_wide(long_sig, "ES256"), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify_wide(wrong_digest, WIDE_ALGS), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05024"));
}
END_TEST

START_TEST(rsa_signature_of_another_padding_or_hash_is_refused)
{
    const char *input = apr_pstrcat(pool, b64s(header_text("RS512", "rsa1")), ".",
                                    b64s(json_text(good_claims())), NULL);
    const char *pss_as_rs = apr_pstrcat(pool, input, ".", signature(rsa_key, "PS512", input), NULL);
    const char *sha384_as_rs512 =
        apr_pstrcat(pool, input, ".", signature(rsa_key, "RS384", input), NULL);
    const char *input_ps = apr_pstrcat(pool, b64s(header_text("PS384", "rsa1")), ".",
                                       b64s(json_text(good_claims())), NULL);
    const char *pkcs1_as_ps =
        apr_pstrcat(pool, input_ps, ".", signature(rsa_key, "RS384", input_ps), NULL);

    ck_assert_int_eq(verify_wide(pss_as_rs, WIDE_ALGS), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify_wide(sha384_as_rs512, WIDE_ALGS), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(verify_wide(pkcs1_as_ps, WIDE_ALGS), IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

START_TEST(jwk_alg_of_one_hash_does_not_admit_another)
{
    json_t *claims = NULL;
    ipsie_jwks_t *jwks = jwks_of(json_pack("[o]", jwk_of(rsa_key, "rsa1", "RS384")));
    const char *rs384 =
        sign_raw(rsa_key, "RS384", header_text("RS384", "rsa1"), json_text(good_claims()));
    const char *rs512 =
        sign_raw(rsa_key, "RS512", header_text("RS512", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_jws_verify(&claims, rs384, jwks, algs(WIDE_ALGS), pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jws_verify(&claims, rs512, jwks, algs(WIDE_ALGS), pool),
                     IPSIE_ERR_JWT_ALG);
}
END_TEST

START_TEST(es_token_without_kid_uses_the_one_key_on_its_curve)
{
    const char *es384 =
        sign_raw(ec384_key, "ES384", header_text("ES384", NULL), json_text(good_claims()));
    const char *es512 =
        sign_raw(ec521_key, "ES512", header_text("ES512", NULL), json_text(good_claims()));

    ck_assert_int_eq(verify_wide(es384, WIDE_ALGS), APR_SUCCESS);
    ck_assert_int_eq(verify_wide(es512, WIDE_ALGS), APR_SUCCESS);
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

/* ---- explicit typing (RFC 8725 3.11) ---- */

static apr_status_t verify_typed(const char *jwt)
{
    json_t *claims = (json_t *)1;
    apr_status_t rv =
        ipsie_jws_verify_typed(&claims, jwt, std_jwks(), all_algs(), "logout+jwt", pool);

    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(claims);
    }
    return rv;
}

static const char *typed_token(const char *kid, const char *header_typ)
{
    return sign_raw(rsa_key, "RS256", header_typed("RS256", kid, header_typ),
                    json_text(good_claims()));
}

START_TEST(typed_token_verifies_in_any_case_with_or_without_the_application_prefix)
{
    static const char *const typs[] = {"logout+jwt", "application/logout+jwt", "LOGOUT+JWT",
                                       "Application/Logout+JWT"};
    size_t i;

    for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        ck_assert_msg(verify_typed(typed_token("rsa1", typs[i])) == APR_SUCCESS,
                      "typ %s was refused", typs[i]);
    }
    ck_assert_int_eq(verify_typed(typed_token("rsa1", NULL)), APR_SUCCESS);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(token_of_another_type_is_refused_before_its_key_is_sought)
{
    static const char *const typs[] = {"JWT",
                                       "at+jwt",
                                       "",
                                       "logout+jwt ",
                                       "logout+jwt; x=y",
                                       "application/application/logout+jwt",
                                       "text/logout+jwt",
                                       "secevent+jwt",
                                       "xlogout+jwt",
                                       "application/"};
    size_t i;

    for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        captured_log[0] = '\0';
        ck_assert_msg(verify_typed(typed_token("rsa1", typs[i])) == IPSIE_ERR_JWT_CLAIMS,
                      "typ \"%s\" was not refused", typs[i]);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
    }
    /* No refetch of the keys for a token that would be refused under any key. */
    ck_assert_int_eq(verify_typed(typed_token("rotated-2", "JWT")), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(typ_that_is_not_a_string_is_refused)
{
    json_t *number = json_pack("{s:s, s:s, s:i}", "alg", "RS256", "kid", "rsa1", "typ", 1);
    json_t *array =
        json_pack("{s:s, s:s, s:[s]}", "alg", "RS256", "kid", "rsa1", "typ", "logout+jwt");
    json_t *null = json_pack("{s:s, s:s, s:n}", "alg", "RS256", "kid", "rsa1", "typ");

    ck_assert_int_eq(
        verify_typed(sign_raw(rsa_key, "RS256", json_text(number), json_text(good_claims()))),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(
        verify_typed(sign_raw(rsa_key, "RS256", json_text(array), json_text(good_claims()))),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(
        verify_typed(sign_raw(rsa_key, "RS256", json_text(null), json_text(good_claims()))),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
}
END_TEST

START_TEST(untyped_verification_ignores_typ)
{
    ck_assert_int_eq(verify(typed_token("rsa1", "logout+jwt")), APR_SUCCESS);
    ck_assert_int_eq(verify(typed_token("rsa1", "at+jwt")), APR_SUCCESS);
}
END_TEST

START_TEST(hostile_typ_cannot_forge_a_log_line)
{
    ck_assert_int_eq(verify_typed(typed_token("rsa1", "x\nIPSIE00000: forged")),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_null(strstr(captured_log, "\nIPSIE00000"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
}
END_TEST

static Suite *jws_suite(void)
{
    Suite *s = suite_create("ipsie_jws");
    TCase *jws = tcase_create("jws");

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
    tcase_add_test(jws, each_longer_hash_alg_verifies_when_listed);
    tcase_add_test(jws, each_longer_hash_alg_is_refused_when_not_listed);
    tcase_add_test(jws, es_alg_needs_a_key_on_its_own_curve);
    tcase_add_test(jws, es_signature_made_on_another_curve_is_refused);
    tcase_add_test(jws, rsa_signature_of_another_padding_or_hash_is_refused);
    tcase_add_test(jws, jwk_alg_of_one_hash_does_not_admit_another);
    tcase_add_test(jws, es_token_without_kid_uses_the_one_key_on_its_curve);
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
    tcase_add_test(jws, typed_token_verifies_in_any_case_with_or_without_the_application_prefix);
    tcase_add_test(jws, token_of_another_type_is_refused_before_its_key_is_sought);
    tcase_add_test(jws, typ_that_is_not_a_string_is_refused);
    tcase_add_test(jws, untyped_verification_ignores_typ);
    tcase_add_test(jws, hostile_typ_cannot_forge_a_log_line);
    suite_add_tcase(s, jws);
    return s;
}

int main(void)
{
    return run_suite(jws_suite());
}
