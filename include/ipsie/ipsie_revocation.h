/* Revocation (SPEC section 3): sessions ended before their ceiling, in both stores and on
 * every server sharing the store, through entries every request checks: one for the
 * provider's session (its sid, or the session's own id when the ID token had no sid), and one
 * for the user (iss and sub) with a time: every session of that user that began by then. The
 * names are keyed hashes (ipsie_crypto_name), so the store names no user. */
#ifndef IPSIE_REVOCATION_H
#define IPSIE_REVOCATION_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "ipsie_crypto.h"
#include "ipsie_session.h"

/* The names to look up for s, in one round trip: for each key of c (the first passphrase's
 * first), the provider-session name and then the user name. NULL on a library failure. */
apr_array_header_t *ipsie_revocation_names(const ipsie_crypto_t *c, const ipsie_session_t *s,
                                           apr_pool_t *p);

/* The names to write when the provider ends its session sid of issuer iss (Back-Channel Logout
 * with a sid), one per key. */
apr_array_header_t *ipsie_revocation_sid_names(const ipsie_crypto_t *c, const char *iss,
                                               const char *sid, apr_pool_t *p);

/* The names to write when every session of the user sub of issuer iss ends, one per key. */
apr_array_header_t *ipsie_revocation_user_names(const ipsie_crypto_t *c, const char *iss,
                                                const char *sub, apr_pool_t *p);

/* The names to write when session s alone ends (logout): its provider session's, or, without
 * a sid, its own, one per key. */
apr_array_header_t *ipsie_revocation_session_names(const ipsie_crypto_t *c,
                                                   const ipsie_session_t *s, apr_pool_t *p);

/* The value of an entry written at time at (Unix seconds); *len its length. */
const unsigned char *ipsie_revocation_value(long long at, apr_size_t *len, apr_pool_t *p);

/* Whether the entries found for ipsie_revocation_names(s) revoke s: values[i] (lens[i] bytes)
 * is what the store holds under names[i], NULL when nothing. A provider-session entry revokes
 * whatever its time; a user entry revokes a session whose ID token was issued at or before its
 * time (the token's iat, the provider's clock, like the logout token's iat the entry holds;
 * without one, when the session began). An entry that does not read revokes (fail closed). */
int ipsie_revocation_applies(const ipsie_session_t *s, unsigned char *const *values,
                             const apr_size_t *lens, int n);

/* How long an entry must live: no session that began before it can outlive that. */
long long ipsie_revocation_expiry(long long at, long long max_duration);

#endif
