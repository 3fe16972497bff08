/* Pushed authorization requests (RFC 9126): the authorization request's parameters POSTed to
 * the provider with the client's authentication, and the short authorization URL the browser
 * then carries. */
#ifndef IPSIE_PAR_H
#define IPSIE_PAR_H

#include <apr_pools.h>

#include "ipsie_client.h"
#include "ipsie_discovery.h"
#include "ipsie_http.h"

/* Longest request_uri taken from the provider. */
#define IPSIE_PAR_REQUEST_URI_MAX 2048

/* 1 when a login pushes its request: asked (IPSIEAuthRequestMethod PAR) or required by the
 * metadata (require_pushed_authorization_requests). */
int ipsie_par_wanted(int asked, const ipsie_provider_t *op);

/* POST params (ipsie_login_authorization_params) to op's pushed_authorization_request_endpoint
 * with the client's authentication (and a DPoP proof with copts->dpop, which binds the code to
 * the key): *request_uri from its 201 answer. IPSIE_ERR_METADATA when op has no such endpoint,
 * IPSIE_ERR_HTTP_STATUS for another status (the provider's error code logged), IPSIE_ERR_HTTP
 * when it cannot be reached, IPSIE_ERR_MALFORMED for an answer without a usable request_uri
 * (a string of printable ASCII, at most IPSIE_PAR_REQUEST_URI_MAX characters). */
apr_status_t ipsie_par_push(const char **request_uri, const ipsie_provider_t *op,
                            const ipsie_client_t *client, const char *params,
                            const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                            apr_pool_t *p);

/* The authorization endpoint URL with client_id and request_uri alone (RFC 9126 4). */
const char *ipsie_par_authorization_url(const ipsie_provider_t *op, const char *client_id,
                                        const char *request_uri, apr_pool_t *p);

#endif
