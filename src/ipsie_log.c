/* The core's logging seam: one sink, installed by the glue or by a test. */
#include <stdarg.h>
#include <stdio.h>

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ipsie/ipsie_log.h"

#define LOG_VALUE_MAX 200

static ipsie_log_sink_fn *log_sink;
static void *log_baton;

void ipsie_log_set_sink(ipsie_log_sink_fn *sink, void *baton)
{
    log_sink = sink;
    log_baton = baton;
}

void ipsie_log(ipsie_log_level_e level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (log_sink == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_sink(log_baton, level, line);
}

const char *ipsie_log_safe(const char *s, apr_pool_t *p)
{
    apr_size_t n;
    apr_size_t i;
    char *out;

    if (s == NULL) {
        return "-";
    }
    n = strlen(s);
    if (n > LOG_VALUE_MAX) {
        n = LOG_VALUE_MAX;
    }
    out = apr_pstrndup(p, s, n);
    for (i = 0; i < n; i++) {
        if (!apr_isprint(out[i])) {
            out[i] = '?';
        }
    }
    return out;
}
