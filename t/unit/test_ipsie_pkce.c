/* Unit tests of src/ipsie_pkce.c. */
#include "test_support.h"
#include "ipsie/ipsie_pkce.h"

START_TEST(challenge_matches_rfc7636_appendix_b)
{
    ck_assert_str_eq(ipsie_pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", pool),
                     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
END_TEST

START_TEST(challenge_of_null_verifier_is_null)
{
    ck_assert_ptr_null(ipsie_pkce_challenge_s256(NULL, pool));
}
END_TEST

START_TEST(challenge_depends_on_every_character)
{
    const char *a = ipsie_pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", pool);
    const char *b = ipsie_pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", pool);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(b), 43);
}
END_TEST

START_TEST(verifier_is_43_unreserved_characters_and_fresh)
{
    char *a = ipsie_pkce_verifier(pool);
    char *b = ipsie_pkce_verifier(pool);

    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(strlen(a), 43);
    /* RFC 7636 section 4.1: [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-._~"),
                      43);
    ck_assert_str_ne(a, b);
}
END_TEST

static Suite *pkce_suite(void)
{
    Suite *s = suite_create("ipsie_pkce");
    TCase *tc = tcase_create("s256");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, challenge_matches_rfc7636_appendix_b);
    tcase_add_test(tc, challenge_of_null_verifier_is_null);
    tcase_add_test(tc, challenge_depends_on_every_character);
    tcase_add_test(tc, verifier_is_43_unreserved_characters_and_fresh);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(pkce_suite());
}
