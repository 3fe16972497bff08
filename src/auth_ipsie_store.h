/* Where sessions live. A store loads, saves and removes the request's session; the ceiling
 * and idle rules (auth_ipsie_session.c) call it and never know which one is behind it. */
#ifndef AUTH_IPSIE_STORE_H
#define AUTH_IPSIE_STORE_H

#include <httpd.h>

#include "ipsie/ipsie_session.h"

struct auth_ipsie_settings_t;

typedef struct auth_ipsie_store_t {
    const char *name;
    /* The request's session into *out: NULL when the request carries none or one that cannot
     * be read (then *presented says whether it carried one). APR_SUCCESS unless the store
     * itself failed, which the caller answers with a 503. */
    apr_status_t (*load)(ipsie_session_t **out, int *presented, request_rec *r,
                         const struct auth_ipsie_settings_t *cfg);
    /* Keep s as the request's session, replacing what it carried (a new session gets its
     * handle); IPSIE_ERR_TOO_LARGE (logged) when it cannot be kept. */
    apr_status_t (*save)(request_rec *r, const struct auth_ipsie_settings_t *cfg,
                         ipsie_session_t *s);
    /* Remove the request's session (s, when it could be read or was just saved, or NULL),
     * and its cookie, whether the request carried it or this response sets it. IPSIE_ERR_KV
     * (logged) when the store could not remove it: the cookie is then left alone, so that the
     * removal can be tried again. */
    apr_status_t (*remove)(request_rec *r, const struct auth_ipsie_settings_t *cfg,
                           const ipsie_session_t *s);
} auth_ipsie_store_t;

/* Sessions in encrypted cookies, chunked when large (auth_ipsie_store_cookie.c). */
extern const auth_ipsie_store_t auth_ipsie_cookie_store;
/* Sessions in the shared key-value store, the cookie an id (auth_ipsie_store_cache.c). */
extern const auth_ipsie_store_t auth_ipsie_cache_store;

#endif
