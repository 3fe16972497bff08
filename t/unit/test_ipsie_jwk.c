/* Unit tests of src/ipsie_jwk.c: which keys of a JWKS are kept, and the limits on a JWKS. */
#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jwk.h"

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

START_TEST(jwks_keeps_ec_keys_on_p384_and_p521)
{
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(json_pack("[oo]", jwk_of(ec384_key, "p384", NULL),
                                                        jwk_of(ec521_key, "p521", NULL)))),
                     2);
}
END_TEST

START_TEST(jwks_skips_ec_key_on_another_curve)
{
    EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
    json_t *secp256k1 = jwk_of(k1, "k1", NULL);
    json_t *no_crv = jwk_of(ec_key, "none", NULL);

    /* A 256-bit point of another curve, under its own name and under P-256. */
    json_object_set_new(secp256k1, "crv", json_string("secp256k1"));
    json_object_del(no_crv, "crv");
    ck_assert_int_eq(
        ipsie_jwks_count(jwks_of(json_pack("[ooo]", secp256k1, jwk_of(k1, "k1b", NULL), no_crv))),
        0);
    EVP_PKEY_free(k1);
}
END_TEST

START_TEST(jwks_skips_ec_key_labelled_with_another_nist_curve)
{
    json_t *keys = json_array();
    EVP_PKEY **k[] = {&ec_key, &ec384_key, &ec521_key};
    const char *crv[] = {"P-256", "P-384", "P-521"};
    size_t i, j;

    /* Each point relabelled with the others' curves: the coordinates have the wrong size. */
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            if (i != j) {
                json_t *jwk = jwk_of(*k[i], NULL, NULL);

                json_object_set_new(jwk, "crv", json_string(crv[j]));
                json_array_append_new(keys, jwk);
            }
        }
    }
    ck_assert_int_eq(ipsie_jwks_count(jwks_of(keys)), 0);
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

static Suite *jwk_suite(void)
{
    Suite *s = suite_create("ipsie_jwk");
    TCase *jwks = tcase_create("jwks");

    tcase_add_unchecked_fixture(jwks, keys_setup, keys_teardown);
    tcase_add_checked_fixture(jwks, pool_setup, pool_teardown);
    tcase_add_test(jwks, jwks_keeps_rsa_ec_and_ed25519_keys);
    tcase_add_test(jwks, jwks_empty_key_set_is_fine);
    tcase_add_test(jwks, jwks_refuses_text_that_is_not_json);
    tcase_add_test(jwks, jwks_document_with_nul_byte_is_refused);
    tcase_add_test(jwks, jwks_skips_rsa_key_without_n_or_e);
    tcase_add_test(jwks, jwks_skips_rsa_key_with_a_trivial_even_or_huge_exponent);
    tcase_add_test(jwks, jwks_keeps_ec_keys_on_p384_and_p521);
    tcase_add_test(jwks, jwks_skips_ec_key_on_another_curve);
    tcase_add_test(jwks, jwks_skips_ec_key_labelled_with_another_nist_curve);
    tcase_add_test(jwks, jwks_skips_ec_point_not_on_the_curve);
    tcase_add_test(jwks, jwks_skips_ed25519_key_of_wrong_size_or_curve);
    tcase_add_test(jwks, jwks_skips_keys_not_for_signatures);
    tcase_add_test(jwks, jwks_skips_keys_with_private_material);
    tcase_add_test(jwks, jwks_skips_rsa_keys_under_2048_bits);
    tcase_add_test(jwks, jwks_skips_symmetric_unknown_and_odd_entries);
    tcase_add_test(jwks, jwks_refuses_5000_keys);
    tcase_add_test(jwks, jwks_refuses_oversized_document);
    suite_add_tcase(s, jwks);
    return s;
}

int main(void)
{
    return run_suite(jwk_suite());
}
