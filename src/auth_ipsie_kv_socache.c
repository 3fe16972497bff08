/* The key-value store on one host: an httpd socache provider (shmcb, the default), behind the
 * same interface as Redis and memcached. Every call holds a global mutex (shmcb is not safe
 * for concurrent use), which also makes add and set_add atomic for every process of the host.
 *
 * The store is made once for the life of the httpd parent and found again after a graceful
 * restart (ap_retained_data), so the sessions it holds survive it: httpd clears the
 * configuration pool at every restart, and a cache made in it would go with it. It lives in a
 * pool of its own that nothing ever clears, because httpd unloads and loads the provider's
 * module again at every restart, perhaps at another address: a cleanup the provider left in a
 * pool that outlives its module would call into nothing. For the same reason the provider's
 * functions are looked up again in every generation, never kept.
 *
 * shmcb drops its oldest entries, silently, when a write needs room. So that a flood of one
 * kind of entry cannot push out another, shmcb is made as three instances: sessions and their
 * indexes, revocation entries, and single-use marks (login states, logout tokens: the only
 * entries a stranger can make the server write). Each entry's id starts with a byte of a hash
 * of its key: shmcb chooses the part of its memory an entry goes to by the first byte, and our
 * keys all begin alike. */
#include <httpd.h>
#include <string.h>

#include <ap_provider.h>
#include <ap_socache.h>
#include <apr_atomic.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_core.h>
#include <util_mutex.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"

APLOG_USE_MODULE(auth_ipsie);

#define MUTEX_TYPE "auth-ipsie-cache"
/* The first read takes this much room; a miss is read again with room for the largest value
 * the part holds (shmcb answers "not found" for a value larger than the room given). */
#define FIRST_READ 16384
/* Sessions (with their ID token) and index sets: what a session part holds at most. */
#define LARGEST_SESSION_VALUE (128 * 1024)
/* Revocation entries and marks are a few bytes. */
#define LARGEST_SMALL_VALUE 256
/* shmcb's sizes when the configuration gives none: sessions, and each small part. */
#define SHMCB_SESSIONS_SIZE (32 * 1024 * 1024)
#define SHMCB_SMALL_MIN (1024 * 1024)
#define SHMCB_SMALL_SHARE 8
/* The average key: "ipsie:<kind>:" and 43 characters of hash, with the leading byte. */
#define AVERAGE_KEY 56

typedef enum { PART_SESSIONS = 0, PART_REVOCATIONS, PART_MARKS, PARTS } part_e;

static const char *const part_labels[PARTS] = {"sessions", "revocations", "marks"};
/* shmcb sizes its index by the average entry it is told about. */
static const apr_size_t part_average[PARTS] = {2048, 24, 8};

typedef struct {
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    unsigned int largest; /* the largest value it takes */
} part_t;

/* Retained across restarts: the store of one IPSIESessionCache spec. */
typedef struct {
    char *spec;
    char *provider_name;
    int nparts; /* 1: one instance takes every kind; PARTS: one per kind (shmcb) */
    part_t parts[PARTS];
    apr_pool_t *keep; /* never cleared: the instances live here */
    apr_shm_t *flags;
    volatile apr_uint32_t *revoked; /* shared by the processes: a revocation was ever written */
    int generation;                 /* the last configuration generation that used it */
} retained_t;

/* What one generation uses: the retained store with this generation's provider. */
typedef struct {
    retained_t *kept;
    const ap_socache_provider_t *provider;
    server_rec *s;
} socache_kv_t;

/* The mutexes of this generation, for child_init to attach. */
static apr_array_header_t *generation_mutexes;

void auth_ipsie_kv_socache_register(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    generation_mutexes = NULL;
}

