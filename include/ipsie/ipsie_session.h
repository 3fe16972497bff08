/* The session model: what a login leaves behind, the ceiling rules of SPEC section 1, and a
 * compact binary encoding that is cheap to read on every request. */
#ifndef IPSIE_SESSION_H
#define IPSIE_SESSION_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ipsie_claims.h"

/* Largest session_expiry accepted: a positive integer below 10^10. */
#define IPSIE_SESSION_EXPIRY_LIMIT 10000000000LL

typedef struct {
    const char *id;     /* the session's own random id (base64url): what revokes it alone */
    const char *handle; /* the store's reference to it, not part of the encoding (the cache
                         * store's cookie id); NULL until a store sets it */
    int handle_key;     /* which passphrase named it in the store (0: the first) */
    const char *sub;
    const char *iss;
    const char *sid;          /* NULL when the ID token had none */
    long long session_expiry; /* the IdP's claim, 0 when absent */
    long long ceiling;        /* fixed at login */
    long long login_time;
    long long last_activity;
    const char *id_token;               /* the compact ID token when just created; after decoding
                                         * NULL: read it with ipsie_session_id_token() */
    const unsigned char *id_token_blob; /* its packed form, which the session carries */
    apr_size_t id_token_blob_len;
    const char *access_token;      /* NULL when none */
    long long access_token_expiry; /* when the access token expires, 0: not known */
    int access_token_dpop;         /* the token response's token_type: 1 DPoP (the access token goes
                                    * with a proof of the DPoP key), 0 Bearer */
    const char *refresh_token;     /* NULL when none */
    const char *userinfo;    /* the claims taken from UserInfo: a JSON object of those the ID token
                              * lacks, never a protocol claim; NULL: none */
    long long userinfo_time; /* when UserInfo was last read, 0: never */
    apr_array_header_t *claims; /* ipsie_claim_t read from the ID token, in its order, then
                                 * those of userinfo */
    int id_token_claims;        /* how many of claims come from the ID token (not encoded) */
    int renewed; /* a refresh moved the ceiling (not encoded): the store indexes it again */
} ipsie_session_t;

typedef struct {
    long long leeway;             /* IPSIESessionExpiryLeeway */
    long long max_duration;       /* IPSIESessionMaxDuration */
    long long inactivity_timeout; /* IPSIESessionInactivityTimeout */
    int require_session_expiry;   /* IPSIERequireSessionExpiry */
} ipsie_session_policy_t;

typedef enum {
    IPSIE_SESSION_VALID = 0,
    IPSIE_SESSION_CEILING, /* now >= ceiling */
    IPSIE_SESSION_IDLE,    /* now >= last_activity + inactivity_timeout */
    IPSIE_SESSION_NONE     /* no session, or one that cannot be read */
} ipsie_session_state_e;

/* Read session_expiry from validated ID token claims and compute the ceiling:
 * min(session_expiry - leeway, now + max_duration). *session_expiry is 0 when absent.
 * IPSIE_ERR_SESSION_EXPIRY_INVALID (not a positive integer below 10^10),
 * IPSIE_ERR_SESSION_EXPIRY_MISSING (absent but required),
 * IPSIE_ERR_SESSION_EXPIRY_PAST (session_expiry <= now + leeway). */
apr_status_t ipsie_session_ceiling(long long *ceiling, long long *session_expiry,
                                   const json_t *claims, const ipsie_session_policy_t *policy,
                                   long long now);

/* Build a session at login time from a validated ID token and its claims (the ceiling is
 * computed from them as above). The session keeps the ID token once, packed; its claims are
 * read from it (ipsie_claims_scan), less nonce, at_hash, c_hash and s_hash, at most 256 of them
 * (iss, sub and aud always), those whose names collide hidden (ipsie_claims_hide_collisions,
 * logged). sub and iss must be strings. IPSIE_ERR_MALFORMED when the token cannot be kept.
 * The ID token is the only copy of the claims: each is stored once. */
apr_status_t ipsie_session_create(ipsie_session_t **out, const json_t *claims, const char *id_token,
                                  const char *access_token, const char *refresh_token,
                                  const ipsie_session_policy_t *policy, long long now,
                                  apr_pool_t *p);

/* Longest access token lifetime taken from a token response: ten years. */
#define IPSIE_SESSION_EXPIRES_IN_MAX 315360000LL

/* What a token response leaves in a session, and what of it the configuration keeps. */
typedef struct {
    const char *access_token;
    long long expires_in; /* 0: not stated */
    const char *refresh_token;
    int keep_access_token;  /* some location passes it on, or UserInfo is read again */
    int keep_refresh_token; /* refreshes are configured */
    int dpop;               /* token_type DPoP, else Bearer */
} ipsie_session_tokens_t;

