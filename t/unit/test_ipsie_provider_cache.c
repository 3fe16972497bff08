/* Unit tests of src/ipsie_provider_cache.c: generations, refreshes, waits and the busy bound,
 * against a small real HTTP server this suite runs on 127.0.0.1. */
#include "test_support.h"
#include "test_http_server.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_provider_cache.h"

/* ---- provider cache ------------------------------------------------------------------- */

#define WELL_KNOWN "/.well-known/openid-configuration"
#define T0 1700000000LL
#define TTL 3600

/* An EC P-256 public key (RFC 7517 A.1) marked for signatures. */
#define JWK1                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"k1\","                            \
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","                                       \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"
#define JWK2                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"k2\","                            \
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","                                       \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"

static void serve_metadata(const char *issuer)
{
    srv_json(WELL_KNOWN, 200,
             apr_psprintf(pool,
                          "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                          "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
                          issuer, base_url, base_url, base_url));
}

static ipsie_gate_t *new_gate(int leases)
{
    return ipsie_gate_attach(apr_pcalloc(pool, ipsie_gate_size(leases)), leases, pool);
}

static ipsie_provider_cache_t *new_cache(long ttl)
{
    ipsie_provider_cache_t *cache = NULL;
    ipsie_http_opts_t opts = {5, NULL, 0};

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, url(WELL_KNOWN), ttl, &opts, pool),
                     APR_SUCCESS);
    return cache;
}

START_TEST(cache_create_refuses_a_useless_ttl)
{
    ipsie_provider_cache_t *cache = NULL;

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, url(WELL_KNOWN), 0, NULL, pool),
                     APR_EINVAL);
    ck_assert_ptr_null(cache);
}
END_TEST

START_TEST(cache_serves_the_second_call_without_a_fetch)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0, 0), APR_SUCCESS);
    ck_assert_str_eq(a->issuer, base_url);
    ck_assert_str_eq(a->token_endpoint, url("/token"));
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL - 1, 0), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
}
END_TEST

START_TEST(cache_refetches_after_the_ttl_and_keeps_old_values_readable)
{
    ipsie_provider_cache_t *cache = new_cache(60);
    const ipsie_provider_t *a = NULL, *b = NULL, *c = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 59, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 60, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&c, cache, T0 + 120, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_ptr_ne(b, c);
    /* Readers that got an earlier generation within the last minutes may still use it. */
    ck_assert_str_eq(a->token_endpoint, url("/token"));
    ck_assert_str_eq(b->token_endpoint, url("/token"));
}
END_TEST

START_TEST(cache_keeps_serving_old_metadata_when_a_refetch_fails)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0, 0), APR_SUCCESS);
    srv_json(WELL_KNOWN, 500, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL, 0), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08301"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08306"));
    /* The failing OP is not asked again on every request... */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL + 5, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    /* ...but again a little later, and a recovered OP is picked up. */
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL + 10, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_ptr_ne(a, b);
}
END_TEST

START_TEST(cache_without_a_value_reports_an_unreachable_op)
{
    ipsie_provider_cache_t *cache = NULL;
    const ipsie_provider_t *op = NULL;

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, refused_url(WELL_KNOWN), TTL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), IPSIE_ERR_HTTP);
    ck_assert_ptr_null(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08300"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08301"));
}
END_TEST

START_TEST(cache_without_a_value_reports_bad_metadata)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    srv_json(WELL_KNOWN, 404, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08301"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));

    captured_log[0] = '\0';
    srv_json(WELL_KNOWN, 200, "{\"issuer\":42}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 2, 0), IPSIE_ERR_METADATA);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08302"));

    captured_log[0] = '\0';
    serve_metadata(apr_pstrcat(pool, base_url, "/tenant", NULL));
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 4, 0),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08302"));
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(cache_accepts_the_issuer_with_a_trailing_slash_and_keeps_its_spelling)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;
    const char *slashed = apr_pstrcat(pool, base_url, "/", NULL);

    serve_metadata(slashed);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, slashed);
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08105"));
}
END_TEST

START_TEST(cache_with_a_configured_issuer_accepts_that_issuer_alone)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;
    const char *configured = apr_pstrcat(pool, base_url, "/", NULL);

    ipsie_provider_cache_set_issuer(cache, configured);
    /* The spelling the URL would give without the setting is no longer good enough. */
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08105"));
    ck_assert_ptr_nonnull(strstr(captured_log, configured));
    serve_metadata(configured);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 2, 0), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, configured);
}
END_TEST

