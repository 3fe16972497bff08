/* Unit tests of src/ipsie_state.c. */
#include <stdlib.h>

#include "test_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_state.h"

#define NOW 1700000000LL
#define TIMEOUT 300
#define URL "https://app.example/orders?id=7"

static ipsie_crypto_t *make_crypto(const char *passphrase)
{
    apr_array_header_t *passes = apr_array_make(pool, 1, sizeof(const char *));
    ipsie_crypto_t *c = NULL;

    APR_ARRAY_PUSH(passes, const char *) = passphrase;
    ck_assert_int_eq(ipsie_crypto_create(&c, passes, pool), APR_SUCCESS);
    return c;
}

static ipsie_crypto_t *test_crypto(void)
{
    return make_crypto("a passphrase of reasonable length for tests");
}

static ipsie_login_state_t *new_state(long long created)
{
    ipsie_login_state_t *st = NULL;
    ck_assert_int_eq(ipsie_login_state_new(&st, URL, 0, created, pool), APR_SUCCESS);
    return st;
}

static char *seal(const ipsie_login_state_t *st, const ipsie_crypto_t *c)
{
    char *value = NULL;
    ck_assert_int_eq(ipsie_login_state_seal(&value, st, c, pool), APR_SUCCESS);
    return value;
}

/* Seal arbitrary JSON under the cookie name of state, as only a key holder could. */
static char *seal_json(const ipsie_crypto_t *c, const char *state, const char *json)
{
    char *value = NULL;
    ck_assert_int_eq(ipsie_crypto_seal(&value, c, ipsie_login_state_cookie_name(state, pool),
                                       (const unsigned char *)json, strlen(json), pool),
                     APR_SUCCESS);
    return value;
}

/* Add a state cookie made at created to cookies; returns its name. */
static const char *add_state_cookie(apr_table_t *cookies, const ipsie_crypto_t *c,
                                    long long created)
{
    ipsie_login_state_t *st = new_state(created);
    const char *name = ipsie_login_state_cookie_name(st->state, pool);
    apr_table_set(cookies, name, seal(st, c));
    return name;
}

static int contains(const apr_array_header_t *names, const char *name)
{
    int i;
    for (i = 0; i < names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(names, i, const char *), name) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(new_state_has_fresh_random_values_of_the_right_size)
{
    ipsie_login_state_t *a = new_state(NOW);
    ipsie_login_state_t *b = new_state(NOW);

    ck_assert_uint_eq(strlen(a->state), 43);
    ck_assert_uint_eq(strlen(a->nonce), 43);
    ck_assert_uint_le(strlen(a->nonce), 64);
    ck_assert_uint_eq(strlen(a->code_verifier), 43);
    ck_assert_str_ne(a->state, b->state);
    ck_assert_str_ne(a->nonce, b->nonce);
    ck_assert_str_ne(a->code_verifier, b->code_verifier);
    ck_assert_str_ne(a->state, a->nonce);
    ck_assert_str_eq(a->original_url, URL);
    ck_assert_int_eq(a->created, NOW);
}
END_TEST

START_TEST(new_state_requires_an_original_url)
{
    ipsie_login_state_t *st;
    ck_assert_int_eq(ipsie_login_state_new(&st, NULL, 0, NOW, pool), APR_EINVAL);
    ck_assert_int_eq(ipsie_login_state_new(&st, "", 0, NOW, pool), APR_EINVAL);
    ck_assert_ptr_null(st);
}
END_TEST

START_TEST(cookie_name_is_prefix_and_state)
{
    ck_assert_str_eq(ipsie_login_state_cookie_name("abc", pool), "ipsie_state_abc");
}
END_TEST

START_TEST(sealed_state_opens_with_every_field)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st, *back;

    ck_assert_int_eq(ipsie_login_state_new(&st, URL, 1, NOW, pool), APR_SUCCESS);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, seal(st, c), c, TIMEOUT, NOW + 5, pool),
        APR_SUCCESS);
    ck_assert_str_eq(back->state, st->state);
    ck_assert_str_eq(back->nonce, st->nonce);
    ck_assert_str_eq(back->code_verifier, st->code_verifier);
    ck_assert_str_eq(back->original_url, URL);
    ck_assert_int_eq(back->created, NOW);
    ck_assert_int_eq(back->prompt_login, 1);
}
END_TEST

