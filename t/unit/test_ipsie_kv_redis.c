/* Unit tests of src/ipsie_kv_redis.c against Debian's redis-server, started by each test on a
 * free loopback port: what every store does (test_kv_behaviour.h), and what only Redis can get
 * wrong (replies out of step, keys of another type). */
#include "ipsie/ipsie_kv.h"
#include "test_kv_servers.h"

#define KV_KIND KV_REDIS
#define KV_NAME "redis"
#define KV_TAG "IPSIE092"
#define KV_EXPIRY_MS 400
#define KV_EXPIRY_GONE_MS 700

static apr_status_t kv_create(ipsie_kv_t **out, const char *address, apr_interval_time_t timeout,
                              apr_pool_t *p)
{
    return ipsie_kv_redis_create(out, address, timeout, p);
}

#include "test_kv_behaviour.h"

static ipsie_kv_t *store_faking(kv_fake_t *fake, const char *answer, size_t len)
{
    kv_fake_start(fake, answer, len, 0);
    return store_at(apr_psprintf(pool, "127.0.0.1:%d", fake->port), pool);
}

START_TEST(a_reply_announcing_more_than_can_come_is_an_error)
{
    kv_fake_t fake;
    ipsie_kv_t *kv;
    unsigned char *value = NULL;
    apr_size_t len;
    size_t big = 20 * 1024 * 1024;
    char *flood = apr_palloc(pool, big);

    /* An array of 2^31 elements, a string of 2^31 bytes: neither ever arrives. */
    kv = store_faking(&fake, "*2147483647\r\n", 13);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    kv = store_faking(&fake, "$2147483647\r\n", 13);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    /* A string that does arrive, past what one reply may be: refused, not swallowed. */
    memset(flood, 'x', big);
    memcpy(flood, "$100000000\r\n", 12);
    kv = store_faking(&fake, flood, big);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09204"));
    ck_assert_ptr_nonnull(strstr(captured_log, "over 16777216 bytes"));
    kv_fake_stop(&fake);
    ck_assert_ptr_null(value);
}
END_TEST

START_TEST(a_server_answering_more_than_was_asked_is_an_error)
{
    kv_fake_t fake;
    ipsie_kv_t *kv;
    unsigned char *value = NULL;
    apr_size_t len;

    kv = store_faking(&fake, "$1\r\nx\r\n$1\r\ny\r\n", 14);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    ck_assert_ptr_null(value);
    ck_assert_int_eq(ipsie_kv_set(kv, "a", (const unsigned char *)"v", 1, LATER, pool),
                     IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09204"));
}
END_TEST

START_TEST(a_reply_of_the_wrong_shape_is_an_error)
{
    kv_fake_t fake;
    ipsie_kv_t *kv;
    const char *keys[2] = {"a", "b"};
    unsigned char *values[2];
    apr_size_t lens[2];
    apr_array_header_t *members;

    /* MGET of two keys answered with one value; a set with a member that is a number. */
    kv = store_faking(&fake, "*1\r\n$1\r\nx\r\n", 11);
    ck_assert_int_eq(ipsie_kv_get_many(kv, keys, 2, values, lens, pool), IPSIE_ERR_KV);
    ck_assert_ptr_null(values[0]);
    kv_fake_stop(&fake);
    kv = store_faking(&fake, "*2\r\n$1\r\nx\r\n:1\r\n", 15);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "s", &members, pool), IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    /* A member set_add could never have written. */
    kv = store_faking(&fake, "*1\r\n$3\r\na b\r\n", 13);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "s", &members, pool), IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09206"));
}
END_TEST

START_TEST(a_key_holding_another_type_is_an_error_not_a_miss)
{
    ipsie_kv_t *kv = store();
    unsigned char *value = NULL;
    apr_size_t len;
    apr_array_header_t *members = NULL;

    set_str(kv, "plain", "v");
    ck_assert_int_eq(ipsie_kv_set_members(kv, "plain", &members, pool), IPSIE_ERR_KV);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "plain", "m", LATER, pool), IPSIE_ERR_KV);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set", "m", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_get(kv, "set", &value, &len, pool), IPSIE_ERR_KV);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09205"));
    ck_assert_ptr_nonnull(strstr(captured_log, "WRONGTYPE"));
    /* The connections that saw those errors are gone; the store still serves. */
    assert_value(kv, "plain", "v");
}
END_TEST

START_TEST(a_server_older_than_redis_7_refuses_set_add_whole)
{
    /* What Redis 6 answers: PEXPIRE knows no NX or GT, so the transaction is discarded. */
    static const char answer[] = "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                                 "-ERR wrong number of arguments for 'pexpire' command\r\n"
                                 "-ERR wrong number of arguments for 'pexpire' command\r\n"
                                 "-EXECABORT Transaction discarded because of previous errors.\r\n";
    kv_fake_t fake;
    ipsie_kv_t *kv = store_faking(&fake, answer, sizeof(answer) - 1);

    ck_assert_int_eq(ipsie_kv_set_add(kv, "s", "m", LATER, pool), IPSIE_ERR_KV);
    kv_fake_stop(&fake);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE09205"));
    ck_assert_ptr_nonnull(strstr(captured_log, "Redis 7.0 or later"));
    ck_assert_ptr_nonnull(strstr(captured_log, "wrong number of arguments"));
}
END_TEST

static Suite *kv_redis_suite(void)
{
    Suite *s = suite_create("ipsie_kv_redis");
    TCase *tc = tcase_create("redis");

    suite_add_tcase(s, kv_behaviour_tcase());
    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_reply_announcing_more_than_can_come_is_an_error);
    tcase_add_test(tc, a_server_answering_more_than_was_asked_is_an_error);
    tcase_add_test(tc, a_reply_of_the_wrong_shape_is_an_error);
    tcase_add_test(tc, a_key_holding_another_type_is_an_error_not_a_miss);
    tcase_add_test(tc, a_server_older_than_redis_7_refuses_set_add_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(kv_redis_suite());
}
