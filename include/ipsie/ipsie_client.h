/* The client at the provider's endpoints (RFC 6749 2.3, RFC 7523, OpenID Connect Core 9): its
 * authentication (client_secret_basic, client_secret_post or private_key_jwt) and, with DPoP
 * (RFC 9449), a proof on each request with the server's nonce. Every POST of the client to the
 * token and PAR endpoints goes through ipsie_client_post. */
#ifndef IPSIE_CLIENT_H
#define IPSIE_CLIENT_H

#include <apr_pools.h>

#include "ipsie_discovery.h"
#include "ipsie_dpop.h"
#include "ipsie_http.h"
#include "ipsie_signer.h"

typedef enum {
    IPSIE_AUTH_CLIENT_SECRET_BASIC = 0,
    IPSIE_AUTH_CLIENT_SECRET_POST,
    IPSIE_AUTH_PRIVATE_KEY_JWT
} ipsie_client_auth_e;

typedef struct {
    const char *client_id;
    const char *client_secret; /* client_secret_basic and client_secret_post */
    ipsie_client_auth_e auth_method;
    const ipsie_signer_t *signing_key; /* private_key_jwt */
} ipsie_client_t;

/* Lifetime of a client assertion, seconds: exp = iat + this. */
#define IPSIE_CLIENT_ASSERTION_LIFETIME 60
#define IPSIE_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* What a request of the client carries besides its authentication. */
typedef struct {
    ipsie_dpop_t *dpop; /* a DPoP proof with this key on each request; NULL: none */
    int dpop_required;  /* a token response must be DPoP-bound (ipsie_token_grant) */
    long long now;      /* Unix seconds: iat of assertions and proofs */
} ipsie_client_opts_t;

/* The alg of the client's assertions for a provider that lists provider_algs
 * (token_endpoint_auth_signing_alg_values_supported; NULL: it does not say): the key's
 * (ipsie_signer_alg), except that an RSA key set to RS256 signs PS256 for a provider that
 * lists PS256 and not RS256. */
const char *ipsie_client_assertion_alg(const ipsie_client_t *client,
                                       const apr_array_header_t *provider_algs);

/* A client assertion for private_key_jwt (RFC 7523 3, OpenID Connect Core 9), signed with the
 * client's signing key in ipsie_client_assertion_alg's alg for provider_algs: iss and sub the
 * client_id, aud the audience (the issuer, as a single string), a random jti, iat now and exp
 * now + IPSIE_CLIENT_ASSERTION_LIFETIME. */
apr_status_t ipsie_client_assertion(const char **out, const ipsie_client_t *client,
                                    const char *audience, const apr_array_header_t *provider_algs,
                                    long long now, apr_pool_t *p);

/* POST form (form-urlencoded parameters) to endpoint, an endpoint of op, with
 * "Accept: application/json" and the client's authentication: HTTP Basic; client_id and
 * client_secret added to the form; or a client assertion (aud op->issuer, a new one for each
 * attempt) with client_id added when the form has none. With copts->dpop a DPoP proof goes along
 * (with the nonce kept for the endpoint), and an answer 400 use_dpop_nonce that gives a new
 * DPoP-Nonce is retried once with it. resp: the last answer, of any status. Errors as
 * ipsie_http_send's; APR_EINVAL when the client lacks what its method needs; IPSIE_ERR_CRYPTO when
 * an assertion or a proof cannot be signed. */
apr_status_t ipsie_client_post(ipsie_http_response_t *resp, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *endpoint, const char *form,
                               const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                               apr_pool_t *p);

/* The "error" of a provider's JSON error answer, reduced to [A-Za-z0-9_.-] and at most 64
 * characters, for a log line; "-" when there is none. */
const char *ipsie_client_op_error(const char *body, apr_size_t len, apr_pool_t *p);

#endif
