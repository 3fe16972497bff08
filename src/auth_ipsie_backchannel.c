/* Back-Channel Logout 1.0 at POST <redirect_uri>?logout=backchannel: the provider says a
 * session of its own (sid) or every session of a user (sub) ended. The logout token is
 * validated by the core (ipsie_logout_token.c), its jti spent for every server sharing the
 * store, and the sessions end in both stores: revocation entries, which cookie sessions check
 * on every request, and, for the cache store, its entries removed through their indexes.
 * Answers 200, or 400 with a JSON error (section 2.8: a token that does not validate, and a
 * logout that failed, which the provider may send again), never stored (Cache-Control:
 * no-store). */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_logout_token.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_revocation.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

/* A logout request is one small form; a larger body is not one. */
#define BODY_MAX (64 * 1024)
/* How old a logout token may be: the provider sends it when the session ends. */
#define TOKEN_MAX_AGE 300

static int answer(request_rec *r, int status, const char *error, const char *description)
{
    if (error == NULL) {
        return auth_ipsie_send(r, status, "text/plain", "");
    }
    return auth_ipsie_send(r, status, "application/json",
                           apr_psprintf(r->pool,
                                        "{\"error\":\"%s\",\"error_description\":\"%s\"}\n", error,
                                        description));
}

static int refuse(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "IPSIE12021: back-channel logout refused: %s",
                  why);
    ipsie_metric_inc(IPSIE_M_BACKCHANNEL_REFUSED);
    return answer(r, HTTP_BAD_REQUEST, "invalid_request", why);
}

/* The request's form body, at most BODY_MAX bytes: NULL when it is not one. */
static const char *read_form(request_rec *r)
{
    const char *type = apr_table_get(r->headers_in, "Content-Type");
    char *body;
    apr_size_t used = 0;
    long got;

    if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0
        || (type[33] != '\0' && type[33] != ';' && type[33] != ' ')) {
        return NULL;
    }
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK || !ap_should_client_block(r)) {
        return NULL;
    }
    body = apr_palloc(r->pool, BODY_MAX + 1);
    while ((got = ap_get_client_block(r, body + used, BODY_MAX - used)) > 0) {
        used += (apr_size_t)got;
        if (used == BODY_MAX) {
            /* One more byte means too large. */
            char extra;
            if (ap_get_client_block(r, &extra, 1) > 0) {
                return NULL;
            }
            break;
        }
    }
    if (got < 0) {
        return NULL;
    }
    body[used] = '\0';
    return body;
}

/* Validate the token with the provider's keys, once more with keys fetched again when none
 * verifies it. *keys_rv: why keys could not be had. */
static apr_status_t validate(ipsie_logout_token_t **token, apr_status_t *keys_rv, request_rec *r,
                             const auth_ipsie_settings_t *cfg, const char *jwt, long long now)
{
    const ipsie_provider_t *op;
    const ipsie_jwks_t *jwks;
    const ipsie_jwks_t *fresh;
    ipsie_logout_token_expect_t expect;
    apr_time_t deadline = auth_ipsie_provider_deadline(r, cfg);
    long retry_after;
    apr_status_t rv;

    /* The issuer exactly as the provider's metadata spells it (and the keys need it anyway). */
    *keys_rv = ipsie_provider_cache_metadata(&op, cfg->provider, auth_ipsie_now(), deadline);
    if (*keys_rv != APR_SUCCESS) {
        return *keys_rv;
    }
    /* Under sl1, keys from a jwks_uri that is not https are no keys of the provider's. */
    if (auth_ipsie_provider_breaks_profile(r, cfg, op)) {
        *keys_rv = IPSIE_ERR_METADATA;
        return *keys_rv;
    }
    memset(&expect, 0, sizeof(expect));
    expect.issuer = op->issuer;
    expect.client_id = cfg->client.client_id;
    expect.allowed_algs = cfg->signing_algs;
    expect.aud_single_string = cfg->profile_sl1;
    expect.clock_skew = cfg->clock_skew;
    expect.max_age = TOKEN_MAX_AGE;
    expect.now = now;
    *keys_rv = ipsie_provider_cache_jwks(&jwks, cfg->provider, auth_ipsie_now(), deadline);
    if (*keys_rv != APR_SUCCESS) {
        return *keys_rv;
    }
    rv = ipsie_logout_token_validate(token, jwt, jwks, &expect, r->pool);
    if (rv != IPSIE_ERR_JWT_KID && rv != IPSIE_ERR_JWT_SIGNATURE) {
        return rv;
    }
    *keys_rv = ipsie_provider_cache_jwks_refresh(&fresh, &retry_after, cfg->provider, jwks,
                                                 auth_ipsie_now(), deadline);
    if (*keys_rv != APR_SUCCESS) {
        return *keys_rv;
    }
    return ipsie_logout_token_validate(token, jwt, fresh, &expect, r->pool);
}

