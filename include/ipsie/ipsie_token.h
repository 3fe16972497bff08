/* The token endpoint exchange (OIDC Core 3.1.3): the client's credentials, the authorization
 * code request and its response. */
#ifndef IPSIE_TOKEN_H
#define IPSIE_TOKEN_H

#include <apr_pools.h>
#include "ipsie_discovery.h"
#include "ipsie_http.h"

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
    const char *id_token; /* NULL when absent (a grant other than the code exchange) */
    const char *access_token;
    const char *refresh_token; /* NULL when absent */
    const char *token_type;
    long long expires_in; /* 0 when absent */
} ipsie_token_response_t;

/* Parse a token endpoint response body: JSON object with string id_token, access_token,
 * token_type ("Bearer", case-insensitive). IPSIE_ERR_MALFORMED otherwise. */
apr_status_t ipsie_token_response_parse(ipsie_token_response_t **out, const char *json,
                                        apr_size_t len, apr_pool_t *p);

/* POST a grant to the token endpoint with the client's authentication: grant holds the
 * grant's own parameters, form-urlencoded (grant_type=... and the rest). The response as
 * ipsie_token_response_parse reads it, except that the id_token may be absent (NULL).
 * IPSIE_ERR_OP_REFUSED for an error response of RFC 6749 5.2 (a 400 or 401 with an error code,
 * e.g. invalid_grant), IPSIE_ERR_HTTP_STATUS for any other status than 200 (the OP's error code
 * is logged either way), IPSIE_ERR_HTTP when it cannot be reached. */
apr_status_t ipsie_token_grant(ipsie_token_response_t **out, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *grant,
                               const ipsie_http_opts_t *opts, apr_pool_t *p);

/* Exchange an authorization code (with the PKCE verifier) at the token endpoint. Errors as
 * ipsie_token_grant's; IPSIE_ERR_MALFORMED for an answer without an id_token. */
apr_status_t ipsie_token_request(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *code,
                                 const char *redirect_uri, const char *code_verifier,
                                 const ipsie_http_opts_t *opts, apr_pool_t *p);

/* The refresh-token grant (RFC 6749 6; OIDC Core 12): a new access token, perhaps a new
 * refresh token and a new ID token (id_token NULL when none). Errors as ipsie_token_grant's:
 * IPSIE_ERR_OP_REFUSED when the OP refuses (invalid_grant: the grant is gone). */
apr_status_t ipsie_token_refresh(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *refresh_token,
                                 const ipsie_http_opts_t *opts, apr_pool_t *p);

#endif
