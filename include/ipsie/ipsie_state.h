/* Per-login state carried in an encrypted, single-use, short-lived cookie. The cookies live
 * in a fixed number of slots (ipsie_state_0, ipsie_state_1, ...), so that whatever a browser
 * does in parallel it never holds more of them than there are slots, and each is small: all
 * of them together never pass IPSIE_STATE_BUDGET bytes of a request's Cookie header. */
#ifndef IPSIE_STATE_H
#define IPSIE_STATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ipsie_crypto.h"

#define IPSIE_STATE_COOKIE_PREFIX "ipsie_state_"
/* Slots are named by one hexadecimal digit. */
#define IPSIE_STATE_MAX_SLOTS 16
/* Bytes all state cookies may take of a Cookie header, separators included. */
#define IPSIE_STATE_BUDGET 2560

typedef struct {
    int slot;                  /* which state cookie holds it */
    const char *state;         /* the state parameter: the slot's digit and 43 characters */
    const char *nonce;         /* 43 characters */
    const char *code_verifier; /* PKCE, 43 characters */
    const char *return_path;   /* path and query on this site to return to after login */
    long long created;         /* Unix seconds */
    int prompt_login;          /* the request carried prompt=login */
    unsigned char seed[32];    /* state, nonce and verifier derive from it */
} ipsie_login_state_t;

/* The longest return path a state cookie keeps when max_slots slots share the budget. */
apr_size_t ipsie_login_state_path_max(int max_slots);

/* The largest number of bytes the state cookies of max_slots slots can add to a Cookie
 * header, separators included: never more than IPSIE_STATE_BUDGET. */
apr_size_t ipsie_login_state_budget(int max_slots);

/* A new login state in slot with a fresh random seed. return_path ("/..." of this site) is
 * kept whole when it fits ipsie_login_state_path_max(max_slots), else without its query when
 * that fits, else "/" (logged at info); a path that does not start with a single '/' (none,
 * "//host", "/\host") is "/". */
apr_status_t ipsie_login_state_new(ipsie_login_state_t **out, int slot, int max_slots,
                                   const char *return_path, int prompt_login, long long now,
                                   apr_pool_t *p);

/* Cookie name of a slot: IPSIE_STATE_COOKIE_PREFIX and its hexadecimal digit. */
const char *ipsie_login_state_cookie_name(int slot, apr_pool_t *p);

/* The slot a state parameter names, or -1 when it is not one the module issues. */
int ipsie_login_state_slot(const char *state);

/* Seal st into a cookie value (cookie name as AAD). */
apr_status_t ipsie_login_state_seal(char **out, const ipsie_login_state_t *st,
                                    const ipsie_crypto_t *c, apr_pool_t *p);

/* Open the value of the state cookie of the state parameter's slot: decrypt, check that it
 * is the state the parameter names and younger than timeout seconds. IPSIE_ERR_EXPIRED when
 * too old, IPSIE_ERR_STATE_OTHER when the cookie holds another login's state (a later one in
 * the same slot: leave it be), IPSIE_ERR_MALFORMED or IPSIE_ERR_CRYPTO when unusable. */
apr_status_t ipsie_login_state_open(ipsie_login_state_t **out, const char *state, const char *value,
                                    const ipsie_crypto_t *c, long timeout, long long now,
                                    apr_pool_t *p);

/* Given all cookies of the request, choose the slot for a new state: a free one at random
 * (absent, expired or unreadable), else the one holding the oldest state. *clear lists the
 * cookie names to delete: the request's other state cookies that are expired, unreadable,
 * or not in a slot below max_slots. */
apr_status_t ipsie_login_state_choose(int *slot, apr_array_header_t **clear, apr_table_t *cookies,
                                      const ipsie_crypto_t *c, int max_slots, long timeout,
                                      long long now, apr_pool_t *p);

#endif
