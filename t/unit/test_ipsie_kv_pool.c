/* Unit tests of src/ipsie_kv_pool.c: idle connections kept per process, bounded, handed to one
 * thread at a time, never across a fork, and closed with their pool. */
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/ipsie_kv_internal.h"
#include "test_support.h"

/* A connection is a number; what was closed, and how, is counted. */
#define CONNS 64

static atomic_int closed[CONNS];
static atomic_int closed_inherited[CONNS];
static int numbers[CONNS];

static void count_close(void *conn, int inherited)
{
    int n = *(int *)conn;

    if (inherited) {
        closed_inherited[n]++;
    }
    else {
        closed[n]++;
    }
}

static void conns_setup(void)
{
    int i;

    pool_setup();
    for (i = 0; i < CONNS; i++) {
        numbers[i] = i;
        closed[i] = 0;
        closed_inherited[i] = 0;
    }
}

static ipsie_kv_pool_t *new_pool(int idle_max, apr_pool_t *p)
{
    ipsie_kv_pool_t *kp = NULL;

    ck_assert_int_eq(ipsie_kv_pool_create(&kp, idle_max, count_close, p), APR_SUCCESS);
    return kp;
}

START_TEST(an_empty_pool_hands_out_nothing)
{
    ipsie_kv_pool_t *kp = new_pool(4, pool);

    ck_assert_ptr_null(ipsie_kv_pool_take(kp));
    ck_assert_int_eq(ipsie_kv_pool_idle(kp), 0);
}
END_TEST

START_TEST(the_connection_given_back_last_is_taken_first)
{
    ipsie_kv_pool_t *kp = new_pool(4, pool);

    ipsie_kv_pool_give(kp, &numbers[1]);
    ipsie_kv_pool_give(kp, &numbers[2]);
    ck_assert_int_eq(ipsie_kv_pool_idle(kp), 2);
    ck_assert_ptr_eq(ipsie_kv_pool_take(kp), &numbers[2]);
    ck_assert_ptr_eq(ipsie_kv_pool_take(kp), &numbers[1]);
    ck_assert_ptr_null(ipsie_kv_pool_take(kp));
    ck_assert_int_eq(closed[1] + closed[2], 0);
}
END_TEST

START_TEST(connections_past_the_idle_bound_are_closed)
{
    ipsie_kv_pool_t *kp = new_pool(2, pool);

    ipsie_kv_pool_give(kp, &numbers[1]);
    ipsie_kv_pool_give(kp, &numbers[2]);
    ipsie_kv_pool_give(kp, &numbers[3]);
    ck_assert_int_eq(ipsie_kv_pool_idle(kp), 2);
    ck_assert_int_eq(closed[3], 1);
    ck_assert_int_eq(closed[1] + closed[2], 0);
}
END_TEST

START_TEST(idle_connections_are_closed_with_their_pool)
{
    apr_pool_t *p;
    ipsie_kv_pool_t *kp;

    apr_pool_create(&p, pool);
    kp = new_pool(4, p);
    ipsie_kv_pool_give(kp, &numbers[1]);
    ipsie_kv_pool_give(kp, &numbers[2]);
    apr_pool_destroy(p);
    ck_assert_int_eq(closed[1], 1);
    ck_assert_int_eq(closed[2], 1);
    ck_assert_int_eq(closed_inherited[1] + closed_inherited[2], 0);
}
END_TEST

START_TEST(a_child_process_never_gets_its_parents_connections)
{
    ipsie_kv_pool_t *kp = new_pool(4, pool);
    pid_t pid;
    int status;

    ipsie_kv_pool_give(kp, &numbers[1]);
    ipsie_kv_pool_give(kp, &numbers[2]);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int ok = ipsie_kv_pool_take(kp) == NULL
                 /* closed as the parent's: nothing may be sent on them */
                 && closed_inherited[1] == 1 && closed_inherited[2] == 1 && closed[1] == 0
                 && closed[2] == 0;

        /* The child's own are kept for the child. */
        ipsie_kv_pool_give(kp, &numbers[3]);
        ok = ok && ipsie_kv_pool_take(kp) == &numbers[3];
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The parent's stay the parent's. */
    ck_assert_int_eq(ipsie_kv_pool_idle(kp), 2);
    ck_assert_ptr_eq(ipsie_kv_pool_take(kp), &numbers[2]);
    ck_assert_int_eq(closed_inherited[1] + closed_inherited[2], 0);
}
END_TEST

START_TEST(a_child_that_never_used_the_pool_leaves_the_parents_connections_alone)
{
    apr_pool_t *p;
    ipsie_kv_pool_t *kp;
    pid_t pid;
    int status;

    apr_pool_create(&p, pool);
    kp = new_pool(4, p);
    ipsie_kv_pool_give(kp, &numbers[1]);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* As an httpd child does when it clears the configuration pool it inherited. */
        apr_pool_destroy(p);
        _exit(closed[1] == 0 && closed_inherited[1] == 1 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    apr_pool_destroy(p);
    ck_assert_int_eq(closed[1], 1);
}
END_TEST

#define THREADS 8
#define ROUNDS 20000

typedef struct {
    ipsie_kv_pool_t *kp;
    atomic_int *holders; /* per connection: threads holding it now */
    int wrong;
} worker_t;

static void *worker(void *data)
{
    worker_t *w = data;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        int *conn = ipsie_kv_pool_take(w->kp);

        if (conn == NULL) {
            continue;
        }
        if (atomic_fetch_add(&w->holders[*conn], 1) != 0) {
            w->wrong++;
        }
        atomic_fetch_sub(&w->holders[*conn], 1);
        ipsie_kv_pool_give(w->kp, conn);
    }
    return NULL;
}

START_TEST(threads_never_hold_one_connection_at_once)
{
    ipsie_kv_pool_t *kp = new_pool(CONNS, pool);
    static atomic_int holders[CONNS];
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    int i;

    for (i = 0; i < 4; i++) {
        holders[i] = 0;
        ipsie_kv_pool_give(kp, &numbers[i]);
    }
    for (i = 0; i < THREADS; i++) {
        workers[i].kp = kp;
        workers[i].holders = holders;
        workers[i].wrong = 0;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker, &workers[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].wrong, 0);
    }
    ck_assert_int_eq(ipsie_kv_pool_idle(kp), 4);
}
END_TEST

static Suite *kv_pool_suite(void)
{
    Suite *s = suite_create("ipsie_kv_pool");
    TCase *tc = tcase_create("pool");

    tcase_add_checked_fixture(tc, conns_setup, pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, an_empty_pool_hands_out_nothing);
    tcase_add_test(tc, the_connection_given_back_last_is_taken_first);
    tcase_add_test(tc, connections_past_the_idle_bound_are_closed);
    tcase_add_test(tc, idle_connections_are_closed_with_their_pool);
    tcase_add_test(tc, a_child_process_never_gets_its_parents_connections);
    tcase_add_test(tc, a_child_that_never_used_the_pool_leaves_the_parents_connections_alone);
    tcase_add_test(tc, threads_never_hold_one_connection_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(kv_pool_suite());
}
