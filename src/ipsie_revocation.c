/* Revocation entries: their names (keyed hashes) and values, and whether they end a session. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_revocation.h"

/* Kinds of names, as they appear in the store: "ipsie:<kind>:<hash>". */
#define KIND_SESSION "rs"
#define KIND_USER "ru"
#define VALUE_PREFIX "r1:"
/* Beyond any real Unix time: an entry past it does not read. */
#define TIME_LIMIT 100000000000LL

/* names[i] for every key of c: kind over parts. */
static apr_array_header_t *names_for(const ipsie_crypto_t *c, const char *kind,
                                     const char *const *parts, int nparts, apr_pool_t *p)
{
    int n = ipsie_crypto_key_count(c);
    apr_array_header_t *names = apr_array_make(p, n, sizeof(const char *));
    int i;

    for (i = 0; i < n; i++) {
        const char *name = ipsie_crypto_name(c, i, kind, parts, nparts, p);
        if (name == NULL) {
            return NULL;
        }
        APR_ARRAY_PUSH(names, const char *) = name;
    }
    return names;
}

/* The parts naming the provider session of s: its sid, or its own id. */
static int session_parts(const char **parts, const ipsie_session_t *s)
{
    parts[0] = s->iss;
    parts[1] = s->sid != NULL ? "op" : "rp";
    parts[2] = s->sid != NULL ? s->sid : s->id;
    return 3;
}

apr_array_header_t *ipsie_revocation_sid_names(const ipsie_crypto_t *c, const char *iss,
                                               const char *sid, apr_pool_t *p)
{
    const char *parts[3] = {iss, "op", sid};

    return names_for(c, KIND_SESSION, parts, 3, p);
}

apr_array_header_t *ipsie_revocation_user_names(const ipsie_crypto_t *c, const char *iss,
                                                const char *sub, apr_pool_t *p)
{
    const char *parts[2] = {iss, sub};

    return names_for(c, KIND_USER, parts, 2, p);
}

apr_array_header_t *ipsie_revocation_session_names(const ipsie_crypto_t *c,
                                                   const ipsie_session_t *s, apr_pool_t *p)
{
    const char *parts[3];

    return names_for(c, KIND_SESSION, parts, session_parts(parts, s), p);
}

apr_array_header_t *ipsie_revocation_names(const ipsie_crypto_t *c, const ipsie_session_t *s,
                                           apr_pool_t *p)
{
    apr_array_header_t *session = ipsie_revocation_session_names(c, s, p);
    apr_array_header_t *user = ipsie_revocation_user_names(c, s->iss, s->sub, p);
    apr_array_header_t *names;
    int i;

    if (session == NULL || user == NULL) {
        return NULL;
    }
    names = apr_array_make(p, session->nelts * 2, sizeof(const char *));
    for (i = 0; i < session->nelts; i++) {
        APR_ARRAY_PUSH(names, const char *) = APR_ARRAY_IDX(session, i, const char *);
        APR_ARRAY_PUSH(names, const char *) = APR_ARRAY_IDX(user, i, const char *);
    }
    return names;
}

const unsigned char *ipsie_revocation_value(long long at, apr_size_t *len, apr_pool_t *p)
{
    const char *value = apr_psprintf(p, VALUE_PREFIX "%" APR_INT64_T_FMT, (apr_int64_t)at);

    *len = strlen(value);
    return (const unsigned char *)value;
}

/* The time in an entry, or -1 when it does not read. */
static long long value_time(const unsigned char *value, apr_size_t len)
{
    apr_size_t prefix = sizeof(VALUE_PREFIX) - 1;
    long long t = 0;
    apr_size_t i;

    if (len <= prefix || len > prefix + 12 || memcmp(value, VALUE_PREFIX, prefix) != 0) {
        return -1;
    }
    for (i = prefix; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return -1;
        }
        t = t * 10 + (value[i] - '0');
    }
    return t < TIME_LIMIT ? t : -1;
}

/* When the provider issued the ID token of s: its iat, on the provider's clock like the logout
 * token's iat that a user entry holds, so that the hosts' clocks do not matter. A login after
 * the logout gets a later ID token and stands, even when it rode on a provider session that
 * outlived the logout (its auth_time would be older); one issued before the logout, still in
 * flight, ends. Without an iat that reads, when the session began. */
static long long issued_at(const ipsie_session_t *s)
{
    const char *v = s->claims != NULL ? ipsie_session_claim(s, "iat") : NULL;
    long long t = 0;

    if (v == NULL || *v == '\0' || strlen(v) > 11) {
        return s->login_time;
    }
    for (; *v != '\0'; v++) {
        if (*v < '0' || *v > '9') {
            return s->login_time;
        }
        t = t * 10 + (*v - '0');
    }
    return t > 0 ? t : s->login_time;
}

int ipsie_revocation_applies(const ipsie_session_t *s, unsigned char *const *values,
                             const apr_size_t *lens, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        long long at;

        if (values[i] == NULL) {
            continue;
        }
        at = value_time(values[i], lens[i]);
        /* Even places name the provider session, odd ones the user. */
        if (at < 0 || i % 2 == 0 || issued_at(s) <= at) {
            return 1;
        }
    }
    return 0;
}

long long ipsie_revocation_expiry(long long at, long long max_duration)
{
    return at + max_duration + 60;
}
