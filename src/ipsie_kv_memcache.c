/* The store on memcached, through libmemcached (ASCII protocol). Each thread borrows a clone
 * of one configured memcached_st from a per-process pool; a clone that failed is freed, never
 * reused. libmemcached's fetch reports more than misses as "not found" (a reply it could not
 * read, a server that has not answered while another one has), so keys are fetched one server
 * at a time, and a miss is only a key the server's END came after, with no reply still due
 * and no error noted for the query (see fetch). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_log.h"
#include "ipsie_kv_internal.h"

#define IDLE_MAX 16
/* memcached reads an expiry up to 30 days as relative seconds, beyond as Unix time. */
#define RELATIVE_MAX (60 * 60 * 24 * 30)
/* Writers racing on one set: tries of gets + cas, each within the timeout in all. */
#define SET_ADD_TRIES 64

typedef struct {
    ipsie_kv_server_t *servers;
    int nservers;
    apr_interval_time_t timeout;
    memcached_st *master; /* configured once, never talks: clones do */
    ipsie_kv_pool_t *conns;
} mc_t;

/* Why an operation failed, logged once it is known that it will not be tried again. */
typedef struct {
    memcached_return_t rc; /* libmemcached's verdict, or MEMCACHED_SUCCESS */
    int server;            /* the server at fault, -1 when not known */
    const char *what;      /* our verdict, when the server's answer made no sense */
} mc_fail_t;

typedef apr_status_t mc_op_fn(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                              mc_fail_t *fail, apr_pool_t *p);

static apr_status_t failed(mc_fail_t *fail, memcached_return_t rc, int server)
{
    fail->rc = rc;
    fail->server = server;
    return IPSIE_ERR_KV;
}

static apr_status_t garbled(mc_fail_t *fail, const char *what, int server)
{
    fail->what = what;
    fail->server = server;
    return IPSIE_ERR_KV;
}

/* The server a key lives on, as an index into mc->servers. */
static int server_of(memcached_st *m, const char *key)
{
    return (int)memcached_generate_hash(m, key, strlen(key));
}

/* A clone made before a fork shares its sockets with the parent: memcached_free would send
 * "quit" on them, so it is left alone (its memory is the parent's copy). */
static void conn_close(void *conn, int inherited)
{
    if (!inherited) {
        memcached_free(conn);
    }
}

/* A connection that broke without a word (the server restarted while the clone was idle):
 * worth one try on a fresh clone. A timeout is not: the server is there but does not answer. */
static int connection_lost(memcached_return_t rc)
{
    return rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_WRITE_FAILURE
           || rc == MEMCACHED_READ_FAILURE || rc == MEMCACHED_UNKNOWN_READ_FAILURE
           || rc == MEMCACHED_ERRNO;
}

/* Each wait of libmemcached (connecting, a poll for a reply) no longer than what is left. */
static void clamp_waits(memcached_st *m, apr_time_t deadline)
{
    uint64_t ms = (uint64_t)ipsie_kv_ms(deadline - ipsie_kv_clock());

    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
}

static apr_status_t run(mc_t *mc, const char *op, mc_op_fn *fn, void *args, apr_pool_t *p)
{
    apr_time_t deadline = ipsie_kv_clock() + mc->timeout;
    int attempt;

    for (attempt = 0;; attempt++) {
        mc_fail_t fail = {MEMCACHED_SUCCESS, -1, NULL};
        memcached_st *m = ipsie_kv_pool_take(mc->conns);
        int reused = m != NULL;
        const char *server;
        apr_status_t rv;

        if (m == NULL) {
            m = memcached_clone(NULL, mc->master);
        }
        if (m == NULL) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09305: memcached: %s: cannot make a connection", op);
            return IPSIE_ERR_KV;
        }
        clamp_waits(m, deadline);
        rv = fn(mc, m, args, deadline, &fail, p);
        if (rv != IPSIE_ERR_KV) {
            ipsie_kv_pool_give(mc->conns, m);
            return rv;
        }
        memcached_free(m);
        if (reused && attempt == 0 && fail.what == NULL && connection_lost(fail.rc)
            && ipsie_kv_clock() < deadline) {
            continue;
        }
        server =
            fail.server >= 0 && fail.server < mc->nservers ? mc->servers[fail.server].spelled : "?";
        if (fail.what != NULL) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09302: memcached at %s: %s: %s", server, op,
                      fail.what);
        }
        else {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09301: memcached at %s: %s failed: %s", server, op,
                      memcached_strerror(NULL, fail.rc));
        }
        return rv;
    }
}

