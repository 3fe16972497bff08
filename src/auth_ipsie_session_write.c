/* A session written: at login, when a request changed it, when its last activity is due, and
 * the revocation entries that end sessions before their ceiling (SPEC section 3). Every write
 * of a server-side session is followed by a look at the revocation entries, so that a logout
 * racing the write still wins. Below the request-path files that decide when to write. */
#include <httpd.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_revocation.h"

APLOG_USE_MODULE(auth_ipsie);

/* Whether a revocation entry ends s: *revoked. IPSIE_ERR_KV when the store cannot say. One
 * round trip for every name of s. */
apr_status_t auth_ipsie_session_revoked(int *revoked, request_rec *r,
                                        const auth_ipsie_settings_t *cfg, const ipsie_session_t *s)
{
    apr_array_header_t *names;
    unsigned char **values;
    apr_size_t *lens;
    apr_status_t rv;

    *revoked = 0;
    /* On one host, a store no revocation was ever written to has none to find. */
    if (auth_ipsie_kv_socache_is(cfg->kv) && !auth_ipsie_kv_socache_any_revocation(cfg->kv)) {
        return APR_SUCCESS;
    }
    names = ipsie_revocation_names(cfg->crypto, s, r->pool);
    if (names == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    values = apr_pcalloc(r->pool, sizeof(*values) * (apr_size_t)names->nelts);
    lens = apr_pcalloc(r->pool, sizeof(*lens) * (apr_size_t)names->nelts);
    rv = ipsie_kv_get_many(cfg->kv, (const char *const *)names->elts, names->nelts, values, lens,
                           r->pool);
    if (rv == APR_SUCCESS) {
        *revoked = ipsie_revocation_applies(s, values, lens, names->nelts);
    }
    return rv;
}

/* After a server-side session was written: a back-channel logout that removed it (or read
 * its index) while this request ran would not see the new entry, but its revocation entries
 * were written first, so they are read now, and take the entry away again. A store that
 * cannot say takes it away too. IPSIE_ERR_REVOKED, IPSIE_ERR_KV, or APR_SUCCESS. */
static apr_status_t recheck_after_write(request_rec *r, const auth_ipsie_settings_t *cfg,
                                        const ipsie_session_t *s)
{
    int revoked = 0;
    apr_status_t rv;

    if (cfg->kv == NULL || cfg->revocation_per_request) {
        return APR_SUCCESS;
    }
    rv = auth_ipsie_session_revoked(&revoked, r, cfg, s);
    if (rv == APR_SUCCESS && !revoked) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "IPSIE11015: a session was revoked while it was being written: removed");
    }
    /* The request's own cookie is cleared only with the entry gone. */
    if (cfg->store->remove(r, cfg, s) != APR_SUCCESS) {
        return IPSIE_ERR_KV;
    }
    return rv == APR_SUCCESS ? IPSIE_ERR_REVOKED : IPSIE_ERR_KV;
}

void auth_ipsie_session_touch(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s,
                              long long now)
{
    /* Lazy write-back: most requests leave the session alone. */
    if (!ipsie_session_needs_touch(s, &cfg->policy, now)) {
        return;
    }
    s->last_activity = now;
    /* The new cookie rides on the application's response: keep it out of shared caches. */
    apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
    if (cfg->store->save(r, cfg, s) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "IPSIE11007: cannot rewrite the session");
        return;
    }
    recheck_after_write(r, cfg, s);
}

apr_status_t auth_ipsie_session_keep(request_rec *r, const auth_ipsie_settings_t *cfg,
                                     ipsie_session_t *s)
{
    apr_status_t rv;

    /* Its last activity is the request's to write (auth_ipsie_session_touch): ?info=json,
     * which may refresh a session too, is no activity. */
    /* The new cookie rides on the application's response: keep it out of shared caches. */
    apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
    rv = cfg->store->save(r, cfg, s);
    if (rv == IPSIE_ERR_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE11018: the refreshed session of sub=%s no longer fits the cookies: "
                      "the one before is kept",
                      ipsie_log_safe(s->sub, r->pool));
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return IPSIE_ERR_KV;
    }
    rv = recheck_after_write(r, cfg, s);
    return rv == IPSIE_ERR_KV ? IPSIE_ERR_KV : APR_SUCCESS;
}

apr_status_t auth_ipsie_session_start(request_rec *r, const auth_ipsie_settings_t *cfg,
                                      ipsie_session_t *s)
{
    apr_status_t rv = cfg->store->save(r, cfg, s);

    return rv == APR_SUCCESS ? recheck_after_write(r, cfg, s) : rv;
}

apr_status_t auth_ipsie_revoke(request_rec *r, const auth_ipsie_settings_t *cfg,
                               const apr_array_header_t *names, long long now)
{
    apr_size_t len;
    const unsigned char *value = ipsie_revocation_value(now, &len, r->pool);
    long long later = now > apr_time_sec(r->request_time) ? now : apr_time_sec(r->request_time);
    apr_time_t until = apr_time_from_sec(ipsie_revocation_expiry(later, cfg->policy.max_duration));
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (cfg->kv == NULL || names == NULL) {
        return names == NULL ? IPSIE_ERR_CRYPTO : APR_SUCCESS;
    }
    /* Before the entries: a request that sees the mark then finds them. */
    if (auth_ipsie_kv_socache_is(cfg->kv)) {
        auth_ipsie_kv_socache_note_revocation(cfg->kv);
    }
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; i++) {
        rv = ipsie_kv_set(cfg->kv, APR_ARRAY_IDX(names, i, const char *), value, len, until,
                          r->pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "IPSIE11014: a revocation cannot be written to the %s store",
                      cfg->kv->ops->name);
    }
    return rv;
}

apr_status_t auth_ipsie_take_mark(request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const char *name, long long until)
{
    apr_status_t rv;

    if (cfg->kv == NULL) {
        return APR_SUCCESS;
    }
    rv = name != NULL ? ipsie_kv_add(cfg->kv, name, (const unsigned char *)"1", 1,
                                     apr_time_from_sec(until), r->pool)
                      : IPSIE_ERR_CRYPTO;
    if (rv == APR_EEXIST) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "IPSIE17010: another request asks the provider for this session now: this "
                      "one goes on without");
    }
    else if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "IPSIE17007: the %s store cannot take the mark that one request at a time "
                      "asks the provider for a session: not asked now",
                      cfg->kv->ops->name);
    }
    return rv;
}