/* The part that keeps key: by the kind in "ipsie:<kind>:...". */
static part_t *part_of(socache_kv_t *sk, const char *key)
{
    part_e which = PART_MARKS;

    if (sk->kept->nparts == 1) {
        return &sk->kept->parts[0];
    }
    if (strncmp(key, "ipsie:", 6) == 0) {
        const char *kind = key + 6;
        const char *end = strchr(kind, ':');
        apr_size_t n = end ? (apr_size_t)(end - kind) : 0;

        if ((n == 1 && kind[0] == 's') || (n == 2 && kind[0] == 'x')) {
            which = PART_SESSIONS;
        }
        else if (n == 2 && kind[0] == 'r') {
            which = PART_REVOCATIONS;
        }
    }
    return &sk->kept->parts[which];
}

/* The socache id of key: a byte of FNV-1a over key, then key. */
static unsigned int socache_id(unsigned char *id, const char *key)
{
    apr_uint32_t h = 2166136261u;
    apr_size_t n = strlen(key);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    }
    id[0] = (unsigned char)(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
    memcpy(id + 1, key, n);
    return (unsigned int)(n + 1);
}

static apr_status_t lock(socache_kv_t *sk, part_t *part)
{
    apr_status_t rv = apr_global_mutex_lock(part->mutex);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, sk->s, "IPSIE09101: cannot lock the %s cache",
                     sk->provider->name);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

static void unlock(part_t *part)
{
    apr_global_mutex_unlock(part->mutex);
}

/* Retrieve under the lock: APR_SUCCESS, APR_NOTFOUND, or IPSIE_ERR_KV. */
static apr_status_t retrieve(socache_kv_t *sk, part_t *part, const char *key, unsigned char **value,
                             apr_size_t *len, apr_pool_t *p)
{
    unsigned char id[1 + IPSIE_KV_KEY_MAX];
    unsigned int idlen = socache_id(id, key);
    unsigned int room = part->largest < FIRST_READ ? part->largest : FIRST_READ;
    apr_status_t rv;

    for (;;) {
        unsigned char *buf = apr_palloc(p, room + 1);
        unsigned int got = room;

        rv = sk->provider->retrieve(part->instance, sk->s, id, idlen, buf, &got, p);
        if (rv == APR_SUCCESS) {
            buf[got] = '\0';
            *value = buf;
            *len = got;
            return APR_SUCCESS;
        }
        /* Too small a room reads as a miss (shmcb) or says so (others): once more with room
         * for the largest value there can be. */
        if ((APR_STATUS_IS_NOTFOUND(rv) || APR_STATUS_IS_ENOSPC(rv)) && room < part->largest) {
            room = part->largest;
            continue;
        }
        if (APR_STATUS_IS_NOTFOUND(rv)) {
            return APR_NOTFOUND;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, sk->s, "IPSIE09102: the %s cache failed a read",
                     sk->provider->name);
        return IPSIE_ERR_KV;
    }
}

static apr_status_t store(socache_kv_t *sk, part_t *part, const char *key,
                          const unsigned char *value, apr_size_t len, apr_time_t expiry,
                          apr_pool_t *p)
{
    unsigned char id[1 + IPSIE_KV_KEY_MAX];
    unsigned int idlen = socache_id(id, key);
    apr_status_t rv = APR_ENOSPC;

    if (len <= part->largest) {
        rv = sk->provider->store(part->instance, sk->s, id, idlen, expiry, (unsigned char *)value,
                                 (unsigned int)len, p);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, sk->s,
                     "IPSIE09103: the %s cache cannot keep a value of %" APR_SIZE_T_FMT
                     " bytes: it may be too small (give it a larger size)",
                     sk->provider->name, len);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

static apr_status_t kv_get(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                           apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    apr_status_t rv = lock(sk, part);

    if (rv == APR_SUCCESS) {
        rv = retrieve(sk, part, key, value, len, p);
        unlock(part);
    }
    return rv;
}

static apr_status_t kv_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                                unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = kv_get(kv, keys[i], &values[i], &lens[i], p);
        if (rv == APR_NOTFOUND) {
            values[i] = NULL;
            lens[i] = 0;
            rv = APR_SUCCESS;
        }
    }
    return rv;
}

static apr_status_t kv_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    apr_status_t rv = lock(sk, part);

    if (rv == APR_SUCCESS) {
        rv = store(sk, part, key, value, len, expiry, p);
        unlock(part);
    }
    return rv;
}

