/* Unit tests of src/ipsie_crypto.c. */
#include <stdlib.h>

#include "test_support.h"
#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_util.h"

#define OLD_PASS "old passphrase, long enough to be accepted"
#define NEW_PASS "new passphrase, long enough to be accepted"
#define SECRET "sub=alice;refresh=rt-secret-value"
#define AAD "ipsie_session"

/* A crypto context from one or two passphrases (second may be NULL). */
static ipsie_crypto_t *make_crypto(const char *first, const char *second)
{
    apr_array_header_t *passes = apr_array_make(pool, 2, sizeof(const char *));
    ipsie_crypto_t *c = NULL;

    APR_ARRAY_PUSH(passes, const char *) = first;
    if (second != NULL) {
        APR_ARRAY_PUSH(passes, const char *) = second;
    }
    ck_assert_int_eq(ipsie_crypto_create(&c, passes, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(c);
    return c;
}

static char *seal_text(const ipsie_crypto_t *c, const char *aad, const char *plain)
{
    char *text = NULL;
    ck_assert_int_eq(
        ipsie_crypto_seal(&text, c, aad, (const unsigned char *)plain, strlen(plain), pool),
        APR_SUCCESS);
    return text;
}

static apr_status_t open_text(const ipsie_crypto_t *c, const char *aad, const char *text,
                              unsigned char **plain, apr_size_t *len)
{
    return ipsie_crypto_open(plain, len, c, aad, text, strlen(text), pool);
}

START_TEST(seal_then_open_returns_the_plaintext)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_ptr_null(strstr(text, "alice"));
    ck_assert_int_eq(open_text(c, AAD, text, &plain, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(SECRET));
    ck_assert_str_eq((char *)plain, SECRET);
}
END_TEST

START_TEST(sealed_text_has_version_nonce_ciphertext_and_tag)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *raw;
    apr_size_t raw_len;

    ck_assert_int_eq(ipsie_b64url_decode(&raw, &raw_len, text, strlen(text), pool), APR_SUCCESS);
    ck_assert_uint_eq(raw_len, 1 + 12 + strlen(SECRET) + 16);
    ck_assert_int_eq(raw[0], 0x01);
}
END_TEST

START_TEST(sealing_twice_uses_fresh_nonces)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    ck_assert_str_ne(seal_text(c, AAD, SECRET), seal_text(c, AAD, SECRET));
}
END_TEST

START_TEST(empty_plaintext_round_trips)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, "");
    unsigned char *plain;
    apr_size_t len = 1;

    ck_assert_int_eq(open_text(c, AAD, text, &plain, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq((char *)plain, "");
}
END_TEST

START_TEST(sealed_len_is_the_length_of_the_sealed_text)
{
    static const apr_size_t larger[] = {255, 256, 1000, 4096, 65536};
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    unsigned char *plain = apr_pcalloc(pool, 65536);
    apr_size_t n;

    for (n = 0; n <= 100 + sizeof(larger) / sizeof(larger[0]); n++) {
        apr_size_t len = n <= 100 ? n : larger[n - 101];
        char *text = NULL;

        ck_assert_int_eq(ipsie_crypto_seal(&text, c, AAD, plain, len, pool), APR_SUCCESS);
        ck_assert_msg(ipsie_crypto_sealed_len(len) == strlen(text), "%lu bytes: %lu, sealed %lu",
                      (unsigned long)len, (unsigned long)ipsie_crypto_sealed_len(len),
                      (unsigned long)strlen(text));
    }
}
END_TEST

START_TEST(changing_any_character_of_the_text_is_refused)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    apr_size_t i, n = strlen(text);

    for (i = 0; i < n; i++) {
        char *copy = apr_pstrdup(pool, text);
        unsigned char *plain;
        apr_size_t len;
        apr_status_t rv;

        copy[i] = (copy[i] == 'A') ? 'B' : 'A';
        rv = open_text(c, AAD, copy, &plain, &len);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "position %lu accepted",
                      (unsigned long)i);
        ck_assert_ptr_null(plain);
    }
}
END_TEST

