/* The token endpoint exchange (OIDC Core 3.1.3): a grant with the client's authentication
 * (ipsie_client.h) and DPoP, the authorization code request and the response. */
#ifndef IPSIE_TOKEN_H
#define IPSIE_TOKEN_H

#include <apr_pools.h>
#include "ipsie_client.h"
#include "ipsie_discovery.h"
#include "ipsie_http.h"

typedef struct {
    const char *id_token; /* NULL when absent (a grant other than the code exchange) */
    const char *access_token;
    const char *refresh_token; /* NULL when absent */
    const char *token_type;    /* "Bearer" or "DPoP" (any case): a DPoP-bound access token */
    long long expires_in;      /* 0 when absent */
} ipsie_token_response_t;

/* Parse a token endpoint response body: JSON object with string id_token, access_token,
 * token_type ("Bearer" or "DPoP", case-insensitive). IPSIE_ERR_MALFORMED otherwise. */
apr_status_t ipsie_token_response_parse(ipsie_token_response_t **out, const char *json,
                                        apr_size_t len, apr_pool_t *p);

/* POST a grant to the token endpoint with the client's authentication (ipsie_client_post: with
 * copts->dpop a DPoP proof, and a use_dpop_nonce answer retried once): grant holds the grant's
 * own parameters, form-urlencoded (grant_type=... and the rest); copts NULL: no DPoP, the
 * assertion's times from the clock. The response as ipsie_token_response_parse reads it, except
 * that the id_token may be absent (NULL), and its token_type must fit the request: a DPoP token
 * without a proof is IPSIE_ERR_MALFORMED, a Bearer token after a proof is accepted unless
 * copts->dpop_required (IPSIE_ERR_DPOP_UNBOUND). IPSIE_ERR_OP_REFUSED for an error response of
 * RFC 6749 5.2 (a 400 or 401 with an error code, e.g. invalid_grant), IPSIE_ERR_HTTP_STATUS for
 * any other status than 200 (the OP's error code is logged either way), IPSIE_ERR_HTTP when it
 * cannot be reached. */
apr_status_t ipsie_token_grant(ipsie_token_response_t **out, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *grant,
                               const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                               apr_pool_t *p);

/* Exchange an authorization code (with the PKCE verifier) at the token endpoint: the
 * authorization_code grant of ipsie_token_grant. Errors as ipsie_token_grant's;
 * IPSIE_ERR_MALFORMED for an answer without an id_token. */
apr_status_t ipsie_token_request(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *code,
                                 const char *redirect_uri, const char *code_verifier,
                                 const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                                 apr_pool_t *p);

/* The refresh-token grant (RFC 6749 6; OIDC Core 12): a new access token, perhaps a new
 * refresh token and a new ID token (id_token NULL when none), with copts as for
 * ipsie_token_grant (a DPoP proof keeps the new access token bound). Errors as
 * ipsie_token_grant's: IPSIE_ERR_OP_REFUSED when the OP refuses (invalid_grant: the grant is
 * gone). */
apr_status_t ipsie_token_refresh(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *refresh_token,
                                 const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                                 apr_pool_t *p);

#endif
