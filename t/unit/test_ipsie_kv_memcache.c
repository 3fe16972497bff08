/* Unit tests of src/ipsie_kv_memcache.c against Debian's memcached, started by each test on a
 * free loopback port: what every store does (test_kv_behaviour.h), and what only memcached can
 * get wrong (its two kinds of expiry, keys spread over several servers of which one fails,
 * sets kept as one value). */
#include "ipsie/ipsie_kv.h"
#include "test_kv_servers.h"

#define KV_KIND KV_MEMCACHED
#define KV_NAME "memcached"
#define KV_TAG "IPSIE093"
/* memcached counts whole seconds: an entry lives at least its expiry, at most 2 s more. */
#define KV_EXPIRY_MS 1000
#define KV_EXPIRY_GONE_MS 3200

static apr_status_t kv_create(ipsie_kv_t **out, const char *address, apr_interval_time_t timeout,
                              apr_pool_t *p)
{
    return ipsie_kv_memcache_create(out, address, timeout, p);
}

#include "test_kv_behaviour.h"

#define SPREAD 40

static kv_server_t second;

static void two_servers_setup(void)
{
    server_setup();
    memset(&second, 0, sizeof(second));
    second.kind = KV_MEMCACHED;
    kv_server_start(&second);
}

static void two_servers_teardown(void)
{
    kv_server_stop(&second);
    server_teardown();
}

static ipsie_kv_t *both(void)
{
    return store_at(apr_psprintf(pool, "%s,%s", kv_server_address(&server, pool),
                                 kv_server_address(&second, pool)),
                    pool);
}

static const char *spread_key(int i)
{
    return apr_psprintf(pool, "spread:%d", i);
}

/* How many of the spread keys kv holds. */
static int spread_hits(ipsie_kv_t *kv)
{
    const char *keys[SPREAD];
    unsigned char *values[SPREAD];
    apr_size_t lens[SPREAD];
    int i, hits = 0;

    for (i = 0; i < SPREAD; i++) {
        keys[i] = spread_key(i);
    }
    ck_assert_int_eq(ipsie_kv_get_many(kv, keys, SPREAD, values, lens, pool), APR_SUCCESS);
    for (i = 0; i < SPREAD; i++) {
        if (values[i] != NULL) {
            ck_assert_str_eq((const char *)values[i], keys[i]);
            hits++;
        }
    }
    return hits;
}

START_TEST(keys_spread_over_the_servers_and_get_many_reads_them_all)
{
    ipsie_kv_t *kv = both();
    ipsie_kv_t *first_only = store();
    ipsie_kv_t *second_only = store_at(kv_server_address(&second, pool), pool);
    int i, on_first, on_second;

    for (i = 0; i < SPREAD; i++) {
        set_str(kv, spread_key(i), spread_key(i));
    }
    ck_assert_int_eq(spread_hits(kv), SPREAD);
    on_first = spread_hits(first_only);
    on_second = spread_hits(second_only);
    ck_assert_int_gt(on_first, 0);
    ck_assert_int_gt(on_second, 0);
    ck_assert_int_eq(on_first + on_second, SPREAD);
}
END_TEST

/* With one of two servers down or frozen: reading keys of both is an error, never the keys of
 * the other one with misses for the rest; keys of the other one alone are still read. */
static void assert_one_server_failing(ipsie_kv_t *kv, ipsie_kv_t *first_only, long long bound_ms)
{
    const char *keys[SPREAD];
    unsigned char *values[SPREAD], *value;
    apr_size_t lens[SPREAD], len;
    int i, first_key = -1, second_key = -1;
    long long t;

    for (i = 0; i < SPREAD; i++) {
        keys[i] = spread_key(i);
        if (ipsie_kv_get(first_only, keys[i], &value, &len, pool) == APR_SUCCESS) {
            first_key = first_key < 0 ? i : first_key;
        }
        else {
            second_key = second_key < 0 ? i : second_key;
        }
    }
    ck_assert_int_ge(first_key, 0);
    ck_assert_int_ge(second_key, 0);
    t = kv_now_ms();
    ck_assert_int_eq(ipsie_kv_get_many(kv, keys, SPREAD, values, lens, pool), IPSIE_ERR_KV);
    t = kv_now_ms() - t;
    fprintf(stderr, "  get_many over both: %lld ms\n", t);
    ck_assert_int_le(t, bound_ms);
    for (i = 0; i < SPREAD; i++) {
        ck_assert_ptr_null(values[i]);
    }
    value = NULL;
    t = kv_now_ms();
    ck_assert_int_eq(ipsie_kv_get(kv, keys[second_key], &value, &len, pool), IPSIE_ERR_KV);
    t = kv_now_ms() - t;
    fprintf(stderr, "  get on the failing one: %lld ms\n", t);
    ck_assert_int_le(t, bound_ms);
    ck_assert_ptr_null(value);
    assert_value(kv, keys[first_key], keys[first_key]);
}