/* Remove the cache store's entries listed in the index sets named (and the sets): those of
 * every passphrase. *removed: how many entries were listed. IPSIE_ERR_KV when the store
 * failed (what was removed stays removed). */
static apr_status_t remove_indexed(int *removed, request_rec *r, const auth_ipsie_settings_t *cfg,
                                   const apr_array_header_t *indexes)
{
    apr_status_t rv = indexes != NULL ? APR_SUCCESS : IPSIE_ERR_CRYPTO;
    int i, j;

    *removed = 0;
    for (i = 0; rv == APR_SUCCESS && i < indexes->nelts; i++) {
        const char *index = APR_ARRAY_IDX(indexes, i, const char *);
        apr_array_header_t *entries;

        rv = ipsie_kv_set_members(cfg->kv, index, &entries, r->pool);
        for (j = 0; rv == APR_SUCCESS && j < entries->nelts; j++) {
            rv = ipsie_kv_remove(cfg->kv, APR_ARRAY_IDX(entries, j, const char *), r->pool);
        }
        if (rv == APR_SUCCESS) {
            *removed += entries->nelts;
            rv = ipsie_kv_remove(cfg->kv, index, r->pool);
        }
    }
    return rv;
}

/* End what the token names: its provider session when it has a sid (with or without sub), else
 * every session of its user whose ID token was issued before the logout token (the provider's
 * clock on both sides: the iat of each). The revocation
 * entries go first, in both stores: a cache store session written meanwhile reads them after
 * its write (see auth_ipsie_session_start). */
static apr_status_t end_sessions(request_rec *r, const auth_ipsie_settings_t *cfg,
                                 const ipsie_logout_token_t *token, long long now)
{
    int removed = 0;
    apr_status_t rv;

    if (token->sid != NULL) {
        rv = auth_ipsie_revoke(
            r, cfg, ipsie_revocation_sid_names(cfg->crypto, token->iss, token->sid, r->pool), now);
    }
    else {
        rv = auth_ipsie_revoke(
            r, cfg, ipsie_revocation_user_names(cfg->crypto, token->iss, token->sub, r->pool),
            token->iat);
    }
    if (rv == APR_SUCCESS && cfg->store == &auth_ipsie_cache_store) {
        rv = remove_indexed(
            &removed, r, cfg,
            auth_ipsie_cache_index_names(cfg, token->iss, token->sid, token->sub, r->pool));
        if (removed > 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "IPSIE11003: session ended: reason=backchannel sessions=%d", removed);
            ipsie_metric_add(IPSIE_M_END_BACKCHANNEL, (apr_uint64_t)removed);
        }
    }
    return rv;
}

