/* Unit tests of src/ipsie_gate.c: leases shared by threads and by processes, bounded, and
 * freed on their own when a holder never hands them back. */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipsie/ipsie_gate.h"
#include "test_support.h"

#define NOW ((apr_time_t)1700000000 * APR_USEC_PER_SEC)
#define HOLD (3 * APR_USEC_PER_SEC)

static ipsie_gate_t *new_gate(int leases)
{
    void *memory = apr_pcalloc(pool, ipsie_gate_size(leases));

    return ipsie_gate_attach(memory, leases, pool);
}

START_TEST(a_gate_gives_out_as_many_leases_as_it_has)
{
    ipsie_gate_t *gate = new_gate(3);
    ipsie_gate_lease_t held[3];
    ipsie_gate_lease_t more;
    int i;

    ck_assert_int_eq(ipsie_gate_leases(gate), 3);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(ipsie_gate_enter(&held[i], gate, NOW, HOLD), 1);
    }
    ck_assert_int_ne(held[0].slot, held[1].slot);
    ck_assert_int_ne(held[1].slot, held[2].slot);
    ck_assert_int_ne(held[0].slot, held[2].slot);
    ck_assert_int_eq(ipsie_gate_enter(&more, gate, NOW, HOLD), 0);
    ck_assert_int_eq(more.slot, -1);
    /* One handed back: one more may enter, and no second one. */
    ipsie_gate_leave(gate, &held[1]);
    ck_assert_int_eq(ipsie_gate_enter(&more, gate, NOW, HOLD), 1);
    ck_assert_int_eq(more.slot, held[1].slot);
    ck_assert_int_eq(ipsie_gate_enter(&more, gate, NOW, HOLD), 0);
}
END_TEST

START_TEST(a_lease_never_handed_back_expires_on_its_own)
{
    ipsie_gate_t *gate = new_gate(1);
    ipsie_gate_lease_t lost, next, late;

    ck_assert_int_eq(ipsie_gate_enter(&lost, gate, NOW, HOLD), 1);
    ck_assert_int_eq(ipsie_gate_enter(&next, gate, NOW + HOLD - 1, HOLD), 0);
    ck_assert_int_eq(ipsie_gate_enter(&next, gate, NOW + HOLD, HOLD), 1);
    /* The first holder coming back late does not free the lease the second one holds. */
    ipsie_gate_leave(gate, &lost);
    ck_assert_int_eq(ipsie_gate_enter(&late, gate, NOW + HOLD + 1, HOLD), 0);
    ipsie_gate_leave(gate, &next);
    ck_assert_int_eq(ipsie_gate_enter(&late, gate, NOW + HOLD + 1, HOLD), 1);
}
END_TEST

START_TEST(a_gate_of_zero_leases_has_one)
{
    ipsie_gate_t *gate = new_gate(0);
    ipsie_gate_lease_t a, b;

    ck_assert_int_eq(ipsie_gate_leases(gate), 1);
    ck_assert_int_eq(ipsie_gate_enter(&a, gate, NOW, HOLD), 1);
    ck_assert_int_eq(ipsie_gate_enter(&b, gate, NOW, HOLD), 0);
}
END_TEST

START_TEST(handing_back_what_was_never_taken_changes_nothing)
{
    ipsie_gate_t *gate = new_gate(1);
    ipsie_gate_lease_t none = {-1, 0}, wild = {7, 1}, held, more;

    ck_assert_int_eq(ipsie_gate_enter(&held, gate, NOW, HOLD), 1);
    ipsie_gate_leave(gate, &none);
    ipsie_gate_leave(gate, &wild);
    ck_assert_int_eq(ipsie_gate_enter(&more, gate, NOW, HOLD), 0);
}
END_TEST

typedef struct {
    ipsie_gate_t *gate;
    atomic_int *inside;
    atomic_int *most;
    int entered;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    int i;

    for (i = 0; i < 20000; i++) {
        ipsie_gate_lease_t lease;
        if (ipsie_gate_enter(&lease, r->gate, NOW, HOLD)) {
            int now_inside = atomic_fetch_add(r->inside, 1) + 1;
            int most = atomic_load(r->most);
            while (now_inside > most && !atomic_compare_exchange_weak(r->most, &most, now_inside)) {
            }
            r->entered++;
            atomic_fetch_sub(r->inside, 1);
            ipsie_gate_leave(r->gate, &lease);
        }
    }
    return NULL;
}

START_TEST(threads_never_hold_more_leases_than_there_are)
{
    ipsie_gate_t *gate = new_gate(3);
    atomic_int inside = 0, most = 0;
    pthread_t threads[8];
    racer_t racers[8];
    int i, entered = 0;

    for (i = 0; i < 8; i++) {
        racers[i] = (racer_t){gate, &inside, &most, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        entered += racers[i].entered;
    }
    ck_assert_int_le(atomic_load(&most), 3);
    ck_assert_int_gt(entered, 0);
}
END_TEST

START_TEST(processes_sharing_the_memory_share_the_leases)
{
    apr_size_t size = ipsie_gate_size(2);
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *taken =
        mmap(NULL, sizeof(int) * 4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int i, total = 0;

    ck_assert_ptr_ne(memory, MAP_FAILED);
    ck_assert_ptr_ne(taken, MAP_FAILED);
    memset(memory, 0, size);
    for (i = 0; i < 4; i++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            ipsie_gate_t *gate = ipsie_gate_attach(memory, 2, pool);
            ipsie_gate_lease_t lease;
            /* Each child takes one lease and keeps it until it exits. */
            taken[i] = ipsie_gate_enter(&lease, gate, NOW, HOLD);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    for (i = 0; i < 4; i++) {
        total += taken[i];
    }
    ck_assert_int_eq(total, 2);
    munmap(memory, size);
    munmap(taken, sizeof(int) * 4);
}
END_TEST

static Suite *gate_suite(void)
{
    Suite *s = suite_create("ipsie_gate");
    TCase *tc = tcase_create("gate");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, a_gate_gives_out_as_many_leases_as_it_has);
    tcase_add_test(tc, a_lease_never_handed_back_expires_on_its_own);
    tcase_add_test(tc, a_gate_of_zero_leases_has_one);
    tcase_add_test(tc, handing_back_what_was_never_taken_changes_nothing);
    tcase_add_test(tc, threads_never_hold_more_leases_than_there_are);
    tcase_add_test(tc, processes_sharing_the_memory_share_the_leases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(gate_suite());
}
