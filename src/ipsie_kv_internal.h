/* What the store implementations share: server addresses, deadlines, expiry arithmetic and a
 * per-process pool of connections. Private to src/ipsie_kv*.c and their tests. */
#ifndef IPSIE_KV_INTERNAL_H
#define IPSIE_KV_INTERNAL_H

#include <time.h>

#include <apr_pools.h>
#include <apr_time.h>

#include "ipsie/ipsie_kv.h"

typedef struct {
    const char *host; /* a name, an IPv4 address, or an IPv6 address without its brackets */
    int port;
    const char *spelled; /* "host:port" as configured, for log lines */
} ipsie_kv_server_t;

/* "host:port[,host:port...]" into *servers (*n of them, at most max): hosts are names,
 * IPv4 addresses or [IPv6] addresses, ports 1..65535; no space, no empty entry, no
 * duplicate. IPSIE_ERR_MALFORMED otherwise. */
apr_status_t ipsie_kv_parse_servers(ipsie_kv_server_t **servers, int *n, const char *spec, int max,
                                    apr_pool_t *p);

/* A timeout in whole milliseconds, rounded up (at least 1). */
long ipsie_kv_ms(apr_interval_time_t t);

/* What is left of an absolute expiry at now, in whole milliseconds rounded up: at least 1,
 * so that an entry written late still reaches the store (and expires at once there). */
long long ipsie_kv_ms_left(apr_time_t expiry, apr_time_t now);

/* A monotonic clock (microseconds) for deadlines: unaffected by changes of the wall clock. */
static inline apr_time_t ipsie_kv_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_time_t)ts.tv_sec * APR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- connections kept per process ------------------------------------------------------- */

typedef struct ipsie_kv_pool_t ipsie_kv_pool_t;

/* Closes one connection. inherited: the connection was made by the parent of this process
 * (it was idle in the pool at a fork), so its socket is the parent's too: nothing may be
 * sent on it. */
typedef void ipsie_kv_conn_close_fn(void *conn, int inherited);

/* A pool keeping at most idle_max idle connections of the current process; closes them when
 * p is cleaned up (p must outlive every operation in flight). */
apr_status_t ipsie_kv_pool_create(ipsie_kv_pool_t **out, int idle_max,
                                  ipsie_kv_conn_close_fn *close_conn, apr_pool_t *p);

/* An idle connection made by this process, or NULL (the caller makes a new one). After a
 * fork, the first call closes what the parent had left idle. */
void *ipsie_kv_pool_take(ipsie_kv_pool_t *pool);

/* A healthy connection back for reuse; closed when idle_max are idle already. */
void ipsie_kv_pool_give(ipsie_kv_pool_t *pool, void *conn);

/* How many connections are idle in this process (for tests). */
int ipsie_kv_pool_idle(ipsie_kv_pool_t *pool);

#endif
