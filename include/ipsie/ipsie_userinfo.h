/* UserInfo (OpenID Connect Core 5.3): the request made with the access token and the reading
 * of its response. The session takes the claims (ipsie_session_set_userinfo). */
#ifndef IPSIE_USERINFO_H
#define IPSIE_USERINFO_H

#include <apr_pools.h>
#include <jansson.h>

#include "ipsie_http.h"

typedef enum {
    IPSIE_USERINFO_OK = 0,
    IPSIE_USERINFO_UNREACHABLE,  /* no answer: transport failure, timeout, deadline */
    IPSIE_USERINFO_STATUS,       /* an answer other than 200 */
    IPSIE_USERINFO_SIGNED,       /* a signed or encrypted response (application/jwt): not read */
    IPSIE_USERINFO_MALFORMED,    /* not a JSON object, or no string sub */
    IPSIE_USERINFO_SUB_MISMATCH, /* sub is not the ID token's (OIDC Core 5.3.2) */
    IPSIE_USERINFO_OUTCOMES      /* how many there are */
} ipsie_userinfo_outcome_e;

/* One UserInfo request. */
typedef struct {
    const char *endpoint;     /* the provider's userinfo_endpoint */
    const char *access_token; /* sent as a Bearer token (RFC 6750 2.1) */
    const char *dpop_proof;   /* RFC 9449 7.1: the DPoP proof of this request, made for the
                               * endpoint, GET and the access token; with it the token goes
                               * as "Authorization: DPoP" with a "DPoP" header. NULL: Bearer */
} ipsie_userinfo_request_t;

/* Read a UserInfo response: status 200, a JSON object (an application/jwt response, signed or
 * encrypted, is refused: not supported), with a string sub equal to sub. *claims for
 * IPSIE_USERINFO_OK, released with p, else NULL. Every other outcome is logged. */
ipsie_userinfo_outcome_e ipsie_userinfo_read(json_t **claims, const ipsie_http_response_t *resp,
                                             const char *sub, apr_pool_t *p);

/* GET the UserInfo endpoint with the access token, then ipsie_userinfo_read. */
ipsie_userinfo_outcome_e ipsie_userinfo_fetch(json_t **claims, const ipsie_userinfo_request_t *req,
                                              const char *sub, const ipsie_http_opts_t *opts,
                                              apr_pool_t *p);

#endif
