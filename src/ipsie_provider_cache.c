/* The per-process cache of the provider's metadata and JWKS: generations a reader may still
 * hold, one fetch at a time per slot, waiters bounded in time and number. */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_provider_cache.h"

#define JWKS_REFRESH_MIN_INTERVAL 10
#define EMPTY_RETRY_INTERVAL 2
#define MIN_TTL 60
#define GENERATION_GRACE 600

/* One fetched value with the unmanaged pool that holds it. */
typedef struct generation_t generation_t;
struct generation_t {
    apr_pool_t *pool;
    const void *value;
    const char *source; /* jwks_uri a JWKS came from */
    long long ttl;      /* seconds it stays fresh */
    long long retired;  /* when a newer generation replaced it; 0 while current */
    generation_t *older;
};

typedef struct {
    generation_t *current; /* newest first, linked through ->older */
    long long fetched;     /* time of the current value */
    long long attempted;   /* when the last fetch ended, successful or not */
    apr_status_t last_rv;  /* how it ended */
    apr_uint64_t ended;    /* fetches ended so far: a waiter watches it move */
    apr_time_t deadline;   /* when the fetch in flight gives up, with a margin */
    int fetching;          /* threads fetching right now */
} slot_t;

struct ipsie_provider_cache_t {
    apr_thread_mutex_t *mutex;  /* guards the slots only, never held across a fetch */
    apr_thread_cond_t *fetched; /* broadcast when a fetch ends, for those waiting on it */
    const char *metadata_url;
    const char *issuer;            /* the provider's name in log lines */
    const char *configured_issuer; /* IPSIEProviderIssuer; NULL: either spelling the URL names */
    long max_ttl;
    ipsie_http_opts_t opts;
    ipsie_gate_t *gate; /* bounds those waiting for the provider; NULL: no bound */
    long long grace;    /* seconds a replaced value stays readable */
    slot_t metadata;
    slot_t jwks;
};

static void destroy_generations(generation_t *g)
{
    generation_t *older;

    while (g != NULL) {
        older = g->older;
        apr_pool_destroy(g->pool);
        g = older;
    }
}

static apr_status_t cache_cleanup(void *baton)
{
    ipsie_provider_cache_t *cache = baton;

    destroy_generations(cache->metadata.current);
    destroy_generations(cache->jwks.current);
    cache->metadata.current = NULL;
    cache->jwks.current = NULL;
    return APR_SUCCESS;
}