START_TEST(cache_with_a_configured_issuer_serves_metadata_published_elsewhere)
{
    ipsie_provider_cache_t *cache = NULL;
    const ipsie_provider_t *op = NULL;
    const char *issuer = "https://login.example/tenant-1";

    ck_assert_int_eq(
        ipsie_provider_cache_create(&cache, url("/meta/tenant-1.json"), TTL, NULL, pool),
        APR_SUCCESS);
    ipsie_provider_cache_set_issuer(cache, issuer);
    srv_json("/meta/tenant-1.json", 200,
             apr_psprintf(pool,
                          "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                          "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
                          issuer, base_url, base_url, base_url));
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, issuer);
}
END_TEST

START_TEST(cache_without_a_value_does_not_ask_again_right_after_a_failure)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    srv_json(WELL_KNOWN, 503, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* Within two seconds every request fails at once, as the fetch did, without a fetch. */
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 1, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(op);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 2, 0), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
}
END_TEST

START_TEST(cache_fetches_the_jwks_once_and_reuses_it)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(a), 1);
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + 100, 0), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits("/jwks"), 1);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* Past the ttl both are fetched again. */
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "," JWK2 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + TTL, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(b), 2);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_jwks_count(a), 1);
}
END_TEST

START_TEST(cache_jwks_refresh_is_rate_limited_to_once_per_ten_seconds)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL, *c = NULL;
    long retry_after = -1;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0, 0), APR_SUCCESS);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "," JWK2 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &retry_after, cache, a, T0 + 7, 0),
                     IPSIE_ERR_THROTTLED);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(retry_after, 3);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08309"));
    ck_assert_int_eq(srv_hits("/jwks"), 1);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &retry_after, cache, a, T0 + 10, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(b), 2);
    ck_assert_int_eq(retry_after, 0);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    /* Keys newer than those that failed are handed out without another fetch. */
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, a, T0 + 11, 0),
                     APR_SUCCESS);
    ck_assert_ptr_eq(b, c);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, b, T0 + 15, 0),
                     IPSIE_ERR_THROTTLED);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, b, T0 + 20, 0),
                     APR_SUCCESS);
    ck_assert_ptr_ne(b, c);
    ck_assert_int_eq(srv_hits("/jwks"), 3);
    /* The normal getter serves the newest. */
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 21, 0), APR_SUCCESS);
    ck_assert_ptr_eq(a, c);
}
END_TEST

START_TEST(cache_jwks_failure_is_told_apart_and_old_keys_are_kept)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    srv_json("/jwks", 503, "{}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08303"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08301"));

    captured_log[0] = '\0';
    srv_json("/jwks", 200, "[]");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 2, 0), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08305"));

    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 4, 0), APR_SUCCESS);
    srv_json("/jwks", 500, "{}");
    captured_log[0] = '\0';
    /* A refetch for new keys that fails says so; the keys held are still served. */
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &(long){0}, cache, a, T0 + 30, 0),
                     IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08303"));
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + 31, 0), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
}
END_TEST

START_TEST(cache_jwks_unreachable_is_a_jwks_fetch_failure)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL;

    srv_json(WELL_KNOWN, 200,
             apr_psprintf(pool,
                          "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                          "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s\"}",
                          base_url, base_url, base_url, refused_url("/jwks")));
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0, 0), IPSIE_ERR_HTTP);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08304"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));
}
END_TEST

START_TEST(cache_jwks_without_metadata_reports_the_metadata_error)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL;

    srv_json(WELL_KNOWN, 500, "{}");
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(srv_hits("/jwks"), 0);
}
END_TEST

