/* Unit tests of src/ipsie_metrics.c: counting in shared memory (across processes), and the
 * Prometheus text, mod_status lines and HTML table made of the figures. */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_shm.h>

#include "test_support.h"
#include "ipsie/ipsie_metrics.h"

#define NOW 1700000000LL

static void *area;

static void metrics_setup(void)
{
    pool_setup();
    area = apr_pcalloc(pool, ipsie_metrics_size());
    ipsie_metrics_attach(area);
}

static void metrics_teardown(void)
{
    ipsie_metrics_attach(NULL);
    pool_teardown();
}

/* The line of text that starts with prefix (up to its newline), or NULL. */
static const char *line_of(const char *text, const char *prefix)
{
    const char *at = text;
    size_t n = strlen(prefix);

    while (at != NULL && *at) {
        if (strncmp(at, prefix, n) == 0) {
            const char *end = strchr(at, '\n');
            return apr_pstrndup(pool, at, end ? (size_t)(end - at) : strlen(at));
        }
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    return NULL;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    const char *at = text;

    while ((at = strstr(at, needle)) != NULL) {
        n++;
        at += strlen(needle);
    }
    return n;
}

START_TEST(layout_fingerprint_is_stable_and_not_trivial)
{
    apr_uint64_t a = ipsie_metrics_layout();

    ck_assert_uint_eq(a, ipsie_metrics_layout());
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_ne(a, 14695981039346656037ULL);
}
END_TEST

START_TEST(without_shared_memory_counting_does_nothing)
{
    ipsie_metrics_snapshot_t snap;

    ipsie_metrics_attach(NULL);
    ipsie_metric_inc(IPSIE_M_LOGINS);
    ipsie_metric_add(IPSIE_M_END_BACKCHANNEL, 3);
    ipsie_metric_fetched(IPSIE_G_JWKS, NOW);
    ipsie_metrics_read(&snap);
    ck_assert_uint_eq(snap.counters[IPSIE_M_LOGINS], 0);
    ck_assert_uint_eq(snap.counters[IPSIE_M_END_BACKCHANNEL], 0);
    ck_assert_int_eq(snap.fetched[IPSIE_G_JWKS], 0);
}
END_TEST

START_TEST(counters_count_and_a_gauge_keeps_the_newest_fetch)
{
    ipsie_metrics_snapshot_t snap;
    int i;

    for (i = 0; i < 5; i++) {
        ipsie_metric_inc(IPSIE_M_LOGINS);
    }
    ipsie_metric_add(IPSIE_M_END_BACKCHANNEL, 3);
    ipsie_metric_add(IPSIE_M_END_BACKCHANNEL, 0);
    ipsie_metric_inc(IPSIE_M_COUNT); /* out of range: ignored */
    ipsie_metric_fetched(IPSIE_G_METADATA, NOW);
    ipsie_metric_fetched(IPSIE_G_METADATA, NOW - 100); /* an older fetch ended later */
    ipsie_metric_fetched(IPSIE_G_JWKS, NOW - 7);
    ipsie_metrics_read(&snap);
    ck_assert_uint_eq(snap.counters[IPSIE_M_LOGINS], 5);
    ck_assert_uint_eq(snap.counters[IPSIE_M_END_BACKCHANNEL], 3);
    ck_assert_uint_eq(snap.counters[IPSIE_M_END_CEILING], 0);
    ck_assert_int_eq(snap.fetched[IPSIE_G_METADATA], NOW);
    ck_assert_int_eq(snap.fetched[IPSIE_G_JWKS], NOW - 7);
}
END_TEST

/* Two processes counting at once in anonymous shared memory, as httpd's children do: no
 * increment is lost. */
START_TEST(processes_sharing_the_memory_lose_no_increment)
{
    enum { EACH = 200000 };
    apr_shm_t *shm = NULL;
    ipsie_metrics_snapshot_t snap;
    pid_t pid;
    int status = -1;
    int i;

    ck_assert_int_eq(apr_shm_create(&shm, ipsie_metrics_size(), NULL, pool), APR_SUCCESS);
    memset(apr_shm_baseaddr_get(shm), 0, ipsie_metrics_size());
    ipsie_metrics_attach(apr_shm_baseaddr_get(shm));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    for (i = 0; i < EACH; i++) {
        ipsie_metric_inc(IPSIE_M_CACHE_GET);
        ipsie_metric_add(IPSIE_M_CACHE_SET, 2);
        ipsie_metric_fetched(IPSIE_G_METADATA, NOW + i + (pid == 0 ? EACH : 0));
    }
    if (pid == 0) {
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ipsie_metrics_read(&snap);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_GET], 2 * EACH);
    ck_assert_uint_eq(snap.counters[IPSIE_M_CACHE_SET], 4 * EACH);
    ck_assert_int_eq(snap.fetched[IPSIE_G_METADATA], NOW + 2 * EACH - 1);
    ipsie_metrics_attach(NULL);
    apr_shm_destroy(shm);
}
END_TEST

