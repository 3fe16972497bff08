/* The session model: ceiling and idle rules (SPEC section 1) and the binary session format. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_session.h"
#include "ipsie/ipsie_util.h"

#define SESSION_FORMAT_VERSION 0x07
/* Bytes of randomness in a session's own id. */
#define SESSION_ID_BYTES 16
#define SESSION_MAX_CLAIMS 256
#define SESSION_NULL_LEN 0xFFFFFFFFu
#define SESSION_TIME_LIMIT 100000000000LL

apr_status_t ipsie_session_ceiling(long long *ceiling, long long *session_expiry,
                                   const json_t *claims, const ipsie_session_policy_t *policy,
                                   long long now)
{
    const json_t *claim = json_object_get(claims, "session_expiry");
    long long local_ceiling = now + policy->max_duration;
    long long value;

    *ceiling = 0;
    *session_expiry = 0;
    if (claim == NULL) {
        if (policy->require_session_expiry) {
            return IPSIE_ERR_SESSION_EXPIRY_MISSING;
        }
        *ceiling = local_ceiling;
        return APR_SUCCESS;
    }
    /* Only a JSON integer will do: strings, reals, booleans and null fail closed. */
    if (!json_is_integer(claim)) {
        return IPSIE_ERR_SESSION_EXPIRY_INVALID;
    }
    value = (long long)json_integer_value(claim);
    if (value <= 0 || value >= IPSIE_SESSION_EXPIRY_LIMIT) {
        return IPSIE_ERR_SESSION_EXPIRY_INVALID;
    }
    if (value <= now + policy->leeway) {
        return IPSIE_ERR_SESSION_EXPIRY_PAST;
    }
    *session_expiry = value;
    *ceiling = value - policy->leeway < local_ceiling ? value - policy->leeway : local_ceiling;
    return APR_SUCCESS;
}

/* Claims that describe the token rather than the user are not passed on. */
static int claim_is_token_internal(const char *name)
{
    return strcmp(name, "nonce") == 0 || strcmp(name, "at_hash") == 0 || strcmp(name, "c_hash") == 0
           || strcmp(name, "s_hash") == 0;
}

static int claim_is_kept_past_the_cap(const char *name)
{
    return strcmp(name, "iss") == 0 || strcmp(name, "sub") == 0 || strcmp(name, "aud") == 0;
}

static const unsigned char *pack_token(apr_size_t *len, const char *jwt, apr_pool_t *p);
static apr_status_t token_payload(const char **payload, apr_size_t *len, const unsigned char *blob,
                                  apr_size_t blob_len, apr_pool_t *p);

