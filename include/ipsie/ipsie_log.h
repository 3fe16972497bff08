/* Logging seam of the core: the glue installs a sink, tests install a capturing one.
 *
 * A line may belong to a call: the glue names the call it serves (for httpd, the request)
 * with ipsie_log_set_call() around the core calls it makes for it, and the level check and
 * the sink receive that call baton with every line logged meanwhile, so a line keeps the
 * request's context (client, virtual host, per-directory LogLevel). The call baton is
 * thread-local: httpd serves a request on one thread for the whole of a hook, so lines
 * logged by other threads never carry it. */
#ifndef IPSIE_LOG_H
#define IPSIE_LOG_H

#include <apr_pools.h>

typedef enum {
    IPSIE_LOG_ERROR = 0,
    IPSIE_LOG_WARNING,
    IPSIE_LOG_INFO,
    IPSIE_LOG_DEBUG
} ipsie_log_level_e;

/* Receives one formatted line. baton: the one given to ipsie_log_set_sink; call_baton: the
 * calling thread's call (see ipsie_log_set_call), NULL outside any. */
typedef void ipsie_log_sink_fn(void *baton, void *call_baton, ipsie_log_level_e level,
                               const char *msg);

/* Whether a line of level is wanted for this call (non-zero) or not (0); asked before the
 * line is formatted, so a refused level costs no formatting. */
typedef int ipsie_log_level_fn(void *baton, void *call_baton, ipsie_log_level_e level);

/* Install the sink every core log line goes to, and the check of its level (NULL: every
 * level is wanted); a NULL sink discards every line. Set at start-up, before threads log. */
void ipsie_log_set_sink(ipsie_log_sink_fn *sink, ipsie_log_level_fn *is_level, void *baton);

/* Make call_baton (NULL: none) the calling thread's call and return the one it replaces; the
 * caller restores that one when its call ends, so calls may nest:
 *     void *outer = ipsie_log_set_call(r); ... core calls ...; ipsie_log_set_call(outer); */
void *ipsie_log_set_call(void *call_baton);

/* Non-zero when a line of level would reach the sink from this thread now: for a caller
 * that would spend work on the arguments of a line. */
int ipsie_log_is_level(ipsie_log_level_e level);

/* Format and emit one line, unless the sink's level check refuses its level (then nothing
 * is formatted). Callers start the message with its tag, e.g. "IPSIE01001: ...". Never pass
 * a token or a secret. Lines longer than 1023 bytes are cut. */
void ipsie_log(ipsie_log_level_e level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s made safe for a log line: printable ASCII only (others become '?'), at most 200
 * characters; "-" for NULL. For values that come from outside. */
const char *ipsie_log_safe(const char *s, apr_pool_t *p);

#endif