START_TEST(every_counter_has_a_valid_unique_name_and_label)
{
    int m, n;

    for (m = 0; m < IPSIE_M_COUNT; m++) {
        const char *name = ipsie_metric_name(m);
        const char *c;

        ck_assert_ptr_nonnull(name);
        ck_assert(strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0);
        for (c = name; *c; c++) {
            ck_assert_msg((*c >= 'a' && *c <= 'z') || *c == '_', "%s", name);
        }
        for (n = 0; n < m; n++) {
            const char *a = ipsie_metric_label_value(m);
            const char *b = ipsie_metric_label_value(n);
            if (strcmp(ipsie_metric_name(n), name) == 0) {
                ck_assert_msg(a != NULL && b != NULL && strcmp(a, b) != 0, "%s twice", name);
            }
        }
    }
    ck_assert_ptr_null(ipsie_metric_name(IPSIE_M_COUNT));
    ck_assert_str_eq(ipsie_metric_name(IPSIE_M_END_CEILING), "session_ends_total");
    ck_assert_str_eq(ipsie_metric_label_value(IPSIE_M_END_CEILING), "ceiling");
    ck_assert_ptr_null(ipsie_metric_label_value(IPSIE_M_LOGINS));
}
END_TEST

START_TEST(label_values_and_help_are_escaped)
{
    ck_assert_str_eq(ipsie_metrics_escape_label("plain_value", pool), "plain_value");
    ck_assert_str_eq(ipsie_metrics_escape_label("a\"b\\c\nd", pool), "a\\\"b\\\\c\\nd");
    ck_assert_str_eq(ipsie_metrics_escape_label("", pool), "");
    ck_assert_str_eq(ipsie_metrics_escape_label("\n\n", pool), "\\n\\n");
}
END_TEST

START_TEST(prometheus_text_gives_every_family_once_with_help_type_and_samples)
{
    ipsie_metrics_snapshot_t snap;
    const char *text;
    regex_t sample;
    const char *at;
    int m;

    memset(&snap, 0, sizeof(snap));
    snap.counters[IPSIE_M_LOGINS] = 12;
    snap.counters[IPSIE_M_END_CEILING] = 3;
    snap.counters[IPSIE_M_REFUSED_ISS] = 18446744073709551615ULL;
    snap.fetched[IPSIE_G_METADATA] = NOW - 42;
    text = ipsie_metrics_prometheus(&snap, NOW, pool);

    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_logins_total "),
                     "mod_auth_ipsie_logins_total 12");
    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_session_ends_total{reason=\"ceiling\"}"),
                     "mod_auth_ipsie_session_ends_total{reason=\"ceiling\"} 3");
    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_session_ends_total{reason=\"idle\"}"),
                     "mod_auth_ipsie_session_ends_total{reason=\"idle\"} 0");
    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_logins_refused_total{reason=\"iss\"}"),
                     "mod_auth_ipsie_logins_refused_total{reason=\"iss\"} 18446744073709551615");
    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_provider_requests_total{endpoint=\"par\"}"),
                     "mod_auth_ipsie_provider_requests_total{endpoint=\"par\"} 0");
    ck_assert_str_eq(line_of(text, "mod_auth_ipsie_provider_metadata_age_seconds "),
                     "mod_auth_ipsie_provider_metadata_age_seconds 42");
    /* Never fetched: the family is described, without a sample. */
    ck_assert_ptr_nonnull(line_of(text, "# TYPE mod_auth_ipsie_provider_jwks_age_seconds gauge"));
    ck_assert_ptr_null(line_of(text, "mod_auth_ipsie_provider_jwks_age_seconds "));
    ck_assert_str_eq(line_of(text, "# TYPE mod_auth_ipsie_session_ends_total"),
                     "# TYPE mod_auth_ipsie_session_ends_total counter");
    ck_assert_int_eq(count_of(text, "# TYPE mod_auth_ipsie_session_ends_total "), 1);
    ck_assert_int_eq(count_of(text, "# HELP mod_auth_ipsie_session_ends_total "), 1);
    ck_assert(text[strlen(text) - 1] == '\n');

    /* Every line is a comment of the family that follows, or one sample; the samples of a
     * family come right after its HELP and TYPE. */
    ck_assert_int_eq(regcomp(&sample, "^mod_auth_ipsie_[a-z_]+(\\{[a-z_]+=\"[a-z_]+\"\\})? [0-9]+$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (at = text; *at;) {
        const char *end = strchr(at, '\n');
        const char *line = apr_pstrndup(pool, at, (size_t)(end - at));

        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *name = apr_pstrndup(pool, line + 7, strcspn(line + 7, " "));
            const char *next = line_of(end + 1, "# TYPE ");
            ck_assert_msg(next && strncmp(next + 7, name, strlen(name)) == 0, "%s", line);
        }
        else if (strncmp(line, "# TYPE ", 7) != 0) {
            ck_assert_msg(regexec(&sample, line, 0, NULL, 0) == 0, "not a sample: %s", line);
        }
        at = end + 1;
    }
    regfree(&sample);
    /* One sample per counter, and one per gauge fetched. */
    for (m = 0, at = text; m < IPSIE_M_COUNT; m++) {
        const char *v = ipsie_metric_label_value(m);
        const char *want = v ? apr_psprintf(pool, "mod_auth_ipsie_%s{", ipsie_metric_name(m))
                             : apr_psprintf(pool, "\nmod_auth_ipsie_%s ", ipsie_metric_name(m));
        ck_assert_int_ge(count_of(text, want), 1);
    }
    ck_assert_int_eq(count_of(text, "\nmod_auth_ipsie_"), IPSIE_M_COUNT + 1);
}
END_TEST

