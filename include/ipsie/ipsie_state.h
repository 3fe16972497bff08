/* Per-login state carried in an encrypted, single-use, short-lived cookie named after the
 * state value. */
#ifndef IPSIE_STATE_H
#define IPSIE_STATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ipsie_crypto.h"

#define IPSIE_STATE_COOKIE_PREFIX "ipsie_state_"

typedef struct {
    const char *state;         /* random, names the cookie */
    const char *nonce;         /* random, at most 64 characters */
    const char *code_verifier; /* PKCE */
    const char *original_url;  /* where to return after login (absolute, same-origin) */
    long long created;         /* Unix seconds */
    int prompt_login;          /* the request carried prompt=login */
} ipsie_login_state_t;

/* A new login state with fresh random state, nonce and code verifier. */
apr_status_t ipsie_login_state_new(ipsie_login_state_t **out, const char *original_url,
                                   int prompt_login, long long now, apr_pool_t *p);

/* Cookie name for a state value: IPSIE_STATE_COOKIE_PREFIX + state. */
const char *ipsie_login_state_cookie_name(const char *state, apr_pool_t *p);

/* Seal st into a cookie value (cookie name as AAD). */
apr_status_t ipsie_login_state_seal(char **out, const ipsie_login_state_t *st,
                                    const ipsie_crypto_t *c, apr_pool_t *p);

/* Open a cookie value for state: decrypt, parse, check that it names the same state and is
 * younger than timeout seconds. IPSIE_ERR_EXPIRED when too old, IPSIE_ERR_MALFORMED or
 * IPSIE_ERR_CRYPTO when unusable. */
apr_status_t ipsie_login_state_open(ipsie_login_state_t **out, const char *state, const char *value,
                                    const ipsie_crypto_t *c, long timeout, long long now,
                                    apr_pool_t *p);

/* Given all cookies of the request, name the state cookies to clear before adding a new
 * one so that at most max_live remain: expired or unreadable ones first, then the oldest.
 * Returns an array of const char * cookie names. */
apr_array_header_t *ipsie_login_state_evict(apr_table_t *cookies, const ipsie_crypto_t *c,
                                            int max_live, long timeout, long long now,
                                            apr_pool_t *p);

#endif
