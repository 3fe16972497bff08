/* A key-value store that the servers of a site share (Redis, memcached) or that one host
 * keeps (httpd's shmcb socache): where server-side sessions, revocation entries and
 * single-use marks live. Every operation is bounded in time, and a miss is told apart from
 * an outage: a store that is down, slow or answers garbage gives IPSIE_ERR_KV, never a miss.
 * Values are opaque bytes (callers encrypt what must stay secret); keys are printable ASCII
 * without spaces, at most IPSIE_KV_KEY_MAX bytes. One ipsie_kv_t serves every thread and
 * every child process of httpd (connections are made in the process that uses them, never
 * shared across a fork); its pool must outlive every operation in flight.
 * IPSIE_ERR_KV after a write means "outcome unknown": a write sent to a server that froze
 * may still be carried out when it wakes up. */
#ifndef IPSIE_KV_H
#define IPSIE_KV_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define IPSIE_KV_KEY_MAX 200
#define IPSIE_KV_SERVERS_MAX 16

typedef struct ipsie_kv_t ipsie_kv_t;

/* What a store does; each implementation fills one. */
typedef struct {
    const char *name; /* "redis", "memcache", "shmcb", ... for logs */
    /* key's value into *value (*len bytes, allocated from p, NUL-terminated for
     * convenience): APR_SUCCESS, APR_NOTFOUND for a miss, IPSIE_ERR_KV. */
    apr_status_t (*get)(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                        apr_pool_t *p);
    /* Several keys in one round trip: values[i] NULL (lens[i] 0) for a miss. APR_SUCCESS or
     * IPSIE_ERR_KV. */
    apr_status_t (*get_many)(ipsie_kv_t *kv, const char *const *keys, int n, unsigned char **values,
                             apr_size_t *lens, apr_pool_t *p);
    /* Keep value under key until expiry (absolute). APR_SUCCESS or IPSIE_ERR_KV. */
    apr_status_t (*set)(ipsie_kv_t *kv, const char *key, const unsigned char *value, apr_size_t len,
                        apr_time_t expiry, apr_pool_t *p);
    /* The same, only when key is absent, atomically for every server sharing the store:
     * APR_SUCCESS, APR_EEXIST when it is there, IPSIE_ERR_KV. */
    apr_status_t (*add)(ipsie_kv_t *kv, const char *key, const unsigned char *value, apr_size_t len,
                        apr_time_t expiry, apr_pool_t *p);
    /* Remove key; an absent key is a success. APR_SUCCESS or IPSIE_ERR_KV. */
    apr_status_t (*remove)(ipsie_kv_t *kv, const char *key, apr_pool_t *p);
    /* Add member (the same rule as a key) to the set kept at key, made when absent. The member
     * stays at least until expiry (a later expiry extends it, an earlier one never shortens
     * it); members whose expiry passed are dropped, and the set lives until its last member's
     * expiry. Atomic for every server sharing the store. APR_SUCCESS, IPSIE_ERR_TOO_LARGE (a
     * new member of a set of IPSIE_KV_SET_MAX: not added), or IPSIE_ERR_KV. */
    apr_status_t (*set_add)(ipsie_kv_t *kv, const char *key, const char *member, apr_time_t expiry,
                            apr_pool_t *p);
    /* The members of the set at key (const char *) whose expiry has not passed, empty when
     * there is none. APR_SUCCESS or IPSIE_ERR_KV. */
    apr_status_t (*set_members)(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                apr_pool_t *p);
    /* Take member out of the set at key (a set left empty goes); an absent member or set is a
     * success. Atomic for every server sharing the store. APR_SUCCESS or IPSIE_ERR_KV. */
    apr_status_t (*set_remove)(ipsie_kv_t *kv, const char *key, const char *member, apr_pool_t *p);
} ipsie_kv_ops_t;

struct ipsie_kv_t {
    const ipsie_kv_ops_t *ops;
    void *impl; /* the implementation's own */
};

