/* Logging seam of the core: the glue installs a sink, tests install a capturing one. */
#ifndef IPSIE_LOG_H
#define IPSIE_LOG_H

#include <apr_pools.h>

typedef enum {
    IPSIE_LOG_ERROR = 0,
    IPSIE_LOG_WARNING,
    IPSIE_LOG_INFO,
    IPSIE_LOG_DEBUG
} ipsie_log_level_e;

typedef void ipsie_log_sink_fn(void *baton, ipsie_log_level_e level, const char *msg);

/* Install the sink every core log line goes to; NULL discards. Set once at start-up. */
void ipsie_log_set_sink(ipsie_log_sink_fn *sink, void *baton);

/* Format and emit one line. Callers start the message with its tag, e.g. "IPSIE01001: ...".
 * Never pass a token or a secret. */
void ipsie_log(ipsie_log_level_e level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s made safe for a log line: printable ASCII only (others become '?'), at most 200
 * characters; "-" for NULL. For values that come from outside. */
const char *ipsie_log_safe(const char *s, apr_pool_t *p);

#endif
