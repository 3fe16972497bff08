/* The key-value store on one host: an httpd socache provider (shmcb, the default), behind the
 * same interface as Redis and memcached. Every call holds a global mutex (shmcb is not safe
 * for concurrent use), which also makes add and set_add atomic for every process of the
 * host. The instance and its mutex are made once, in the process pool, and found again after
 * a graceful restart (ap_retained_data), so the sessions it holds survive it: httpd clears the
 * configuration pool at every restart, and a cache made in it would go with it. */
#include <httpd.h>
#include <string.h>

#include <ap_provider.h>
#include <ap_socache.h>
#include <apr_atomic.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_log.h>
#include <util_mutex.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"

APLOG_USE_MODULE(auth_ipsie);

#define MUTEX_TYPE "auth-ipsie-cache"
/* The first read takes this much room; a larger value is read again with what it needs. */
#define FIRST_READ 16384
#define LARGEST_VALUE (1024 * 1024)

typedef struct {
    char *spec; /* "provider[:args]" it was made for */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    server_rec *s;
    apr_shm_t *marks;               /* shared by the processes: */
    volatile apr_uint32_t *revoked; /* a revocation was ever written to this store */
} socache_kv_t;

/* The mutexes of this generation, for child_init to attach. */
static apr_array_header_t *generation_mutexes;

void auth_ipsie_kv_socache_register(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    generation_mutexes = NULL;
}

static apr_status_t lock(socache_kv_t *kv)
{
    apr_status_t rv = apr_global_mutex_lock(kv->mutex);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, kv->s, "IPSIE09101: cannot lock the %s cache",
                     kv->provider->name);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

static void unlock(socache_kv_t *kv)
{
    apr_global_mutex_unlock(kv->mutex);
}

/* Retrieve under the lock: APR_SUCCESS, APR_NOTFOUND, or IPSIE_ERR_KV. */
static apr_status_t retrieve(socache_kv_t *kv, const char *key, unsigned char **value,
                             apr_size_t *len, apr_pool_t *p)
{
    unsigned int room = FIRST_READ;
    apr_status_t rv;

    for (;;) {
        unsigned char *buf = apr_palloc(p, room + 1);
        unsigned int got = room;

        rv = kv->provider->retrieve(kv->instance, kv->s, (const unsigned char *)key,
                                    (unsigned int)strlen(key), buf, &got, p);
        if (rv == APR_SUCCESS) {
            buf[got] = '\0';
            *value = buf;
            *len = got;
            return APR_SUCCESS;
        }
        if (APR_STATUS_IS_NOTFOUND(rv)) {
            return APR_NOTFOUND;
        }
        /* Too small a buffer says so; grow it, within reason. */
        if (APR_STATUS_IS_ENOSPC(rv) && room < LARGEST_VALUE) {
            room *= 4;
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, kv->s, "IPSIE09102: the %s cache failed a read",
                     kv->provider->name);
        return IPSIE_ERR_KV;
    }
}

static apr_status_t store(socache_kv_t *kv, const char *key, const unsigned char *value,
                          apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    apr_status_t rv;

    if (len > LARGEST_VALUE) {
        return IPSIE_ERR_KV;
    }
    rv = kv->provider->store(kv->instance, kv->s, (const unsigned char *)key,
                             (unsigned int)strlen(key), expiry, (unsigned char *)value,
                             (unsigned int)len, p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, kv->s,
                     "IPSIE09103: the %s cache cannot keep a value of %" APR_SIZE_T_FMT
                     " bytes: it may be full or too small (give it a larger size)",
                     kv->provider->name, len);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

static apr_status_t kv_get(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                           apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    apr_status_t rv = lock(sk);

    if (rv == APR_SUCCESS) {
        rv = retrieve(sk, key, value, len, p);
        unlock(sk);
    }
    return rv;
}

static apr_status_t kv_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                                unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    apr_status_t rv = lock(sk);
    int i;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = retrieve(sk, keys[i], &values[i], &lens[i], p);
        if (rv == APR_NOTFOUND) {
            values[i] = NULL;
            lens[i] = 0;
            rv = APR_SUCCESS;
        }
    }
    unlock(sk);
    return rv;
}

