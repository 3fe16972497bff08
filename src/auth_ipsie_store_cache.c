/* The cache store: the session cookie carries only a random 256-bit id; the session, sealed
 * (AES-256-GCM) and bound to its entry's name, lives in the shared key-value store under a
 * keyed hash of that id (a dump of the store yields no usable cookie) until its ceiling (and
 * an idle timeout after it, to tell a returning user the ceiling was reached). The
 * entries of a provider session (sid) and of a user are indexed, so that a back-channel
 * logout removes them. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

/* 256 bits of randomness: 43 characters of base64url. */
#define ID_BYTES 32
#define ID_LEN 43

/* When an entry goes from the store: one idle timeout (at least a minute) after the ceiling,
 * so that a user who comes back after the ceiling is told so and signs in again with
 * prompt=login, as with a cookie that carries its ceiling; an entry gone at the ceiling would
 * look like no session at all, and the provider's session would sign the user in silently. */
static long long entry_until(const auth_ipsie_settings_t *cfg, const ipsie_session_t *s)
{
    long long grace = cfg->policy.inactivity_timeout > 60 ? cfg->policy.inactivity_timeout : 60;

    return s->ceiling + grace;
}

/* The name of the entry of session id under key number key of the passphrases. */
static const char *entry_name(const auth_ipsie_settings_t *cfg, int key, const char *id,
                              apr_pool_t *p)
{
    return ipsie_crypto_name(cfg->crypto, key, "s", &id, 1, p);
}

static apr_status_t cache_load(ipsie_session_t **out, int *presented, request_rec *r,
                               const auth_ipsie_settings_t *cfg)
{
    const char *id =
        ipsie_cookie_find(apr_table_get(r->headers_in, "Cookie"), cfg->cookie_name, r->pool);
    int key;

    *out = NULL;
    *presented = id != NULL;
    if (id == NULL || strlen(id) != ID_LEN || !auth_ipsie_is_token_text(id, ID_LEN)) {
        return APR_SUCCESS;
    }
    /* Written under the first passphrase; found under any, as cookies are. */
    for (key = 0; key < ipsie_crypto_key_count(cfg->crypto); key++) {
        const char *name = entry_name(cfg, key, id, r->pool);
        unsigned char *sealed;
        unsigned char *plain;
        apr_size_t sealed_len;
        apr_size_t len;
        ipsie_session_t *s;
        apr_status_t rv;

        if (name == NULL) {
            return IPSIE_ERR_CRYPTO;
        }
        rv = ipsie_kv_get(cfg->kv, name, &sealed, &sealed_len, r->pool);
        if (rv == APR_NOTFOUND) {
            continue;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* Sealed with the name as associated data: an entry copied under another name, or
         * altered, does not open. */
        if (ipsie_crypto_open(&plain, &len, cfg->crypto, name, (const char *)sealed, sealed_len,
                              r->pool)
                != APR_SUCCESS
            || ipsie_session_decode(&s, plain, len, r->pool) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "IPSIE11011: a session entry in the %s store does not open: ignored",
                          cfg->kv->ops->name);
            return APR_SUCCESS;
        }
        if (!ipsie_provider_issuer_accepted(s->iss, cfg->configured_issuer, cfg->metadata_url)
            || !ipsie_session_claim_holds(s, "aud", cfg->client.client_id, r->pool)) {
            return APR_SUCCESS;
        }
        s->handle = id;
        s->handle_key = key;
        *out = s;
        return APR_SUCCESS;
    }
    return APR_SUCCESS;
}

apr_array_header_t *auth_ipsie_cache_index_names(const auth_ipsie_settings_t *cfg, const char *iss,
                                                 const char *sid, const char *sub, apr_pool_t *p)
{
    const char *parts[2] = {iss, sid != NULL ? sid : sub};
    int n = ipsie_crypto_key_count(cfg->crypto);
    apr_array_header_t *names = apr_array_make(p, n, sizeof(const char *));
    int key;

    for (key = 0; key < n; key++) {
        const char *name =
            ipsie_crypto_name(cfg->crypto, key, sid != NULL ? "xs" : "xu", parts, 2, p);
        if (name == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(names, const char *) = name;
    }
    return names;
}

/* Index the entry name of s by its provider session and its user, under the first
 * passphrase (a back-channel logout reads the indexes of every passphrase). */
static apr_status_t index_entry(request_rec *r, const auth_ipsie_settings_t *cfg,
                                const ipsie_session_t *s, const char *name)
{
    apr_status_t rv = APR_SUCCESS;
    apr_array_header_t *index;

    if (s->sid != NULL) {
        index = auth_ipsie_cache_index_names(cfg, s->iss, s->sid, NULL, r->pool);
        rv = index == NULL ? IPSIE_ERR_CRYPTO
                           : ipsie_kv_set_add(cfg->kv, APR_ARRAY_IDX(index, 0, const char *), name,
                                              apr_time_from_sec(entry_until(cfg, s) + 60), r->pool);
    }
    if (rv == APR_SUCCESS) {
        index = auth_ipsie_cache_index_names(cfg, s->iss, NULL, s->sub, r->pool);
        /* The set outlives every entry it lists: set_add never shortens it. */
        rv = index == NULL ? IPSIE_ERR_CRYPTO
                           : ipsie_kv_set_add(cfg->kv, APR_ARRAY_IDX(index, 0, const char *), name,
                                              apr_time_from_sec(entry_until(cfg, s) + 60), r->pool);
    }
    return rv;
}

/* Take the entry names of s's id under key out of its indexes: a session that ended is no
 * longer one of its user's. What cannot be taken out now expires with the entry it names. */
static void unindex_entry(request_rec *r, const auth_ipsie_settings_t *cfg,
                          const ipsie_session_t *s, int key, const char *name)
{
    apr_array_header_t *by_sid =
        s->sid != NULL ? auth_ipsie_cache_index_names(cfg, s->iss, s->sid, NULL, r->pool) : NULL;
    apr_array_header_t *by_user = auth_ipsie_cache_index_names(cfg, s->iss, NULL, s->sub, r->pool);

    if ((by_sid != NULL
         && ipsie_kv_set_remove(cfg->kv, APR_ARRAY_IDX(by_sid, key, const char *), name, r->pool)
                != APR_SUCCESS)
        || (by_user != NULL
            && ipsie_kv_set_remove(cfg->kv, APR_ARRAY_IDX(by_user, key, const char *), name,
                                   r->pool)
                   != APR_SUCCESS)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11017: an ended session stays listed in its user's index in the %s "
                      "store until it would have expired",
                      cfg->kv->ops->name);
    }
}

