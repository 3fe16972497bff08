/* Refreshing a session's tokens (RFC 6749 6, OpenID Connect Core 12) as rules on values: when
 * an access token is due, and what a refresh answer may change in the session. A refresh never
 * moves the ceiling later (SPEC section 1), except at the ceiling with
 * IPSIESessionExpiryAction refresh and a new, fully validated ID token of the same user whose
 * session_expiry is later (IPSIE SL1: re-authentication "by requesting a new ID token using a
 * previously obtained refresh token"). The glue makes the grant and keeps the session. */
#ifndef IPSIE_REFRESH_H
#define IPSIE_REFRESH_H

#include <apr_pools.h>
#include <jansson.h>

#include "ipsie_jwk.h"
#include "ipsie_login.h"
#include "ipsie_session.h"
#include "ipsie_token.h"

typedef enum {
    IPSIE_REFRESH_OK = 0,            /* the new tokens are kept; the ceiling stays */
    IPSIE_REFRESH_RENEWED,           /* at the ceiling: the session re-validated, a new ceiling */
    IPSIE_REFRESH_KEYS_NEEDED,       /* no key verifies the new ID token: fetch the keys again */
    IPSIE_REFRESH_ID_TOKEN_REFUSED,  /* the new ID token breaks a rule (logged by the core) */
    IPSIE_REFRESH_OTHER_USER,        /* its iss, sub or sid is not the session's */
    IPSIE_REFRESH_AUTH_TIME_EARLIER, /* its auth_time is earlier than the session's, or gone */
    IPSIE_REFRESH_NO_ID_TOKEN,       /* at the ceiling: the answer has no new ID token */
    IPSIE_REFRESH_NOT_LATER,         /* at the ceiling: no session_expiry later than now +
                                      * leeway (absent, invalid, or not later) */
    IPSIE_REFRESH_OUTCOMES           /* how many there are */
} ipsie_refresh_outcome_e;

/* 1 when the access token of s is due for a refresh at now: s holds a refresh token and the
 * token's expiry, and it expires within before seconds. before < 0: never. */
int ipsie_refresh_due(const ipsie_session_t *s, long long before, long long now);

/* The decision on a refresh answer for s at now, given the claims of its new ID token
 * (validated; NULL when the answer had none):
 *   claims of another iss or sub, of another sid (when both have one; at the ceiling, the same
 *   sid or none on both sides), or with an auth_time earlier than the session's (or none when
 *   it had one): refused, OTHER_USER or AUTH_TIME_EARLIER;
 *   renew (at the ceiling with IPSIESessionExpiryAction refresh): RENEWED, *ceiling =
 *   min(session_expiry - leeway, now + max_duration) and *session_expiry, when the claims
 *   hold a valid session_expiry later than now + leeway; NO_ID_TOKEN or NOT_LATER otherwise;
 *   else OK: the ceiling stays whatever session_expiry the claims hold.
 * *ceiling and *session_expiry are s's own unless RENEWED. */
ipsie_refresh_outcome_e ipsie_refresh_decide(long long *ceiling, long long *session_expiry,
                                             const ipsie_session_t *s, const json_t *claims,
                                             int renew, const ipsie_session_policy_t *policy,
                                             long long now);

typedef struct {
    ipsie_refresh_outcome_e outcome;
    long long old_ceiling; /* for RENEWED: the ceiling it replaced */
} ipsie_refresh_result_t;

/* Take a refresh answer (tokens) for s at now: its ID token, when there is one, validated as at
 * login (signature and alg with jwks, iss = issuer, aud, azp, exp, iat; the nonce, OIDC Core
 * 12.2, absent or the session's first one), then ipsie_refresh_decide. For OK and RENEWED the
 * session keeps the new tokens as the policy says (ipsie_login_keep_tokens) and, for RENEWED,
 * the new ID token with its ceiling (ipsie_session_renew); for the others it is left as it was.
 * keys_refetched as for ipsie_login_complete. */
void ipsie_refresh_apply(ipsie_refresh_result_t *out, ipsie_session_t *s,
                         const ipsie_token_response_t *tokens, int renew, const char *issuer,
                         const ipsie_jwks_t *jwks, int keys_refetched,
                         const ipsie_login_policy_t *policy, long long now, apr_pool_t *p);

#endif
