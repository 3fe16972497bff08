/* Unit tests of src/ipsie_log.c: the sink the core logs through, its level check, the call
 * baton each thread carries to it, and values made safe for a log line. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "test_support.h"

/* What the recording sink saw. */
static struct {
    int calls;
    void *baton;
    void *call_baton;
    ipsie_log_level_e level;
    char msg[4096];
    int checks; /* level checks asked */
    void *checked_baton;
    void *checked_call_baton;
    ipsie_log_level_e checked_level;
} seen;

static void record_sink(void *baton, void *call_baton, ipsie_log_level_e level, const char *msg)
{
    seen.calls++;
    seen.baton = baton;
    seen.call_baton = call_baton;
    seen.level = level;
    snprintf(seen.msg, sizeof(seen.msg), "%s", msg);
}

/* Wants errors and warnings only, like a server at LogLevel warn. */
static int warn_level(void *baton, void *call_baton, ipsie_log_level_e level)
{
    seen.checks++;
    seen.checked_baton = baton;
    seen.checked_call_baton = call_baton;
    seen.checked_level = level;
    return level <= IPSIE_LOG_WARNING;
}

static void record_setup(void)
{
    pool_setup();
    memset(&seen, 0, sizeof(seen));
}

/* ---- the sink ------------------------------------------------------------------------- */

START_TEST(log_line_reaches_the_installed_sink_with_its_level_and_baton)
{
    int baton;

    ipsie_log_set_sink(record_sink, NULL, &baton);
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99001: %s=%d", "n", 42);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_ptr_eq(seen.baton, &baton);
    ck_assert_ptr_null(seen.call_baton);
    ck_assert_int_eq(seen.level, IPSIE_LOG_WARNING);
    ck_assert_str_eq(seen.msg, "IPSIE99001: n=42");
}
END_TEST

START_TEST(log_every_level_is_passed_as_it_is)
{
    static const ipsie_log_level_e levels[] = {IPSIE_LOG_ERROR, IPSIE_LOG_WARNING, IPSIE_LOG_INFO,
                                               IPSIE_LOG_DEBUG};
    size_t i;

    ipsie_log_set_sink(record_sink, NULL, NULL);
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        ipsie_log(levels[i], "IPSIE99002: level %zu", i);
        ck_assert_int_eq(seen.level, levels[i]);
    }
    ck_assert_int_eq(seen.calls, 4);
}
END_TEST

START_TEST(log_line_goes_nowhere_once_the_sink_is_removed)
{
    ipsie_log_set_sink(record_sink, NULL, NULL);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99003: first");
    ipsie_log_set_sink(NULL, NULL, NULL);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99003: second");
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_str_eq(seen.msg, "IPSIE99003: first");
}
END_TEST