/* Redis (7.0 or later) at "host:port" (TCP; host a name, an IPv4 address or [IPv6]): each
 * operation, connecting included, ends within timeout (ms granularity; name resolution is
 * bounded by the resolver's own timeouts, so prefer addresses). Nothing connects before the
 * first use. IPSIE_ERR_MALFORMED for a bad address or a timeout <= 0. */
apr_status_t ipsie_kv_redis_create(ipsie_kv_t **out, const char *address,
                                   apr_interval_time_t timeout, apr_pool_t *p);

/* memcached at "host:port[,host:port...]" (at most IPSIE_KV_SERVERS_MAX, keys spread over
 * them by consistent hashing: every host of a site must list the same servers in the same
 * spelling). Each of libmemcached's waits (connecting, room to send, a reply) is bounded by
 * what is left of timeout, so an operation ends within timeout when a server is down or
 * frozen, within about twice that when it accepts slowly and then answers slowly. Expiry
 * has whole seconds, rounded up, with one second more for memcached's clock. Nothing
 * connects before the first use. IPSIE_ERR_MALFORMED for a bad list or a timeout <= 0. */
apr_status_t ipsie_kv_memcache_create(ipsie_kv_t **out, const char *servers,
                                      apr_interval_time_t timeout, apr_pool_t *p);

/* Calls through kv->ops, with the keys (and a set's member) checked: IPSIE_ERR_MALFORMED for
 * a bad key or argument, nothing sent. */
apr_status_t ipsie_kv_get(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                          apr_pool_t *p);
apr_status_t ipsie_kv_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                               unsigned char **values, apr_size_t *lens, apr_pool_t *p);
apr_status_t ipsie_kv_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                          apr_size_t len, apr_time_t expiry, apr_pool_t *p);
apr_status_t ipsie_kv_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                          apr_size_t len, apr_time_t expiry, apr_pool_t *p);
apr_status_t ipsie_kv_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p);
apr_status_t ipsie_kv_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                              apr_time_t expiry, apr_pool_t *p);
apr_status_t ipsie_kv_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                  apr_pool_t *p);
apr_status_t ipsie_kv_set_remove(ipsie_kv_t *kv, const char *key, const char *member,
                                 apr_pool_t *p);

/* 1 when key is usable: 1..IPSIE_KV_KEY_MAX printable ASCII characters, no space. */
int ipsie_kv_key_ok(const char *key);

/* A set holds at most this many members whose expiry has not passed. */
#define IPSIE_KV_SET_MAX 1000

/* A set kept as one value, by stores without sets of their own (memcached, httpd's socache):
 * "<the set's expiry>\n" then "<member> <member's expiry>\n" for each member, expiries in
 * Unix seconds, every member a usable key.
 * Parse: 1 when v (len bytes) is one, its members whose expiry is after now (copies in p)
 * into *members and the set's expiry into *until; 0 when it is anything else (a store that
 * holds garbage says so). */
int ipsie_kv_set_value_parse(apr_int64_t *until, apr_array_header_t **members,
                             const unsigned char *v, apr_size_t len, apr_int64_t now,
                             apr_pool_t *p);

/* The value of the set old (old_len bytes; NULL for no set yet) with member added to live at
 * least until until (seconds), the members whose expiry is not after now left out: *value,
 * with *keep the set's expiry (its last member's), or *value NULL when nothing would change.
 * IPSIE_ERR_MALFORMED when old is not a set or member not a usable key; IPSIE_ERR_TOO_LARGE
 * when member is new and the set holds IPSIE_KV_SET_MAX members already. */
apr_status_t ipsie_kv_set_value_add(const char **value, apr_int64_t *keep, const unsigned char *old,
                                    apr_size_t old_len, const char *member, apr_int64_t until,
                                    apr_int64_t now, apr_pool_t *p);

/* The value of the set old without member, the members whose expiry is not after now left out
 * too: *value with *keep its expiry, "" when no member is left (the set is to go), or NULL
 * when nothing would change. IPSIE_ERR_MALFORMED when old is not a set or member not a usable
 * key. */
apr_status_t ipsie_kv_set_value_remove(const char **value, apr_int64_t *keep,
                                       const unsigned char *old, apr_size_t old_len,
                                       const char *member, apr_int64_t now, apr_pool_t *p);

#endif