/* Save s under the first passphrase's name of its id: a new session gets an id, and is
 * indexed before its entry exists, so that a back-channel logout that reads the index before
 * the entry is written still names it (and the caller's check of the revocation entries
 * catches one that read the index even earlier). A session found under another passphrase's
 * name moves to the first one's, indexed the same way, and its old entry goes. */
static apr_status_t cache_save(request_rec *r, const auth_ipsie_settings_t *cfg, ipsie_session_t *s)
{
    const char *id = s->handle;
    int fresh = id == NULL;
    const char *name;
    unsigned char *plain;
    apr_size_t len;
    char *sealed;
    apr_status_t rv;

    if (fresh) {
        id = ipsie_random_token(ID_BYTES, r->pool);
        if (id == NULL) {
            return IPSIE_ERR_CRYPTO;
        }
    }
    name = entry_name(cfg, 0, id, r->pool);
    if (name == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    rv = ipsie_session_encode(&plain, &len, s, r->pool);
    if (rv == APR_SUCCESS) {
        rv = ipsie_crypto_seal(&sealed, cfg->crypto, name, plain, len, r->pool);
    }
    /* A renewed session lives longer: its indexes must list it as long. */
    if (rv == APR_SUCCESS && (fresh || s->handle_key != 0 || s->renewed)) {
        rv = index_entry(r, cfg, s, name);
    }
    if (rv == APR_SUCCESS) {
        rv = ipsie_kv_set(cfg->kv, name, (const unsigned char *)sealed, strlen(sealed),
                          apr_time_from_sec(entry_until(cfg, s)), r->pool);
    }
    if (rv == APR_SUCCESS && !fresh && s->handle_key != 0) {
        const char *old = entry_name(cfg, s->handle_key, id, r->pool);
        rv = old != NULL ? ipsie_kv_remove(cfg->kv, old, r->pool) : IPSIE_ERR_CRYPTO;
        if (rv == APR_SUCCESS) {
            unindex_entry(r, cfg, s, s->handle_key, old);
        }
    }
    if (rv == IPSIE_ERR_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11016: login refused: sub=%s has %d sessions on this site already",
                      ipsie_log_safe(s->sub, r->pool), IPSIE_KV_SET_MAX);
        return IPSIE_ERR_BUSY;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE11012: the session cannot be written to the %s store",
                      cfg->kv->ops->name);
        return rv == IPSIE_ERR_CRYPTO ? rv : IPSIE_ERR_KV;
    }
    if (fresh) {
        s->handle = id;
        s->handle_key = 0;
        auth_ipsie_set_cookie(r, cfg, cfg->cookie_name, id, -1,
                              cfg->cookie_persistent ? s->ceiling : 0);
    }
    return APR_SUCCESS;
}

static apr_status_t cache_remove(request_rec *r, const auth_ipsie_settings_t *cfg,
                                 const ipsie_session_t *s)
{
    int carried = apr_table_get(auth_ipsie_cookies(r), cfg->cookie_name) != NULL;

    if (s != NULL && s->handle != NULL) {
        int key;
        for (key = 0; key < ipsie_crypto_key_count(cfg->crypto); key++) {
            const char *name = entry_name(cfg, key, s->handle, r->pool);
            if (name == NULL || ipsie_kv_remove(cfg->kv, name, r->pool) != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              "IPSIE11013: a session entry cannot be removed from the %s store",
                              cfg->kv->ops->name);
                /* A cookie this response would set for it goes all the same: the request
                 * never had it, and without it nobody reaches what is left. */
                if (!carried) {
                    auth_ipsie_clear_cookie(r, cfg, cfg->cookie_name);
                }
                return IPSIE_ERR_KV;
            }
            unindex_entry(r, cfg, s, key, name);
        }
    }
    if ((s != NULL && s->handle != NULL) || carried) {
        auth_ipsie_clear_cookie(r, cfg, cfg->cookie_name);
    }
    return APR_SUCCESS;
}

const auth_ipsie_store_t auth_ipsie_cache_store = {
    "cache",
    cache_load,
    cache_save,
    cache_remove,
};
