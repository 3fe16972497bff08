/* The cookie store: the session sealed (AES-256-GCM, the cookie name as associated data) in
 * the session cookie, or in numbered chunk cookies when it is larger than one may be. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_state.h"

APLOG_USE_MODULE(auth_ipsie);

/* Name of the i-th chunk cookie of the session. */
static const char *chunk_name(request_rec *r, const auth_ipsie_settings_t *cfg, int i)
{
    return apr_psprintf(r->pool, "%s_%d", cfg->cookie_name, i);
}

static const char *count_name(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    return apr_pstrcat(r->pool, cfg->cookie_name, "_chunks", NULL);
}

/* Clear the chunk cookies from first on that the request carried. */
static void clear_chunks_from(request_rec *r, const auth_ipsie_settings_t *cfg, int first)
{
    apr_table_t *cookies = auth_ipsie_cookies(r);
    int i;

    for (i = first; i < IPSIE_COOKIE_MAX_CHUNKS; i++) {
        const char *name = chunk_name(r, cfg, i);
        if (apr_table_get(cookies, name) == NULL) {
            break;
        }
        auth_ipsie_clear_cookie(r, cfg, name);
    }
}

/* Clear name when the request carried it. */
static void clear_if_sent(request_rec *r, const auth_ipsie_settings_t *cfg, const char *name)
{
    if (apr_table_get(auth_ipsie_cookies(r), name) != NULL) {
        auth_ipsie_clear_cookie(r, cfg, name);
    }
}

/* Bytes of a request's Cookie header the session cookies may take: LimitRequestFieldSize less
 * every login state cookie and IPSIE_COOKIE_ROOM_FOR_SITE. */
static apr_size_t session_room(const request_rec *r, const auth_ipsie_settings_t *cfg)
{
    apr_size_t limit = (apr_size_t)r->server->limit_req_fieldsize;
    apr_size_t taken = sizeof("Cookie: ") - 1 + ipsie_login_state_budget(cfg->state_max_cookies)
                       + IPSIE_COOKIE_ROOM_FOR_SITE + 2;

    return limit > taken ? limit - taken : 0;
}

static apr_status_t cookie_load(ipsie_session_t **out, int *presented, request_rec *r,
                                const auth_ipsie_settings_t *cfg)
{
    const char *sealed;
    unsigned char *plain;
    apr_size_t len;
    ipsie_session_t *s = NULL;

    *out = NULL;
    /* The common case, one unchunked cookie, is found without parsing every cookie. */
    sealed = ipsie_cookie_find(apr_table_get(r->headers_in, "Cookie"), cfg->cookie_name, r->pool);
    *presented = sealed != NULL;
    if (sealed == NULL) {
        apr_table_t *cookies = auth_ipsie_cookies(r);
        sealed = ipsie_cookie_join(cookies, cfg->cookie_name, r->pool);
        *presented = sealed != NULL || apr_table_get(cookies, count_name(r, cfg)) != NULL;
    }
    if (sealed == NULL || *sealed == '\0') {
        return APR_SUCCESS;
    }
    if (ipsie_crypto_open(&plain, &len, cfg->crypto, cfg->cookie_name, sealed, strlen(sealed),
                          r->pool)
            != APR_SUCCESS
        || ipsie_session_decode(&s, plain, len, r->pool) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    /* A session made for another provider or another client is no session here (its iss is
     * the metadata's at login, which the configuration accepted then). */
    if (!ipsie_provider_issuer_accepted(s->iss, cfg->configured_issuer, cfg->metadata_url)
        || !ipsie_session_claim_holds(s, "aud", cfg->client.client_id, r->pool)) {
        return APR_SUCCESS;
    }
    *out = s;
    return APR_SUCCESS;
}

static apr_status_t cookie_save(request_rec *r, const auth_ipsie_settings_t *cfg,
                                ipsie_session_t *s)
{
    unsigned char *plain;
    apr_size_t len;
    char *sealed;
    apr_array_header_t *pieces;
    long long expires = cfg->cookie_persistent ? s->ceiling : 0;
    apr_size_t size;
    apr_size_t room;
    apr_status_t rv;
    int i;

    rv = ipsie_session_encode(&plain, &len, s, r->pool);
    if (rv == APR_SUCCESS) {
        rv = ipsie_crypto_seal(&sealed, cfg->crypto, cfg->cookie_name, plain, len, r->pool);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* NULL when even IPSIE_COOKIE_MAX_CHUNKS chunks cannot hold it. */
    pieces = ipsie_cookie_split(cfg->cookie_name, sealed, cfg->cookie_chunk_size, r->pool);
    if (pieces == NULL) {
        return IPSIE_ERR_TOO_LARGE;
    }
    /* A Cookie header over the server's limit would lock the browser out of the whole site:
     * the session leaves room for every login state and for the site's own cookies. */
    size = ipsie_cookie_split_size(cfg->cookie_name, pieces);
    room = session_room(r, cfg);
    if (size > room) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11009: the session takes %" APR_SIZE_T_FMT
                      " bytes of cookies, more than the %" APR_SIZE_T_FMT
                      " this server leaves it (LimitRequestFieldSize %d, less %" APR_SIZE_T_FMT
                      " for login states and %d for the site's own cookies): raise "
                      "LimitRequestFieldSize or ask the provider for fewer claims",
                      size, room, r->server->limit_req_fieldsize,
                      ipsie_login_state_budget(cfg->state_max_cookies), IPSIE_COOKIE_ROOM_FOR_SITE);
        return IPSIE_ERR_TOO_LARGE;
    }
    if (pieces->nelts == 1) {
        auth_ipsie_set_cookie(r, cfg, cfg->cookie_name, sealed, -1, expires);
        clear_if_sent(r, cfg, count_name(r, cfg));
        clear_chunks_from(r, cfg, 0);
        return APR_SUCCESS;
    }
    auth_ipsie_set_cookie(r, cfg, count_name(r, cfg), apr_itoa(r->pool, pieces->nelts), -1,
                          expires);
    for (i = 0; i < pieces->nelts; i++) {
        auth_ipsie_set_cookie(r, cfg, chunk_name(r, cfg, i), APR_ARRAY_IDX(pieces, i, const char *),
                              -1, expires);
    }
    clear_if_sent(r, cfg, cfg->cookie_name);
    clear_chunks_from(r, cfg, pieces->nelts);
    return APR_SUCCESS;
}

static apr_status_t cookie_remove(request_rec *r, const auth_ipsie_settings_t *cfg,
                                  const ipsie_session_t *s)
{
    clear_if_sent(r, cfg, cfg->cookie_name);
    clear_if_sent(r, cfg, count_name(r, cfg));
    clear_chunks_from(r, cfg, 0);
    return APR_SUCCESS;
}

const auth_ipsie_store_t auth_ipsie_cookie_store = {
    "cookie",
    cookie_load,
    cookie_save,
    cookie_remove,
};
