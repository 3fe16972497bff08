/* The core's logging seam: one sink with its level check, installed by the glue or by a test,
 * and the call (the request) each thread serves. */
#include <stdarg.h>
#include <stdio.h>

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ipsie/ipsie_log.h"

#define LOG_VALUE_MAX 200

static ipsie_log_sink_fn *log_sink;
static ipsie_log_level_fn *log_is_level;
static void *log_baton;
/* The call this thread serves, named by the glue around the core calls it makes for it. */
static _Thread_local void *log_call;

void ipsie_log_set_sink(ipsie_log_sink_fn *sink, ipsie_log_level_fn *is_level, void *baton)
{
    log_sink = sink;
    log_is_level = is_level;
    log_baton = baton;
}

void *ipsie_log_set_call(void *call_baton)
{
    void *outer = log_call;

    log_call = call_baton;
    return outer;
}

/* Whether the sink wants a line of level for call. */
static int wanted(void *call, ipsie_log_level_e level)
{
    return log_sink != NULL && (log_is_level == NULL || log_is_level(log_baton, call, level));
}

int ipsie_log_is_level(ipsie_log_level_e level)
{
    return wanted(log_call, level);
}

void ipsie_log(ipsie_log_level_e level, const char *fmt, ...)
{
    char line[1024];
    void *call = log_call;
    va_list ap;

    if (!wanted(call, level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_sink(log_baton, call, level, line);
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
