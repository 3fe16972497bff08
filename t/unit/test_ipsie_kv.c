/* Unit tests of src/ipsie_kv.c: which keys a store takes, the checks made before a call reaches
 * a store, server lists, and milliseconds. */
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "../../src/ipsie_kv_internal.h"
#include "test_support.h"

#define LATER ((apr_time_t)1700000000 * APR_USEC_PER_SEC)

/* A store that records what reaches it. */
static struct {
    int calls;
    const char *last_key;
    int last_n;
    apr_size_t last_len;
} seen;

static apr_status_t fake_get(ipsie_kv_t *kv, const char *key, unsigned char **value,
                             apr_size_t *len, apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    return APR_NOTFOUND;
}

static apr_status_t fake_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                                  unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    seen.calls++;
    seen.last_n = n;
    return APR_SUCCESS;
}

static apr_status_t fake_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                             apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    seen.last_len = len;
    return value != NULL ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t fake_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    return APR_SUCCESS;
}

static apr_status_t fake_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                                 apr_time_t expiry, apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    return APR_SUCCESS;
}

static apr_status_t fake_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                     apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    *members = apr_array_make(p, 1, sizeof(const char *));
    return APR_SUCCESS;
}

static apr_status_t fake_set_remove(ipsie_kv_t *kv, const char *key, const char *member,
                                    apr_pool_t *p)
{
    seen.calls++;
    seen.last_key = key;
    return APR_SUCCESS;
}

static const ipsie_kv_ops_t fake_ops = {"fake",       fake_get,         fake_get_many,
                                        fake_set,     fake_set,         fake_remove,
                                        fake_set_add, fake_set_members, fake_set_remove};

static ipsie_kv_t fake_kv = {&fake_ops, NULL};

static void fake_setup(void)
{
    pool_setup();
    memset(&seen, 0, sizeof(seen));
}

START_TEST(a_key_is_printable_ascii_without_space_up_to_200_bytes)
{
    char key[IPSIE_KV_KEY_MAX + 2];

    ck_assert_int_eq(ipsie_kv_key_ok("session:0123abcdef"), 1);
    ck_assert_int_eq(ipsie_kv_key_ok("!~"), 1);
    ck_assert_int_eq(ipsie_kv_key_ok("x"), 1);
    memset(key, 'k', IPSIE_KV_KEY_MAX);
    key[IPSIE_KV_KEY_MAX] = '\0';
    ck_assert_int_eq(ipsie_kv_key_ok(key), 1);
    key[IPSIE_KV_KEY_MAX] = 'k';
    key[IPSIE_KV_KEY_MAX + 1] = '\0';
    ck_assert_int_eq(ipsie_kv_key_ok(key), 0);
    ck_assert_int_eq(ipsie_kv_key_ok(NULL), 0);
    ck_assert_int_eq(ipsie_kv_key_ok(""), 0);
    ck_assert_int_eq(ipsie_kv_key_ok("a b"), 0);
    ck_assert_int_eq(ipsie_kv_key_ok("a\tb"), 0);
    ck_assert_int_eq(ipsie_kv_key_ok("a\r\nb"), 0);
    ck_assert_int_eq(ipsie_kv_key_ok("\x7f"), 0);
    ck_assert_int_eq(ipsie_kv_key_ok("caf\xc3\xa9"), 0);
}
END_TEST