/* memcached's expiry for an absolute one: whole seconds rounded up, and one more since its
 * clock ticks once a second; relative up to 30 days, else Unix time (which it reads as a
 * signed 32-bit number). */
static time_t exptime(apr_time_t expiry, apr_time_t now)
{
    long long secs = (ipsie_kv_ms_left(expiry, now) + 999) / 1000 + 1;
    long long at;

    if (secs <= RELATIVE_MAX) {
        return (time_t)secs;
    }
    at = (long long)apr_time_sec(now) + secs;
    return (time_t)(at < INT32_MAX ? at : INT32_MAX);
}

/* libmemcached 1.1 copies the key of a VALUE line into item_key without checking its length,
 * so a server can write up to ~100 bytes past it, over the options byte that says whether
 * libmemcached allocated the result (and is to free it). A result is therefore kept in room
 * of ours with slack after it, libmemcached's free of that room is ignored (kv_free), and a
 * key that long is refused. */
typedef struct {
    memcached_result_st result;
    char slack[512];
} result_room_t;

static __thread const void *room_in_use;

static void *kv_malloc(const memcached_st *m, const size_t size, void *context)
{
    return malloc(size);
}

static void kv_free(const memcached_st *m, void *mem, void *context)
{
    if (mem != NULL && mem == room_in_use) {
        return;
    }
    free(mem);
}

static void *kv_realloc(const memcached_st *m, void *mem, const size_t size, void *context)
{
    return realloc(mem, size);
}

static void *kv_calloc(const memcached_st *m, size_t nelem, const size_t elsize, void *context)
{
    return calloc(nelem, elsize);
}

/* Reads the k keys keys[want[...]], all on one server, in one round trip: values[j], lens[j]
 * (and cas[j] when cas is not NULL) for each hit; misses stay NULL. */
static apr_status_t fetch(memcached_st *m, int server, const char *const *keys, const int *want,
                          int k, unsigned char **values, apr_size_t *lens, uint64_t *cas,
                          mc_fail_t *fail, apr_pool_t *p)
{
    const char **ks = apr_palloc(p, sizeof(*ks) * (apr_size_t)k);
    size_t *kls = apr_palloc(p, sizeof(*kls) * (apr_size_t)k);
    result_room_t room;
    const memcached_result_st *r;
    const memcached_instance_st *instance;
    memcached_return_t rc;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < k; i++) {
        ks[i] = keys[want[i]];
        kls[i] = strlen(ks[i]);
    }
    rc = memcached_mget(m, ks, kls, (size_t)k);
    if (rc != MEMCACHED_SUCCESS) {
        return failed(fail, rc, server);
    }
    if (memcached_result_create(m, &room.result) == NULL) {
        return failed(fail, MEMCACHED_MEMORY_ALLOCATION_FAILURE, server);
    }
    room_in_use = &room;
    for (;;) {
        const char *key;
        size_t key_len, len;
        int j = -1;

        /* memcached_fetch_result ends with NOTFOUND, as for a miss, while nothing has been
         * counted as found: after END, but also after a reply it could not read or a lost
         * connection. With one counted already, it ends with END after END only, else with
         * what went wrong. */
        room.result.count = 1;
        r = memcached_fetch_result(m, &room.result, &rc);
        if (r == NULL) {
            break;
        }
        key = memcached_result_key_value(r);
        key_len = memcached_result_key_length(r);
        len = memcached_result_length(r);

        if (key_len >= MEMCACHED_MAX_KEY) {
            rv = garbled(fail, "a key longer than memcached keys are", server);
            goto leave;
        }
        /* The first unanswered key it names (a key asked twice is answered twice). */
        for (i = 0; i < k && j < 0; i++) {
            if (values[want[i]] == NULL && kls[i] == key_len && memcmp(ks[i], key, key_len) == 0) {
                j = want[i];
            }
        }
        if (j < 0) {
            rv = garbled(fail, "a value for a key not asked for", server);
            goto leave;
        }
        values[j] = apr_palloc(p, len + 1);
        if (len > 0) {
            memcpy(values[j], memcached_result_value(r), len);
        }
        values[j][len] = '\0';
        lens[j] = len;
        if (cas != NULL) {
            cas[j] = memcached_result_cas(r);
        }
    }
    /* Not a miss either: an error noted for this query, or replies still due (libmemcached
     * stops waiting for a server when another one has answered). */
    if (rc != MEMCACHED_END) {
        rv = failed(fail, rc, server);
        goto leave;
    }
    if (memcached_last_error(m) != MEMCACHED_SUCCESS) {
        rv = failed(fail, memcached_last_error(m), server);
        goto leave;
    }
    instance = memcached_server_instance_by_position(m, (uint32_t)server);
    if (instance == NULL || memcached_server_response_count(instance) != 0) {
        rv = failed(fail, MEMCACHED_TIMEOUT, server);
        goto leave;
    }