static apr_status_t kv_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                           apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    unsigned char *old;
    apr_size_t old_len;
    apr_status_t rv = lock(sk, part);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Under the lock nobody else reads or writes between the two. */
    rv = retrieve(sk, part, key, &old, &old_len, p);
    if (rv == APR_SUCCESS) {
        rv = APR_EEXIST;
    }
    else if (rv == APR_NOTFOUND) {
        rv = store(sk, part, key, value, len, expiry, p);
    }
    unlock(part);
    return rv;
}

static apr_status_t kv_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    unsigned char id[1 + IPSIE_KV_KEY_MAX];
    unsigned int idlen = socache_id(id, key);
    apr_status_t rv = lock(sk, part);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = sk->provider->remove(part->instance, sk->s, id, idlen, p);
    unlock(part);
    /* Nothing there is what remove wants. */
    if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, sk->s, "IPSIE09104: the %s cache failed a removal",
                     sk->provider->name);
        return IPSIE_ERR_KV;
    }
    return APR_SUCCESS;
}

/* Sets are one value (ipsie_kv_set_value_*), changed under the lock. */
static apr_status_t kv_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                               apr_time_t expiry, apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    unsigned char *old = NULL;
    apr_size_t old_len = 0;
    apr_int64_t until = apr_time_sec(expiry) + (expiry % APR_USEC_PER_SEC != 0);
    apr_int64_t keep;
    const char *value;
    apr_status_t rv = lock(sk, part);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = retrieve(sk, part, key, &old, &old_len, p);
    if (rv == APR_NOTFOUND) {
        old = NULL;
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = ipsie_kv_set_value_add(&value, &keep, old, old_len, member, until,
                                    apr_time_sec(apr_time_now()), p);
        if (rv != APR_SUCCESS && rv != IPSIE_ERR_TOO_LARGE) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, sk->s,
                         "IPSIE09105: the %s cache holds a set that does not read",
                         sk->provider->name);
            rv = IPSIE_ERR_KV;
        }
    }
    if (rv == APR_SUCCESS && value != NULL) {
        rv = store(sk, part, key, (const unsigned char *)value, strlen(value),
                   apr_time_from_sec(keep), p);
    }
    unlock(part);
    return rv;
}

static apr_status_t kv_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                   apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    unsigned char *value;
    apr_size_t len;
    apr_int64_t until;
    apr_status_t rv = kv_get(kv, key, &value, &len, p);

    *members = apr_array_make(p, 1, sizeof(const char *));
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS
        && !ipsie_kv_set_value_parse(&until, members, value, len, apr_time_sec(apr_time_now()),
                                     p)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sk->s,
                     "IPSIE09105: the %s cache holds a set that does not read", sk->provider->name);
        rv = IPSIE_ERR_KV;
    }
    return rv;
}

static apr_status_t kv_set_remove(ipsie_kv_t *kv, const char *key, const char *member,
                                  apr_pool_t *p)
{
    socache_kv_t *sk = kv->impl;
    part_t *part = part_of(sk, key);
    unsigned char *old = NULL;
    apr_size_t old_len = 0;
    apr_int64_t keep;
    const char *value = NULL;
    apr_status_t rv = lock(sk, part);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = retrieve(sk, part, key, &old, &old_len, p);
    if (rv == APR_SUCCESS
        && ipsie_kv_set_value_remove(&value, &keep, old, old_len, member,
                                     apr_time_sec(apr_time_now()), p)
               != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sk->s,
                     "IPSIE09105: the %s cache holds a set that does not read", sk->provider->name);
        rv = IPSIE_ERR_KV;
    }
    if (rv == APR_SUCCESS && value != NULL && *value != '\0') {
        rv = store(sk, part, key, (const unsigned char *)value, strlen(value),
                   apr_time_from_sec(keep), p);
    }
    else if (rv == APR_SUCCESS && value != NULL) {
        unsigned char id[1 + IPSIE_KV_KEY_MAX];
        unsigned int idlen = socache_id(id, key);
        apr_status_t gone = sk->provider->remove(part->instance, sk->s, id, idlen, p);

        if (gone != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(gone)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, gone, sk->s,
                         "IPSIE09104: the %s cache failed a removal", sk->provider->name);
            rv = IPSIE_ERR_KV;
        }
    }
    unlock(part);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