START_TEST(sealed_value_does_not_reveal_nonce_or_verifier)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(NOW);
    char *value = seal(st, c);

    ck_assert_ptr_null(strstr(value, st->nonce));
    ck_assert_ptr_null(strstr(value, st->code_verifier));
    ck_assert_ptr_null(strstr(value, "orders"));
}
END_TEST

START_TEST(state_is_valid_until_one_second_before_timeout)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, c);

    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + TIMEOUT - 1, pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + TIMEOUT, pool),
        IPSIE_ERR_EXPIRED);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + 100 * TIMEOUT, pool),
        IPSIE_ERR_EXPIRED);
}
END_TEST

START_TEST(state_from_up_to_60_seconds_in_the_future_is_accepted_beyond_refused)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, c);

    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW - 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW - 61, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(state_does_not_open_under_another_state_name)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *a = new_state(NOW);
    ipsie_login_state_t *b = new_state(NOW);
    ipsie_login_state_t *back;

    ck_assert_int_eq(ipsie_login_state_open(&back, b->state, seal(a, c), c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(state_whose_content_names_another_state_is_refused)
{
    ipsie_crypto_t *c = test_crypto();
    const char *json = "{\"state\":\"other\",\"nonce\":\"n\",\"code_verifier\":\"v\","
                       "\"original_url\":\"/\",\"created\":1700000000,\"prompt_login\":false}";
    ipsie_login_state_t *back;

    ck_assert_int_eq(
        ipsie_login_state_open(&back, "mine", seal_json(c, "mine", json), c, TIMEOUT, NOW, pool),
        IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01402"));
    /* The same content is fine under its own name: the check above is about the name. */
    ck_assert_int_eq(
        ipsie_login_state_open(&back, "other", seal_json(c, "other", json), c, TIMEOUT, NOW, pool),
        APR_SUCCESS);
}
END_TEST

START_TEST(state_with_missing_or_insane_fields_is_refused)
{
    static const char *bad[] = {
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"created\":1700000000,"
        "\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":\"\","
        "\"created\":1700000000,\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":7,"
        "\"created\":1700000000,\"prompt_login\":false}",
        "{\"state\":\"s\",\"code_verifier\":\"v\",\"original_url\":\"/\","
        "\"created\":1700000000,\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"original_url\":\"/\","
        "\"created\":1700000000,\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":\"/\","
        "\"created\":\"1700000000\",\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":\"/\","
        "\"created\":-9223372036854775807,\"prompt_login\":false}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":\"/\","
        "\"created\":1700000000}",
        "{\"state\":\"s\",\"nonce\":\"n\",\"code_verifier\":\"v\",\"original_url\":\"/\","
        "\"created\":1700000000,\"prompt_login\":false,\"state\":\"s\"}",
        "{\"state\":\"s\",\"nonce\":"
        "\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\","
        "\"code_verifier\":\"v\",\"original_url\":\"/\",\"created\":1700000000,"
        "\"prompt_login\":false}",
        "[\"s\"]",
        "not json",
        "",
    };
    ipsie_crypto_t *c = test_crypto();
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ipsie_login_state_t *back;
        apr_status_t rv =
            ipsie_login_state_open(&back, "s", seal_json(c, "s", bad[i]), c, TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_MALFORMED, "accepted %s", bad[i]);
        ck_assert_ptr_null(back);
    }
}
END_TEST

START_TEST(state_with_a_64_character_nonce_opens)
{
    ipsie_crypto_t *c = test_crypto();
    const char *json = "{\"state\":\"s\",\"nonce\":"
                       "\"0123456789012345678901234567890123456789012345678901234567890123\","
                       "\"code_verifier\":\"v\",\"original_url\":\"/\",\"created\":1700000000,"
                       "\"prompt_login\":false}";
    ipsie_login_state_t *back;

    ck_assert_int_eq(
        ipsie_login_state_open(&back, "s", seal_json(c, "s", json), c, TIMEOUT, NOW, pool),
        APR_SUCCESS);
    ck_assert_uint_eq(strlen(back->nonce), 64);
}
END_TEST

START_TEST(tampered_state_cookie_is_refused)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(NOW);
    char *value = seal(st, c);
    apr_size_t i, n = strlen(value);

    for (i = 0; i < n; i++) {
        ipsie_login_state_t *back;
        char *copy = apr_pstrdup(pool, value);
        apr_status_t rv;

        copy[i] = (copy[i] == 'A') ? 'B' : 'A';
        rv = ipsie_login_state_open(&back, st->state, copy, c, TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "position %lu",
                      (unsigned long)i);
    }
}
END_TEST

START_TEST(state_sealed_with_another_key_is_refused)
{
    ipsie_login_state_t *st = new_state(NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, make_crypto("some other passphrase entirely, also long"));

    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, test_crypto(), TIMEOUT, NOW, pool),
        IPSIE_ERR_CRYPTO);
}
END_TEST

