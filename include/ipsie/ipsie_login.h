/* Logging in, as rules on values (OpenID Connect Core 3.1.2, 3.1.3.7, RFC 9207, RP-Initiated
 * Logout 1.0): the authorization and end-session URLs, and the completion of a login at the
 * redirect URI. The glue fetches what the rules need and maps each outcome to a status, a page
 * and a log line. */
#ifndef IPSIE_LOGIN_H
#define IPSIE_LOGIN_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "ipsie_discovery.h"
#include "ipsie_id_token.h"
#include "ipsie_jwk.h"
#include "ipsie_session.h"
#include "ipsie_state.h"
#include "ipsie_token.h"

typedef enum {
    IPSIE_LOGIN_OK = 0,
    IPSIE_LOGIN_ISS_WRONG,         /* RFC 9207: the response names another issuer */
    IPSIE_LOGIN_ISS_MISSING,       /* RFC 9207: the provider promised iss and sent none */
    IPSIE_LOGIN_NO_CODE,           /* no usable authorization code */
    IPSIE_LOGIN_KEYS_NEEDED,       /* no key verifies the ID token: fetch the keys again */
    IPSIE_LOGIN_ID_TOKEN_REFUSED,  /* the ID token breaks a rule (logged by the core) */
    IPSIE_LOGIN_AUTH_TIME_MISSING, /* max_age or prompt=login needs an integer auth_time, in
                                    * the past and after 1970 */
    IPSIE_LOGIN_AUTH_TIME_OLD,     /* auth_time older than max_age */
    IPSIE_LOGIN_AUTH_TIME_BEFORE,  /* prompt=login asked, auth_time from before the request */
    IPSIE_LOGIN_SESSION_EXPIRY_INVALID,
    IPSIE_LOGIN_SESSION_EXPIRY_MISSING,
    IPSIE_LOGIN_SESSION_EXPIRY_PAST,
    IPSIE_LOGIN_UNUSABLE, /* the ID token's claims cannot be kept */
    IPSIE_LOGIN_OUTCOMES  /* how many there are */
} ipsie_login_outcome_e;

/* What a login must meet, from the configuration. */
typedef struct {
    const char *client_id;
    const apr_array_header_t *signing_algs; /* const char * */
    int aud_single_string;                  /* IPSIEProfile sl1 */
    long clock_skew;
    long long max_age; /* IPSIEMaxAge, -1 when not sent */
    ipsie_session_policy_t session;
    int keep_access_token;  /* some location passes it on, or UserInfo is read again */
    int keep_refresh_token; /* a refresh is configured (before expiry, or at the ceiling) */
} ipsie_login_policy_t;

/* What an authorization request asks for, besides the login state. */
typedef struct {
    const char *client_id;
    const char *redirect_uri; /* absolute */
    const char *scope;
    long long max_age;        /* -1: not sent */
    const char *login_hint;   /* NULL: not sent */
    const char *extra_params; /* an encoded query, NULL: none */
    const char *dpop_jkt;     /* RFC 9449 10: the DPoP key's thumbprint, NULL: not sent */
} ipsie_login_request_t;

/* The authorization request's parameters for the login state st, as an encoded query without
 * '?': response_type code, client_id, redirect_uri, scope, state, nonce, PKCE S256,
 * prompt=login when st asks for it, max_age, login_hint, dpop_jkt and the extra parameters.
 * What a pushed authorization request (ipsie_par_push) sends. */
const char *ipsie_login_authorization_params(const ipsie_login_request_t *req,
                                             const ipsie_login_state_t *st, apr_pool_t *p);

/* The authorization endpoint URL with ipsie_login_authorization_params. */
const char *ipsie_login_authorization_url(const ipsie_provider_t *op,
                                          const ipsie_login_request_t *req,
                                          const ipsie_login_state_t *st, apr_pool_t *p);

/* The provider's end_session_endpoint with id_token_hint, post_logout_redirect_uri,
 * client_id and, when not NULL, state; NULL when the provider has none, or one of the first
 * three values is missing. */
const char *ipsie_logout_url(const ipsie_provider_t *op, const char *id_token,
                             const char *post_logout_redirect_uri, const char *client_id,
                             const char *state, apr_pool_t *p);

/* Before the token request: the response's iss (RFC 9207: equal to the issuer when present,
 * present when the metadata says so) and its code (present, at most 2048 characters). */
ipsie_login_outcome_e ipsie_login_check_response(const char *code, const char *iss,
                                                 const ipsie_provider_t *op);

/* As ipsie_login_check_response, and with require_iss (IPSIE SL1) the iss parameter is required
 * whatever the metadata says. */
ipsie_login_outcome_e ipsie_login_check_response_iss(const char *code, const char *iss,
                                                     const ipsie_provider_t *op, int require_iss);

/* The name of the first of the provider's endpoints (issuer, authorization, token, jwks_uri,
 * end_session, userinfo, pushed authorization requests) that is not an https URL, or NULL when
 * all are. */
const char *ipsie_provider_plain_endpoint(const ipsie_provider_t *op);

typedef struct {
    ipsie_login_outcome_e outcome;
    ipsie_session_t *session; /* for IPSIE_LOGIN_OK */
    const char *detail;       /* for AUTH_TIME_MISSING: what asked for it */
} ipsie_login_result_t;

/* What an ID token from the provider is checked against under policy: issuer, client id,
 * algorithms, aud form, clock skew and now; the nonce is the caller's. */
void ipsie_login_id_token_expect(ipsie_id_token_expect_t *expect, const char *issuer,
                                 const ipsie_login_policy_t *policy, long long now);

/* After the token request: the ID token of tokens validated for issuer and the state's nonce
 * with jwks, auth_time against max_age and the state's prompt=login, then the session and its
 * ceiling. keys_refetched says jwks were fetched again for this token: without it a token
 * that no key verifies (an unknown kid, a key rotated under the same kid) gives
 * IPSIE_LOGIN_KEYS_NEEDED, with it IPSIE_LOGIN_ID_TOKEN_REFUSED. */
void ipsie_login_complete(ipsie_login_result_t *out, const ipsie_login_state_t *st,
                          const ipsie_token_response_t *tokens, const char *issuer,
                          const ipsie_jwks_t *jwks, int keys_refetched,
                          const ipsie_login_policy_t *policy, long long now, apr_pool_t *p);

/* Keep in s what the configuration uses of a token response obtained at now (see
 * ipsie_session_set_tokens): the access token when some location passes it on or UserInfo is
 * read again, the refresh token when a refresh is configured, the access token's expiry. */
void ipsie_login_keep_tokens(ipsie_session_t *s, const ipsie_token_response_t *tokens,
                             const ipsie_login_policy_t *policy, long long now, apr_pool_t *p);

/* 1 when the provider's session_expiry set the session's ceiling (rather than the local
 * maximum): the login line then names it. */
int ipsie_login_provider_set_ceiling(const ipsie_session_t *s,
                                     const ipsie_session_policy_t *policy);

#endif