leave:
    /* Unless libmemcached freed it already (taking the room for its own, see above). */
    if (room.result.value.options.is_initialized) {
        room.result.options.is_allocated = false;
        room.result.options.is_initialized = true;
        memcached_result_free(&room.result);
    }
    room_in_use = NULL;
    return rv;
}

/* ---- get, get_many ---------------------------------------------------------------------- */

typedef struct {
    const char *const *keys;
    int n;
    unsigned char **values;
    apr_size_t *lens;
} get_args_t;

static apr_status_t get_op(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                           mc_fail_t *fail, apr_pool_t *p)
{
    get_args_t *a = args;
    int *server = apr_palloc(p, sizeof(*server) * (apr_size_t)a->n);
    int *want = apr_palloc(p, sizeof(*want) * (apr_size_t)a->n);
    char *done = apr_pcalloc(p, (apr_size_t)a->n);
    apr_status_t rv = APR_SUCCESS;
    int i, j, k;

    for (i = 0; i < a->n; i++) {
        a->values[i] = NULL;
        a->lens[i] = 0;
        server[i] = server_of(m, a->keys[i]);
    }
    /* One round trip per server holding some of the keys. */
    for (i = 0; i < a->n && rv == APR_SUCCESS; i++) {
        if (done[i]) {
            continue;
        }
        k = 0;
        for (j = i; j < a->n; j++) {
            if (!done[j] && server[j] == server[i]) {
                want[k++] = j;
                done[j] = 1;
            }
        }
        rv = fetch(m, server[i], a->keys, want, k, a->values, a->lens, NULL, fail, p);
    }
    if (rv != APR_SUCCESS) {
        for (i = 0; i < a->n; i++) {
            a->values[i] = NULL;
            a->lens[i] = 0;
        }
    }
    return rv;
}

static apr_status_t mc_get(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                           apr_pool_t *p)
{
    get_args_t a = {&key, 1, value, len};
    apr_status_t rv = run(kv->impl, "get", get_op, &a, p);

    if (rv == APR_SUCCESS && *value == NULL) {
        rv = APR_NOTFOUND;
    }
    return rv;
}

static apr_status_t mc_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                                unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    get_args_t a = {keys, n, values, lens};

    return run(kv->impl, "get_many", get_op, &a, p);
}

/* ---- set, add, remove ------------------------------------------------------------------- */

typedef struct {
    const char *key;
    const unsigned char *value;
    apr_size_t len;
    apr_time_t expiry;
    int only_new;
} store_args_t;

static apr_status_t store_op(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                             mc_fail_t *fail, apr_pool_t *p)
{
    store_args_t *a = args;
    time_t exp = exptime(a->expiry, apr_time_now());
    memcached_return_t rc;

    if (a->only_new) {
        rc = memcached_add(m, a->key, strlen(a->key), (const char *)a->value, a->len, exp, 0);
        if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) {
            return APR_EEXIST;
        }
    }
    else {
        rc = memcached_set(m, a->key, strlen(a->key), (const char *)a->value, a->len, exp, 0);
    }
    if (rc != MEMCACHED_SUCCESS) {
        return failed(fail, rc, server_of(m, a->key));
    }
    return APR_SUCCESS;
}