START_TEST(an_age_is_never_negative)
{
    ipsie_metrics_snapshot_t snap;

    memset(&snap, 0, sizeof(snap));
    snap.fetched[IPSIE_G_JWKS] = NOW + 30; /* fetched by a process whose clock is ahead */
    ck_assert_str_eq(line_of(ipsie_metrics_prometheus(&snap, NOW, pool),
                             "mod_auth_ipsie_provider_jwks_age_seconds "),
                     "mod_auth_ipsie_provider_jwks_age_seconds 0");
}
END_TEST

START_TEST(status_lines_and_table_give_the_same_figures)
{
    ipsie_metrics_snapshot_t snap;
    const char *text;
    const char *html;

    memset(&snap, 0, sizeof(snap));
    snap.counters[IPSIE_M_LOGINS] = 7;
    snap.counters[IPSIE_M_END_IDLE] = 2;
    snap.counters[IPSIE_M_CACHE_FAILED_GET] = 1;
    snap.fetched[IPSIE_G_JWKS] = NOW - 5;
    text = ipsie_metrics_status_text(&snap, NOW, pool);
    ck_assert_str_eq(line_of(text, "IPSIE_logins_total:"), "IPSIE_logins_total: 7");
    ck_assert_str_eq(line_of(text, "IPSIE_session_ends_total_idle:"),
                     "IPSIE_session_ends_total_idle: 2");
    ck_assert_str_eq(line_of(text, "IPSIE_cache_failures_total_get:"),
                     "IPSIE_cache_failures_total_get: 1");
    ck_assert_str_eq(line_of(text, "IPSIE_provider_jwks_age_seconds:"),
                     "IPSIE_provider_jwks_age_seconds: 5");
    ck_assert_ptr_null(line_of(text, "IPSIE_provider_metadata_age_seconds:"));
    ck_assert_int_eq(count_of(text, "\n"), IPSIE_M_COUNT + 1);

    html = ipsie_metrics_status_html(&snap, NOW, pool);
    ck_assert_ptr_nonnull(strstr(html, "<h2>mod_auth_ipsie</h2>"));
    ck_assert_ptr_nonnull(
        strstr(html, "<tr><td>session_ends_total reason=idle</td><td align=\"right\">2</td></tr>"));
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>logins_total</td><td align=\"right\">7</td></tr>"));
    ck_assert_ptr_nonnull(strstr(
        html, "<tr><td>provider_metadata_age_seconds</td><td align=\"right\">never</td></tr>"));
    ck_assert_int_eq(count_of(html, "<tr>"), IPSIE_M_COUNT + IPSIE_G_COUNT);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("ipsie_metrics");
    TCase *tc = tcase_create("metrics");

    tcase_add_checked_fixture(tc, metrics_setup, metrics_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, layout_fingerprint_is_stable_and_not_trivial);
    tcase_add_test(tc, without_shared_memory_counting_does_nothing);
    tcase_add_test(tc, counters_count_and_a_gauge_keeps_the_newest_fetch);
    tcase_add_test(tc, processes_sharing_the_memory_lose_no_increment);
    tcase_add_test(tc, every_counter_has_a_valid_unique_name_and_label);
    tcase_add_test(tc, label_values_and_help_are_escaped);
    tcase_add_test(tc, prometheus_text_gives_every_family_once_with_help_type_and_samples);
    tcase_add_test(tc, an_age_is_never_negative);
    tcase_add_test(tc, status_lines_and_table_give_the_same_figures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(metrics_suite());
}