int ipsie_session_claim_is_protocol(const char *name)
{
    static const char *const protocol[] = {"iss",
                                           "sub",
                                           "aud",
                                           "exp",
                                           "iat",
                                           "nbf",
                                           "jti",
                                           "nonce",
                                           "at_hash",
                                           "c_hash",
                                           "s_hash",
                                           "azp",
                                           "auth_time",
                                           "acr",
                                           "amr",
                                           "sid",
                                           "session_expiry",
                                           "cnf",
                                           "typ",
                                           "_claim_names",
                                           "_claim_sources",
                                           NULL};
    int i;

    for (i = 0; protocol[i] != NULL; i++) {
        if (strcmp(name, protocol[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 when claims[0..n) has one named name. */
static int claim_among(const apr_array_header_t *claims, int n, const char *name)
{
    const ipsie_claim_t *c = (const ipsie_claim_t *)claims->elts;
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(c[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Append the claims of s->userinfo that the ID token does not have and that are no protocol
 * claim, within the cap; *cut is set when the cap left some out. */
static apr_status_t read_userinfo_claims(ipsie_session_t *s, int *cut, apr_pool_t *p)
{
    apr_array_header_t *all;
    const ipsie_claim_t *c;
    int i;

    if (s->userinfo == NULL) {
        return APR_SUCCESS;
    }
    if (ipsie_claims_scan(&all, s->userinfo, strlen(s->userinfo), p) != APR_SUCCESS) {
        return IPSIE_ERR_MALFORMED;
    }
    c = (const ipsie_claim_t *)all->elts;
    for (i = 0; i < all->nelts; i++) {
        if (ipsie_session_claim_is_protocol(c[i].name)
            || claim_among(s->claims, s->id_token_claims, c[i].name)) {
            continue;
        }
        if (s->claims->nelts >= SESSION_MAX_CLAIMS) {
            *cut = 1;
            continue;
        }
        *(ipsie_claim_t *)apr_array_push(s->claims) = c[i];
    }
    return APR_SUCCESS;
}

/* The session's claims, sub, iss and sid, read from its packed ID token, then those it took
 * from UserInfo; logged: the first reading at login (or of new UserInfo claims), which logs
 * what it leaves out. */
static apr_status_t read_claims(ipsie_session_t *s, int logged, apr_pool_t *p)
{
    const char *payload;
    apr_size_t len;
    apr_array_header_t *all;
    const ipsie_claim_t *c;
    const char *collided;
    int i, cut = 0;

    s->sub = NULL;
    s->iss = NULL;
    s->sid = NULL;
    if (token_payload(&payload, &len, s->id_token_blob, s->id_token_blob_len, p) != APR_SUCCESS
        || ipsie_claims_scan(&all, payload, len, p) != APR_SUCCESS) {
        if (logged) {
            ipsie_log(IPSIE_LOG_WARNING,
                      "IPSIE04003: the ID token's claims cannot be kept (a NUL character, a lone "
                      "surrogate or nesting deeper than 32)");
        }
        return IPSIE_ERR_MALFORMED;
    }
    s->claims = apr_array_make(p, all->nelts > 0 ? all->nelts : 1, sizeof(ipsie_claim_t));
    c = (const ipsie_claim_t *)all->elts;
    for (i = 0; i < all->nelts; i++) {
        if (claim_is_token_internal(c[i].name)) {
            continue;
        }
        /* Past the cap only what the session itself is checked against is kept. */
        if (s->claims->nelts >= SESSION_MAX_CLAIMS - 3 && !claim_is_kept_past_the_cap(c[i].name)) {
            cut = 1;
            continue;
        }
        *(ipsie_claim_t *)apr_array_push(s->claims) = c[i];
        /* The first of each counts, as for every lookup. */
        if (c[i].kind == IPSIE_CLAIM_STRING && c[i].name[0] == 's' && s->sub == NULL
            && strcmp(c[i].name, "sub") == 0) {
            s->sub = c[i].value;
        }
        else if (c[i].kind == IPSIE_CLAIM_STRING && c[i].name[0] == 'i' && s->iss == NULL
                 && strcmp(c[i].name, "iss") == 0) {
            s->iss = c[i].value;
        }
        else if (c[i].kind == IPSIE_CLAIM_STRING && c[i].name[0] == 's' && s->sid == NULL
                 && strcmp(c[i].name, "sid") == 0) {
            s->sid = c[i].value;
        }
    }
    s->id_token_claims = s->claims->nelts;
    if (read_userinfo_claims(s, &cut, p) != APR_SUCCESS) {
        return IPSIE_ERR_MALFORMED;
    }
    if (cut && logged) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE04001: ID token (and UserInfo) have more than %d claims, the rest are not "
                  "kept",
                  SESSION_MAX_CLAIMS - 3);
    }
    if (ipsie_claims_hide_collisions(s->claims, &collided, p) > 0 && logged) {
        ipsie_log(
            IPSIE_LOG_WARNING,
            "IPSIE04002: claims whose names map to the same header or variable are not passed "
            "on: %s",
            ipsie_log_safe(collided, p));
    }
    if (s->sub == NULL || s->iss == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    return APR_SUCCESS;
}

/* The JSON text of value, when the session's scanner reads it back as a claim named name:
 * a string with NUL (\u0000) or nesting deeper than 32 would not. NULL otherwise. */
static char *claim_text(const char *name, json_t *value, apr_pool_t *p)
{
    json_t *one = json_object();
    char *text;
    char *copy = NULL;
    apr_array_header_t *scanned;

    json_object_set(one, name, value);
    text = json_dumps(one, JSON_COMPACT);
    json_decref(one);
    if (text != NULL && ipsie_claims_scan(&scanned, text, strlen(text), p) == APR_SUCCESS
        && scanned->nelts == 1) {
        copy = apr_pstrdup(p, text);
    }
    free(text);
    return copy;
}

apr_status_t ipsie_session_set_userinfo(ipsie_session_t *s, const json_t *userinfo, long long now,
                                        apr_pool_t *p)
{
    const char *name;
    json_t *value;
    json_t *kept;
    const char *dropped = NULL;
    char *text;
    apr_size_t used = 1;
    apr_status_t rv;

    if (!json_is_object(userinfo)) {
        return IPSIE_ERR_MALFORMED;
    }
    kept = json_object();
    json_object_foreach((json_t *)userinfo, name, value)
    {
        const char *one;

        if (ipsie_session_claim_is_protocol(name) || claim_is_token_internal(name)
            || claim_among(s->claims, s->id_token_claims, name)) {
            continue;
        }
        one = claim_text(name, value, p);
        /* {"a":1} and {"b":2} join as {"a":1,"b":2}: from "{", each adds its text less one brace
         * (the other stands for a comma, or the closing one). */
        if (one == NULL || used + strlen(one) - 1 > IPSIE_SESSION_USERINFO_MAX) {
            dropped = dropped ? apr_pstrcat(p, dropped, " ", name, NULL) : apr_pstrdup(p, name);
            continue;
        }
        used += strlen(one) - 1;
        json_object_set(kept, name, value);
    }
    if (dropped != NULL) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE04004: UserInfo claims not kept (larger than %d bytes in all, or not "
                  "readable as claims): %s",
                  IPSIE_SESSION_USERINFO_MAX, ipsie_log_safe(dropped, p));
    }
    text = json_object_size(kept) > 0 ? json_dumps(kept, JSON_COMPACT) : NULL;
    json_decref(kept);
    s->userinfo = text != NULL ? apr_pstrdup(p, text) : NULL;
    free(text);
    s->userinfo_time = now;
    rv = read_claims(s, 1, p);
    return rv;
}

apr_status_t ipsie_session_create(ipsie_session_t **out, const json_t *claims, const char *id_token,
                                  const char *access_token, const char *refresh_token,
                                  const ipsie_session_policy_t *policy, long long now,
                                  apr_pool_t *p)
{
    ipsie_session_t *s;
    apr_status_t rv;

    *out = NULL;
    if (id_token == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    s = apr_pcalloc(p, sizeof(*s));
    rv = ipsie_session_ceiling(&s->ceiling, &s->session_expiry, claims, policy, now);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->login_time = now;
    s->last_activity = now;
    s->id = ipsie_random_token(SESSION_ID_BYTES, p);
    if (s->id == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    s->id_token = apr_pstrdup(p, id_token);
    s->id_token_blob = pack_token(&s->id_token_blob_len, s->id_token, p);
    s->access_token = access_token ? apr_pstrdup(p, access_token) : NULL;
    s->refresh_token = refresh_token ? apr_pstrdup(p, refresh_token) : NULL;
    rv = read_claims(s, 1, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = s;
    return APR_SUCCESS;
}

void ipsie_session_set_tokens(ipsie_session_t *s, const ipsie_session_tokens_t *tokens,
                              long long now, apr_pool_t *p)
{
    long long expires_in = tokens->expires_in;

    /* An answer the OP would not give keeps times where the format takes them. */
    if (expires_in > IPSIE_SESSION_EXPIRES_IN_MAX) {
        expires_in = IPSIE_SESSION_EXPIRES_IN_MAX;
    }
    s->access_token_expiry = expires_in > 0 ? now + expires_in : 0;
    s->access_token_dpop = tokens->dpop ? 1 : 0;
    s->access_token = tokens->keep_access_token && tokens->access_token != NULL
                          ? apr_pstrdup(p, tokens->access_token)
                          : NULL;
    /* RFC 6749 6: without a new refresh token the one held stays good. */
    if (!tokens->keep_refresh_token) {
        s->refresh_token = NULL;
    }
    else if (tokens->refresh_token != NULL) {
        s->refresh_token = apr_pstrdup(p, tokens->refresh_token);
    }
}

ipsie_session_state_e ipsie_session_check(const ipsie_session_t *s,
                                          const ipsie_session_policy_t *policy, long long now)
{
    if (now >= s->ceiling) {
        return IPSIE_SESSION_CEILING;
    }
    if (policy->inactivity_timeout > 0 && now >= s->last_activity + policy->inactivity_timeout) {
        return IPSIE_SESSION_IDLE;
    }
    return IPSIE_SESSION_VALID;
}

int ipsie_session_needs_touch(const ipsie_session_t *s, const ipsie_session_policy_t *policy,
                              long long now)
{
    long long interval = policy->inactivity_timeout * 5 / 100;

    /* With idle timeout off, last_activity decides nothing: never rewrite the session for it. */
    if (policy->inactivity_timeout <= 0) {
        return 0;
    }
    if (interval > 60) {
        interval = 60;
    }
    if (interval < 1) {
        interval = 1;
    }
    return now - s->last_activity >= interval;
}

long long ipsie_session_idle_remaining(const ipsie_session_t *s,
                                       const ipsie_session_policy_t *policy, long long now)
{
    return s->last_activity + policy->inactivity_timeout - now;
}

const char *ipsie_session_claim(const ipsie_session_t *s, const char *name)
{
    int i;
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;

    for (i = 0; i < s->claims->nelts; i++) {
        if (strcmp(c[i].name, name) == 0) {
            return c[i].value;
        }
    }
    return NULL;
}

int ipsie_session_claim_holds(const ipsie_session_t *s, const char *name, const char *value,
                              apr_pool_t *p)
{
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;
    int i;

    for (i = 0; i < s->claims->nelts && strcmp(c[i].name, name) != 0; i++) {
    }
    if (i == s->claims->nelts) {
        return 0;
    }
    /* An array holds the value when one element is it: "a,admin" is no "admin". */
    if (c[i].json != NULL) {
        return ipsie_claims_array_holds(c[i].json, value, p);
    }
    return strcmp(c[i].value, value) == 0;
}

ipsie_remote_user_e ipsie_session_remote_user(const char **user, const ipsie_session_t *s,
                                              const char *name)
{
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;
    int i;

    *user = NULL;
    for (i = 0; i < s->claims->nelts && strcmp(c[i].name, name) != 0; i++) {
    }
    if (i == s->claims->nelts || c[i].value[0] == '\0') {
        return IPSIE_REMOTE_USER_MISSING;
    }
    if (c[i].kind != IPSIE_CLAIM_STRING) {
        return IPSIE_REMOTE_USER_NOT_STRING;
    }
    if (ipsie_has_control(c[i].value)) {
        return IPSIE_REMOTE_USER_CONTROL;
    }
    *user = c[i].value;
    return IPSIE_REMOTE_USER_OK;
}

/* Encoding: version byte, six big-endian int64 times (session_expiry, ceiling, login_time,
 * last_activity, access_token_expiry, userinfo_time), the packed ID token, then the access
 * token, its type (one byte: 0 Bearer, 1 DPoP), then the refresh token, the session's own id
 * and the UserInfo claims. Strings are length-prefixed, each followed by a NUL so that decoding
 * can point into its buffer without copying them. The ID token's claims are not repeated.
 * Format 7 added the token type; a session of another format is not read (a new login). */

typedef struct {
    unsigned char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_pool_t *p;
} writer_t;

static void put_bytes(writer_t *w, const void *data, apr_size_t n)
{
    if (w->len + n > w->cap) {
        apr_size_t cap = (w->cap + n) * 2;
        unsigned char *grown = apr_palloc(w->p, cap);
        memcpy(grown, w->buf, w->len);
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void put_u64(writer_t *w, unsigned long long v)
{
    unsigned char b[8];
    int i;
    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    put_bytes(w, b, 8);
}

static void put_u32(writer_t *w, apr_uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put_bytes(w, b, 4);
}

static void put_str(writer_t *w, const char *s)
{
    apr_size_t n;
    if (s == NULL) {
        put_u32(w, SESSION_NULL_LEN);
        return;
    }
    n = strlen(s);
    put_u32(w, (apr_uint32_t)n);
    put_bytes(w, s, n + 1);
}

/* The ID token is kept as the bytes its three base64url parts decode to: a quarter smaller
 * than its text, in a cookie that every request carries. Blob: 'P', u32 header length, u32
 * payload length, header, payload, signature; or 'T' and the text when it will not pack. */
#define TOKEN_PACKED 'P'
#define TOKEN_TEXT 'T'

static const unsigned char *pack_token(apr_size_t *len, const char *jwt, apr_pool_t *p)
{
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char *part[3];
    apr_size_t n[3];
    unsigned char *blob;
    writer_t w = {NULL, 0, 0, p};

    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL
        || ipsie_b64url_decode(&part[0], &n[0], jwt, (apr_size_t)(dot1 - jwt), p) != APR_SUCCESS
        || ipsie_b64url_decode(&part[1], &n[1], dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), p)
               != APR_SUCCESS
        || ipsie_b64url_decode(&part[2], &n[2], dot2 + 1, strlen(dot2 + 1), p) != APR_SUCCESS) {
        *len = strlen(jwt) + 2;
        blob = apr_palloc(p, *len);
        blob[0] = TOKEN_TEXT;
        memcpy(blob + 1, jwt, *len - 1);
        return blob;
    }
    w.cap = 9 + n[0] + n[1] + n[2];
    w.buf = apr_palloc(p, w.cap);
    put_bytes(&w, "P", 1);
    put_u32(&w, (apr_uint32_t)n[0]);
    put_u32(&w, (apr_uint32_t)n[1]);
    put_bytes(&w, part[0], n[0]);
    put_bytes(&w, part[1], n[1]);
    put_bytes(&w, part[2], n[2]);
    *len = w.len;
    return w.buf;
}

static apr_uint32_t read_be32(const unsigned char *b)
{
    return ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16) | ((apr_uint32_t)b[2] << 8)
           | b[3];
}

/* Check a blob read from a session: a well-formed packed token or NUL-terminated text. */
static int token_blob_ok(const unsigned char *blob, apr_size_t len)
{
    if (len >= 2 && blob[0] == TOKEN_TEXT) {
        return blob[len - 1] == '\0' && memchr(blob + 1, '\0', len - 2) == NULL;
    }
    return len >= 9 && blob[0] == TOKEN_PACKED && (apr_size_t)read_be32(blob + 1) <= len - 9
           && (apr_size_t)read_be32(blob + 5) <= len - 9 - read_be32(blob + 1);
}

/* The JSON payload of a token blob that token_blob_ok accepted. */
static apr_status_t token_payload(const char **payload, apr_size_t *len, const unsigned char *blob,
                                  apr_size_t blob_len, apr_pool_t *p)
{
    const char *dot1;
    const char *dot2;
    unsigned char *decoded;

    if (blob == NULL || blob_len < 2) {
        return IPSIE_ERR_MALFORMED;
    }
    if (blob[0] == TOKEN_PACKED) {
        *payload = (const char *)blob + 9 + read_be32(blob + 1);
        *len = read_be32(blob + 5);
        return APR_SUCCESS;
    }
    dot1 = strchr((const char *)blob + 1, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL
        || ipsie_b64url_decode(&decoded, len, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), p)
               != APR_SUCCESS) {
        return IPSIE_ERR_MALFORMED;
    }
    *payload = (const char *)decoded;
    return APR_SUCCESS;
}

apr_status_t ipsie_session_id_token_payload(const char **payload, apr_size_t *len,
                                            const ipsie_session_t *s, apr_pool_t *p)
{
    return token_payload(payload, len, s->id_token_blob, s->id_token_blob_len, p);
}

apr_status_t ipsie_session_renew(ipsie_session_t *s, const char *id_token, long long ceiling,
                                 long long session_expiry, apr_pool_t *p)
{
    ipsie_session_t renewed = *s;
    apr_status_t rv;

    if (id_token == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    renewed.id_token = apr_pstrdup(p, id_token);
    renewed.id_token_blob = pack_token(&renewed.id_token_blob_len, renewed.id_token, p);
    rv = read_claims(&renewed, 1, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    renewed.ceiling = ceiling;
    renewed.session_expiry = session_expiry;
    renewed.renewed = 1;
    *s = renewed;
    return APR_SUCCESS;
}

const char *ipsie_session_id_token(const ipsie_session_t *s, apr_pool_t *p)
{
    const unsigned char *b = s->id_token_blob;
    apr_size_t h, pl;

    if (s->id_token != NULL || b == NULL) {
        return s->id_token;
    }
    if (b[0] == TOKEN_TEXT) {
        return (const char *)b + 1;
    }
    h = read_be32(b + 1);
    pl = read_be32(b + 5);
    return apr_pstrcat(
        p, ipsie_b64url_encode(b + 9, h, p), ".", ipsie_b64url_encode(b + 9 + h, pl, p), ".",
        ipsie_b64url_encode(b + 9 + h + pl, s->id_token_blob_len - 9 - h - pl, p), NULL);
}

apr_status_t ipsie_session_encode(unsigned char **buf, apr_size_t *len, const ipsie_session_t *s,
                                  apr_pool_t *p)
{
    writer_t w = {NULL, 0, 0, p};
    unsigned char version = SESSION_FORMAT_VERSION;

    if (s->id_token_blob == NULL) {
        return APR_EINVAL;
    }
    w.cap = 96 + s->id_token_blob_len;
    w.buf = apr_palloc(p, w.cap);
    put_bytes(&w, &version, 1);
    put_u64(&w, (unsigned long long)s->session_expiry);
    put_u64(&w, (unsigned long long)s->ceiling);
    put_u64(&w, (unsigned long long)s->login_time);
    put_u64(&w, (unsigned long long)s->last_activity);
    put_u64(&w, (unsigned long long)s->access_token_expiry);
    put_u64(&w, (unsigned long long)s->userinfo_time);
    put_u32(&w, (apr_uint32_t)s->id_token_blob_len);
    put_bytes(&w, s->id_token_blob, s->id_token_blob_len);
    put_str(&w, s->access_token);
    put_bytes(&w, s->access_token_dpop ? "\1" : "\0", 1);
    put_str(&w, s->refresh_token);
    put_str(&w, s->id);
    put_str(&w, s->userinfo);
    *buf = w.buf;
    *len = w.len;
    return APR_SUCCESS;
}

typedef struct {
    char *buf;
    apr_size_t len;
    apr_size_t pos;
} reader_t;

static int get_u64(reader_t *r, long long *out)
{
    unsigned long long v = 0;
    int i;
    if (r->len - r->pos < 8) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        v = (v << 8) | (unsigned char)r->buf[r->pos++];
    }
    *out = (long long)v;
    return 1;
}

static int get_u32(reader_t *r, apr_uint32_t *out)
{
    const unsigned char *b = (const unsigned char *)r->buf + r->pos;
    if (r->len - r->pos < 4) {
        return 0;
    }
    *out =
        ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16) | ((apr_uint32_t)b[2] << 8) | b[3];
    r->pos += 4;
    return 1;
}

static int get_str(reader_t *r, const char **out)
{
    apr_uint32_t n;
    if (!get_u32(r, &n)) {
        return 0;
    }
    if (n == SESSION_NULL_LEN) {
        *out = NULL;
        return 1;
    }
    /* The string, its NUL, and no NUL inside it. */
    if ((apr_size_t)n >= r->len - r->pos || r->buf[r->pos + n] != '\0'
        || memchr(r->buf + r->pos, '\0', n) != NULL) {
        return 0;
    }
    *out = r->buf + r->pos;
    r->pos += (apr_size_t)n + 1;
    return 1;
}

static int get_blob(reader_t *r, const unsigned char **out, apr_size_t *len)
{
    apr_uint32_t n;
    if (!get_u32(r, &n)) {
        return 0;
    }
    *out = NULL;
    *len = 0;
    if (n == SESSION_NULL_LEN) {
        return 1;
    }
    if ((apr_size_t)n > r->len - r->pos
        || !token_blob_ok((const unsigned char *)r->buf + r->pos, (apr_size_t)n)) {
        return 0;
    }
    *out = (const unsigned char *)r->buf + r->pos;
    *len = (apr_size_t)n;
    r->pos += (apr_size_t)n;
    return 1;
}

/* The access token's type: 0 Bearer or 1 DPoP, nothing else. */
static int get_token_type(reader_t *r, int *dpop)
{
    unsigned char b;
    if (r->len - r->pos < 1) {
        return 0;
    }
    b = (unsigned char)r->buf[r->pos++];
    if (b > 1) {
        return 0;
    }
    *dpop = b;
    return 1;
}

static int time_ok(long long t)
{
    return t >= 0 && t < SESSION_TIME_LIMIT;
}

apr_status_t ipsie_session_decode(ipsie_session_t **out, const unsigned char *buf, apr_size_t len,
                                  apr_pool_t *p)
{
    reader_t r;
    ipsie_session_t *s;

    *out = NULL;
    if (len < 1 || buf[0] != SESSION_FORMAT_VERSION) {
        return IPSIE_ERR_MALFORMED;
    }
    r.buf = apr_pmemdup(p, buf, len);
    r.len = len;
    r.pos = 1;
    s = apr_pcalloc(p, sizeof(*s));
    if (!get_u64(&r, &s->session_expiry) || !get_u64(&r, &s->ceiling)
        || !get_u64(&r, &s->login_time) || !get_u64(&r, &s->last_activity)
        || !get_u64(&r, &s->access_token_expiry) || !get_u64(&r, &s->userinfo_time)
        || !get_blob(&r, &s->id_token_blob, &s->id_token_blob_len) || s->id_token_blob == NULL
        || !get_str(&r, &s->access_token) || !get_token_type(&r, &s->access_token_dpop)
        || !get_str(&r, &s->refresh_token) || !get_str(&r, &s->id) || s->id == NULL
        || *s->id == '\0' || !get_str(&r, &s->userinfo) || r.pos != r.len) {
        return IPSIE_ERR_MALFORMED;
    }
    /* Times stay where arithmetic on them cannot overflow: Unix seconds below 10^11. */
    if (!time_ok(s->session_expiry) || !time_ok(s->ceiling) || !time_ok(s->login_time)
        || !time_ok(s->last_activity) || !time_ok(s->access_token_expiry)
        || !time_ok(s->userinfo_time)) {
        return IPSIE_ERR_MALFORMED;
    }
    if (read_claims(s, 0, p) != APR_SUCCESS) {
        return IPSIE_ERR_MALFORMED;
    }
    *out = s;
    return APR_SUCCESS;
}