apr_status_t ipsie_provider_cache_create(ipsie_provider_cache_t **out, const char *metadata_url,
                                         long max_ttl, const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    ipsie_provider_cache_t *cache;
    apr_status_t rv;

    *out = NULL;
    if (metadata_url == NULL || max_ttl <= 0) {
        return APR_EINVAL;
    }
    cache = apr_pcalloc(p, sizeof(*cache));
    rv = apr_thread_mutex_create(&cache->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&cache->fetched, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    cache->metadata_url = apr_pstrdup(p, metadata_url);
    cache->issuer = ipsie_provider_issuer_from_url(metadata_url, p);
    cache->max_ttl = max_ttl;
    cache->opts.timeout = IPSIE_HTTP_DEFAULT_TIMEOUT;
    if (opts != NULL) {
        cache->opts.timeout = opts->timeout > 0 ? opts->timeout : IPSIE_HTTP_DEFAULT_TIMEOUT;
        cache->opts.ca_file = opts->ca_file ? apr_pstrdup(p, opts->ca_file) : NULL;
    }
    /* Longer than any request that holds a value can take with the provider. */
    cache->grace = GENERATION_GRACE > 10 * (cache->opts.timeout + 1)
                       ? GENERATION_GRACE
                       : 10 * (cache->opts.timeout + 1);
    apr_pool_cleanup_register(p, cache, cache_cleanup, apr_pool_cleanup_null);
    *out = cache;
    return APR_SUCCESS;
}

void ipsie_provider_cache_set_gate(ipsie_provider_cache_t *cache, ipsie_gate_t *gate)
{
    cache->gate = gate;
}

void ipsie_provider_cache_set_issuer(ipsie_provider_cache_t *cache, const char *issuer)
{
    cache->configured_issuer = issuer;
    if (issuer != NULL) {
        cache->issuer = issuer;
    }
}

/* Take a lease on the gate for as long as one exchange with the provider may take. */
static int take_lease(ipsie_provider_cache_t *cache, ipsie_gate_lease_t *lease)
{
    lease->slot = -1;
    return cache->gate == NULL
           || ipsie_gate_enter(lease, cache->gate, apr_time_now(),
                               apr_time_from_sec(cache->opts.timeout + 2));
}

static void give_lease(ipsie_provider_cache_t *cache, const ipsie_gate_lease_t *lease)
{
    if (cache->gate != NULL) {
        ipsie_gate_leave(cache->gate, lease);
    }
}

static apr_status_t busy_refusal(ipsie_provider_cache_t *cache, const char *what)
{
    ipsie_log(IPSIE_LOG_WARNING,
              "IPSIE08308: %s of %s refused: %d requests already wait for the provider", what,
              cache->issuer, cache->gate ? ipsie_gate_leases(cache->gate) : 0);
    return IPSIE_ERR_BUSY;
}

apr_status_t ipsie_provider_cache_enter(ipsie_provider_cache_t *cache, ipsie_gate_lease_t *lease)
{
    return take_lease(cache, lease) ? APR_SUCCESS : busy_refusal(cache, "a request");
}

void ipsie_provider_cache_leave(ipsie_provider_cache_t *cache, const ipsie_gate_lease_t *lease)
{
    give_lease(cache, lease);
}

/* How long a value fetched with this Cache-Control stays fresh. */
static long long value_ttl(const ipsie_provider_cache_t *cache, const char *cache_control)
{
    long long max_age = ipsie_http_max_age(cache_control);
    long long floor = cache->max_ttl < MIN_TTL ? cache->max_ttl : MIN_TTL;

    if (max_age < 0 || max_age > cache->max_ttl) {
        return cache->max_ttl;
    }
    return max_age < floor ? floor : max_age;
}

/* Install g as the newest generation and unlink the ones no reader can still hold: two
 * generations back and retired over grace seconds ago. Called under the mutex; the
 * unlinked chain is returned for destruction outside it. */
static generation_t *install_generation(slot_t *slot, generation_t *g, long long grace,
                                        long long now)
{
    generation_t *prev;
    generation_t *cur;
    generation_t *dead = NULL;
    int depth;

    if (slot->current != NULL) {
        slot->current->retired = now;
    }
    g->older = slot->current;
    slot->current = g;
    slot->fetched = now;

    prev = g;
    depth = 1;
    cur = g->older;
    while (cur != NULL) {
        if (depth >= 2 && now - cur->retired >= grace) {
            prev->older = cur->older;
            cur->older = dead;
            dead = cur;
            cur = prev->older;
        }
        else {
            prev = cur;
            cur = cur->older;
        }
        depth++;
    }
    return dead;
}

/* What a caller should do with a slot, decided under the mutex. */
typedef enum {
    SLOT_SERVE = 0,
    SLOT_FETCH,
    SLOT_WAIT, /* nothing to serve, another thread is fetching it */
    SLOT_FAIL  /* nothing to serve, and the last fetch failed moments ago */
} slot_action_e;

/* 1 when the last fetch failed less than interval seconds before now. */
static int failed_within(const slot_t *slot, long long interval, long long now)
{
    long long since = now - slot->attempted;

    return slot->ended > 0 && slot->last_rv != APR_SUCCESS && since >= 0 && since < interval;
}

static slot_action_e slot_decide(const slot_t *slot, const char *source, long long now)
{
    long long age;

    /* With nothing cached, one thread fetches and the others wait for it; after a failure
     * the provider is left alone for a moment rather than asked by every request. */
    if (slot->current == NULL) {
        if (slot->fetching) {
            return SLOT_WAIT;
        }
        return failed_within(slot, EMPTY_RETRY_INTERVAL, now) ? SLOT_FAIL : SLOT_FETCH;
    }
    /* Someone else is refreshing: the value we hold is still good enough meanwhile. */
    if (slot->fetching) {
        return SLOT_SERVE;
    }
    age = now - slot->fetched;
    /* A JWKS fetched from a jwks_uri the metadata no longer names is stale too; a clock
     * that went back a long way makes any value stale. */
    if (age >= slot->current->ttl || age < -slot->current->ttl
        || (source != NULL && slot->current->source != NULL
            && strcmp(source, slot->current->source) != 0)) {
        /* A failed refetch is not retried on every request. */
        return failed_within(slot, JWKS_REFRESH_MIN_INTERVAL, now) ? SLOT_SERVE : SLOT_FETCH;
    }
    return SLOT_SERVE;
}

/* Fetch url into a new generation, parsed as metadata (jwks_uri NULL) or as a JWKS; errors
 * are logged with tags that tell an unreachable provider, a bad answer and a bad document
 * apart, the body never is. */
static apr_status_t fetch_generation(generation_t **out, ipsie_provider_cache_t *cache,
                                     const char *jwks_uri, apr_time_t deadline)
{
    const char *url = jwks_uri ? jwks_uri : cache->metadata_url;
    apr_pool_t *gp = NULL;
    apr_pool_t *scratch = NULL;
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts;
    ipsie_provider_t *op = NULL;
    ipsie_jwks_t *jwks = NULL;
    generation_t *g;
    apr_status_t rv;

    *out = NULL;
    /* Unmanaged: creating it touches no shared pool, so no lock is needed. */
    rv = apr_pool_create_unmanaged_ex(&gp, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&scratch, gp);
    opts = cache->opts;
    opts.deadline = deadline;
    ipsie_metric_inc(jwks_uri ? IPSIE_M_PROVIDER_JWKS : IPSIE_M_PROVIDER_DISCOVERY);
    rv = ipsie_http_get(&resp, url, &opts, scratch);
    if (rv != APR_SUCCESS) {
        if (jwks_uri) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08304: JWKS fetch failure: cannot fetch %s", url);
        }
        else {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08300: OpenID Provider unreachable: cannot fetch %s",
                      url);
        }
        goto leave;
    }
    if (resp.status != 200) {
        if (jwks_uri) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08303: JWKS fetch failure: %s answered status %ld",
                      url, resp.status);
        }
        else {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08301: bad provider metadata: %s answered status %ld",
                      url, resp.status);
        }
        rv = IPSIE_ERR_HTTP_STATUS;
        goto leave;
    }
    if (jwks_uri) {
        rv = ipsie_jwks_parse(&jwks, resp.body, resp.body_len, gp);
        if (rv != APR_SUCCESS) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08305: JWKS fetch failure: unusable JWKS at %s", url);
        }
    }
    else {
        rv = ipsie_provider_parse_for(&op, resp.body, resp.body_len, cache->configured_issuer,
                                      cache->metadata_url, gp);
        if (rv != APR_SUCCESS) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08302: bad provider metadata at %s", url);
        }
    }
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    g = apr_pcalloc(gp, sizeof(*g));
    g->pool = gp;
    g->value = jwks_uri ? (const void *)jwks : (const void *)op;
    g->source = jwks_uri ? apr_pstrdup(gp, jwks_uri) : NULL;
    g->ttl = value_ttl(cache, resp.cache_control);
    *out = g;