START_TEST(flipping_any_bit_of_the_sealed_bytes_is_refused)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *raw;
    apr_size_t raw_len, i;
    int bit;

    ck_assert_int_eq(ipsie_b64url_decode(&raw, &raw_len, text, strlen(text), pool), APR_SUCCESS);
    for (i = 0; i < raw_len; i++) {
        for (bit = 0; bit < 8; bit++) {
            unsigned char *plain;
            apr_size_t len;
            apr_status_t rv;

            raw[i] ^= (unsigned char)(1 << bit);
            rv = open_text(c, AAD, ipsie_b64url_encode(raw, raw_len, pool), &plain, &len);
            raw[i] ^= (unsigned char)(1 << bit);
            ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED,
                          "byte %lu bit %d accepted", (unsigned long)i, bit);
        }
    }
}
END_TEST

START_TEST(another_passphrase_cannot_open)
{
    char *text = seal_text(make_crypto(NEW_PASS, NULL), AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(make_crypto(OLD_PASS, NULL), AAD, text, &plain, &len),
                     IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(plain);
    ck_assert_ptr_null(strstr(captured_log, SECRET));
    ck_assert_ptr_null(strstr(captured_log, OLD_PASS));
    ck_assert_ptr_null(strstr(captured_log, text));
}
END_TEST

START_TEST(a_renamed_cookie_does_not_open)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(c, "ipsie_session_0", text, &plain, &len), IPSIE_ERR_CRYPTO);
    ck_assert_int_eq(open_text(c, "", text, &plain, &len), IPSIE_ERR_CRYPTO);
    ck_assert_int_eq(open_text(c, NULL, text, &plain, &len), IPSIE_ERR_CRYPTO);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    apr_size_t n;

    for (n = 0; n < strlen(text); n++) {
        unsigned char *plain;
        apr_size_t len;
        apr_status_t rv = ipsie_crypto_open(&plain, &len, c, AAD, text, n, pool);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "length %lu accepted",
                      (unsigned long)n);
        ck_assert_ptr_null(plain);
    }
}
END_TEST