START_TEST(cache_follows_the_max_age_of_the_response_within_bounds)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;
    const char *doc = apr_psprintf(pool,
                                   "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                                   "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
                                   base_url, base_url, base_url, base_url);
    const char *cc = "Content-Type: application/json\r\nCache-Control: public, max-age=120\r\n";

    srv_set(WELL_KNOWN, 200, cc, doc, 0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 119, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* A provider that asks for no caching is still asked at most once a minute. */
    srv_set(WELL_KNOWN, 200, "Content-Type: application/json\r\nCache-Control: no-store\r\n", doc,
            0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 120, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 179, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    /* A day is more than the configured maximum: the maximum holds. */
    srv_set(WELL_KNOWN, 200, "Content-Type: application/json\r\nCache-Control: max-age=86400\r\n",
            doc, 0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180 + TTL - 1, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180 + TTL, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 4);
}
END_TEST

/* A provider that accepts connections and never answers: a socket that listens and never
 * accepts (the kernel completes the handshakes). */
typedef struct {
    ipsie_provider_cache_t *cache;
    long long now;
    apr_status_t rv;
    double seconds;
} hang_call_t;

static double wall_seconds(void)
{
    return (double)apr_time_now() / APR_USEC_PER_SEC;
}

static void *hang_call(void *arg)
{
    hang_call_t *c = arg;
    const ipsie_provider_t *op = NULL;
    double start = wall_seconds();

    c->rv = ipsie_provider_cache_metadata(&op, c->cache, c->now, 0);
    c->seconds = wall_seconds() - start;
    return NULL;
}

static ipsie_provider_cache_t *hanging_cache(int *fd)
{
    ipsie_provider_cache_t *cache = NULL;
    ipsie_http_opts_t opts = {1, NULL, 0};
    int port;

    *fd = listen_loopback(&port);
    ck_assert_int_eq(
        ipsie_provider_cache_create(
            &cache, apr_psprintf(pool, "http://127.0.0.1:%d" WELL_KNOWN, port), TTL, &opts, pool),
        APR_SUCCESS);
    return cache;
}

START_TEST(cache_waiters_fail_with_a_hanging_fetch_within_its_timeout)
{
    int fd;
    ipsie_provider_cache_t *cache = hanging_cache(&fd);
    pthread_t threads[5];
    hang_call_t calls[5];
    hang_call_t late;
    double start = wall_seconds();
    int i;

    for (i = 0; i < 5; i++) {
        calls[i] = (hang_call_t){cache, T0, APR_SUCCESS, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hang_call, &calls[i]), 0);
        usleep(100 * 1000);
    }
    for (i = 0; i < 5; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(calls[i].rv, IPSIE_ERR_HTTP);
        /* Timeout 1 s: nobody waits longer than it and its margin. */
        ck_assert_double_le(calls[i].seconds, 2.0);
    }
    /* One fetch for all: they did not queue up one after another. */
    ck_assert_double_le(wall_seconds() - start, 2.5);
    /* Right after the failure, every request fails at once. */
    late = (hang_call_t){cache, T0 + 2, APR_SUCCESS, 0};
    hang_call(&late);
    ck_assert_int_eq(late.rv, IPSIE_ERR_HTTP);
    ck_assert_double_le(late.seconds, 0.2);
    close(fd);
}
END_TEST

START_TEST(cache_refuses_waiters_past_its_bound_at_once)
{
    int fd;
    ipsie_provider_cache_t *cache = hanging_cache(&fd);
    pthread_t threads[4];
    hang_call_t calls[4];
    int i, busy = 0, failed = 0;

    ipsie_provider_cache_set_gate(cache, new_gate(2));
    for (i = 0; i < 4; i++) {
        calls[i] = (hang_call_t){cache, T0, APR_SUCCESS, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hang_call, &calls[i]), 0);
        usleep(100 * 1000);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        if (calls[i].rv == IPSIE_ERR_BUSY) {
            busy++;
            ck_assert_double_le(calls[i].seconds, 0.2);
        }
        else {
            ck_assert_int_eq(calls[i].rv, IPSIE_ERR_HTTP);
            failed++;
        }
    }
    /* One fetches, one waits for it, the other two are sent away at once. */
    ck_assert_int_eq(failed, 2);
    ck_assert_int_eq(busy, 2);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08308"));
    close(fd);
}
END_TEST

START_TEST(cache_counts_other_exchanges_against_its_bound)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    ipsie_gate_lease_t a, b;

    serve_metadata(base_url);
    ipsie_provider_cache_set_gate(cache, new_gate(1));
    ck_assert_int_eq(ipsie_provider_cache_enter(cache, &a), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_enter(cache, &b), IPSIE_ERR_BUSY);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), IPSIE_ERR_BUSY);
    ipsie_provider_cache_leave(cache, &a);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_enter(cache, &a), APR_SUCCESS);
    ipsie_provider_cache_leave(cache, &a);
}
END_TEST

