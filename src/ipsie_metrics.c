/* Counters and gauges in shared memory, and their text forms: Prometheus exposition, mod_status
 * lines and an HTML table. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_metrics.h"

#define PREFIX "mod_auth_ipsie_"
#define STATUS_PREFIX "IPSIE_"

/* Shared between processes, the atomics must not hide a lock in one process's memory. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

typedef struct {
    _Atomic uint64_t counters[IPSIE_M_COUNT];
    _Atomic int64_t fetched[IPSIE_G_COUNT];
} shared_t;

/* Set once at start-up, before the children are made; read by every thread after. */
static shared_t *shared;

#define FAMILY_ROW(id, name, label, help) [IPSIE_MF_##id] = {name, label, help},
static const struct {
    const char *name;
    const char *label;
    const char *help;
} families[IPSIE_MF_COUNT] = {IPSIE_METRIC_FAMILIES(FAMILY_ROW)};
#undef FAMILY_ROW

#define COUNTER_ROW(id, family, value) [IPSIE_M_##id] = {IPSIE_MF_##family, value},
static const struct {
    ipsie_metric_family_e family;
    const char *value;
} counters[IPSIE_M_COUNT] = {IPSIE_METRIC_COUNTERS(COUNTER_ROW)};
#undef COUNTER_ROW

static const struct {
    const char *name;
    const char *help;
} gauges[IPSIE_G_COUNT] = {
    [IPSIE_G_METADATA] = {"provider_metadata_age_seconds",
                          "Seconds since the provider's metadata was last fetched by any process"},
    [IPSIE_G_JWKS] = {"provider_jwks_age_seconds",
                      "Seconds since the provider's keys (JWKS) were last fetched by any process"},
};

apr_size_t ipsie_metrics_size(void)
{
    return sizeof(shared_t);
}

void ipsie_metrics_attach(void *base)
{
    shared = base;
}

void ipsie_metric_inc(ipsie_metric_e m)
{
    if (shared != NULL && (unsigned)m < IPSIE_M_COUNT) {
        atomic_fetch_add_explicit(&shared->counters[m], 1, memory_order_relaxed);
    }
}

void ipsie_metric_add(ipsie_metric_e m, apr_uint64_t n)
{
    if (shared != NULL && (unsigned)m < IPSIE_M_COUNT && n > 0) {
        atomic_fetch_add_explicit(&shared->counters[m], n, memory_order_relaxed);
    }
}

void ipsie_metric_fetched(ipsie_metric_gauge_e g, long long when)
{
    int64_t seen;

    if (shared == NULL || (unsigned)g >= IPSIE_G_COUNT) {
        return;
    }
    seen = atomic_load_explicit(&shared->fetched[g], memory_order_relaxed);
    /* The newest fetch of any process wins; a lost race retries with the value that won. */
    while (seen < when
           && !atomic_compare_exchange_weak_explicit(&shared->fetched[g], &seen, when,
                                                     memory_order_relaxed, memory_order_relaxed)) {
    }
}

void ipsie_metrics_read(ipsie_metrics_snapshot_t *out)
{
    int i;

    memset(out, 0, sizeof(*out));
    if (shared == NULL) {
        return;
    }
    for (i = 0; i < IPSIE_M_COUNT; i++) {
        out->counters[i] = atomic_load_explicit(&shared->counters[i], memory_order_relaxed);
    }
    for (i = 0; i < IPSIE_G_COUNT; i++) {
        out->fetched[i] = atomic_load_explicit(&shared->fetched[i], memory_order_relaxed);
    }
}

apr_uint64_t ipsie_metrics_layout(void)
{
    apr_uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    int i;

    for (i = 0; i < IPSIE_M_COUNT; i++) {
        const char *parts[2] = {families[counters[i].family].name,
                                counters[i].value != NULL ? counters[i].value : ""};
        int k;

        for (k = 0; k < 2; k++) {
            const unsigned char *c;

            for (c = (const unsigned char *)parts[k]; *c != '\0'; c++) {
                h = (h ^ *c) * 1099511628211ULL;
            }
            h = (h ^ 0xFF) * 1099511628211ULL;
        }
    }
    return (h ^ (apr_uint64_t)IPSIE_G_COUNT) * 1099511628211ULL;
}

const char *ipsie_metric_name(ipsie_metric_e m)
{
    return (unsigned)m < IPSIE_M_COUNT ? families[counters[m].family].name : NULL;
}

const char *ipsie_metric_label_value(ipsie_metric_e m)
{
    return (unsigned)m < IPSIE_M_COUNT ? counters[m].value : NULL;
}

/* s with backslash, newline and (when quote) double quote escaped, as the format asks of
 * label values (all three) and of help text (the first two). */