START_TEST(empty_and_null_text_are_malformed)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(c, AAD, "", &plain, &len), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_crypto_open(&plain, &len, c, AAD, NULL, 0, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(non_base64url_text_is_malformed)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(c, AAD, "not base64!", &plain, &len), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(open_text(c, AAD, apr_pstrcat(pool, text, "==", NULL), &plain, &len),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(open_text(c, AAD, apr_pstrcat(pool, "\"", text, "\"", NULL), &plain, &len),
                     IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(unknown_version_byte_is_malformed)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    char *text = seal_text(c, AAD, SECRET);
    unsigned char *raw, *plain;
    apr_size_t raw_len, len;

    ck_assert_int_eq(ipsie_b64url_decode(&raw, &raw_len, text, strlen(text), pool), APR_SUCCESS);
    raw[0] = 0x02;
    ck_assert_int_eq(open_text(c, AAD, ipsie_b64url_encode(raw, raw_len, pool), &plain, &len),
                     IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(plaintext_up_to_64_kib_round_trips_and_larger_is_refused)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    apr_size_t max = 64 * 1024;
    unsigned char *big = apr_palloc(pool, max + 1);
    unsigned char *plain;
    apr_size_t len;
    char *text;

    memset(big, 'x', max + 1);
    ck_assert_int_eq(ipsie_crypto_seal(&text, c, AAD, big, max, pool), APR_SUCCESS);
    ck_assert_int_eq(open_text(c, AAD, text, &plain, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, max);
    ck_assert_int_eq(memcmp(plain, big, max), 0);
    ck_assert_int_eq(ipsie_crypto_seal(&text, c, AAD, big, max + 1, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(text);
}
END_TEST

START_TEST(text_longer_than_a_64_kib_seal_is_refused_before_decoding)
{
    ipsie_crypto_t *c = make_crypto(NEW_PASS, NULL);
    apr_size_t n = 100 * 1024;
    char *huge = apr_palloc(pool, n + 1);
    unsigned char *plain;
    apr_size_t len;

    memset(huge, 'A', n);
    huge[n] = '\0';
    ck_assert_int_eq(open_text(c, AAD, huge, &plain, &len), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(plain);
}
END_TEST

START_TEST(old_passphrase_second_still_opens_during_rotation)
{
    char *text = seal_text(make_crypto(OLD_PASS, NULL), AAD, SECRET);
    ipsie_crypto_t *rotated = make_crypto(NEW_PASS, OLD_PASS);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(rotated, AAD, text, &plain, &len), APR_SUCCESS);
    ck_assert_str_eq((char *)plain, SECRET);
}
END_TEST

START_TEST(rotated_context_seals_with_the_first_passphrase_only)
{
    char *text = seal_text(make_crypto(NEW_PASS, OLD_PASS), AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(make_crypto(OLD_PASS, NULL), AAD, text, &plain, &len),
                     IPSIE_ERR_CRYPTO);
    ck_assert_int_eq(open_text(make_crypto(NEW_PASS, NULL), AAD, text, &plain, &len), APR_SUCCESS);
}
END_TEST

START_TEST(same_passphrase_derives_the_same_key_across_contexts)
{
    char *text = seal_text(make_crypto(NEW_PASS, NULL), AAD, SECRET);
    unsigned char *plain;
    apr_size_t len;

    ck_assert_int_eq(open_text(make_crypto(NEW_PASS, NULL), AAD, text, &plain, &len), APR_SUCCESS);
}
END_TEST

START_TEST(create_refuses_no_or_empty_passphrases)
{
    apr_array_header_t *passes = apr_array_make(pool, 2, sizeof(const char *));
    ipsie_crypto_t *c;

    ck_assert_int_eq(ipsie_crypto_create(&c, passes, pool), APR_EINVAL);
    ck_assert_int_eq(ipsie_crypto_create(&c, NULL, pool), APR_EINVAL);
    APR_ARRAY_PUSH(passes, const char *) = NEW_PASS;
    APR_ARRAY_PUSH(passes, const char *) = "";
    ck_assert_int_eq(ipsie_crypto_create(&c, passes, pool), APR_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01101"));
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("ipsie_crypto");
    TCase *tc = tcase_create("seal and open");
    TCase *bad = tcase_create("hostile input");
    TCase *rot = tcase_create("keys and rotation");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, seal_then_open_returns_the_plaintext);
    tcase_add_test(tc, sealed_text_has_version_nonce_ciphertext_and_tag);
    tcase_add_test(tc, sealing_twice_uses_fresh_nonces);
    tcase_add_test(tc, empty_plaintext_round_trips);
    tcase_add_test(tc, sealed_len_is_the_length_of_the_sealed_text);
    tcase_add_test(tc, plaintext_up_to_64_kib_round_trips_and_larger_is_refused);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(bad, pool_setup, pool_teardown);
    tcase_set_timeout(bad, 30);
    tcase_add_test(bad, changing_any_character_of_the_text_is_refused);
    tcase_add_test(bad, flipping_any_bit_of_the_sealed_bytes_is_refused);
    tcase_add_test(bad, a_renamed_cookie_does_not_open);
    tcase_add_test(bad, every_truncation_is_refused);
    tcase_add_test(bad, empty_and_null_text_are_malformed);
    tcase_add_test(bad, non_base64url_text_is_malformed);
    tcase_add_test(bad, unknown_version_byte_is_malformed);
    tcase_add_test(bad, text_longer_than_a_64_kib_seal_is_refused_before_decoding);
    suite_add_tcase(s, bad);

    tcase_add_checked_fixture(rot, pool_setup, pool_teardown);
    tcase_add_test(rot, another_passphrase_cannot_open);
    tcase_add_test(rot, old_passphrase_second_still_opens_during_rotation);
    tcase_add_test(rot, rotated_context_seals_with_the_first_passphrase_only);
    tcase_add_test(rot, same_passphrase_derives_the_same_key_across_contexts);
    tcase_add_test(rot, create_refuses_no_or_empty_passphrases);
    suite_add_tcase(s, rot);
    return s;
}

int main(void)
{
    return run_suite(crypto_suite());
}