START_TEST(caches_sharing_a_gate_share_its_bound)
{
    ipsie_provider_cache_t *one = new_cache(TTL);
    ipsie_provider_cache_t *two = new_cache(TTL);
    ipsie_gate_t *gate = new_gate(1);
    ipsie_gate_lease_t lease, other;

    ipsie_provider_cache_set_gate(one, gate);
    ipsie_provider_cache_set_gate(two, gate);
    ck_assert_int_eq(ipsie_provider_cache_enter(one, &lease), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_enter(two, &other), IPSIE_ERR_BUSY);
    ipsie_provider_cache_leave(one, &lease);
    ck_assert_int_eq(ipsie_provider_cache_enter(two, &other), APR_SUCCESS);
    ipsie_provider_cache_leave(two, &other);
}
END_TEST

START_TEST(a_caller_deadline_bounds_its_wait_and_fetch)
{
    int fd;
    ipsie_provider_cache_t *cache = hanging_cache(&fd);
    const ipsie_provider_t *op = NULL;
    double start = wall_seconds();

    /* The fetch's own timeout is 1 s; the caller has 0.3 s left. */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0, apr_time_now() + 300 * 1000),
                     IPSIE_ERR_HTTP);
    ck_assert_double_le(wall_seconds() - start, 0.8);
    /* A deadline already past: no request at all. */
    start = wall_seconds();
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 5, apr_time_now() - 1),
                     IPSIE_ERR_HTTP);
    ck_assert_double_le(wall_seconds() - start, 0.1);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08007"));
    close(fd);
}
END_TEST

typedef struct {
    ipsie_provider_cache_t *cache;
    const char *jwks_uri;
    atomic_llong *clock;
    int failures;
} worker_t;

static void *cache_worker(void *arg)
{
    worker_t *w = arg;
    const ipsie_provider_t *op;
    const ipsie_jwks_t *jwks;
    int i;

    for (i = 0; i < 150; i++) {
        /* One clock for all threads, as in a server, running past ttl and grace periods so
         * that generations come and go. */
        long long now = atomic_fetch_add(w->clock, 1);
        if (ipsie_provider_cache_metadata(&op, w->cache, now, 0) != APR_SUCCESS
            || strcmp(op->jwks_uri, w->jwks_uri) != 0) {
            w->failures++;
        }
        if (ipsie_provider_cache_jwks(&jwks, w->cache, now, 0) != APR_SUCCESS
            || ipsie_jwks_count(jwks) != 1) {
            w->failures++;
        }
        if (i % 3 == 0) {
            const ipsie_jwks_t *fresh = NULL;
            long retry_after;
            apr_status_t rv =
                ipsie_provider_cache_jwks_refresh(&fresh, &retry_after, w->cache, jwks, now, 0);
            if ((rv != APR_SUCCESS && rv != IPSIE_ERR_THROTTLED)
                || (rv == APR_SUCCESS && ipsie_jwks_count(fresh) != 1)) {
                w->failures++;
            }
        }
    }
    return NULL;
}

START_TEST(cache_is_safe_for_concurrent_threads)
{
    ipsie_provider_cache_t *cache = new_cache(30);
    pthread_t threads[6];
    worker_t workers[6];
    atomic_llong clock = T0;
    int i;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    /* Prime it so a busy refetch can hand out the value already held. */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&(const ipsie_provider_t *){NULL}, cache, T0, 0),
                     APR_SUCCESS);
    for (i = 0; i < 6; i++) {
        workers[i].cache = cache;
        workers[i].jwks_uri = url("/jwks"); /* the pool is not for threads: made up front */
        workers[i].failures = 0;
        workers[i].clock = &clock;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, cache_worker, &workers[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].failures, 0);
    }
    ck_assert_int_gt(srv_hits(WELL_KNOWN), 5);
    ck_assert_int_gt(srv_hits("/jwks"), 5);
}
END_TEST

/* A health check asks the provider at most once within its interval, sees a failure that the
 * requests do not (they keep the cached value), and sees the provider come back; each fetch
 * is counted, its failure too, and the time of the newest good one is kept. */
