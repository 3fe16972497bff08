/* Idle connections of one process. httpd forks its children after the configuration is read:
 * a connection made before the fork has one socket that both processes would talk on, so
 * each process keeps its own list, made when it first asks (compared by process id). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <apr_atomic.h>

#include "ipsie/ipsie_error.h"
#include "ipsie_kv_internal.h"

typedef struct {
    pid_t pid; /* the process this list belongs to */
    pthread_mutex_t lock;
    int idle;
    void **conns; /* idle_max slots, the most recently used last */
} pool_state_t;

struct ipsie_kv_pool_t {
    volatile void *state; /* pool_state_t of the current process */
    int idle_max;
    ipsie_kv_conn_close_fn *close_conn;
};

static pool_state_t *state_create(int idle_max)
{
    pool_state_t *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    st->conns = calloc((size_t)idle_max, sizeof(void *));
    if (st->conns == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st->conns);
        free(st);
        return NULL;
    }
    st->pid = getpid();
    return st;
}

/* The list of this process, made after a fork; NULL when memory runs out. */
static pool_state_t *state_of_this_process(ipsie_kv_pool_t *pool)
{
    pid_t pid = getpid();

    for (;;) {
        pool_state_t *st = apr_atomic_casptr(&pool->state, NULL, NULL);
        pool_state_t *fresh;
        int i;

        if (st != NULL && st->pid == pid) {
            return st;
        }
        fresh = state_create(pool->idle_max);
        if (fresh == NULL) {
            return NULL;
        }
        if (apr_atomic_casptr(&pool->state, fresh, st) != st) {
            /* Another thread of this process made it first. */
            pthread_mutex_destroy(&fresh->lock);
            free(fresh->conns);
            free(fresh);
            continue;
        }
        /* The parent's list: no thread of this process holds its lock or reads its slots,
         * so it is closed without the lock; its struct stays (a thread may still be reading
         * its pid). */
        if (st != NULL) {
            for (i = 0; i < st->idle; i++) {
                pool->close_conn(st->conns[i], 1);
            }
            st->idle = 0;
        }
        return fresh;
    }
}

static apr_status_t pool_cleanup(void *data)
{
    ipsie_kv_pool_t *pool = data;
    pool_state_t *st = apr_atomic_casptr(&pool->state, NULL, NULL);
    int i;

    if (st == NULL) {
        return APR_SUCCESS;
    }
    if (st->pid != getpid()) {
        /* The parent's: the parent closes its own. */
        for (i = 0; i < st->idle; i++) {
            pool->close_conn(st->conns[i], 1);
        }
        return APR_SUCCESS;
    }
    for (i = 0; i < st->idle; i++) {
        pool->close_conn(st->conns[i], 0);
    }
    apr_atomic_casptr(&pool->state, NULL, st);
    pthread_mutex_destroy(&st->lock);
    free(st->conns);
    free(st);
    return APR_SUCCESS;
}

apr_status_t ipsie_kv_pool_create(ipsie_kv_pool_t **out, int idle_max,
                                  ipsie_kv_conn_close_fn *close_conn, apr_pool_t *p)
{
    ipsie_kv_pool_t *pool = apr_pcalloc(p, sizeof(*pool));

    pool->idle_max = idle_max > 0 ? idle_max : 1;
    pool->close_conn = close_conn;
    apr_pool_cleanup_register(p, pool, pool_cleanup, apr_pool_cleanup_null);
    *out = pool;
    return APR_SUCCESS;
}

void *ipsie_kv_pool_take(ipsie_kv_pool_t *pool)
{
    pool_state_t *st = state_of_this_process(pool);
    void *conn = NULL;

    if (st == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&st->lock);
    if (st->idle > 0) {
        conn = st->conns[--st->idle];
    }
    pthread_mutex_unlock(&st->lock);
    return conn;
}

void ipsie_kv_pool_give(ipsie_kv_pool_t *pool, void *conn)
{
    pool_state_t *st = state_of_this_process(pool);
    int kept = 0;

    if (conn == NULL) {
        return;
    }
    if (st != NULL) {
        pthread_mutex_lock(&st->lock);
        if (st->idle < pool->idle_max) {
            st->conns[st->idle++] = conn;
            kept = 1;
        }
        pthread_mutex_unlock(&st->lock);
    }
    if (!kept) {
        pool->close_conn(conn, 0);
    }
}

int ipsie_kv_pool_idle(ipsie_kv_pool_t *pool)
{
    pool_state_t *st = state_of_this_process(pool);
    int idle = 0;

    if (st != NULL) {
        pthread_mutex_lock(&st->lock);
        idle = st->idle;
        pthread_mutex_unlock(&st->lock);
    }
    return idle;
}
