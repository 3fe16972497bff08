/* DPoP (RFC 9449): proofs of possession of the module's key on requests to the provider, the
 * server's nonces (kept per endpoint, per process), and requests to protected resources
 * (UserInfo) with a DPoP-bound access token. */
#ifndef IPSIE_DPOP_H
#define IPSIE_DPOP_H

#include <apr_pools.h>

#include "ipsie_discovery.h"
#include "ipsie_http.h"
#include "ipsie_signer.h"

/* IPSIEDPoP: never, when the provider lists DPoP algorithms, or always. */
typedef enum { IPSIE_DPOP_OFF = 0, IPSIE_DPOP_AUTO, IPSIE_DPOP_REQUIRED } ipsie_dpop_mode_e;

/* Longest nonce kept or sent; a longer DPoP-Nonce is not one (RFC 9449 8: 1*NQCHAR). */
#define IPSIE_DPOP_NONCE_MAX 512
/* Endpoints whose latest nonce is kept (token, PAR, UserInfo, and a few to spare). */
#define IPSIE_DPOP_ENDPOINTS 8

/* A DPoP key and the nonces the provider's endpoints gave it, per process: safe for threads. */
typedef struct ipsie_dpop_t ipsie_dpop_t;

/* A DPoP context signing with key (ES256 or EdDSA; another alg is APR_EINVAL), living in p. */
apr_status_t ipsie_dpop_create(ipsie_dpop_t **out, const ipsie_signer_t *key, apr_pool_t *p);

const ipsie_signer_t *ipsie_dpop_key(const ipsie_dpop_t *d);

/* 1 when requests to op carry DPoP proofs: always under IPSIE_DPOP_REQUIRED, under
 * IPSIE_DPOP_AUTO when the metadata's dpop_signing_alg_values_supported lists alg (the key's),
 * never under IPSIE_DPOP_OFF. */
int ipsie_dpop_wanted(ipsie_dpop_mode_e mode, const ipsie_provider_t *op, const char *alg);

/* url without its query and fragment: a proof's htu (RFC 9449 4.2). */
const char *ipsie_dpop_htu(const char *url, apr_pool_t *p);

/* A DPoP proof JWT (RFC 9449 4.2) for a request of method htm ("GET", "POST") to url: header
 * typ dpop+jwt, alg and the public jwk; claims jti (random, unique), htm, htu (url without
 * query and fragment), iat (now), ath (base64url SHA-256 of access_token) when access_token is
 * not NULL, nonce when nonce is not NULL. For the token and PAR endpoints access_token is
 * NULL; for a resource (UserInfo) it is the access token presented with it. */
apr_status_t ipsie_dpop_proof(const char **out, const ipsie_dpop_t *d, const char *htm,
                              const char *url, const char *access_token, const char *nonce,
                              long long now, apr_pool_t *p);

/* The nonce the server at url (its htu) gave last, or NULL. */
const char *ipsie_dpop_nonce(ipsie_dpop_t *d, const char *url, apr_pool_t *p);

/* Keep nonce as the latest for url's htu (replacing the one before); an invalid nonce (see
 * ipsie_dpop_nonce_valid) is ignored. The oldest endpoint gives way past IPSIE_DPOP_ENDPOINTS. */
void ipsie_dpop_nonce_keep(ipsie_dpop_t *d, const char *url, const char *nonce);

/* 1 when value is a usable DPoP-Nonce: 1 to IPSIE_DPOP_NONCE_MAX characters of NQCHAR
 * (%x21 / %x23-5B / %x5D-7E: printable ASCII but for '"' and '\'). */
int ipsie_dpop_nonce_valid(const char *value);

/* 1 when a WWW-Authenticate header value (RFC 9110 11.6.1: comma-separated challenges with
 * auth-params) holds a DPoP challenge whose error parameter is use_dpop_nonce (RFC 9449 9);
 * 0 otherwise, also for a value that does not parse. */
int ipsie_dpop_challenge_wants_nonce(const char *www_authenticate);

/* What to do after a response to a request made with a proof: its DPoP-Nonce (when valid) is
 * kept for url, and 1 is returned when the server asks for a proof with a nonce and gave one
 * that was not used (retry, once): an authorization server answers 400 with
 * {"error":"use_dpop_nonce"} (RFC 9449 8), a resource 401 with a use_dpop_nonce challenge (9).
 * The retry then carries resp's DPoP-Nonce. used: the nonce the request carried, or NULL. */
int ipsie_dpop_retry_with_nonce(ipsie_dpop_t *d, const char *url, const ipsie_http_response_t *resp,
                                const char *used, apr_pool_t *p);

/* A request to a protected resource (the UserInfo endpoint) with access_token and
 * "Accept: application/json": GET when form is NULL, else a form POST. With d: "Authorization: DPoP
 * <token>" and a proof with ath and the nonce kept for url, and a use_dpop_nonce answer (401 with a
 * challenge and a DPoP-Nonce) retried once with the new nonce; without d (a Bearer token):
 * "Authorization: Bearer <token>". resp: the last answer, of any status; errors as
 * ipsie_http_send's, and IPSIE_ERR_CRYPTO when no proof can be signed. */
apr_status_t ipsie_dpop_resource_send(ipsie_http_response_t *resp, ipsie_dpop_t *d, const char *url,
                                      const char *form, const char *access_token, long long now,
                                      const ipsie_http_opts_t *opts, apr_pool_t *p);

#endif