START_TEST(log_without_a_sink_discards_the_line)
{
    ipsie_log_set_sink(NULL, NULL, NULL);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99004: %s", "nobody hears this");
    ck_assert_int_eq(seen.calls, 0);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(log_a_new_sink_replaces_the_old_one)
{
    ipsie_log_set_sink(record_sink, NULL, NULL);
    ipsie_log_set_sink(capture_sink, NULL, NULL);
    ipsie_log(IPSIE_LOG_INFO, "IPSIE99005: to the second sink");
    ck_assert_int_eq(seen.calls, 0);
    ck_assert_str_eq(captured_log, "IPSIE99005: to the second sink\n");
}
END_TEST

START_TEST(log_a_long_line_is_cut_at_the_buffer_and_stays_terminated)
{
    char *value = apr_palloc(pool, 3000);

    memset(value, 'v', 2999);
    value[2999] = '\0';
    ipsie_log_set_sink(record_sink, NULL, NULL);
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99006: %s and more", value);
    ck_assert_int_eq(seen.calls, 1);
    /* The line buffer holds 1024 bytes: 1023 characters and the terminator. */
    ck_assert_uint_eq(strlen(seen.msg), 1023);
    ck_assert_int_eq(strncmp(seen.msg, "IPSIE99006: vvvv", 16), 0);
    ck_assert_ptr_null(strstr(seen.msg, "and more"));
}
END_TEST

START_TEST(log_a_line_of_exactly_the_buffer_is_kept_whole)
{
    char *value = apr_palloc(pool, 1024);
    size_t room = 1023 - strlen("IPSIE99007: ");

    memset(value, 'w', room);
    value[room] = '\0';
    ipsie_log_set_sink(record_sink, NULL, NULL);
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99007: %s", value);
    ck_assert_uint_eq(strlen(seen.msg), 1023);
    ck_assert_int_eq(seen.msg[1022], 'w');
}
END_TEST

/* ---- the level check ------------------------------------------------------------------ */

START_TEST(log_level_the_sink_refuses_is_never_formatted)
{
    int baton;

    ipsie_log_set_sink(record_sink, warn_level, &baton);
    /* Formatting this line would read through a pointer that points nowhere. */
    ipsie_log(IPSIE_LOG_DEBUG, "IPSIE99010: %s", (const char *)(uintptr_t)1);
    ck_assert_int_eq(seen.checks, 1);
    ck_assert_int_eq(seen.checked_level, IPSIE_LOG_DEBUG);
    ck_assert_ptr_eq(seen.checked_baton, &baton);
    ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(log_level_the_sink_wants_is_formatted_and_emitted)
{
    ipsie_log_set_sink(record_sink, warn_level, NULL);
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99011: %d", 7);
    ipsie_log(IPSIE_LOG_INFO, "IPSIE99012: %d", 8);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99013: %d", 9);
    ck_assert_int_eq(seen.checks, 3);
    ck_assert_int_eq(seen.calls, 2);
    ck_assert_int_eq(seen.level, IPSIE_LOG_ERROR);
    ck_assert_str_eq(seen.msg, "IPSIE99013: 9");
}
END_TEST

START_TEST(log_is_level_asks_the_sink_without_logging)
{
    ipsie_log_set_sink(record_sink, warn_level, NULL);
    ck_assert_int_ne(ipsie_log_is_level(IPSIE_LOG_ERROR), 0);
    ck_assert_int_ne(ipsie_log_is_level(IPSIE_LOG_WARNING), 0);
    ck_assert_int_eq(ipsie_log_is_level(IPSIE_LOG_INFO), 0);
    ck_assert_int_eq(ipsie_log_is_level(IPSIE_LOG_DEBUG), 0);
    ck_assert_int_eq(seen.calls, 0);
    ipsie_log_set_sink(record_sink, NULL, NULL);
    ck_assert_int_ne(ipsie_log_is_level(IPSIE_LOG_DEBUG), 0);
    ipsie_log_set_sink(NULL, NULL, NULL);
    ck_assert_int_eq(ipsie_log_is_level(IPSIE_LOG_ERROR), 0);
}
END_TEST

/* ---- the call baton ------------------------------------------------------------------- */

START_TEST(log_call_baton_reaches_the_level_check_and_the_sink)
{
    int baton, request;

    ipsie_log_set_sink(record_sink, warn_level, &baton);
    ck_assert_ptr_null(ipsie_log_set_call(&request));
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99014: during the request");
    ck_assert_ptr_eq(seen.checked_call_baton, &request);
    ck_assert_ptr_eq(seen.call_baton, &request);
    ck_assert_ptr_eq(seen.baton, &baton);
    ck_assert_ptr_eq(ipsie_log_set_call(NULL), &request);
    ipsie_log(IPSIE_LOG_WARNING, "IPSIE99015: after it");
    ck_assert_ptr_null(seen.checked_call_baton);
    ck_assert_ptr_null(seen.call_baton);
    ck_assert_int_eq(seen.calls, 2);
}
END_TEST

START_TEST(log_call_batons_nest_and_the_outer_one_comes_back)
{
    int request, subrequest;
    void *outer;
    void *inner;

    ipsie_log_set_sink(record_sink, NULL, NULL);
    outer = ipsie_log_set_call(&request);
    inner = ipsie_log_set_call(&subrequest);
    ck_assert_ptr_eq(inner, &request);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99016: inner");
    ck_assert_ptr_eq(seen.call_baton, &subrequest);
    ipsie_log_set_call(inner);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99017: outer");
    ck_assert_ptr_eq(seen.call_baton, &request);
    ipsie_log_set_call(outer);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99018: none");
    ck_assert_ptr_null(seen.call_baton);
}
END_TEST

static void *log_from_another_thread(void *arg)
{
    void **call_seen = arg;

    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99019: from another thread");
    *call_seen = seen.call_baton;
    return NULL;
}

START_TEST(log_call_baton_belongs_to_the_thread_that_set_it)
{
    int request;
    void *call_seen = &request;
    pthread_t thread;

    ipsie_log_set_sink(record_sink, NULL, NULL);
    ipsie_log_set_call(&request);
    ck_assert_int_eq(pthread_create(&thread, NULL, log_from_another_thread, &call_seen), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_ptr_null(call_seen);
    ipsie_log(IPSIE_LOG_ERROR, "IPSIE99020: from this one");
    ck_assert_ptr_eq(seen.call_baton, &request);
    ipsie_log_set_call(NULL);
}
END_TEST

/* ---- ipsie_log_safe ------------------------------------------------------------------- */

START_TEST(log_safe_of_null_is_a_dash)
{
    ck_assert_str_eq(ipsie_log_safe(NULL, pool), "-");
}
END_TEST

START_TEST(log_safe_keeps_printable_ascii_and_the_empty_string)
{
    ck_assert_str_eq(ipsie_log_safe("", pool), "");
    ck_assert_str_eq(ipsie_log_safe("alice@example.com sub=1 'x' \"y\" ~", pool),
                     "alice@example.com sub=1 'x' \"y\" ~");
}
END_TEST

START_TEST(log_safe_replaces_control_characters_and_other_bytes)
{
    ck_assert_str_eq(ipsie_log_safe("a\r\nIPSIE12001: forged\tb\x7f"
                                    "c\x1b[31m",
                                    pool),
                     "a??IPSIE12001: forged?b?c?[31m");
    ck_assert_str_eq(ipsie_log_safe("caf\xc3\xa9", pool), "caf??");
}
END_TEST

START_TEST(log_safe_cuts_a_value_over_200_characters)
{
    char *value = apr_palloc(pool, 302);
    const char *safe;

    memset(value, 'x', 301);
    value[301] = '\0';
    value[199] = 'L';
    value[200] = 'M';
    safe = ipsie_log_safe(value, pool);
    ck_assert_uint_eq(strlen(safe), 200);
    ck_assert_int_eq(safe[199], 'L');
    value[200] = '\0';
    ck_assert_str_eq(ipsie_log_safe(value, pool), value);
}
END_TEST

START_TEST(log_safe_leaves_its_input_alone)
{
    char value[] = "a\nb";

    ck_assert_str_eq(ipsie_log_safe(value, pool), "a?b");
    ck_assert_str_eq(value, "a\nb");
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("ipsie_log");
    TCase *sink = tcase_create("sink");
    TCase *safe = tcase_create("safe");

    tcase_add_checked_fixture(sink, record_setup, pool_teardown);
    tcase_add_test(sink, log_line_reaches_the_installed_sink_with_its_level_and_baton);
    tcase_add_test(sink, log_every_level_is_passed_as_it_is);
    tcase_add_test(sink, log_line_goes_nowhere_once_the_sink_is_removed);
    tcase_add_test(sink, log_without_a_sink_discards_the_line);
    tcase_add_test(sink, log_a_new_sink_replaces_the_old_one);
    tcase_add_test(sink, log_a_long_line_is_cut_at_the_buffer_and_stays_terminated);
    tcase_add_test(sink, log_a_line_of_exactly_the_buffer_is_kept_whole);
    tcase_add_test(sink, log_level_the_sink_refuses_is_never_formatted);
    tcase_add_test(sink, log_level_the_sink_wants_is_formatted_and_emitted);
    tcase_add_test(sink, log_is_level_asks_the_sink_without_logging);
    tcase_add_test(sink, log_call_baton_reaches_the_level_check_and_the_sink);
    tcase_add_test(sink, log_call_batons_nest_and_the_outer_one_comes_back);
    tcase_add_test(sink, log_call_baton_belongs_to_the_thread_that_set_it);
    suite_add_tcase(s, sink);

    tcase_add_checked_fixture(safe, pool_setup, pool_teardown);
    tcase_add_test(safe, log_safe_of_null_is_a_dash);
    tcase_add_test(safe, log_safe_keeps_printable_ascii_and_the_empty_string);
    tcase_add_test(safe, log_safe_replaces_control_characters_and_other_bytes);
    tcase_add_test(safe, log_safe_cuts_a_value_over_200_characters);
    tcase_add_test(safe, log_safe_leaves_its_input_alone);
    suite_add_tcase(s, safe);
    return s;
}

int main(void)
{
    return run_suite(log_suite());
}