START_TEST(open_refuses_null_or_empty_inputs)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *back;

    ck_assert_int_eq(ipsie_login_state_open(&back, NULL, "x", c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_login_state_open(&back, "", "x", c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_login_state_open(&back, "s", NULL, c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_login_state_open(&back, "s", "", c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(evict_with_seven_live_clears_only_the_oldest)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    const char *oldest = NULL;
    apr_array_header_t *evict;
    int i;

    apr_table_set(cookies, "ipsie_session", "unrelated");
    /* Insert out of age order so the result cannot come from table order. */
    for (i = 0; i < 7; i++) {
        long long created = NOW - 10 * ((i + 3) % 7);
        const char *name = add_state_cookie(cookies, c, created);
        if (created == NOW - 60) {
            oldest = name;
        }
    }
    evict = ipsie_login_state_evict(cookies, c, 7, TIMEOUT, NOW, pool);
    ck_assert_int_eq(evict->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(evict, 0, const char *), oldest);
}
END_TEST

START_TEST(evict_among_states_of_the_same_second_clears_the_first_sent)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    const char *first = NULL;
    apr_array_header_t *evict;
    int i;

    /* Browsers send older cookies first; within one second that order is all there is. */
    for (i = 0; i < 7; i++) {
        const char *name = add_state_cookie(cookies, c, NOW);
        if (i == 0) {
            first = name;
        }
    }
    evict = ipsie_login_state_evict(cookies, c, 7, TIMEOUT, NOW, pool);
    ck_assert_int_eq(evict->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(evict, 0, const char *), first);
}
END_TEST

START_TEST(evict_below_the_cap_clears_nothing)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    int i;

    for (i = 0; i < 6; i++) {
        add_state_cookie(cookies, c, NOW - i);
    }
    ck_assert_int_eq(ipsie_login_state_evict(cookies, c, 7, TIMEOUT, NOW, pool)->nelts, 0);
    ck_assert_int_eq(
        ipsie_login_state_evict(apr_table_make(pool, 1), c, 7, TIMEOUT, NOW, pool)->nelts, 0);
}
END_TEST

START_TEST(evict_clears_expired_before_live_ones)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    const char *expired[3], *live[5];
    apr_array_header_t *evict;
    int i;

    for (i = 0; i < 3; i++) {
        expired[i] = add_state_cookie(cookies, c, NOW - TIMEOUT - i);
    }
    for (i = 0; i < 5; i++) {
        live[i] = add_state_cookie(cookies, c, NOW - 100 + i);
    }
    evict = ipsie_login_state_evict(cookies, c, 7, TIMEOUT, NOW, pool);
    ck_assert_int_eq(evict->nelts, 3);
    for (i = 0; i < 3; i++) {
        ck_assert(contains(evict, expired[i]));
    }
    /* With a lower cap the expired ones go and then the oldest live ones, in age order. */
    evict = ipsie_login_state_evict(cookies, c, 4, TIMEOUT, NOW, pool);
    ck_assert_int_eq(evict->nelts, 5);
    for (i = 0; i < 3; i++) {
        ck_assert(contains(evict, expired[i]));
    }
    ck_assert(contains(evict, live[0]));
    ck_assert(contains(evict, live[1]));
    ck_assert(!contains(evict, live[2]));
}
END_TEST

START_TEST(evict_clears_unreadable_state_cookies_and_ignores_others)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    apr_array_header_t *evict;
    const char *live = add_state_cookie(cookies, c, NOW);

    apr_table_set(cookies, "ipsie_state_garbage", "!!not a sealed value!!");
    apr_table_set(cookies, "ipsie_state_", "");
    apr_table_set(cookies, "ipsie_session", "whatever");
    apr_table_set(cookies, "xipsie_state_abc", "whatever");
    evict = ipsie_login_state_evict(cookies, c, 7, TIMEOUT, NOW, pool);
    ck_assert_int_eq(evict->nelts, 2);
    ck_assert(contains(evict, "ipsie_state_garbage"));
    ck_assert(contains(evict, "ipsie_state_"));
    ck_assert(!contains(evict, live));
}
END_TEST

