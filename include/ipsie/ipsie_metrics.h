/* Counters and gauges of what the module does (SPEC section 6), kept in memory every process
 * of the server shares: the glue makes it once (anonymous shared memory, kept across graceful
 * restarts) and attaches it; before that, and in a process that never attaches it (the unit
 * tests, configtest), counting does nothing. Counting is one relaxed atomic add on a 64-bit
 * value: no lock on the request path. The same figures are written as Prometheus text, as
 * mod_status lines and as an HTML table. */
#ifndef IPSIE_METRICS_H
#define IPSIE_METRICS_H

#include <apr_pools.h>

/* Every family: identity, name (after "mod_auth_ipsie_"), label name (NULL: none), help. */
#define IPSIE_METRIC_FAMILIES(F)                                                                   \
    F(LOGINS, "logins_total", NULL, "Logins completed: a session was started")                     \
    F(LOGINS_REFUSED, "logins_refused_total", "reason",                                            \
      "Login responses refused, by the rule that refused them")                                    \
    F(SESSION_ENDS, "session_ends_total", "reason",                                                \
      "Sessions ended, by reason (as the IPSIE11003 log line gives it)")                           \
    F(BACKCHANNEL, "backchannel_logouts_total", "result",                                          \
      "Back-channel logout requests from the provider, by result")                                 \
    F(PROVIDER_REQUESTS, "provider_requests_total", "endpoint",                                    \
      "Requests to the provider, by endpoint (end_session: browsers sent there)")                  \
    F(PROVIDER_FAILURES, "provider_failures_total", "endpoint",                                    \
      "Requests to the provider that failed (unreachable, error status, unusable answer)")         \
    F(CACHE_OPERATIONS, "cache_operations_total", "operation",                                     \
      "Operations on the shared store (IPSIESessionCache), by operation")                          \
    F(CACHE_FAILURES, "cache_failures_total", "operation",                                         \
      "Operations on the shared store that failed (down, slow, full or garbled)")                  \
    F(REFRESHES, "refreshes_total", NULL, "Access token refreshes at the token endpoint")

/* Every counter: identity, family, label value (NULL for a family without a label). New
 * counters go at the end of their family's run; the first, 0, is what a table that maps
 * outcomes to counters gives an outcome it does not name yet. Call sites, one line each:
 *   ipsie_metric_inc(IPSIE_M_LOGINS);
 * REFRESHES: a session's tokens refreshed (IPSIE17001) or renewed at the ceiling (IPSIE17002);
 * a refresh that ends the session counts IPSIE_M_END_REFRESH_FAILED through the session's end.
 * PROVIDER_PAR (and its failures): counted where that request is made, once the module makes
 * it. */
#define IPSIE_METRIC_COUNTERS(C)                                                                   \
    C(REFUSED_OTHER, LOGINS_REFUSED, "other")                                                      \
    C(LOGINS, LOGINS, NULL)                                                                        \
    C(REFUSED_PROVIDER_ERROR, LOGINS_REFUSED, "provider_error")                                    \
    C(REFUSED_STATE, LOGINS_REFUSED, "state")                                                      \
    C(REFUSED_REPLAYED, LOGINS_REFUSED, "replayed")                                                \
    C(REFUSED_ISS, LOGINS_REFUSED, "iss")                                                          \
    C(REFUSED_NO_CODE, LOGINS_REFUSED, "no_code")                                                  \
    C(REFUSED_ID_TOKEN, LOGINS_REFUSED, "id_token")                                                \
    C(REFUSED_AUTH_TIME, LOGINS_REFUSED, "auth_time")                                              \
    C(REFUSED_SESSION_EXPIRY, LOGINS_REFUSED, "session_expiry")                                    \
    C(REFUSED_CLAIMS, LOGINS_REFUSED, "claims")                                                    \
    C(REFUSED_TOO_LARGE, LOGINS_REFUSED, "too_large")                                              \
    C(REFUSED_REVOKED, LOGINS_REFUSED, "revoked")                                                  \
    C(REFUSED_TOO_MANY_SESSIONS, LOGINS_REFUSED, "too_many_sessions")                              \
    C(END_CEILING, SESSION_ENDS, "ceiling")                                                        \
    C(END_IDLE, SESSION_ENDS, "idle")                                                              \
    C(END_LOGOUT, SESSION_ENDS, "logout")                                                          \
    C(END_BACKCHANNEL, SESSION_ENDS, "backchannel")                                                \
    C(END_REVOKED, SESSION_ENDS, "revoked")                                                        \
    C(END_REFRESH_FAILED, SESSION_ENDS, "refresh_failed")                                          \
    C(END_INVALID, SESSION_ENDS, "invalid")                                                        \
    C(BACKCHANNEL_ACCEPTED, BACKCHANNEL, "accepted")                                               \
    C(BACKCHANNEL_REFUSED, BACKCHANNEL, "refused")                                                 \
    C(BACKCHANNEL_FAILED, BACKCHANNEL, "failed")                                                   \
    C(PROVIDER_DISCOVERY, PROVIDER_REQUESTS, "discovery")                                          \
    C(PROVIDER_JWKS, PROVIDER_REQUESTS, "jwks")                                                    \
    C(PROVIDER_TOKEN, PROVIDER_REQUESTS, "token")                                                  \
    C(PROVIDER_USERINFO, PROVIDER_REQUESTS, "userinfo")                                            \
    C(PROVIDER_PAR, PROVIDER_REQUESTS, "par")                                                      \
    C(PROVIDER_END_SESSION, PROVIDER_REQUESTS, "end_session")                                      \
    C(PROVIDER_FAILED_DISCOVERY, PROVIDER_FAILURES, "discovery")                                   \
    C(PROVIDER_FAILED_JWKS, PROVIDER_FAILURES, "jwks")                                             \
    C(PROVIDER_FAILED_TOKEN, PROVIDER_FAILURES, "token")                                           \
    C(PROVIDER_FAILED_USERINFO, PROVIDER_FAILURES, "userinfo")                                     \
    C(PROVIDER_FAILED_PAR, PROVIDER_FAILURES, "par")                                               \
    C(PROVIDER_FAILED_END_SESSION, PROVIDER_FAILURES, "end_session")                               \
    C(CACHE_GET, CACHE_OPERATIONS, "get")                                                          \
    C(CACHE_GET_MANY, CACHE_OPERATIONS, "get_many")                                                \
    C(CACHE_SET, CACHE_OPERATIONS, "set")                                                          \
    C(CACHE_ADD, CACHE_OPERATIONS, "add")                                                          \
    C(CACHE_REMOVE, CACHE_OPERATIONS, "remove")                                                    \
    C(CACHE_SET_ADD, CACHE_OPERATIONS, "set_add")                                                  \
    C(CACHE_SET_MEMBERS, CACHE_OPERATIONS, "set_members")                                          \
    C(CACHE_SET_REMOVE, CACHE_OPERATIONS, "set_remove")                                            \
    C(CACHE_FAILED_GET, CACHE_FAILURES, "get")                                                     \
    C(CACHE_FAILED_GET_MANY, CACHE_FAILURES, "get_many")                                           \
    C(CACHE_FAILED_SET, CACHE_FAILURES, "set")                                                     \
    C(CACHE_FAILED_ADD, CACHE_FAILURES, "add")                                                     \
    C(CACHE_FAILED_REMOVE, CACHE_FAILURES, "remove")                                               \
    C(CACHE_FAILED_SET_ADD, CACHE_FAILURES, "set_add")                                             \
    C(CACHE_FAILED_SET_MEMBERS, CACHE_FAILURES, "set_members")                                     \
    C(CACHE_FAILED_SET_REMOVE, CACHE_FAILURES, "set_remove")                                       \
    C(REFRESHES, REFRESHES, NULL)