START_TEST(calls_with_good_keys_reach_the_store)
{
    const char *keys[2] = {"a", "b"};
    unsigned char *value = (unsigned char *)"x", *values[2] = {(unsigned char *)"x", NULL};
    apr_size_t len = 9, lens[2] = {9, 9};
    apr_array_header_t *members = NULL;

    ck_assert_int_eq(ipsie_kv_get(&fake_kv, "k", &value, &len, pool), APR_NOTFOUND);
    /* What the caller gets back starts empty, whatever the store does. */
    ck_assert_ptr_null(value);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(ipsie_kv_get_many(&fake_kv, keys, 2, values, lens, pool), APR_SUCCESS);
    ck_assert_int_eq(seen.last_n, 2);
    ck_assert_ptr_null(values[0]);
    ck_assert_uint_eq(lens[0], 0);
    ck_assert_int_eq(ipsie_kv_set(&fake_kv, "k", (const unsigned char *)"v", 1, LATER, pool),
                     APR_SUCCESS);
    /* No bytes: an empty value, never a NULL one, reaches the store. */
    ck_assert_int_eq(ipsie_kv_add(&fake_kv, "k", NULL, 0, LATER, pool), APR_SUCCESS);
    ck_assert_uint_eq(seen.last_len, 0);
    ck_assert_int_eq(ipsie_kv_remove(&fake_kv, "k", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(&fake_kv, "k", "m", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(&fake_kv, "k", &members, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(members);
    ck_assert_int_eq(seen.calls, 7);
}
END_TEST

START_TEST(calls_with_bad_arguments_never_reach_the_store)
{
    const char *keys[2] = {"a", "b c"};
    unsigned char *value = (unsigned char *)"x", *values[2];
    apr_size_t len = 9, lens[2];
    apr_array_header_t *members = (apr_array_header_t *)1;
    ipsie_kv_t no_ops = {NULL, NULL};

    ck_assert_int_eq(ipsie_kv_get(&fake_kv, "a b", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(value);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(ipsie_kv_get(&fake_kv, "k", NULL, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get(NULL, "k", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get(&no_ops, "k", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get_many(&fake_kv, keys, 2, values, lens, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get_many(&fake_kv, keys, -1, values, lens, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get_many(&fake_kv, NULL, 1, values, lens, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set(&fake_kv, "k", NULL, 1, LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set(&fake_kv, "", (const unsigned char *)"v", 1, LATER, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_add(&fake_kv, "k\n", (const unsigned char *)"v", 1, LATER, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_remove(&fake_kv, NULL, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(&fake_kv, "k", "m m", LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(&fake_kv, "k", NULL, LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(&fake_kv, "k k", "m", LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_members(&fake_kv, "k k", &members, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(members);
    ck_assert_int_eq(ipsie_kv_set_members(&fake_kv, "k", NULL, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_remove(&fake_kv, "k", "m m", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_remove(&fake_kv, "k k", "m", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(seen.calls, 0);
    /* None asked: nothing to ask the store. */
    ck_assert_int_eq(ipsie_kv_get_many(&fake_kv, keys, 0, values, lens, pool), APR_SUCCESS);
    ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(a_server_list_names_hosts_and_ports)
{
    ipsie_kv_server_t *servers;
    int n;

    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n, "10.0.0.1:6379", 1, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(servers[0].host, "10.0.0.1");
    ck_assert_int_eq(servers[0].port, 6379);
    ck_assert_str_eq(servers[0].spelled, "10.0.0.1:6379");
    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n,
                                            "cache-1.example.net:11211,[::1]:11212,"
                                            "under_score:1,[fe80::1:2]:65535",
                                            16, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(servers[0].host, "cache-1.example.net");
    ck_assert_int_eq(servers[0].port, 11211);
    ck_assert_str_eq(servers[1].host, "::1");
    ck_assert_int_eq(servers[1].port, 11212);
    ck_assert_str_eq(servers[1].spelled, "[::1]:11212");
    ck_assert_str_eq(servers[3].host, "fe80::1:2");
    ck_assert_int_eq(servers[3].port, 65535);
}
END_TEST

START_TEST(a_bad_server_list_is_refused)
{
    static const char *const bad[] = {
        "",        "host",    "host:",       ":1",          "host:0",  "host:65536", "host:99999",
        "host:+1", "host:-1", "host:1x",     "host:000001", "ho st:1", " host:1",    "host:1 ",
        "host:1,", ",host:1", "host:1,,h:2", "h\tost:1",    "h/ost:1", "[::1:1",     "[::1]1",
        "[]:1",    "[::g]:1", "::1:6379",    "a:1,a:1",     "A:1,a:1", "host:1;h:2", "h\xc3\xa9:1",
    };
    ipsie_kv_server_t *servers = (ipsie_kv_server_t *)1;
    char *too_long = apr_palloc(pool, 300);
    const char *seventeen = "h:1";
    int n = 7, i;
    size_t j;

    for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
        ck_assert_msg(ipsie_kv_parse_servers(&servers, &n, bad[j], 16, pool) == IPSIE_ERR_MALFORMED,
                      "%s", bad[j]);
        ck_assert_ptr_null(servers);
        ck_assert_int_eq(n, 0);
    }
    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n, NULL, 16, pool), IPSIE_ERR_MALFORMED);
    /* More servers than allowed. */
    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n, "a:1,b:2", 1, pool), IPSIE_ERR_MALFORMED);
    for (i = 2; i <= 17; i++) {
        seventeen = apr_psprintf(pool, "%s,h:%d", seventeen, i);
    }
    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n, seventeen, 16, pool),
                     IPSIE_ERR_MALFORMED);
    /* A host name longer than DNS allows. */
    memset(too_long, 'h', 254);
    strcpy(too_long + 254, ":1");
    ck_assert_int_eq(ipsie_kv_parse_servers(&servers, &n, too_long, 16, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(milliseconds_are_rounded_up_and_at_least_one)
{
    apr_time_t now = LATER;

    ck_assert_int_eq(ipsie_kv_ms(300000), 300);
    ck_assert_int_eq(ipsie_kv_ms(300001), 301);
    ck_assert_int_eq(ipsie_kv_ms(1), 1);
    ck_assert_int_eq(ipsie_kv_ms(0), 1);
    ck_assert_int_eq(ipsie_kv_ms((apr_interval_time_t)1 << 60), APR_INT32_MAX);
    ck_assert_int_eq(ipsie_kv_ms_left(now + 2500, now), 3);
    ck_assert_int_eq(ipsie_kv_ms_left(now + apr_time_from_sec(60), now), 60000);
    /* Already past: the least there is, so the entry still lands and is gone at once. */
    ck_assert_int_eq(ipsie_kv_ms_left(now, now), 1);
    ck_assert_int_eq(ipsie_kv_ms_left(now - apr_time_from_sec(60), now), 1);
    ck_assert_int_eq(ipsie_kv_ms_left(APR_INT64_MIN, now), 1);
    /* Beyond a century: a century. */
    ck_assert(ipsie_kv_ms_left(APR_INT64_MAX, now) < (long long)1 << 42);
    ck_assert(ipsie_kv_ms_left(APR_INT64_MAX, now) > (long long)3000000000000LL);
}
END_TEST

/* A set as one value: its expiry, then a member and its expiry per line. */
START_TEST(a_set_value_reads_back_what_was_added)
{
    const char *v;
    apr_int64_t keep, until;
    apr_array_header_t *members;
    const unsigned char *one = (const unsigned char *)"100\nipsie:s:a 100\n";

    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, NULL, 0, "ipsie:s:a", 100, 10, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v, "100\nipsie:s:a 100\n");
    ck_assert_int_eq(keep, 100);
    /* A member with an earlier expiry: the set still lives as long as its last member. */
    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, one, 18, "ipsie:s:b", 50, 10, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v, "100\nipsie:s:a 100\nipsie:s:b 50\n");
    ck_assert_int_eq(keep, 100);
    ck_assert(
        ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)v, strlen(v), 10, pool));
    ck_assert_int_eq(until, 100);
    ck_assert_int_eq(members->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(members, 1, const char *), "ipsie:s:b");
    /* At 60, b has expired: it is not listed, and the next add drops it. */
    ck_assert(
        ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)v, strlen(v), 60, pool));
    ck_assert_int_eq(members->nelts, 1);
    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, (const unsigned char *)v, strlen(v),
                                            "ipsie:s:c", 90, 60, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v, "100\nipsie:s:a 100\nipsie:s:c 90\n");
    /* Nothing to write for a member there until then already; a longer life is written, and
     * an earlier one never shortens it. */
    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, one, 18, "ipsie:s:a", 90, 10, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, one, 18, "ipsie:s:a", 200, 10, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v, "200\nipsie:s:a 200\n");
    ck_assert_int_eq(keep, 200);
    ck_assert_int_eq(
        ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)"7\n", 2, 0, pool), 1);
    ck_assert_int_eq(members->nelts, 0);
}
END_TEST

/* At most IPSIE_KV_SET_MAX live members: a new one more is refused, an expired one makes room. */
START_TEST(a_set_value_holds_at_most_its_maximum_of_members)
{
    apr_array_header_t *members;
    const char *v = NULL;
    const char *next;
    apr_int64_t keep, until;
    int i;

    for (i = 0; i < IPSIE_KV_SET_MAX; i++) {
        ck_assert_int_eq(ipsie_kv_set_value_add(&next, &keep, (const unsigned char *)v,
                                                v ? strlen(v) : 0, apr_psprintf(pool, "m%d", i),
                                                i == 0 ? 20 : 100, 10, pool),
                         APR_SUCCESS);
        v = next;
    }
    ck_assert_int_eq(ipsie_kv_set_value_add(&next, &keep, (const unsigned char *)v, strlen(v),
                                            "new", 100, 10, pool),
                     IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(next);
    ck_assert_int_eq(ipsie_kv_set_value_add(&next, &keep, (const unsigned char *)v, strlen(v), "m5",
                                            100, 10, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(next);
    /* At 30 the first member has expired: room for one. */
    ck_assert_int_eq(ipsie_kv_set_value_add(&next, &keep, (const unsigned char *)v, strlen(v),
                                            "new", 100, 30, pool),
                     APR_SUCCESS);
    ck_assert(ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)next, strlen(next),
                                       30, pool));
    ck_assert_int_eq(members->nelts, IPSIE_KV_SET_MAX);
}
END_TEST

START_TEST(a_set_value_without_a_member)
{
    const char *v;
    apr_int64_t keep;
    const unsigned char *two = (const unsigned char *)"100\na 100\nb 50\n";

    ck_assert_int_eq(ipsie_kv_set_value_remove(&v, &keep, two, 15, "a", 10, pool), APR_SUCCESS);
    ck_assert_str_eq(v, "50\nb 50\n");
    ck_assert_int_eq(keep, 50);
    /* Not there: nothing to write; at 60, b has expired: written without it. */
    ck_assert_int_eq(ipsie_kv_set_value_remove(&v, &keep, two, 15, "c", 10, pool), APR_SUCCESS);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ipsie_kv_set_value_remove(&v, &keep, two, 15, "c", 60, pool), APR_SUCCESS);
    ck_assert_str_eq(v, "100\na 100\n");
    /* The last member out: empty, the set is to go. */
    ck_assert_int_eq(ipsie_kv_set_value_remove(&v, &keep, two, 15, "a", 60, pool), APR_SUCCESS);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(
        ipsie_kv_set_value_remove(&v, &keep, (const unsigned char *)"x", 1, "a", 0, pool),
        IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(a_set_value_that_is_not_one_is_refused)
{
    static const char *const bad[] = {"",
                                      "\n",
                                      "x\na 1\n",
                                      "10",
                                      "10\na 1",
                                      "10\na b 1\n",
                                      "10\n\n",
                                      "10\na 1\n\n",
                                      "10 \na 1\n",
                                      "-1\na 1\n",
                                      "10\na\n",
                                      "10\na -1\n",
                                      "10\na 1x\n",
                                      "1234567890123\na 1\n",
                                      "10\na 1234567890123\n",
                                      "10\na 1\nb 1\na 2\n"};
    apr_array_header_t *members;
    apr_int64_t until, keep;
    const char *v;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)bad[i],
                                                strlen(bad[i]), 0, pool),
                      "%s", bad[i]);
        ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, (const unsigned char *)bad[i],
                                                strlen(bad[i]), "m", 5, 0, pool),
                         IPSIE_ERR_MALFORMED);
    }
    /* A NUL inside is not a set either, nor a member that is no key. */
    ck_assert(!ipsie_kv_set_value_parse(&until, &members, (const unsigned char *)"10\na 1\0b\n", 9,
                                        0, pool));
    ck_assert_int_eq(ipsie_kv_set_value_add(&v, &keep, NULL, 0, "a b", 5, 0, pool),
                     IPSIE_ERR_MALFORMED);
}
END_TEST

static Suite *kv_suite(void)
{
    Suite *s = suite_create("ipsie_kv");
    TCase *tc = tcase_create("kv");

    tcase_add_checked_fixture(tc, fake_setup, pool_teardown);
    tcase_add_test(tc, a_key_is_printable_ascii_without_space_up_to_200_bytes);
    tcase_add_test(tc, calls_with_good_keys_reach_the_store);
    tcase_add_test(tc, calls_with_bad_arguments_never_reach_the_store);
    tcase_add_test(tc, a_server_list_names_hosts_and_ports);
    tcase_add_test(tc, a_bad_server_list_is_refused);
    tcase_add_test(tc, milliseconds_are_rounded_up_and_at_least_one);
    tcase_add_test(tc, a_set_value_reads_back_what_was_added);
    tcase_add_test(tc, a_set_value_that_is_not_one_is_refused);
    tcase_add_test(tc, a_set_value_holds_at_most_its_maximum_of_members);
    tcase_add_test(tc, a_set_value_without_a_member);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(kv_suite());
}