START_TEST(check_asks_at_most_once_within_its_interval_and_sees_the_provider_fail)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;
    ipsie_metrics_snapshot_t snap;

    ipsie_metrics_attach(apr_pcalloc(pool, ipsie_metrics_size()));
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0, 0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0 + 4, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* The value the check fetched serves requests. */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 4, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);

    srv_json(WELL_KNOWN, 500, "{}");
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0 + 5, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0 + 9, 0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 9, 0), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, base_url);

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0 + 10, 0), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);

    ipsie_metrics_read(&snap);
    ck_assert_uint_eq(snap.counters[IPSIE_M_PROVIDER_DISCOVERY], 3);
    ck_assert_uint_eq(snap.counters[IPSIE_M_PROVIDER_FAILED_DISCOVERY], 1);
    ck_assert_uint_eq(snap.counters[IPSIE_M_PROVIDER_JWKS], 0);
    ck_assert_int_eq(snap.fetched[IPSIE_G_METADATA], T0 + 10);
    ck_assert_int_eq(snap.fetched[IPSIE_G_JWKS], 0);
    ipsie_metrics_attach(NULL);
}
END_TEST

START_TEST(check_of_an_unreachable_provider_fails_and_is_bounded_by_the_gate)
{
    ipsie_provider_cache_t *cache = NULL;
    ipsie_gate_t *gate = new_gate(1);
    ipsie_gate_lease_t lease;
    ipsie_http_opts_t opts = {5, NULL, 0};

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, refused_url(WELL_KNOWN), TTL, &opts, pool),
                     APR_SUCCESS);
    ipsie_provider_cache_set_gate(cache, gate);
    ck_assert_int_ne(ipsie_provider_cache_check(cache, 5, T0, 0), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08300"));
    /* With every lease taken, a check is refused at once, as any fetch would be. */
    ck_assert_int_eq(ipsie_provider_cache_enter(cache, &lease), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_check(cache, 5, T0 + 10, 0), IPSIE_ERR_BUSY);
    ipsie_provider_cache_leave(cache, &lease);
}
END_TEST

static Suite *provider_cache_suite(void)
{
    Suite *s = suite_create("ipsie_provider_cache");
    TCase *cache = tcase_create("cache");

    tcase_add_checked_fixture(cache, server_setup, server_teardown);
    tcase_set_timeout(cache, 60);
    tcase_add_test(cache, cache_create_refuses_a_useless_ttl);
    tcase_add_test(cache, cache_serves_the_second_call_without_a_fetch);
    tcase_add_test(cache, cache_refetches_after_the_ttl_and_keeps_old_values_readable);
    tcase_add_test(cache, cache_keeps_serving_old_metadata_when_a_refetch_fails);
    tcase_add_test(cache, cache_without_a_value_reports_an_unreachable_op);
    tcase_add_test(cache, cache_without_a_value_reports_bad_metadata);
    tcase_add_test(cache, cache_accepts_the_issuer_with_a_trailing_slash_and_keeps_its_spelling);
    tcase_add_test(cache, cache_with_a_configured_issuer_accepts_that_issuer_alone);
    tcase_add_test(cache, cache_with_a_configured_issuer_serves_metadata_published_elsewhere);
    tcase_add_test(cache, cache_without_a_value_does_not_ask_again_right_after_a_failure);
    tcase_add_test(cache, cache_fetches_the_jwks_once_and_reuses_it);
    tcase_add_test(cache, cache_jwks_refresh_is_rate_limited_to_once_per_ten_seconds);
    tcase_add_test(cache, cache_jwks_failure_is_told_apart_and_old_keys_are_kept);
    tcase_add_test(cache, cache_jwks_unreachable_is_a_jwks_fetch_failure);
    tcase_add_test(cache, cache_jwks_without_metadata_reports_the_metadata_error);
    tcase_add_test(cache, cache_is_safe_for_concurrent_threads);
    tcase_add_test(cache, cache_follows_the_max_age_of_the_response_within_bounds);
    tcase_add_test(cache, cache_waiters_fail_with_a_hanging_fetch_within_its_timeout);
    tcase_add_test(cache, cache_refuses_waiters_past_its_bound_at_once);
    tcase_add_test(cache, cache_counts_other_exchanges_against_its_bound);
    tcase_add_test(cache, caches_sharing_a_gate_share_its_bound);
    tcase_add_test(cache, a_caller_deadline_bounds_its_wait_and_fetch);
    tcase_add_test(cache, check_asks_at_most_once_within_its_interval_and_sees_the_provider_fail);
    tcase_add_test(cache, check_of_an_unreachable_provider_fails_and_is_bounded_by_the_gate);
    suite_add_tcase(s, cache);
    return s;
}

int main(void)
{
    return run_suite(provider_cache_suite());
}