#define IPSIE_METRIC_FAMILY_ENUM(id, name, label, help) IPSIE_MF_##id,
typedef enum {
    IPSIE_METRIC_FAMILIES(IPSIE_METRIC_FAMILY_ENUM) IPSIE_MF_COUNT
} ipsie_metric_family_e;
#undef IPSIE_METRIC_FAMILY_ENUM

#define IPSIE_METRIC_COUNTER_ENUM(id, family, value) IPSIE_M_##id,
typedef enum { IPSIE_METRIC_COUNTERS(IPSIE_METRIC_COUNTER_ENUM) IPSIE_M_COUNT } ipsie_metric_e;
#undef IPSIE_METRIC_COUNTER_ENUM

/* The gauges: when the provider's metadata and keys were last fetched by any process. */
typedef enum { IPSIE_G_METADATA = 0, IPSIE_G_JWKS, IPSIE_G_COUNT } ipsie_metric_gauge_e;

/* Bytes of shared memory the counters take, and attaching them: base (aligned to 8 bytes,
 * zeroed by whoever made it) is used from now on by this process; NULL detaches. */
/* A fingerprint of what is counted (every name and label, in order): two builds that count
 * the same figures the same way have the same one. */
apr_uint64_t ipsie_metrics_layout(void);
apr_size_t ipsie_metrics_size(void);
void ipsie_metrics_attach(void *base);

/* Count one event, or n of them (one atomic add either way). */
void ipsie_metric_inc(ipsie_metric_e m);
void ipsie_metric_add(ipsie_metric_e m, apr_uint64_t n);

/* A fetch of the gauge's document ended well at when (Unix seconds): kept when newer than the
 * one recorded. */
void ipsie_metric_fetched(ipsie_metric_gauge_e g, long long when);

/* The figures at one moment; fetched[g] 0 when never. */
typedef struct {
    apr_uint64_t counters[IPSIE_M_COUNT];
    long long fetched[IPSIE_G_COUNT];
} ipsie_metrics_snapshot_t;

/* Read every figure (all zero when nothing is attached). */
void ipsie_metrics_read(ipsie_metrics_snapshot_t *out);

/* The Prometheus text exposition format (version 0.0.4) of snap at now: # HELP and # TYPE of
 * each family, one sample per counter, the age gauges in seconds (without a sample when never
 * fetched). */
const char *ipsie_metrics_prometheus(const ipsie_metrics_snapshot_t *snap, long long now,
                                     apr_pool_t *p);

/* The same figures as "Key: value" lines, for mod_status's ?auto report (the key is the
 * Prometheus name with "IPSIE_" for "mod_auth_ipsie_" and "_<label value>" appended:
 * "IPSIE_session_ends_total_ceiling"), and as an HTML table for its page. */
const char *ipsie_metrics_status_text(const ipsie_metrics_snapshot_t *snap, long long now,
                                      apr_pool_t *p);
const char *ipsie_metrics_status_html(const ipsie_metrics_snapshot_t *snap, long long now,
                                      apr_pool_t *p);

/* s as a Prometheus label value between double quotes: backslash, double quote and newline
 * escaped. */
const char *ipsie_metrics_escape_label(const char *s, apr_pool_t *p);

/* The name and label value of counter m ("mod_auth_ipsie_session_ends_total", "ceiling"). */
const char *ipsie_metric_name(ipsie_metric_e m);
const char *ipsie_metric_label_value(ipsie_metric_e m);

#endif
