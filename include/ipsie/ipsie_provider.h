/* OpenID Provider metadata (Discovery 1.0), its JWKS, and the token endpoint exchange. */
#ifndef IPSIE_PROVIDER_H
#define IPSIE_PROVIDER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ipsie_http.h"
#include "ipsie_jwt.h"

typedef struct {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    const char *end_session_endpoint; /* NULL when absent */
    int iss_parameter_supported;      /* authorization_response_iss_parameter_supported */
} ipsie_provider_t;

/* The issuer a discovery URL names: the URL without "/.well-known/openid-configuration". */
const char *ipsie_provider_issuer_from_url(const char *metadata_url, apr_pool_t *p);

/* Parse and check a discovery document: JSON object, issuer equal to expected_issuer
 * (IPSIE_ERR_ISSUER_MISMATCH), the endpoints present as http(s) URLs (IPSIE_ERR_METADATA). */
apr_status_t ipsie_provider_parse(ipsie_provider_t **out, const char *json, apr_size_t len,
                                  const char *expected_issuer, apr_pool_t *p);

typedef enum {
    IPSIE_AUTH_CLIENT_SECRET_BASIC = 0,
    IPSIE_AUTH_CLIENT_SECRET_POST,
    IPSIE_AUTH_PRIVATE_KEY_JWT
} ipsie_client_auth_e;

typedef struct {
    const char *client_id;
    const char *client_secret;
    ipsie_client_auth_e auth_method;
} ipsie_client_t;

typedef struct {
    const char *id_token;
    const char *access_token;
    const char *refresh_token; /* NULL when absent */
    const char *token_type;
    long long expires_in; /* 0 when absent */
} ipsie_token_response_t;

/* Parse a token endpoint response body: JSON object with string id_token, access_token,
 * token_type ("Bearer", case-insensitive). IPSIE_ERR_MALFORMED otherwise. */
apr_status_t ipsie_token_response_parse(ipsie_token_response_t **out, const char *json,
                                        apr_size_t len, apr_pool_t *p);

/* Exchange an authorization code (with the PKCE verifier) at the token endpoint.
 * IPSIE_ERR_HTTP_STATUS for a non-200 answer (the OP's error code is logged). */
apr_status_t ipsie_token_request(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *code,
                                 const char *redirect_uri, const char *code_verifier,
                                 const ipsie_http_opts_t *opts, apr_pool_t *p);

/* A per-process cache of the provider metadata and JWKS, safe for threads; fetches happen
 * outside any lock. Lives in the pool given at creation. */
typedef struct ipsie_provider_cache_t ipsie_provider_cache_t;

apr_status_t ipsie_provider_cache_create(ipsie_provider_cache_t **out, const char *metadata_url,
                                         long ttl, const ipsie_http_opts_t *opts, apr_pool_t *p);

/* The metadata, fetched when missing or older than ttl. The returned value stays valid for
 * at least 10 minutes after a newer one replaces it (a request's life), at most the pool's. */
apr_status_t ipsie_provider_cache_metadata(const ipsie_provider_t **out,
                                           ipsie_provider_cache_t *cache, long long now);

/* The JWKS, fetched when missing or stale; with refresh set (after an unknown kid), fetched
 * again unless the last fetch is under 10 s old. */
apr_status_t ipsie_provider_cache_jwks(const ipsie_jwks_t **out, ipsie_provider_cache_t *cache,
                                       int refresh, long long now);

#endif