leave:
    apr_pool_destroy(scratch);
    if (rv != APR_SUCCESS) {
        ipsie_metric_inc(jwks_uri ? IPSIE_M_PROVIDER_FAILED_JWKS
                                  : IPSIE_M_PROVIDER_FAILED_DISCOVERY);
        apr_pool_destroy(gp);
    }
    return rv;
}

/* Wait, under the mutex, for the fetch in flight to end, but not past its deadline nor the
 * caller's: its outcome is the caller's (a waiter never starts a fetch of its own). */
static apr_status_t wait_for_fetch(ipsie_provider_cache_t *cache, slot_t *slot, apr_time_t deadline)
{
    apr_uint64_t ended = slot->ended;
    apr_time_t until = deadline > 0 && deadline < slot->deadline ? deadline : slot->deadline;
    ipsie_gate_lease_t lease;

    if (!take_lease(cache, &lease)) {
        return IPSIE_ERR_BUSY;
    }
    while (slot->ended == ended) {
        apr_interval_time_t left = until - apr_time_now();
        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(cache->fetched, cache->mutex, left);
    }
    give_lease(cache, &lease);
    if (slot->ended == ended) {
        return IPSIE_ERR_HTTP;
    }
    return slot->last_rv;
}

/* Fetch for slot, entered and left under the mutex, which is released meanwhile. *out is the
 * new value, or the current one when the fetch failed but one is there to serve. */