static const ipsie_kv_ops_t socache_ops = {
    "socache", kv_get,     kv_get_many,    kv_set,        kv_add,
    kv_remove, kv_set_add, kv_set_members, kv_set_remove,
};

/* The retained record of spec, made once for the life of the httpd parent: one per provider
 * and arguments, for shmcb per path whatever the size (a new size cannot be given to memory
 * made already: it waits for a full restart rather than start an empty store, which would
 * forget every revocation). */
static retained_t *retained(const char *spec, apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, "auth_ipsie_kv:", spec, NULL);
    retained_t *kept;

    if (strcmp(spec, "shmcb") == 0 || strncmp(spec, "shmcb:", 6) == 0) {
        const char *path = spec[5] == ':' ? spec + 6 : "";
        const char *open = strrchr(path, '(');

        if (open != NULL) {
            path = apr_pstrmemdup(p, path, (apr_size_t)(open - path));
        }
        key = apr_pstrcat(p, "auth_ipsie_kv:shmcb:", *path ? path : "ipsie-cache", NULL);
    }
    /* httpd keeps a copy of the key. */
    kept = ap_retained_data_get(key);
    if (kept == NULL) {
        kept = ap_retained_data_create(key, sizeof(*kept));
        memset(kept, 0, sizeof(*kept));
    }
    return kept;
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

/* shmcb's argument for part: the configured "path(size)" (either may be absent) with the
 * part's name after the path, and its size: the configured one (or ours) for sessions, an
 * eighth of it (at least 1 MiB) for each small part. NULL with *err when it does not read. */
static const char *shmcb_arg(const char *args, part_e part, const char **err, apr_pool_t *p)
{
    const char *path = args != NULL && *args != '\0' ? args : "ipsie-cache";
    const char *open = strrchr(path, '(');
    apr_int64_t size = SHMCB_SESSIONS_SIZE;

    *err = NULL;
    if (open != NULL) {
        char *end;
        size = apr_strtoi64(open + 1, &end, 10);
        if (end == open + 1 || strcmp(end, ")") != 0 || size < 8192) {
            *err = "the size in shmcb:path(size) must be a number of bytes, at least 8192";
            return NULL;
        }
        path = open == path ? "ipsie-cache" : apr_pstrmemdup(p, path, (apr_size_t)(open - path));
    }
    if (part != PART_SESSIONS) {
        size /= SHMCB_SMALL_SHARE;
        if (size < SHMCB_SMALL_MIN) {
            size = SHMCB_SMALL_MIN;
        }
    }
    return apr_psprintf(p, "%s.%s(%" APR_INT64_T_FMT ")", path, part_labels[part], size);
}

/* A short name for the mutex of a part, safe in a file name: a hash of the spec. */
static const char *mutex_name(const char *spec, int part, apr_pool_t *p)
{
    apr_uint32_t h = 2166136261u;
    const char *c;

    for (c = spec; *c != '\0'; c++) {
        h = (h ^ (unsigned char)*c) * 16777619u;
    }
    return apr_psprintf(p, "%08x-%d", (unsigned int)h, part);
}

