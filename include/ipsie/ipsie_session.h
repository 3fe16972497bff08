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
    const char *access_token;   /* NULL when none */
    const char *refresh_token;  /* NULL when none */
    apr_array_header_t *claims; /* ipsie_claim_t read from the ID token, in its order */
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

/* The ID token in its compact form, rebuilt from the packed form of a decoded session;
 * NULL when the session has none. */
const char *ipsie_session_id_token(const ipsie_session_t *s, apr_pool_t *p);

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