static apr_status_t fetch_into(const void **out, ipsie_provider_cache_t *cache, slot_t *slot,
                               const char *jwks_uri, long long now, apr_time_t deadline)
{
    generation_t *fresh = NULL;
    generation_t *dead = NULL;
    apr_time_t started = apr_time_now();
    ipsie_gate_lease_t lease;
    long long ended_at;
    apr_status_t rv;

    if (!take_lease(cache, &lease)) {
        return IPSIE_ERR_BUSY;
    }
    slot->fetching++;
    /* The fetch's own timeout (or the caller's deadline) bounds it; the margin covers what
     * is around it. */
    slot->deadline = started + apr_time_from_sec(cache->opts.timeout + 1);
    if (deadline > 0 && deadline < slot->deadline) {
        slot->deadline = deadline;
    }
    apr_thread_mutex_unlock(cache->mutex);

    rv = fetch_generation(&fresh, cache, jwks_uri, deadline);
    /* The end of the fetch, on the caller's clock: a failure holds others off from then. */
    ended_at = now + apr_time_sec(apr_time_now() - started);
    give_lease(cache, &lease);

    apr_thread_mutex_lock(cache->mutex);
    slot->fetching--;
    slot->ended++;
    slot->last_rv = rv;
    slot->attempted = ended_at;
    if (rv == APR_SUCCESS) {
        dead = install_generation(slot, fresh, cache->grace, ended_at);
        *out = fresh->value;
        ipsie_metric_fetched(jwks_uri ? IPSIE_G_JWKS : IPSIE_G_METADATA, ended_at);
    }
    else if (slot->current != NULL) {
        *out = slot->current->value;
    }
    apr_thread_cond_broadcast(cache->fetched);
    if (dead != NULL) {
        apr_thread_mutex_unlock(cache->mutex);
        destroy_generations(dead);
        apr_thread_mutex_lock(cache->mutex);
    }
    return rv;
}

static const char *slot_name(const char *jwks_uri)
{
    return jwks_uri ? "JWKS" : "metadata";
}

/* Common path of both getters: decide under the lock, fetch outside it, publish under it. */
static apr_status_t cache_get(const void **out, ipsie_provider_cache_t *cache, slot_t *slot,
                              const char *jwks_uri, long long now, apr_time_t deadline)
{
    slot_action_e action;
    apr_status_t rv = APR_SUCCESS;
    int stale = 0;

    *out = NULL;
    apr_thread_mutex_lock(cache->mutex);
    action = slot_decide(slot, jwks_uri, now);
    switch (action) {
    case SLOT_SERVE:
        *out = slot->current->value;
        break;
    case SLOT_WAIT:
        rv = wait_for_fetch(cache, slot, deadline);
        if (rv == APR_SUCCESS && slot->current != NULL) {
            *out = slot->current->value;
        }
        else if (rv == APR_SUCCESS) {
            rv = IPSIE_ERR_HTTP;
        }
        break;
    case SLOT_FAIL:
        rv = slot->last_rv;
        break;
    case SLOT_FETCH:
    default:
        rv = fetch_into(out, cache, slot, jwks_uri, now, deadline);
        stale = rv != APR_SUCCESS && *out != NULL;
        break;
    }
    apr_thread_mutex_unlock(cache->mutex);

    if (stale) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE08306: keeping the previously fetched %s of %s after a failed refresh",
                  slot_name(jwks_uri), cache->issuer);
        return APR_SUCCESS;
    }
    if (rv == IPSIE_ERR_BUSY) {
        return busy_refusal(cache, slot_name(jwks_uri));
    }
    if (action == SLOT_FAIL || (action == SLOT_WAIT && rv != APR_SUCCESS)) {
        ipsie_log(IPSIE_LOG_DEBUG, "IPSIE08307: %s of %s unavailable: the fetch %s failed",
                  slot_name(jwks_uri), cache->issuer,
                  action == SLOT_FAIL ? "made moments ago" : "waited for");
    }
    return rv;
}