static const char *escape(const char *s, int quote, apr_pool_t *p)
{
    apr_size_t n = 0;
    const char *c;
    char *out;
    char *o;

    for (c = s; *c; c++) {
        n += (*c == '\\' || *c == '\n' || (quote && *c == '"')) ? 2 : 1;
    }
    out = apr_palloc(p, n + 1);
    for (c = s, o = out; *c; c++) {
        if (*c == '\\' || *c == '\n' || (quote && *c == '"')) {
            *o++ = '\\';
            *o++ = *c == '\n' ? 'n' : *c;
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

const char *ipsie_metrics_escape_label(const char *s, apr_pool_t *p)
{
    return escape(s, 1, p);
}

/* Seconds since when, never negative (a clock set back). */
static apr_int64_t age(long long when, long long now)
{
    return (apr_int64_t)(now > when ? now - when : 0);
}

static void push(apr_array_header_t *out, const char *s)
{
    APR_ARRAY_PUSH(out, const char *) = s;
}

const char *ipsie_metrics_prometheus(const ipsie_metrics_snapshot_t *snap, long long now,
                                     apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4 * IPSIE_M_COUNT, sizeof(const char *));
    int f, m, g;

    for (f = 0; f < IPSIE_MF_COUNT; f++) {
        push(out, apr_psprintf(p, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s counter\n",
                               families[f].name, escape(families[f].help, 0, p), families[f].name));
        for (m = 0; m < IPSIE_M_COUNT; m++) {
            if (counters[m].family != (ipsie_metric_family_e)f) {
                continue;
            }
            if (counters[m].value == NULL) {
                push(out, apr_psprintf(p, PREFIX "%s %" APR_UINT64_T_FMT "\n", families[f].name,
                                       snap->counters[m]));
            }
            else {
                push(out, apr_psprintf(p, PREFIX "%s{%s=\"%s\"} %" APR_UINT64_T_FMT "\n",
                                       families[f].name, families[f].label,
                                       escape(counters[m].value, 1, p), snap->counters[m]));
            }
        }
    }
    for (g = 0; g < IPSIE_G_COUNT; g++) {
        push(out, apr_psprintf(p, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s gauge\n",
                               gauges[g].name, escape(gauges[g].help, 0, p), gauges[g].name));
        if (snap->fetched[g] > 0) {
            push(out, apr_psprintf(p, PREFIX "%s %" APR_INT64_T_FMT "\n", gauges[g].name,
                                   age(snap->fetched[g], now)));
        }
    }
    return apr_array_pstrcat(p, out, 0);
}

const char *ipsie_metrics_status_text(const ipsie_metrics_snapshot_t *snap, long long now,
                                      apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, IPSIE_M_COUNT + IPSIE_G_COUNT, sizeof(char *));
    int m, g;

    for (m = 0; m < IPSIE_M_COUNT; m++) {
        const char *value = counters[m].value;

        push(out, apr_psprintf(p, STATUS_PREFIX "%s%s%s: %" APR_UINT64_T_FMT "\n",
                               families[counters[m].family].name, value ? "_" : "",
                               value ? value : "", snap->counters[m]));
    }
    for (g = 0; g < IPSIE_G_COUNT; g++) {
        if (snap->fetched[g] > 0) {
            push(out, apr_psprintf(p, STATUS_PREFIX "%s: %" APR_INT64_T_FMT "\n", gauges[g].name,
                                   age(snap->fetched[g], now)));
        }
    }
    return apr_array_pstrcat(p, out, 0);
}

const char *ipsie_metrics_status_html(const ipsie_metrics_snapshot_t *snap, long long now,
                                      apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, IPSIE_M_COUNT + 8, sizeof(char *));
    int m, g;

    push(out, "<hr>\n<h2>mod_auth_ipsie</h2>\n<table border=\"0\">\n");
    for (m = 0; m < IPSIE_M_COUNT; m++) {
        const ipsie_metric_family_e f = counters[m].family;
        const char *value = counters[m].value;

        /* Our own names and label values: letters, digits and '_' only. */
        push(out, apr_psprintf(p,
                               "<tr><td>%s%s%s%s%s</td><td align=\"right\">%" APR_UINT64_T_FMT
                               "</td></tr>\n",
                               families[f].name, value ? " " : "", value ? families[f].label : "",
                               value ? "=" : "", value ? value : "", snap->counters[m]));
    }
    for (g = 0; g < IPSIE_G_COUNT; g++) {
        push(out, snap->fetched[g] > 0
                      ? apr_psprintf(
                          p, "<tr><td>%s</td><td align=\"right\">%" APR_INT64_T_FMT "</td></tr>\n",
                          gauges[g].name, age(snap->fetched[g], now))
                      : apr_psprintf(p, "<tr><td>%s</td><td align=\"right\">never</td></tr>\n",
                                     gauges[g].name));
    }
    push(out, "</table>\n");
    return apr_array_pstrcat(p, out, 0);
}