static apr_status_t mc_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    store_args_t a = {key, value, len, expiry, 0};

    return run(kv->impl, "set", store_op, &a, p);
}

static apr_status_t mc_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    store_args_t a = {key, value, len, expiry, 1};

    return run(kv->impl, "add", store_op, &a, p);
}

static apr_status_t remove_op(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                              mc_fail_t *fail, apr_pool_t *p)
{
    const char *key = args;
    memcached_return_t rc = memcached_delete(m, key, strlen(key), 0);

    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
        return failed(fail, rc, server_of(m, key));
    }
    return APR_SUCCESS;
}

static apr_status_t mc_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    return run(kv->impl, "remove", remove_op, (void *)key, p);
}

/* ---- sets: one value (ipsie_kv_set_value_*), changed by gets and cas -------------------- */

/* A pause before the next try, longer after each lost race, random so racers spread out. */
static void back_off(int attempt, apr_time_t deadline)
{
    static __thread unsigned int seed;
    apr_time_t most = (apr_time_t)100 << (attempt < 6 ? attempt : 6);
    apr_time_t left = deadline - ipsie_kv_clock();

    if (seed == 0) {
        seed = (unsigned int)ipsie_kv_clock() ^ (unsigned int)(uintptr_t)&seed;
    }
    if (left <= 0) {
        return;
    }
    most = most < left ? most : left;
    apr_sleep((apr_interval_time_t)(rand_r(&seed) % (most + 1)));
}

typedef struct {
    const char *key;
    const char *member;
    apr_time_t expiry; /* set_add's */
    int remove;        /* set_remove instead */
} set_change_args_t;

/* set_add and set_remove: gets, the set's new value (ipsie_kv_set_value_*), then cas (or add
 * when there is no set yet), again when another writer came first. A set left empty is written
 * empty, to expire at once: a delete could not tell whether someone added a member meanwhile. */
static apr_status_t set_change_op(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                                  mc_fail_t *fail, apr_pool_t *p)
{
    set_change_args_t *a = args;
    const char *keys[1] = {a->key};
    int want[1] = {0};
    int server = server_of(m, a->key);
    apr_int64_t until = apr_time_sec(a->expiry) + (a->expiry % APR_USEC_PER_SEC != 0);
    int attempt;

    for (attempt = 0; attempt < SET_ADD_TRIES; attempt++) {
        unsigned char *old = NULL;
        apr_size_t old_len = 0;
        uint64_t cas = 0;
        apr_int64_t keep;
        apr_time_t now = apr_time_now();
        const char *value;
        memcached_return_t rc;
        apr_status_t rv;

        if (attempt > 0) {
            if (ipsie_kv_clock() >= deadline) {
                break;
            }
            back_off(attempt, deadline);
            clamp_waits(m, deadline);
        }
        rv = fetch(m, server, keys, want, 1, &old, &old_len, &cas, fail, p);
        if (rv != APR_SUCCESS || (old == NULL && a->remove)) {
            return rv;
        }
        rv = a->remove ? ipsie_kv_set_value_remove(&value, &keep, old, old_len, a->member,
                                                   apr_time_sec(now), p)
                       : ipsie_kv_set_value_add(&value, &keep, old, old_len, a->member, until,
                                                apr_time_sec(now), p);
        if (rv == IPSIE_ERR_TOO_LARGE) {
            return rv;
        }
        if (rv != APR_SUCCESS) {
            return garbled(fail, "a set's value that set_add did not write", server);
        }
        if (value == NULL) {
            return APR_SUCCESS;
        }
        if (*value == '\0') {
            keep = apr_time_sec(now);
            value = apr_psprintf(p, "%" APR_INT64_T_FMT "\n", keep);
        }
        rc = old == NULL ? memcached_add(m, a->key, strlen(a->key), value, strlen(value),
                                         exptime(apr_time_from_sec(keep), now), 0)
                         : memcached_cas(m, a->key, strlen(a->key), value, strlen(value),
                                         exptime(apr_time_from_sec(keep), now), 0, cas);
        if (rc == MEMCACHED_SUCCESS || (a->remove && rc == MEMCACHED_NOTFOUND)) {
            return APR_SUCCESS;
        }
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_NOTSTORED) {
            return failed(fail, rc, server);
        }
    }
    return garbled(fail, "a set changed by too many writers at once", server);
}