int auth_ipsie_backchannel(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    long long now = auth_ipsie_now();
    ipsie_logout_token_t *token;
    const char *body;
    const char *jwt;
    const char *spent;
    apr_table_t *form;
    apr_status_t keys_rv = APR_SUCCESS;
    apr_status_t rv;

    if (strcmp(apr_table_get(args, "logout"), "backchannel") != 0) {
        return answer(r, HTTP_BAD_REQUEST, "invalid_request", "POST is for logout=backchannel");
    }
    if (cfg->kv == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "IPSIE12022: a back-channel logout arrived, but there is no shared store "
                      "to end sessions with: set IPSIESessionCache (or load mod_socache_shmcb)");
        ipsie_metric_inc(IPSIE_M_BACKCHANNEL_FAILED);
        return answer(r, HTTP_BAD_REQUEST, "invalid_request",
                      "this site cannot end sessions from the back channel");
    }
    body = read_form(r);
    if (body == NULL || ipsie_form_parse(&form, body, r->pool) != APR_SUCCESS) {
        return refuse(r, "the body is not a form of at most 64 KiB");
    }
    jwt = apr_table_get(form, "logout_token");
    if (jwt == NULL || *jwt == '\0') {
        return refuse(r, "the form has no logout_token");
    }
    rv = validate(&token, &keys_rv, r, cfg, jwt, now);
    /* Keys that cannot be had leave the token unchecked: a failed logout, not a valid one. A
     * refetch refused because the last one is too recent says the token's key is not the
     * provider's (a forged token can ask for refetches; a real rotation is seen within 10 s). */
    if (keys_rv == IPSIE_ERR_THROTTLED) {
        return refuse(r, "the logout token's key is not among the provider's keys");
    }
    if (keys_rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, keys_rv, r,
                      "IPSIE12023: cannot check a logout token: the provider's keys are "
                      "unavailable");
        ipsie_metric_inc(IPSIE_M_BACKCHANNEL_FAILED);
        return answer(r, HTTP_BAD_REQUEST, "temporarily_unavailable",
                      "the provider's keys cannot be had now");
    }
    if (rv != APR_SUCCESS) {
        return refuse(r, "the logout token is not valid");
    }
    /* Single use, for every server sharing the store. */
    spent = ipsie_crypto_mark_name(
        "jti", (const char *const[]){cfg->client.client_id, token->iss, token->jti}, 3, r->pool);
    rv = spent
             ? ipsie_kv_add(cfg->kv, spent, (const unsigned char *)"1", 1,
                            apr_time_from_sec(now + TOKEN_MAX_AGE + cfg->clock_skew + 60), r->pool)
             : IPSIE_ERR_CRYPTO;
    if (rv == APR_EEXIST) {
        return refuse(r, "the logout token was used already");
    }
    if (rv == APR_SUCCESS) {
        rv = end_sessions(r, cfg, token, now);
        /* Not ended: the provider's retry of the same token must be taken. */
        if (rv != APR_SUCCESS && ipsie_kv_remove(cfg->kv, spent, r->pool) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "IPSIE12027: a failed back-channel logout's token stays marked used: "
                          "the provider's retry of it will be refused; sid=%s sub=%s",
                          ipsie_log_safe(token->sid, r->pool), ipsie_log_safe(token->sub, r->pool));
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "IPSIE12025: a back-channel logout failed: the session store (%s) cannot "
                      "end the sessions now: sid=%s sub=%s",
                      cfg->kv->ops->name, ipsie_log_safe(token->sid, r->pool),
                      ipsie_log_safe(token->sub, r->pool));
        ipsie_metric_inc(IPSIE_M_BACKCHANNEL_FAILED);
        return answer(r, HTTP_BAD_REQUEST, "temporarily_unavailable",
                      "the sessions cannot be ended now");
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "IPSIE12024: back-channel logout: sid=%s sub=%s",
                  ipsie_log_safe(token->sid, r->pool), ipsie_log_safe(token->sub, r->pool));
    ipsie_metric_inc(IPSIE_M_BACKCHANNEL_ACCEPTED);
    return answer(r, HTTP_OK, NULL, NULL);
}