static apr_status_t kv_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    apr_status_t rv = lock(sk);

    if (rv == APR_SUCCESS) {
        rv = store(sk, key, value, len, expiry, p);
        unlock(sk);
    }
    return rv;
}

static apr_status_t kv_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    unsigned char *old;
    apr_size_t old_len;
    apr_status_t rv = lock(sk);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Under the lock nobody else reads or writes between the two. */
    rv = retrieve(sk, key, &old, &old_len, p);
    if (rv == APR_SUCCESS) {
        rv = APR_EEXIST;
    }
    else if (rv == APR_NOTFOUND) {
        rv = store(sk, key, value, len, expiry, p);
    }
    unlock(sk);
    return rv;
}

static apr_status_t kv_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    apr_status_t rv = lock(sk);

    if (rv == APR_SUCCESS) {
        rv = sk->provider->remove(sk->instance, sk->s, (const unsigned char *)key,
                                  (unsigned int)strlen(key), p);
        unlock(sk);
        /* Nothing there is what remove wants. */
        if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, sk->s,
                         "IPSIE09104: the %s cache failed a removal", sk->provider->name);
            return IPSIE_ERR_KV;
        }
    }
    return rv == APR_SUCCESS || APR_STATUS_IS_NOTFOUND(rv) ? APR_SUCCESS : rv;
}

/* Members of a set value: lines. */
static int has_member(const char *set, apr_size_t len, const char *member)
{
    apr_size_t n = strlen(member);
    const char *line = set;

    while (line < set + len) {
        const char *end = memchr(line, '\n', (apr_size_t)(set + len - line));
        apr_size_t line_len = end ? (apr_size_t)(end - line) : (apr_size_t)(set + len - line);
        if (line_len == n && memcmp(line, member, n) == 0) {
            return 1;
        }
        line += line_len + 1;
    }
    return 0;
}

static apr_status_t kv_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                               apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    unsigned char *old = NULL;
    apr_size_t old_len = 0;
    const char *joined;
    apr_status_t rv = lock(sk);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = retrieve(sk, key, &old, &old_len, p);
    if (rv == APR_NOTFOUND) {
        old = (unsigned char *)"";
        old_len = 0;
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS && !has_member((const char *)old, old_len, member)) {
        joined = old_len > 0 ? apr_pstrcat(p, (const char *)old, "\n", member, NULL) : member;
        rv = store(sk, key, (const unsigned char *)joined, strlen(joined), expiry, p);
    }
    unlock(sk);
    return rv;
}

static apr_status_t kv_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                   apr_pool_t *p)
{
    unsigned char *value;
    apr_size_t len;
    char *last;
    char *line;
    apr_status_t rv = kv_get(kv, key, &value, &len, p);

    *members = apr_array_make(p, 4, sizeof(const char *));
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (line = apr_strtok((char *)value, "\n", &last); line != NULL;
         line = apr_strtok(NULL, "\n", &last)) {
        APR_ARRAY_PUSH(*members, const char *) = line;
    }
    return APR_SUCCESS;
}

static const ipsie_kv_ops_t socache_ops = {
    "socache", kv_get, kv_get_many, kv_set, kv_add, kv_remove, kv_set_add, kv_set_members,
};

/* The retained record of spec, made once for the life of the httpd parent. */
static socache_kv_t *retained(const char *spec, server_rec *s)
{
    const char *key = apr_pstrcat(s->process->pool, "auth_ipsie_kv:", spec, NULL);
    socache_kv_t *sk = ap_retained_data_get(key);

    if (sk == NULL) {
        sk = ap_retained_data_create(key, sizeof(*sk));
        memset(sk, 0, sizeof(*sk));
    }
    return sk;
}