/* Make the instances of kept: once for the life of the parent. */
static apr_status_t make(retained_t *kept, const ap_socache_provider_t *provider, const char *spec,
                         const char *args, server_rec *s, apr_pool_t *pconf)
{
    apr_pool_t *pproc = s->process->pool;
    int shmcb = strcmp(kept->provider_name, "shmcb") == 0;
    apr_status_t rv;
    int i;

    rv = apr_pool_create_unmanaged_ex(&kept->keep, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    kept->nparts = shmcb ? PARTS : 1;
    for (i = 0; i < kept->nparts; i++) {
        part_t *part = &kept->parts[i];
        struct ap_socache_hints hints = {AVERAGE_KEY, shmcb ? part_average[i] : 2048,
                                         300 * APR_USEC_PER_SEC};
        const char *arg = args;
        const char *err = NULL;

        if (shmcb) {
            arg = shmcb_arg(args, (part_e)i, &err, pconf);
        }
        if (err == NULL) {
            err = provider->create(&part->instance, arg, pconf, kept->keep);
        }
        if (err != NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "IPSIE10008: IPSIESessionCache %s: %s",
                         spec, err);
            return APR_EINVAL;
        }
        rv = provider->init(part->instance, apr_pstrcat(pconf, "auth_ipsie_", part_labels[i], NULL),
                            &hints, s, kept->keep);
        if (rv == APR_SUCCESS) {
            rv = ap_global_mutex_create(&part->mutex, NULL, MUTEX_TYPE, mutex_name(spec, i, pconf),
                                        s, pproc, 0);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "IPSIE10009: IPSIESessionCache %s cannot be set up (%s)", spec,
                         part_labels[i]);
            return rv;
        }
        part->largest = shmcb && i != PART_SESSIONS ? LARGEST_SMALL_VALUE : LARGEST_SESSION_VALUE;
    }
    rv = apr_shm_create(&kept->flags, sizeof(apr_uint32_t), NULL, pproc);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "IPSIE10009: IPSIESessionCache %s cannot be set up", spec);
        return rv;
    }
    kept->revoked = apr_shm_baseaddr_get(kept->flags);
    apr_atomic_set32(kept->revoked, 0);
    kept->spec = apr_pstrdup(kept->keep, spec);
    return APR_SUCCESS;
}

apr_status_t auth_ipsie_kv_socache_create(ipsie_kv_t **out, const char *spec, server_rec *s,
                                          apr_pool_t *pconf)
{
    const char *colon = strchr(spec, ':');
    const char *name = colon ? apr_pstrmemdup(pconf, spec, (apr_size_t)(colon - spec)) : spec;
    retained_t *kept = retained(spec, pconf);
    socache_kv_t *sk = apr_pcalloc(pconf, sizeof(*sk));
    ipsie_kv_t *kv;
    apr_status_t rv;
    int i;

    *out = NULL;
    /* This generation's provider: its module was loaded again, maybe elsewhere. */
    sk->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (sk->provider == NULL) {
        return APR_ENOTIMPL;
    }
    if (kept->spec == NULL) {
        kept->provider_name = apr_pstrdup(s->process->pool, name);
        rv = make(kept, sk->provider, spec, colon ? colon + 1 : NULL, s, pconf);
        if (rv != APR_SUCCESS) {
            /* Nothing kept: the next generation starts over. The provider's module is still
             * the one that made what is cleared here. */
            if (kept->keep != NULL) {
                apr_pool_destroy(kept->keep);
            }
            memset(kept, 0, sizeof(*kept));
            return rv;
        }
    }
    if (strcmp(kept->spec, spec) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "IPSIE10013: IPSIESessionCache %s: a new size takes effect at the next full "
                     "stop and start; until then the store made as %s stays, with what it holds",
                     spec, kept->spec);
    }
    sk->kept = kept;
    sk->s = s;
    /* Every child of this generation attaches each mutex once. */
    if (generation_mutexes == NULL || kept->generation != ap_state_query(AP_SQ_CONFIG_GEN)) {
        kept->generation = ap_state_query(AP_SQ_CONFIG_GEN);
        if (generation_mutexes == NULL) {
            generation_mutexes = apr_array_make(pconf, 4, sizeof(apr_global_mutex_t *));
        }
        for (i = 0; i < kept->nparts; i++) {
            APR_ARRAY_PUSH(generation_mutexes, apr_global_mutex_t *) = kept->parts[i].mutex;
        }
    }
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
    apr_atomic_set32(((socache_kv_t *)kv->impl)->kept->revoked, 1);
}

int auth_ipsie_kv_socache_any_revocation(const ipsie_kv_t *kv)
{
    return apr_atomic_read32(((const socache_kv_t *)kv->impl)->kept->revoked) != 0;
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
