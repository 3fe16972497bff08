/* Unit tests of src/ipsie_jwt.c: the claim rules the ID token and the logout token share. */
#include "test_support.h"
#include "ipsie/ipsie_jwt.h"

#define CLIENT "client-1"

/* aud given as JSON text, checked for CLIENT; *count is -1 when the check fails. */
static int aud(const char *text, int single_string, int others_allowed, long *count)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    size_t n = 99;
    int ok;

    ck_assert_ptr_nonnull(v);
    ok = ipsie_jwt_aud_ok(&n, v, CLIENT, single_string, others_allowed);
    *count = ok ? (long)n : -1;
    json_decref(v);
    return ok;
}

START_TEST(aud_string_must_be_the_client)
{
    long n;

    ck_assert_int_eq(aud("\"client-1\"", 0, 0, &n), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(aud("\"client-1\"", 1, 1, &n), 1);
    ck_assert_int_eq(aud("\"client-2\"", 0, 1, &n), 0);
    ck_assert_int_eq(aud("\"client-1 \"", 0, 1, &n), 0);
    ck_assert_int_eq(aud("\"\"", 0, 1, &n), 0);
}
END_TEST

START_TEST(aud_array_holding_only_the_client_is_accepted_in_either_mode)
{
    long n;

    ck_assert_int_eq(aud("[\"client-1\"]", 0, 0, &n), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(aud("[\"client-1\", \"client-1\"]", 0, 0, &n), 1);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(aud("[\"client-1\"]", 0, 1, &n), 1);
}
END_TEST

START_TEST(aud_array_with_other_audiences_needs_others_allowed)
{
    long n;

    ck_assert_int_eq(aud("[\"api\", \"client-1\"]", 0, 0, &n), 0);
    ck_assert_int_eq(aud("[\"api\", \"client-1\"]", 0, 1, &n), 1);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(aud("[\"api\", \"client-2\"]", 0, 1, &n), 0);
}
END_TEST

START_TEST(aud_array_is_refused_under_single_string)
{
    long n;

    ck_assert_int_eq(aud("[\"client-1\"]", 1, 0, &n), 0);
    ck_assert_int_eq(aud("[\"client-1\"]", 1, 1, &n), 0);
}
END_TEST

START_TEST(aud_empty_non_string_or_absent_is_refused)
{
    size_t n = 99;
    long m;

    ck_assert_int_eq(aud("[]", 0, 1, &m), 0);
    ck_assert_int_eq(aud("[\"client-1\", 1]", 0, 1, &m), 0);
    ck_assert_int_eq(aud("[[\"client-1\"]]", 0, 1, &m), 0);
    ck_assert_int_eq(aud("1", 0, 1, &m), 0);
    ck_assert_int_eq(aud("null", 0, 1, &m), 0);
    ck_assert_int_eq(aud("{\"client-1\": 1}", 0, 1, &m), 0);
    ck_assert_int_eq(ipsie_jwt_aud_ok(&n, NULL, CLIENT, 0, 1), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(name_is_a_non_empty_string_of_at_most_255_bytes_without_controls)
{
    char name[IPSIE_JWT_NAME_MAX_LEN + 2];

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(ipsie_jwt_name_ok(name), 0);
    name[IPSIE_JWT_NAME_MAX_LEN] = '\0';
    ck_assert_int_eq(ipsie_jwt_name_ok(name), 1);
    ck_assert_int_eq(ipsie_jwt_name_ok("248289761001"), 1);
    ck_assert_int_eq(ipsie_jwt_name_ok("al ice \xc3\xa9"), 1);
    ck_assert_int_eq(ipsie_jwt_name_ok(""), 0);
    ck_assert_int_eq(ipsie_jwt_name_ok(NULL), 0);
    ck_assert_int_eq(ipsie_jwt_name_ok("alice\r\nX: y"), 0);
    ck_assert_int_eq(ipsie_jwt_name_ok("alice\x7f"), 0);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("ipsie_jwt");
    TCase *tc = tcase_create("jwt");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, aud_string_must_be_the_client);
    tcase_add_test(tc, aud_array_holding_only_the_client_is_accepted_in_either_mode);
    tcase_add_test(tc, aud_array_with_other_audiences_needs_others_allowed);
    tcase_add_test(tc, aud_array_is_refused_under_single_string);
    tcase_add_test(tc, aud_empty_non_string_or_absent_is_refused);
    tcase_add_test(tc, name_is_a_non_empty_string_of_at_most_255_bytes_without_controls);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(jwt_suite());
}