static apr_status_t mc_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                               apr_time_t expiry, apr_pool_t *p)
{
    set_change_args_t a = {key, member, expiry, 0};

    return run(kv->impl, "set_add", set_change_op, &a, p);
}

static apr_status_t mc_set_remove(ipsie_kv_t *kv, const char *key, const char *member,
                                  apr_pool_t *p)
{
    set_change_args_t a = {key, member, 0, 1};

    return run(kv->impl, "set_remove", set_change_op, &a, p);
}

typedef struct {
    const char *key;
    apr_array_header_t **members;
} members_args_t;

static apr_status_t members_op(mc_t *mc, memcached_st *m, void *args, apr_time_t deadline,
                               mc_fail_t *fail, apr_pool_t *p)
{
    members_args_t *a = args;
    const char *keys[1] = {a->key};
    int want[1] = {0};
    int server = server_of(m, a->key);
    unsigned char *value = NULL;
    apr_size_t len = 0;
    apr_int64_t until;
    apr_status_t rv;

    rv = fetch(m, server, keys, want, 1, &value, &len, NULL, fail, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (value == NULL) {
        *a->members = apr_array_make(p, 1, sizeof(const char *));
        return APR_SUCCESS;
    }
    /* NUL-terminated by fetch: a NUL inside is no set of ours either. */
    if (strlen((const char *)value) != len
        || !ipsie_kv_set_value_parse(&until, a->members, value, len, apr_time_sec(apr_time_now()),
                                     p)) {
        *a->members = NULL;
        return garbled(fail, "a set's value that set_add did not write", server);
    }
    return APR_SUCCESS;
}

static apr_status_t mc_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                   apr_pool_t *p)
{
    members_args_t a = {key, members};

    return run(kv->impl, "set_members", members_op, &a, p);
}

static const ipsie_kv_ops_t memcache_ops = {"memcache", mc_get,         mc_get_many,
                                            mc_set,     mc_add,         mc_remove,
                                            mc_set_add, mc_set_members, mc_set_remove};

static apr_status_t master_cleanup(void *data)
{
    memcached_free(data);
    return APR_SUCCESS;
}

apr_status_t ipsie_kv_memcache_create(ipsie_kv_t **out, const char *servers,
                                      apr_interval_time_t timeout, apr_pool_t *p)
{
    mc_t *mc;
    ipsie_kv_t *kv;
    long ms = ipsie_kv_ms(timeout);
    uint64_t us = (uint64_t)(timeout < INT32_MAX ? timeout : INT32_MAX);
    int i;
    apr_status_t rv;

    *out = NULL;
    if (timeout <= 0) {
        return IPSIE_ERR_MALFORMED;
    }
    mc = apr_pcalloc(p, sizeof(*mc));
    rv = ipsie_kv_parse_servers(&mc->servers, &mc->nservers, servers, IPSIE_KV_SERVERS_MAX, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    mc->timeout = timeout;
    mc->master = memcached_create(NULL);
    if (mc->master == NULL) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, mc->master, master_cleanup, apr_pool_cleanup_null);
    if (memcached_set_memory_allocators(mc->master, kv_malloc, kv_free, kv_realloc, kv_calloc, NULL)
        != MEMCACHED_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < mc->nservers; i++) {
        if (memcached_server_add(mc->master, mc->servers[i].host, (in_port_t)mc->servers[i].port)
            != MEMCACHED_SUCCESS) {
            return IPSIE_ERR_MALFORMED;
        }
    }
    /* Never move keys off a server that fails: they would read as misses elsewhere. */
    if (memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                               MEMCACHED_DISTRIBUTION_CONSISTENT)
            != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)ms)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)ms)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, us)
               != MEMCACHED_SUCCESS
        || memcached_behavior_set(mc->master, MEMCACHED_BEHAVIOR_SND_TIMEOUT, us)
               != MEMCACHED_SUCCESS) {
        return APR_EGENERAL;
    }
    ipsie_kv_pool_create(&mc->conns, IDLE_MAX, conn_close, p);
    kv = apr_pcalloc(p, sizeof(*kv));
    kv->ops = &memcache_ops;
    kv->impl = mc;
    *out = kv;
    return APR_SUCCESS;
}
