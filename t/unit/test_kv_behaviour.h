/* What every shared store must do, run by the Redis and the memcached suites against the real
 * server each starts. The including suite defines KV_KIND, KV_TAG (its log tags' prefix),
 * KV_EXPIRY_MS and KV_EXPIRY_GONE_MS (an expiry that test and when the entry must be gone by)
 * and kv_create(). Include after test_kv_servers.h. */
#ifndef IPSIE_TEST_KV_BEHAVIOUR_H
#define IPSIE_TEST_KV_BEHAVIOUR_H

#include <pthread.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_metrics.h"
#include "test_kv_servers.h"

#define TIMEOUT_MS 300
#define TIMEOUT ((apr_interval_time_t)TIMEOUT_MS * 1000)
/* How far past the timeout an operation on a frozen server may end. */
#define MARGIN_MS 150
#define LATER (apr_time_now() + apr_time_from_sec(60))

static kv_server_t server;

static void server_setup(void)
{
    pool_setup();
    memset(&server, 0, sizeof(server));
    server.kind = KV_KIND;
    kv_server_start(&server);
}

static void server_teardown(void)
{
    kv_server_stop(&server);
    pool_teardown();
}

static ipsie_kv_t *store_at(const char *address, apr_pool_t *p)
{
    ipsie_kv_t *kv = NULL;

    ck_assert_int_eq(kv_create(&kv, address, TIMEOUT, p), APR_SUCCESS);
    ck_assert_ptr_nonnull(kv);
    return kv;
}

static ipsie_kv_t *store(void)
{
    return store_at(kv_server_address(&server, pool), pool);
}

static void set_str(ipsie_kv_t *kv, const char *key, const char *value)
{
    ck_assert_int_eq(
        ipsie_kv_set(kv, key, (const unsigned char *)value, strlen(value), LATER, pool),
        APR_SUCCESS);
}