/* Keep the tokens of a token response obtained at now: the access token when kept, its type
 * (DPoP or Bearer, from every response: a refresh may change it), its expiry (now + expires_in, at
 * most IPSIE_SESSION_EXPIRES_IN_MAX; 0 when not stated), and the refresh token when kept: a new one
 * replaces the one held, none leaves it. */
void ipsie_session_set_tokens(ipsie_session_t *s, const ipsie_session_tokens_t *tokens,
                              long long now, apr_pool_t *p);

/* Where the session stands at now. The ceiling wins over idle when both are reached. */
ipsie_session_state_e ipsie_session_check(const ipsie_session_t *s,
                                          const ipsie_session_policy_t *policy, long long now);

/* 1 when last_activity should be written back: at least min(60, 5 % of the timeout, >= 1)
 * seconds have passed since it was last written. */
int ipsie_session_needs_touch(const ipsie_session_t *s, const ipsie_session_policy_t *policy,
                              long long now);

/* Seconds until the session ends for idleness (may be <= 0). */
long long ipsie_session_idle_remaining(const ipsie_session_t *s,
                                       const ipsie_session_policy_t *policy, long long now);

/* Largest JSON text of the claims a session takes from UserInfo: the session travels with
 * every request. */
#define IPSIE_SESSION_USERINFO_MAX 4096

/* Add the claims of a UserInfo response (a JSON object whose sub was checked) to the session
 * read at now: those the ID token does not have (its claims win), never a protocol claim (iss,
 * sub, aud, exp, iat, auth_time, nonce, acr, amr, azp, sid, session_expiry, ...); each whole,
 * in the response's order, while they fit IPSIE_SESSION_USERINFO_MAX and the 256 claims of a
 * session (what is left out is logged). They replace those of an earlier response.
 * IPSIE_ERR_MALFORMED when userinfo is not an object. */
apr_status_t ipsie_session_set_userinfo(ipsie_session_t *s, const json_t *userinfo, long long now,
                                        apr_pool_t *p);

/* 1 when name is a claim about the token or the authentication (iss, sub, aud, exp, iat, nbf,
 * jti, auth_time, nonce, acr, amr, azp, sid, session_expiry, cnf, the hashes, aggregated and
 * distributed claims' references): the ID token alone says them. */
int ipsie_session_claim_is_protocol(const char *name);

/* The ID token in its compact form, rebuilt from the packed form of a decoded session;
 * NULL when the session has none. */
const char *ipsie_session_id_token(const ipsie_session_t *s, apr_pool_t *p);

/* The JSON payload of the session's ID token (*len bytes, not NUL-terminated), for what its
 * claims do not keep (the nonce). IPSIE_ERR_MALFORMED when the session has none. */
apr_status_t ipsie_session_id_token_payload(const char **payload, apr_size_t *len,
                                            const ipsie_session_t *s, apr_pool_t *p);

/* Make the validated ID token id_token the session's, with a new ceiling and session_expiry
 * (a re-validation by refresh at the ceiling): its claims are read from it, those from
 * UserInfo kept; renewed is set. IPSIE_ERR_MALFORMED, the session unchanged, when the token's
 * claims cannot be kept or name no string sub and iss. */
apr_status_t ipsie_session_renew(ipsie_session_t *s, const char *id_token, long long ceiling,
                                 long long session_expiry, apr_pool_t *p);

/* The value of claim name, or NULL. */
const char *ipsie_session_claim(const ipsie_session_t *s, const char *name);

/* 1 when claim name is value, or, for an array claim, when one of its elements is value
 * (so a string "a,admin" does not hold "admin"). */
int ipsie_session_claim_holds(const ipsie_session_t *s, const char *name, const char *value,
                              apr_pool_t *p);

/* The state of REMOTE_USER taken from a claim. */
typedef enum {
    IPSIE_REMOTE_USER_OK = 0,
    IPSIE_REMOTE_USER_MISSING,    /* absent or empty */
    IPSIE_REMOTE_USER_NOT_STRING, /* a number, an array, an object ... */
    IPSIE_REMOTE_USER_CONTROL     /* holds a control character (CR, LF, ...) */
} ipsie_remote_user_e;

/* The user name claim name gives the session: *user is set only for IPSIE_REMOTE_USER_OK.
 * Control characters are refused rather than replaced: an identity is not rewritten. */
ipsie_remote_user_e ipsie_session_remote_user(const char **user, const ipsie_session_t *s,
                                              const char *name);

/* Serialise to the binary session format (versioned, length-prefixed fields). */
apr_status_t ipsie_session_encode(unsigned char **buf, apr_size_t *len, const ipsie_session_t *s,
                                  apr_pool_t *p);

/* Parse the binary session format. Every length is bounds-checked: IPSIE_ERR_MALFORMED on
 * anything short, long, or of another version, and on an ID token whose claims do not read.
 * Strings point into a copy in p. */
apr_status_t ipsie_session_decode(ipsie_session_t **out, const unsigned char *buf, apr_size_t len,
                                  apr_pool_t *p);

#endif