apr_status_t ipsie_provider_cache_metadata(const ipsie_provider_t **out,
                                           ipsie_provider_cache_t *cache, long long now,
                                           apr_time_t deadline)
{
    const void *value = NULL;
    apr_status_t rv;

    rv = cache_get(&value, cache, &cache->metadata, NULL, now, deadline);
    *out = value;
    return rv;
}

apr_status_t ipsie_provider_cache_jwks(const ipsie_jwks_t **out, ipsie_provider_cache_t *cache,
                                       long long now, apr_time_t deadline)
{
    const ipsie_provider_t *op = NULL;
    const void *value = NULL;
    apr_status_t rv;

    *out = NULL;
    rv = ipsie_provider_cache_metadata(&op, cache, now, deadline);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = cache_get(&value, cache, &cache->jwks, op->jwks_uri, now, deadline);
    *out = value;
    return rv;
}

apr_status_t ipsie_provider_cache_jwks_refresh(const ipsie_jwks_t **out, long *retry_after,
                                               ipsie_provider_cache_t *cache,
                                               const ipsie_jwks_t *used, long long now,
                                               apr_time_t deadline)
{
    const ipsie_provider_t *op = NULL;
    const void *value = NULL;
    slot_t *slot = &cache->jwks;
    long long since;
    apr_status_t rv;

    *out = NULL;
    *retry_after = 0;
    rv = ipsie_provider_cache_metadata(&op, cache, now, deadline);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_thread_mutex_lock(cache->mutex);
    if (slot->fetching) {
        rv = wait_for_fetch(cache, slot, deadline);
    }
    since = now - slot->attempted;
    if (slot->current != NULL && slot->current->value != used) {
        /* Newer keys than those that failed: another request fetched them meanwhile. */
        value = slot->current->value;
        rv = APR_SUCCESS;
    }
    else if (rv != APR_SUCCESS) {
        /* The fetch waited for failed, or there was no room to wait. */
    }
    else if (slot->ended > 0 && since >= 0 && since < JWKS_REFRESH_MIN_INTERVAL) {
        *retry_after = (long)(JWKS_REFRESH_MIN_INTERVAL - since);
        rv = IPSIE_ERR_THROTTLED;
    }
    else {
        rv = fetch_into(&value, cache, slot, op->jwks_uri, now, deadline);
        if (rv != APR_SUCCESS) {
            value = NULL;
        }
    }
    apr_thread_mutex_unlock(cache->mutex);
    if (rv == IPSIE_ERR_BUSY) {
        return busy_refusal(cache, "JWKS");
    }
    if (rv == IPSIE_ERR_THROTTLED) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE08309: the JWKS of %s was fetched %lld s ago: the next refetch may run "
                  "in %ld s",
                  cache->issuer, since, *retry_after);
    }
    *out = value;
    return rv;
}

apr_status_t ipsie_provider_cache_check(ipsie_provider_cache_t *cache, long long within,
                                        long long now, apr_time_t deadline)
{
    slot_t *slot = &cache->metadata;
    const void *value = NULL;
    long long since;
    apr_status_t rv;

    apr_thread_mutex_lock(cache->mutex);
    since = now - slot->attempted;
    if (slot->fetching) {
        rv = wait_for_fetch(cache, slot, deadline);
    }
    else if (slot->ended > 0 && since >= 0 && since < within) {
        rv = slot->last_rv;
    }
    else {
        rv = fetch_into(&value, cache, slot, NULL, now, deadline);
    }
    apr_thread_mutex_unlock(cache->mutex);
    if (rv == IPSIE_ERR_BUSY) {
        return busy_refusal(cache, "a check");
    }
    return rv;
}