static void assert_value(ipsie_kv_t *kv, const char *key, const char *expected)
{
    unsigned char *value = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(ipsie_kv_get(kv, key, &value, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(expected));
    ck_assert_str_eq((const char *)value, expected);
}

static void assert_miss(ipsie_kv_t *kv, const char *key)
{
    unsigned char *value = (unsigned char *)"x";
    apr_size_t len = 1;

    ck_assert_int_eq(ipsie_kv_get(kv, key, &value, &len, pool), APR_NOTFOUND);
    ck_assert_ptr_null(value);
    ck_assert_uint_eq(len, 0);
}

static int has_member(const apr_array_header_t *members, const char *member)
{
    int i;

    for (i = 0; i < members->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(members, i, const char *), member) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(a_value_set_is_read_back_and_an_absent_key_is_a_miss)
{
    ipsie_kv_t *kv = store();

    set_str(kv, "session:a", "first");
    assert_value(kv, "session:a", "first");
    set_str(kv, "session:a", "second");
    assert_value(kv, "session:a", "second");
    assert_miss(kv, "session:never-set");
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(values_are_bytes_nuls_empty_and_64_kib_included)
{
    ipsie_kv_t *kv = store();
    static const unsigned char nuls[] = {0, 'a', 0, '\r', '\n', 0xff, 0};
    apr_size_t big_len = 64 * 1024, len = 0;
    unsigned char *big = apr_palloc(pool, big_len), *value = NULL;
    apr_size_t i;

    for (i = 0; i < big_len; i++) {
        big[i] = (unsigned char)(i * 7 + 3);
    }
    ck_assert_int_eq(ipsie_kv_set(kv, "nuls", nuls, sizeof(nuls), LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set(kv, "big", big, big_len, LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set(kv, "empty", NULL, 0, LATER, pool), APR_SUCCESS);

    ck_assert_int_eq(ipsie_kv_get(kv, "nuls", &value, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(nuls));
    ck_assert_mem_eq(value, nuls, sizeof(nuls));
    ck_assert_int_eq(value[len], 0);
    ck_assert_int_eq(ipsie_kv_get(kv, "big", &value, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, big_len);
    ck_assert_mem_eq(value, big, big_len);
    /* An empty value is a hit, not a miss. */
    ck_assert_int_eq(ipsie_kv_get(kv, "empty", &value, &len, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(value);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(an_entry_is_kept_until_its_expiry_and_gone_after_it)
{
    ipsie_kv_t *kv = store();
    long long start = kv_now_ms();
    apr_time_t expiry = apr_time_now() + (apr_interval_time_t)KV_EXPIRY_MS * 1000;

    ck_assert_int_eq(ipsie_kv_set(kv, "short", (const unsigned char *)"v", 1, expiry, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_add(kv, "short-add", (const unsigned char *)"v", 1, expiry, pool),
                     APR_SUCCESS);
    kv_sleep_ms(KV_EXPIRY_MS - 100 - (long)(kv_now_ms() - start));
    assert_value(kv, "short", "v");
    assert_value(kv, "short-add", "v");
    kv_sleep_ms(KV_EXPIRY_GONE_MS - (long)(kv_now_ms() - start));
    assert_miss(kv, "short");
    assert_miss(kv, "short-add");
}
END_TEST

START_TEST(add_stores_only_when_the_key_is_absent)
{
    ipsie_kv_t *kv = store();

    ck_assert_int_eq(ipsie_kv_add(kv, "once", (const unsigned char *)"1", 1, LATER, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_add(kv, "once", (const unsigned char *)"2", 1, LATER, pool),
                     APR_EEXIST);
    assert_value(kv, "once", "1");
    ck_assert_int_eq(ipsie_kv_remove(kv, "once", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_add(kv, "once", (const unsigned char *)"3", 1, LATER, pool),
                     APR_SUCCESS);
    assert_value(kv, "once", "3");
}
END_TEST

#define RACERS 8

START_TEST(processes_racing_to_add_one_key_exactly_one_wins)
{
    ipsie_kv_t *kv = store();
    pid_t pids[RACERS];
    int gate[2], i, won = 0, lost = 0, status;
    char winner[2] = {0, 0};

    /* The parent talks first, so its connection is in the pool the children inherit. */
    set_str(kv, "warm", "up");
    ck_assert_int_eq(pipe(gate), 0);
    for (i = 0; i < RACERS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            char c, mine = (char)('a' + i);
            apr_status_t rv;

            close(gate[1]);
            if (read(gate[0], &c, 1) != 0) {
                _exit(3);
            }
            rv = ipsie_kv_add(kv, "race", (const unsigned char *)&mine, 1, LATER, pool);
            _exit(rv == APR_SUCCESS ? 0 : rv == APR_EEXIST ? 1 : 2);
        }
    }
    close(gate[0]);
    close(gate[1]); /* every racer starts now */
    for (i = 0; i < RACERS; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_le(WEXITSTATUS(status), 1);
        if (WEXITSTATUS(status) == 0) {
            won++;
            winner[0] = (char)('a' + i);
        }
        else {
            lost++;
        }
    }
    ck_assert_int_eq(won, 1);
    ck_assert_int_eq(lost, RACERS - 1);
    assert_value(kv, "race", winner);
}
END_TEST

START_TEST(remove_takes_the_entry_and_an_absent_key_is_fine)
{
    ipsie_kv_t *kv = store();

    set_str(kv, "gone", "soon");
    ck_assert_int_eq(ipsie_kv_remove(kv, "gone", pool), APR_SUCCESS);
    assert_miss(kv, "gone");
    ck_assert_int_eq(ipsie_kv_remove(kv, "gone", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_remove(kv, "never-there", pool), APR_SUCCESS);
}
END_TEST

START_TEST(get_many_answers_hits_and_misses_in_order)
{
    ipsie_kv_t *kv = store();
    const char *keys[6] = {"m:1", "m:absent", "m:2", "m:1", "m:also-absent", "m:3"};
    unsigned char *values[6];
    apr_size_t lens[6];

    set_str(kv, "m:1", "one");
    set_str(kv, "m:2", "two");
    set_str(kv, "m:3", "three");
    ck_assert_int_eq(ipsie_kv_get_many(kv, keys, 6, values, lens, pool), APR_SUCCESS);
    ck_assert_str_eq((const char *)values[0], "one");
    ck_assert_uint_eq(lens[0], 3);
    ck_assert_ptr_null(values[1]);
    ck_assert_uint_eq(lens[1], 0);
    ck_assert_str_eq((const char *)values[2], "two");
    ck_assert_str_eq((const char *)values[3], "one");
    ck_assert_ptr_null(values[4]);
    ck_assert_str_eq((const char *)values[5], "three");
    ck_assert_uint_eq(lens[5], 5);
    /* None asked: nothing to do. */
    ck_assert_int_eq(ipsie_kv_get_many(kv, keys, 0, values, lens, pool), APR_SUCCESS);
}
END_TEST

START_TEST(a_set_keeps_each_member_once_and_an_absent_set_is_empty)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;

    ck_assert_int_eq(ipsie_kv_set_members(kv, "sids:none", &members, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(members);
    ck_assert_int_eq(members->nelts, 0);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "sids:u", "s1", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "sids:u", "s2", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "sids:u", "s1", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "sids:u", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 2);
    ck_assert(has_member(members, "s1"));
    ck_assert(has_member(members, "s2"));
    ck_assert_int_eq(ipsie_kv_remove(kv, "sids:u", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "sids:u", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 0);
}
END_TEST

/* Each member lives until its own expiry, a later one extending it and an earlier one never
 * shortening it; the set lives as long as its last member. */
START_TEST(a_member_lives_until_its_expiry_and_an_earlier_one_never_shortens_it)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;
    long long start = kv_now_ms();
    apr_time_t now = apr_time_now();
    apr_time_t soon = now + (apr_interval_time_t)KV_EXPIRY_MS * 1000;
    apr_time_t later = now + (apr_interval_time_t)KV_EXPIRY_GONE_MS * 2000;

    /* Made with the short expiry, then a member with the long one. */
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:extended", "a", soon, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:extended", "b", later, pool), APR_SUCCESS);
    /* Made with the long expiry, then a member with the short one. */
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:kept", "a", later, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:kept", "b", soon, pool), APR_SUCCESS);
    /* One member, added again with an earlier expiry, and another given a later one. */
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:again", "a", later, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:again", "a", soon, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:again", "b", soon, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:again", "b", later, pool), APR_SUCCESS);
    /* Short only. */
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:short", "a", soon, pool), APR_SUCCESS);
    kv_sleep_ms(KV_EXPIRY_GONE_MS - (long)(kv_now_ms() - start));
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:extended", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 1);
    ck_assert(has_member(members, "b"));
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:kept", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 1);
    ck_assert(has_member(members, "a"));
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:again", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 2);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:short", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 0);
    /* A member added after the others expired makes the set again. */
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:short", "c", later, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:short", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 1);
    ck_assert(has_member(members, "c"));
}
END_TEST

/* A member taken out is no longer listed; taking out what is not there is fine; a set left
 * empty is gone, and a member added later makes it again. */
START_TEST(a_member_taken_out_is_gone_and_an_empty_set_goes)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;

    ck_assert_int_eq(ipsie_kv_set_remove(kv, "set:none", "a", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:out", "a", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:out", "b", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_remove(kv, "set:out", "a", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_remove(kv, "set:out", "zzz", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:out", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 1);
    ck_assert(has_member(members, "b"));
    ck_assert_int_eq(ipsie_kv_set_remove(kv, "set:out", "b", pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:out", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 0);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:out", "c", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:out", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, 1);
    ck_assert(has_member(members, "c"));
}
END_TEST

/* A set holds at most IPSIE_KV_SET_MAX live members: one more is refused and not added. */
START_TEST(a_set_holds_at_most_its_maximum_of_members)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;
    int i;

    for (i = 0; i < IPSIE_KV_SET_MAX; i++) {
        ck_assert_int_eq(
            ipsie_kv_set_add(kv, "set:full", apr_psprintf(pool, "member-%d", i), LATER, pool),
            APR_SUCCESS);
    }
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:full", "one-more", LATER, pool),
                     IPSIE_ERR_TOO_LARGE);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set:full", "member-7", LATER, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:full", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, IPSIE_KV_SET_MAX);
    ck_assert(!has_member(members, "one-more"));
}
END_TEST

#define ADDERS 6
#define ADDS 25

START_TEST(processes_adding_to_one_set_at_once_lose_no_member)
{
    ipsie_kv_t *kv = store();
    apr_array_header_t *members = NULL;
    pid_t pids[ADDERS];
    int gate[2], i, j, status;

    set_str(kv, "warm", "up");
    ck_assert_int_eq(pipe(gate), 0);
    for (i = 0; i < ADDERS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            char c;

            close(gate[1]);
            if (read(gate[0], &c, 1) != 0) {
                _exit(3);
            }
            for (j = 0; j < ADDS; j++) {
                const char *member = apr_psprintf(pool, "p%d-m%d", i, j);

                if (ipsie_kv_set_add(kv, "set:crowded", member, LATER, pool) != APR_SUCCESS) {
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (i = 0; i < ADDERS; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(ipsie_kv_set_members(kv, "set:crowded", &members, pool), APR_SUCCESS);
    ck_assert_int_eq(members->nelts, ADDERS * ADDS);
    for (i = 0; i < ADDERS; i++) {
        for (j = 0; j < ADDS; j++) {
            ck_assert(has_member(members, apr_psprintf(pool, "p%d-m%d", i, j)));
        }
    }
}
END_TEST

#define THREADS 8
#define ROUNDS 100

typedef struct {
    ipsie_kv_t *kv;
    int id;
    apr_pool_t *p;
    int wrong;
} worker_t;

static void *worker(void *data)
{
    worker_t *w = data;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        const char *key = apr_psprintf(w->p, "thread:%d", w->id);
        const char *want = apr_psprintf(w->p, "value %d of thread %d", i, w->id);
        unsigned char *got = NULL;
        apr_size_t len = 0;

        if (ipsie_kv_set(w->kv, key, (const unsigned char *)want, strlen(want), LATER, w->p)
                != APR_SUCCESS
            || ipsie_kv_get(w->kv, key, &got, &len, w->p) != APR_SUCCESS
            || strcmp((const char *)got, want) != 0) {
            w->wrong++;
        }
        apr_pool_clear(w->p);
    }
    return NULL;
}

START_TEST(threads_sharing_one_store_each_get_their_own_answers)
{
    ipsie_kv_t *kv = store();
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    int i;

    for (i = 0; i < THREADS; i++) {
        workers[i].kv = kv;
        workers[i].id = i;
        workers[i].wrong = 0;
        apr_pool_create(&workers[i].p, NULL);
    }
    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker, &workers[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].wrong, 0);
        apr_pool_destroy(workers[i].p);
    }
}
END_TEST

START_TEST(a_child_process_never_talks_on_its_parents_connection)
{
    ipsie_kv_t *kv = store();
    worker_t parent = {kv, 0, NULL, 0};
    pid_t pid;
    int status;

    set_str(kv, "warm", "up");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        worker_t child = {kv, 1, NULL, 0};

        apr_pool_create(&child.p, NULL);
        worker(&child);
        _exit(child.wrong == 0 ? 0 : 1);
    }
    apr_pool_create(&parent.p, NULL);
    worker(&parent);
    ck_assert_int_eq(parent.wrong, 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(keys_and_members_outside_the_rules_are_refused_before_anything_is_sent)
{
    /* Nothing listens there: a call that reached the network would log a failure. */
    ipsie_kv_t *kv = store_at(apr_psprintf(pool, "127.0.0.1:%d", kv_free_port()), pool);
    char *long_key = apr_palloc(pool, IPSIE_KV_KEY_MAX + 2);
    const char *some[2] = {"fine", "not fine"};
    unsigned char *value, *values[2];
    apr_size_t len, lens[2];
    apr_array_header_t *members;

    memset(long_key, 'k', IPSIE_KV_KEY_MAX + 1);
    long_key[IPSIE_KV_KEY_MAX + 1] = '\0';
    ck_assert_int_eq(ipsie_kv_get(kv, "with space", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get(kv, "", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get(kv, long_key, &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set(kv, "new\nline", (const unsigned char *)"v", 1, LATER, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_add(kv, "tab\t", (const unsigned char *)"v", 1, LATER, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_remove(kv, "\x7f", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_get_many(kv, some, 2, values, lens, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set", "two words", LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "set", "", LATER, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_members(kv, "caf\xc3\xa9", &members, pool), IPSIE_ERR_MALFORMED);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

/* Each operation on kv, every one of them expected to end in IPSIE_ERR_KV within bound_ms. */
static void assert_every_operation_fails(ipsie_kv_t *kv, long long bound_ms)
{
    const char *keys[3] = {"a", "b", "c"};
    unsigned char *value = (unsigned char *)"x", *values[3];
    apr_size_t len = 1, lens[3];
    apr_array_header_t *members = NULL;
    long long t;

#define TIMED(call)                                                                                \
    do {                                                                                           \
        t = kv_now_ms();                                                                           \
        ck_assert_int_eq((call), IPSIE_ERR_KV);                                                    \
        t = kv_now_ms() - t;                                                                       \
        ck_assert_msg(t <= bound_ms, "%s took %lld ms", #call, t);                                 \
        fprintf(stderr, "  %s: %lld ms\n", #call, t);                                              \
    } while (0)

    TIMED(ipsie_kv_get(kv, "a", &value, &len, pool));
    ck_assert_ptr_null(value);
    TIMED(ipsie_kv_get_many(kv, keys, 3, values, lens, pool));
    ck_assert_ptr_null(values[0]);
    TIMED(ipsie_kv_set(kv, "a", (const unsigned char *)"top-secret-value", 16, LATER, pool));
    TIMED(ipsie_kv_add(kv, "new", (const unsigned char *)"top-secret-value", 16, LATER, pool));
    TIMED(ipsie_kv_remove(kv, "a", pool));
    TIMED(ipsie_kv_set_add(kv, "set", "top-secret-member", LATER, pool));
    TIMED(ipsie_kv_set_members(kv, "set", &members, pool));
    ck_assert_ptr_null(members);
#undef TIMED
    ck_assert_ptr_null(strstr(captured_log, "top-secret"));
}

/* Every operation that reaches the store is counted once, by its kind; a miss and a key
 * already there are answers, an unreachable server a failure. */
START_TEST(operations_and_failures_are_counted_by_kind)
{
    ipsie_kv_t *kv = store();
    ipsie_metrics_snapshot_t snap;
    unsigned char *value;
    apr_size_t len;

    ipsie_metrics_attach(apr_pcalloc(pool, ipsie_metrics_size()));
    ck_assert_int_eq(ipsie_kv_get(kv, "absent", &value, &len, pool), APR_NOTFOUND);
    set_str(kv, "a", "1");
    ck_assert_int_eq(ipsie_kv_add(kv, "a", (const unsigned char *)"2", 1, LATER, pool), APR_EEXIST);
    ck_assert_int_eq(ipsie_kv_get(kv, "bad key", &value, &len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_kv_set_add(kv, "s", "m", LATER, pool), APR_SUCCESS);
    kv_server_stop(&server);
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    ck_assert_int_eq(ipsie_kv_remove(kv, "a", pool), IPSIE_ERR_KV);
    ipsie_metrics_read(&snap);
    ipsie_metrics_attach(NULL);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_GET], 2);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_SET], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_ADD], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_SET_ADD], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_REMOVE], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_FAILED_GET], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_FAILED_REMOVE], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_FAILED_SET], 0);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_FAILED_ADD], 0);
}
END_TEST

START_TEST(a_stopped_server_is_an_error_at_once)
{
    ipsie_kv_t *kv = store();

    set_str(kv, "a", "1");
    kv_server_stop(&server);
    fprintf(stderr, "%s, server stopped:\n", KV_NAME);
    assert_every_operation_fails(kv, 100);
    ck_assert_ptr_nonnull(strstr(captured_log, KV_TAG));
    ck_assert_ptr_nonnull(strstr(captured_log, kv_server_address(&server, pool)));
}
END_TEST

START_TEST(a_frozen_server_is_an_error_within_the_timeout_never_a_miss)
{
    ipsie_kv_t *kv = store();
    unsigned char *value = NULL;
    apr_size_t len = 0;
    long long t;

    set_str(kv, "a", "1");
    kv_server_freeze(&server);
    fprintf(stderr, "%s, server frozen (timeout %d ms):\n", KV_NAME, TIMEOUT_MS);
    t = kv_now_ms();
    ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &len, pool), IPSIE_ERR_KV);
    t = kv_now_ms() - t;
    /* It waited for the server, as long as it was told to. */
    ck_assert_int_ge(t, TIMEOUT_MS - 10);
    assert_every_operation_fails(kv, TIMEOUT_MS + MARGIN_MS);
    ck_assert_ptr_nonnull(strstr(captured_log, KV_TAG));
    kv_server_thaw(&server);
    /* The same store serves again. */
    set_str(kv, "b", "2");
    assert_value(kv, "b", "2");
}
END_TEST

START_TEST(a_restarted_server_serves_again_without_a_new_store)
{
    ipsie_kv_t *kv = store();

    set_str(kv, "a", "1");
    assert_value(kv, "a", "1");
    kv_server_stop(&server);
    kv_server_start(&server); /* the same port */
    /* The idle connection to the old server is not mistaken for an outage, nor its loss for
     * a miss of anything but what the new server never had. */
    assert_miss(kv, "a");
    set_str(kv, "a", "2");
    assert_value(kv, "a", "2");
    ck_assert_str_eq(captured_log, "");
}
END_TEST

static void assert_garbage_is_an_error(const char *answer, size_t len, int random)
{
    kv_fake_t fake;
    ipsie_kv_t *kv;
    const char *keys[2] = {"a", "b"};
    unsigned char *value, *values[2];
    apr_size_t vlen, lens[2];
    apr_array_header_t *members;
    int i;

    kv_fake_start(&fake, answer, len, random);
    kv = store_at(apr_psprintf(pool, "127.0.0.1:%d", fake.port), pool);
    for (i = 0; i < (random ? 10 : 1); i++) {
        value = NULL;
        ck_assert_int_eq(ipsie_kv_get(kv, "a", &value, &vlen, pool), IPSIE_ERR_KV);
        ck_assert_ptr_null(value);
        ck_assert_int_eq(ipsie_kv_get_many(kv, keys, 2, values, lens, pool), IPSIE_ERR_KV);
        ck_assert_ptr_null(values[0]);
        ck_assert_ptr_null(values[1]);
        ck_assert_int_eq(ipsie_kv_set_members(kv, "set", &members, pool), IPSIE_ERR_KV);
        ck_assert_int_eq(ipsie_kv_set_add(kv, "set", "m", LATER, pool), IPSIE_ERR_KV);
        ck_assert_int_eq(ipsie_kv_remove(kv, "a", pool), IPSIE_ERR_KV);
    }
    kv_fake_stop(&fake);
}

START_TEST(a_server_answering_ok_to_everything_is_an_error_never_a_miss)
{
    assert_garbage_is_an_error("+OK\r\n", 5, 0);
}
END_TEST

START_TEST(a_server_answering_random_bytes_is_an_error_never_a_miss)
{
    assert_garbage_is_an_error(NULL, 64, 1);
    assert_garbage_is_an_error(NULL, 4096, 1);
}
END_TEST

START_TEST(a_bad_address_or_timeout_is_refused)
{
    static const char *const bad[] = {"",          "127.0.0.1",       "127.0.0.1:",
                                      ":6379",     "127.0.0.1:0",     "127.0.0.1:65536",
                                      "host:port", " 127.0.0.1:6379", "127.0.0.1:6379 ",
                                      "a b:1",     "[::1:6379",       "[::1]6379"};
    ipsie_kv_t *kv = (ipsie_kv_t *)1;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(kv_create(&kv, bad[i], TIMEOUT, pool) == IPSIE_ERR_MALFORMED, "%s", bad[i]);
        ck_assert_ptr_null(kv);
    }
    ck_assert_int_eq(kv_create(&kv, NULL, TIMEOUT, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "127.0.0.1:6379", 0, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "127.0.0.1:6379", -1, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(kv_create(&kv, "localhost:6379", TIMEOUT, pool), APR_SUCCESS);
}
END_TEST

START_TEST(a_server_on_ipv6_loopback_is_reached)
{
    kv_server_t six;
    ipsie_kv_t *kv;

    memset(&six, 0, sizeof(six));
    six.kind = KV_KIND;
    six.ipv6 = 1;
    kv_server_start(&six);
    kv = store_at(kv_server_address(&six, pool), pool);
    set_str(kv, "six", "6");
    assert_value(kv, "six", "6");
    kv_server_stop(&six);
}
END_TEST

/* The tests above, in a case of their own. */
static TCase *kv_behaviour_tcase(void)
{
    TCase *tc = tcase_create("behaviour");

    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_value_set_is_read_back_and_an_absent_key_is_a_miss);
    tcase_add_test(tc, values_are_bytes_nuls_empty_and_64_kib_included);
    tcase_add_test(tc, an_entry_is_kept_until_its_expiry_and_gone_after_it);
    tcase_add_test(tc, add_stores_only_when_the_key_is_absent);
    tcase_add_test(tc, processes_racing_to_add_one_key_exactly_one_wins);
    tcase_add_test(tc, remove_takes_the_entry_and_an_absent_key_is_fine);
    tcase_add_test(tc, get_many_answers_hits_and_misses_in_order);
    tcase_add_test(tc, a_set_keeps_each_member_once_and_an_absent_set_is_empty);
    tcase_add_test(tc, a_member_lives_until_its_expiry_and_an_earlier_one_never_shortens_it);
    tcase_add_test(tc, a_set_holds_at_most_its_maximum_of_members);
    tcase_add_test(tc, a_member_taken_out_is_gone_and_an_empty_set_goes);
    tcase_add_test(tc, processes_adding_to_one_set_at_once_lose_no_member);
    tcase_add_test(tc, threads_sharing_one_store_each_get_their_own_answers);
    tcase_add_test(tc, a_child_process_never_talks_on_its_parents_connection);
    tcase_add_test(tc, keys_and_members_outside_the_rules_are_refused_before_anything_is_sent);
    tcase_add_test(tc, a_stopped_server_is_an_error_at_once);
    tcase_add_test(tc, operations_and_failures_are_counted_by_kind);
    tcase_add_test(tc, a_frozen_server_is_an_error_within_the_timeout_never_a_miss);
    tcase_add_test(tc, a_restarted_server_serves_again_without_a_new_store);
    tcase_add_test(tc, a_server_answering_ok_to_everything_is_an_error_never_a_miss);
    tcase_add_test(tc, a_server_answering_random_bytes_is_an_error_never_a_miss);
    tcase_add_test(tc, a_bad_address_or_timeout_is_refused);
    tcase_add_test(tc, a_server_on_ipv6_loopback_is_reached);
    return tc;
}

#endif