START_TEST(evict_with_a_cap_of_one_clears_every_live_state)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);

    add_state_cookie(cookies, c, NOW - 2);
    add_state_cookie(cookies, c, NOW - 1);
    ck_assert_int_eq(ipsie_login_state_evict(cookies, c, 1, TIMEOUT, NOW, pool)->nelts, 2);
    ck_assert_int_eq(ipsie_login_state_evict(cookies, c, 0, TIMEOUT, NOW, pool)->nelts, 2);
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("ipsie_state");
    TCase *tc = tcase_create("seal and open");
    TCase *ev = tcase_create("evict");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, new_state_has_fresh_random_values_of_the_right_size);
    tcase_add_test(tc, new_state_requires_an_original_url);
    tcase_add_test(tc, cookie_name_is_prefix_and_state);
    tcase_add_test(tc, sealed_state_opens_with_every_field);
    tcase_add_test(tc, sealed_value_does_not_reveal_nonce_or_verifier);
    tcase_add_test(tc, state_is_valid_until_one_second_before_timeout);
    tcase_add_test(tc, state_from_up_to_60_seconds_in_the_future_is_accepted_beyond_refused);
    tcase_add_test(tc, state_does_not_open_under_another_state_name);
    tcase_add_test(tc, state_whose_content_names_another_state_is_refused);
    tcase_add_test(tc, state_with_missing_or_insane_fields_is_refused);
    tcase_add_test(tc, state_with_a_64_character_nonce_opens);
    tcase_add_test(tc, tampered_state_cookie_is_refused);
    tcase_add_test(tc, state_sealed_with_another_key_is_refused);
    tcase_add_test(tc, open_refuses_null_or_empty_inputs);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(ev, pool_setup, pool_teardown);
    tcase_add_test(ev, evict_with_seven_live_clears_only_the_oldest);
    tcase_add_test(ev, evict_among_states_of_the_same_second_clears_the_first_sent);
    tcase_add_test(ev, evict_below_the_cap_clears_nothing);
    tcase_add_test(ev, evict_clears_expired_before_live_ones);
    tcase_add_test(ev, evict_clears_unreadable_state_cookies_and_ignores_others);
    tcase_add_test(ev, evict_with_a_cap_of_one_clears_every_live_state);
    suite_add_tcase(s, ev);
    return s;
}

int main(void)
{
    return run_suite(state_suite());
}
