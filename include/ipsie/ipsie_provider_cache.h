/* The provider cache: a per-process store of the provider's metadata and JWKS, refreshed as
 * their Cache-Control says, with bounded waits while the provider is slow or down. */
#ifndef IPSIE_PROVIDER_CACHE_H
#define IPSIE_PROVIDER_CACHE_H

#include <apr_pools.h>
#include "ipsie_discovery.h"
#include "ipsie_gate.h"
#include "ipsie_http.h"
#include "ipsie_jwk.h"

/* A per-process cache of the provider metadata and JWKS, safe for threads; fetches happen
 * outside any lock. Lives in the pool given at creation. A value is kept for the
 * Cache-Control max-age its response gave, at least 60 s (or max_ttl when that is less) and at
 * most max_ttl; without a max-age, max_ttl. */
typedef struct ipsie_provider_cache_t ipsie_provider_cache_t;

apr_status_t ipsie_provider_cache_create(ipsie_provider_cache_t **out, const char *metadata_url,
                                         long max_ttl, const ipsie_http_opts_t *opts,
                                         apr_pool_t *p);

/* Every fetch from, wait for or exchange with the provider holds a lease of gate (shared by
 * every cache and every process of the server; NULL, the default: no bound); without one
 * the caller is refused at once with IPSIE_ERR_BUSY, so that a provider that never answers
 * cannot hold every worker of the server. */
void ipsie_provider_cache_set_gate(ipsie_provider_cache_t *cache, ipsie_gate_t *gate);

/* The issuer the metadata must name exactly (IPSIEProviderIssuer; it must live as long as the
 * cache); without one (NULL, the default) either spelling the metadata URL names is accepted
 * (ipsie_provider_issuer_accepted). Set before the first fetch. */
void ipsie_provider_cache_set_issuer(ipsie_provider_cache_t *cache, const char *issuer);

/* The metadata, fetched when missing or stale. With nothing to serve, one thread fetches and
 * the others wait for that fetch only (never longer than its timeout + 1 s) and fail with it;
 * for 2 s after a failed fetch every call fails at once. A stale value is served while a
 * refetch runs or after it failed. A returned value stays valid for at least 10 minutes after
 * a newer one replaces it (a request's life), at most the pool's. now: the current time;
 * deadline: when the caller stops waiting for the provider, fetching or waiting (0: none). */
apr_status_t ipsie_provider_cache_metadata(const ipsie_provider_t **out,
                                           ipsie_provider_cache_t *cache, long long now,
                                           apr_time_t deadline);

/* The JWKS, as the metadata (after the metadata, from its jwks_uri). */
apr_status_t ipsie_provider_cache_jwks(const ipsie_jwks_t **out, ipsie_provider_cache_t *cache,
                                       long long now, apr_time_t deadline);

/* A JWKS newer than used, after a token failed to verify with used (an unknown kid, or a key
 * rotated under the same kid): the one another thread fetched meanwhile, or one fetched now.
 * At most one fetch per 10 s: IPSIE_ERR_THROTTLED, and *retry_after the seconds until the
 * next may run, when the last is more recent. */
apr_status_t ipsie_provider_cache_jwks_refresh(const ipsie_jwks_t **out, long *retry_after,
                                               ipsie_provider_cache_t *cache,
                                               const ipsie_jwks_t *used, long long now,
                                               apr_time_t deadline);

/* Whether the provider answers (for a health check): the outcome of the last metadata fetch
 * when it ended less than within seconds before now, else of a fetch made now (or the one in
 * flight, waited for), with the bounds and the gate of every fetch; a new value replaces the
 * cached one. APR_SUCCESS, IPSIE_ERR_BUSY, or why the fetch failed. */
apr_status_t ipsie_provider_cache_check(ipsie_provider_cache_t *cache, long long within,
                                        long long now, apr_time_t deadline);

/* Take a lease of the gate for an exchange with the provider outside the cache (the token
 * request): IPSIE_ERR_BUSY when none is free; otherwise hand it back with leave when done. */
apr_status_t ipsie_provider_cache_enter(ipsie_provider_cache_t *cache, ipsie_gate_lease_t *lease);
void ipsie_provider_cache_leave(ipsie_provider_cache_t *cache, const ipsie_gate_lease_t *lease);

#endif