START_TEST(one_of_two_servers_stopped_is_an_error_never_a_partial_miss)
{
    ipsie_kv_t *kv = both();
    ipsie_kv_t *first_only = store();
    int i;

    for (i = 0; i < SPREAD; i++) {
        set_str(kv, spread_key(i), spread_key(i));
    }
    kv_server_stop(&second);
    fprintf(stderr, "memcached, one of two servers stopped:\n");
    assert_one_server_failing(kv, first_only, 100);
    ck_assert_ptr_nonnull(strstr(captured_log, kv_server_address(&second, pool)));
}
END_TEST

START_TEST(one_of_two_servers_frozen_is_an_error_never_a_partial_miss)
{
    ipsie_kv_t *kv = both();
    ipsie_kv_t *first_only = store();
    int i;

    for (i = 0; i < SPREAD; i++) {
        set_str(kv, spread_key(i), spread_key(i));
    }
    kv_server_freeze(&second);
    fprintf(stderr, "memcached, one of two servers frozen (timeout %d ms):\n", TIMEOUT_MS);
    assert_one_server_failing(kv, first_only, TIMEOUT_MS + MARGIN_MS);
    kv_server_thaw(&second);
    ck_assert_int_eq(spread_hits(kv), SPREAD);
}
END_TEST

START_TEST(an_expiry_past_30_days_is_kept_as_unix_time)
{
    ipsie_kv_t *kv = store();
    apr_time_t now = apr_time_now();

    /* Relative seconds up to 30 days, Unix time beyond: both kept. */
    ck_assert_int_eq(ipsie_kv_set(kv, "days:29", (const unsigned char *)"v", 1,
                                  now + apr_time_from_sec(29 * 86400), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set(kv, "days:30", (const unsigned char *)"v", 1,
                                  now + apr_time_from_sec(30 * 86400), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set(kv, "days:40", (const unsigned char *)"v", 1,
                                  now + apr_time_from_sec(40 * 86400), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(
        ipsie_kv_set_add(kv, "days:set", "m", now + apr_time_from_sec(400 * 86400), pool),
        APR_SUCCESS);
    assert_value(kv, "days:29", "v");
    assert_value(kv, "days:30", "v");
    assert_value(kv, "days:40", "v");
    ck_assert_int_eq(ipsie_kv_add(kv, "days:40", (const unsigned char *)"w", 1,
                                  now + apr_time_from_sec(40 * 86400), pool),
                     APR_EEXIST);
}
END_TEST

START_TEST(a_value_set_add_never_wrote_is_no_set)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;
    static const char *const not_sets[] = {"plain value", "",       "12\nmember 12", "x\nm 12\n",
                                           "12\nm m\n",   "12\n\n", "12\nm\n",       "12\nm 1x\n"};
    size_t i;

    for (i = 0; i < sizeof(not_sets) / sizeof(not_sets[0]); i++) {
        set_str(kv, "not-a-set", not_sets[i]);
        ck_assert_msg(ipsie_kv_set_members(kv, "not-a-set", &members, pool) == IPSIE_ERR_KV, "%s",
                      not_sets[i]);
        ck_assert_int_eq(ipsie_kv_set_add(kv, "not-a-set", "m", LATER, pool), IPSIE_ERR_KV);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09302"));
    /* What set_add writes reads back. */
    set_str(kv, "a-set", "4102444800\nm1 4102444800\nm2 4102444800\n");
    ck_assert_int_eq(ipsie_kv_set_members(kv, "a-set", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 2);
}
END_TEST

START_TEST(a_server_answering_for_a_key_not_asked_is_an_error)
{
    kv_fake_t fake;
    ipsie_kv_t *kv;
    unsigned char *value = NULL;
    apr_size_t len;
    static const char answer[] = "VALUE other 0 1\r\nx\r\nEND\r\n";

    kv_fake_start(&fake, answer, sizeof(answer) - 1, 0);
    kv = store_at(apr_psprintf(pool, "127.0.0.1:%d", fake.port), pool);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    ck_assert_ptr_null(value);
    kv_fake_stop(&fake);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09302"));
}
END_TEST

/* Replies libmemcached's fetch loop would end on as if nothing were found. */
START_TEST(a_reply_out_of_place_is_an_error_never_a_miss)
{
    static const char *const answers[] = {"STORED\r\n",        "ERROR\r\n",   "NOT_STORED\r\n",
                                          "EXISTS\r\n",        "DELETED\r\n", "SERVER_ERROR x\r\n",
                                          "CLIENT_ERROR x\r\n"};
    char *no_newline = apr_palloc(pool, 1001);
    const char *keys[2] = {"a", "b"};
    unsigned char *value, *values[2];
    apr_size_t len, lens[2];
    kv_fake_t fake;
    ipsie_kv_t *kv;
    size_t i;

    memset(no_newline, 'x', 1000);
    no_newline[1000] = '\0';
    for (i = 0; i <= sizeof(answers) / sizeof(answers[0]); i++) {
        const char *answer = i < sizeof(answers) / sizeof(answers[0]) ? answers[i] : no_newline;

        kv_fake_start(&fake, answer, strlen(answer), 0);
        kv = store_at(apr_psprintf(pool, "127.0.0.1:%d", fake.port), pool);
        value = NULL;
        ck_assert_msg(ipsie_kv_get(kv, "a", &value, &len, pool) == IPSIE_ERR_KV, "%.20s", answer);
        ck_assert_ptr_null(value);
        ck_assert_msg(ipsie_kv_get_many(kv, keys, 2, values, lens, pool) == IPSIE_ERR_KV, "%.20s",
                      answer);
        kv_fake_stop(&fake);
    }
}
END_TEST

/* libmemcached copies a VALUE line's key without a bound; one over 250 bytes is refused and
 * harms nothing, whether the rest of the line reads or not. */
START_TEST(a_key_longer_than_memcached_keys_is_an_error_and_harms_nothing)
{
    char long_key[320];
    const char *answers[2];
    unsigned char *value;
    apr_size_t len;
    kv_fake_t fake;
    ipsie_kv_t *kv;
    int i, round;

    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    answers[0] = apr_psprintf(pool, "VALUE %s 0 1\r\nx\r\nEND\r\n", long_key);
    answers[1] = apr_psprintf(pool, "VALUE %s zz\r\n", long_key);
    for (i = 0; i < 2; i++) {
        kv_fake_start(&fake, answers[i], strlen(answers[i]), 0);
        kv = store_at(apr_psprintf(pool, "127.0.0.1:%d", fake.port), pool);
        for (round = 0; round < 3; round++) {
            value = NULL;
            ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
            ck_assert_ptr_null(value);
        }
        kv_fake_stop(&fake);
    }
}
END_TEST

START_TEST(sixteen_servers_at_most)
{
    ipsie_kv_t *kv = NULL;
    const char *list = "127.0.0.1:1";
    int i;

    for (i = 2; i <= IPSIE_KV_SERVERS_MAX; i++) {
        list = apr_psprintf(pool, "%s,127.0.0.1:%d", list, i);
    }
    ck_assert_int_eq(kv_create(&kv, list, TIMEOUT, pool), APR_SUCCESS);
    list = apr_psprintf(pool, "%s,127.0.0.1:%d", list, i);
    ck_assert_int_eq(kv_create(&kv, list, TIMEOUT, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "127.0.0.1:1,127.0.0.1:1", TIMEOUT, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "127.0.0.1:1,", TIMEOUT, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "127.0.0.1:1, 127.0.0.1:2", TIMEOUT, pool),
                     IPSIE_ERR_MALFORMED);
}
END_TEST

static Suite *kv_memcache_suite(void)
{
    Suite *s = suite_create("ipsie_kv_memcache");
    TCase *tc = tcase_create("memcache");
    TCase *two = tcase_create("two servers");

    suite_add_tcase(s, kv_behaviour_tcase());
    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, an_expiry_past_30_days_is_kept_as_unix_time);
    tcase_add_test(tc, a_value_set_add_never_wrote_is_no_set);
    tcase_add_test(tc, a_server_answering_for_a_key_not_asked_is_an_error);
    tcase_add_test(tc, a_reply_out_of_place_is_an_error_never_a_miss);
    tcase_add_test(tc, a_key_longer_than_memcached_keys_is_an_error_and_harms_nothing);
    tcase_add_test(tc, sixteen_servers_at_most);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(two, two_servers_setup, two_servers_teardown);
    tcase_set_timeout(two, 60);
    tcase_add_test(two, keys_spread_over_the_servers_and_get_many_reads_them_all);
    tcase_add_test(two, one_of_two_servers_stopped_is_an_error_never_a_partial_miss);
    tcase_add_test(two, one_of_two_servers_frozen_is_an_error_never_a_partial_miss);
    suite_add_tcase(s, two);
    return s;
}

int main(void)
{
    return run_suite(kv_memcache_suite());
}
