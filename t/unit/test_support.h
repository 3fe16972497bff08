/* Shared fixture of the unit suites: an APR pool per test and a capturing log sink. */
#ifndef IPSIE_TEST_SUPPORT_H
#define IPSIE_TEST_SUPPORT_H

#include <check.h>
#include <pthread.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "ipsie/ipsie_log.h"

static apr_pool_t *pool;
static char captured_log[8192];

static pthread_mutex_t captured_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture_sink(void *baton, void *call_baton, ipsie_log_level_e level, const char *msg)
{
    size_t used;
    (void)baton;
    (void)call_baton;
    (void)level;
    /* Some suites log from several threads at once. */
    pthread_mutex_lock(&captured_log_lock);
    used = strlen(captured_log);
    if (used + strlen(msg) + 2 < sizeof(captured_log)) {
        strcat(captured_log, msg);
        strcat(captured_log, "\n");
    }
    pthread_mutex_unlock(&captured_log_lock);
}

/* Lines logged since the test began. */
static inline int log_lines(void)
{
    int n = 0;
    const char *c;

    for (c = captured_log; *c; c++) {
        n += *c == '\n';
    }
    return n;
}

static void pool_setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    captured_log[0] = '\0';
    ipsie_log_set_sink(capture_sink, NULL, NULL);
}

static void pool_teardown(void)
{
    apr_pool_destroy(pool);
    ipsie_log_set_sink(NULL, NULL, NULL);
    apr_terminate();
}

/* Run one suite and exit with its verdict, as automake's TESTS expects. */
static int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

#endif