const char *auth_ipsie_kv_socache_check(const char *spec, apr_pool_t *p)
{
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec)) : spec;

    if (ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION) == NULL) {
        return apr_psprintf(p,
                            "IPSIESessionCache %s: the socache provider '%s' is not loaded: load "
                            "it (e.g. LoadModule socache_%s_module modules/mod_socache_%s.so, "
                            "or a2enmod socache_%s)",
                            spec, name, name, name, name);
    }
    return NULL;
}

apr_status_t auth_ipsie_kv_socache_create(ipsie_kv_t **out, const char *spec, server_rec *s,
                                          apr_pool_t *pconf)
{
    apr_pool_t *pproc = s->process->pool;
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrmemdup(pconf, spec, (apr_size_t)(colon - spec)) : spec;
    socache_kv_t *sk = retained(spec, s);
    struct ap_socache_hints hints = {IPSIE_KV_KEY_MAX, FIRST_READ, 300 * APR_USEC_PER_SEC};
    ipsie_kv_t *kv;
    const char *err;
    apr_status_t rv;

    *out = NULL;
    sk->s = s;
    if (sk->instance == NULL) {
        /* Made once in the process pool: it outlives every graceful restart. */
        sk->provider =
            ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
        if (sk->provider == NULL) {
            return APR_ENOTIMPL;
        }
        err = sk->provider->create(&sk->instance, colon ? colon + 1 : NULL, pconf, pproc);
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "IPSIE10008: IPSIESessionCache %s: %s",
                         spec, err);
            sk->instance = NULL;
            return APR_EINVAL;
        }
        rv = sk->provider->init(sk->instance, "auth_ipsie", &hints, s, pproc);
        if (rv == APR_SUCCESS) {
            rv = ap_global_mutex_create(&sk->mutex, NULL, MUTEX_TYPE, spec, s, pproc, 0);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "IPSIE10009: IPSIESessionCache %s cannot be set up", spec);
            sk->instance = NULL;
            return rv;
        }
        rv = apr_shm_create(&sk->marks, sizeof(apr_uint32_t), NULL, pproc);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "IPSIE10009: IPSIESessionCache %s cannot be set up", spec);
            sk->instance = NULL;
            return rv;
        }
        sk->revoked = apr_shm_baseaddr_get(sk->marks);
        apr_atomic_set32(sk->revoked, 0);
        sk->spec = apr_pstrdup(pproc, spec);
    }
    if (generation_mutexes == NULL) {
        generation_mutexes = apr_array_make(pconf, 2, sizeof(apr_global_mutex_t *));
    }
    APR_ARRAY_PUSH(generation_mutexes, apr_global_mutex_t *) = sk->mutex;
    kv = apr_pcalloc(pconf, sizeof(*kv));
    kv->ops = &socache_ops;
    kv->impl = sk;
    *out = kv;
    return APR_SUCCESS;
}

int auth_ipsie_kv_socache_is(const ipsie_kv_t *kv)
{
    return kv != NULL && kv->ops == &socache_ops;
}

void auth_ipsie_kv_socache_note_revocation(ipsie_kv_t *kv)
{
    apr_atomic_set32(((socache_kv_t *)kv->impl)->revoked, 1);
}

int auth_ipsie_kv_socache_any_revocation(const ipsie_kv_t *kv)
{
    return apr_atomic_read32(((const socache_kv_t *)kv->impl)->revoked) != 0;
}

void auth_ipsie_kv_socache_child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    for (i = 0; generation_mutexes != NULL && i < generation_mutexes->nelts; i++) {
        apr_global_mutex_t **m = &APR_ARRAY_IDX(generation_mutexes, i, apr_global_mutex_t *);
        apr_status_t rv = apr_global_mutex_child_init(m, apr_global_mutex_lockfile(*m), pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "IPSIE10010: a child cannot attach the session cache's mutex");
        }
    }
}
