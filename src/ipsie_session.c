/* The session model: ceiling and idle rules (SPEC section 1) and the binary session format. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_session.h"
#include "ipsie/ipsie_util.h"

#define SESSION_FORMAT_VERSION 0x03
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

static const char *scalar_text(const json_t *v, apr_pool_t *p)
{
    char *dumped;
    const char *text;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return apr_pstrmemdup(p, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        /* APR's formatter does not know jansson's "lld": print through APR's own int64. */
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "";
    default:
        /* Reals too: APR's %g drops the leading zero ("0.5" would become ".5"). */
        dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        text = dumped ? apr_pstrdup(p, dumped) : "";
        free(dumped);
        return text;
    }
}

static const char *claim_text(const json_t *v, apr_pool_t *p)
{
    size_t i;
    const char *joined = NULL;

    if (!json_is_array(v)) {
        return scalar_text(v, p);
    }
    for (i = 0; i < json_array_size(v); i++) {
        const char *item = scalar_text(json_array_get(v, i), p);
        joined = joined ? apr_pstrcat(p, joined, ",", item, NULL) : item;
    }
    return joined ? joined : "";
}

static const char *claim_string(const json_t *claims, const char *name, apr_pool_t *p)
{
    const json_t *v = json_object_get(claims, name);
    return json_is_string(v) ? apr_pstrdup(p, json_string_value(v)) : NULL;
}

apr_status_t ipsie_session_create(ipsie_session_t **out, const json_t *claims, const char *id_token,
                                  const char *access_token, const char *refresh_token,
                                  const ipsie_session_policy_t *policy, long long now,
                                  apr_pool_t *p)
{
    ipsie_session_t *s;
    const char *name;
    json_t *value;
    apr_status_t rv;
    int cut = 0;

    *out = NULL;
    s = apr_pcalloc(p, sizeof(*s));
    rv = ipsie_session_ceiling(&s->ceiling, &s->session_expiry, claims, policy, now);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->sub = claim_string(claims, "sub", p);
    s->iss = claim_string(claims, "iss", p);
    if (s->sub == NULL || s->iss == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    s->sid = claim_string(claims, "sid", p);
    s->login_time = now;
    s->last_activity = now;
    s->id_token = id_token ? apr_pstrdup(p, id_token) : NULL;
    s->access_token = access_token ? apr_pstrdup(p, access_token) : NULL;
    s->refresh_token = refresh_token ? apr_pstrdup(p, refresh_token) : NULL;
    s->claims = apr_array_make(p, 16, sizeof(ipsie_claim_t));
    /* json_object_foreach needs a non-const object; it does not modify it. */
    json_object_foreach((json_t *)claims, name, value)
    {
        ipsie_claim_t *c;
        if (claim_is_token_internal(name)) {
            continue;
        }
        /* Past the cap only what the session itself is checked against is kept. */
        if (s->claims->nelts >= SESSION_MAX_CLAIMS - 3 && strcmp(name, "iss") != 0
            && strcmp(name, "sub") != 0 && strcmp(name, "aud") != 0) {
            if (!cut) {
                ipsie_log(IPSIE_LOG_WARNING,
                          "IPSIE04001: ID token has more than %d claims, "
                          "the rest are not kept",
                          SESSION_MAX_CLAIMS - 3);
                cut = 1;
            }
            continue;
        }
        c = apr_array_push(s->claims);
        c->name = apr_pstrdup(p, name);
        c->value = claim_text(value, p);
        c->json = json_is_array(value) ? scalar_text(value, p) : NULL;
    }
    *out = s;
    return APR_SUCCESS;
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
    json_t *array;
    size_t k;
    int i, holds = 0;

    for (i = 0; i < s->claims->nelts && strcmp(c[i].name, name) != 0; i++) {
    }
    if (i == s->claims->nelts) {
        return 0;
    }
    if (c[i].json == NULL) {
        return strcmp(c[i].value, value) == 0;
    }
    /* An array holds the value when one element is it: "a,admin" is no "admin". */
    array = json_loads(c[i].json, JSON_DECODE_ANY, NULL);
    for (k = 0; json_is_array(array) && k < json_array_size(array) && !holds; k++) {
        holds = strcmp(scalar_text(json_array_get(array, k), p), value) == 0;
    }
    json_decref(array);
    return holds;
}

/* Encoding: version byte, four big-endian int64 times, then length-prefixed strings, each
 * followed by a NUL so that decoding can point into its buffer without copying fields. */

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
    const unsigned char *token = s->id_token_blob;
    apr_size_t token_len = s->id_token_blob_len;
    writer_t w = {NULL, 0, 0, p};
    unsigned char version = SESSION_FORMAT_VERSION;
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;
    int i;

    w.cap = 2048;
    w.buf = apr_palloc(p, w.cap);
    put_bytes(&w, &version, 1);
    put_u64(&w, (unsigned long long)s->session_expiry);
    put_u64(&w, (unsigned long long)s->ceiling);
    put_u64(&w, (unsigned long long)s->login_time);
    put_u64(&w, (unsigned long long)s->last_activity);
    put_str(&w, s->sub);
    put_str(&w, s->iss);
    put_str(&w, s->sid);
    if (s->id_token != NULL) {
        token = pack_token(&token_len, s->id_token, p);
    }
    if (token == NULL) {
        put_u32(&w, SESSION_NULL_LEN);
    }
    else {
        put_u32(&w, (apr_uint32_t)token_len);
        put_bytes(&w, token, token_len);
    }
    put_str(&w, s->access_token);
    put_str(&w, s->refresh_token);
    put_u32(&w, (apr_uint32_t)s->claims->nelts);
    for (i = 0; i < s->claims->nelts; i++) {
        put_str(&w, c[i].name);
        put_str(&w, c[i].value);
        put_str(&w, c[i].json);
    }
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

static int time_ok(long long t)
{
    return t >= 0 && t < SESSION_TIME_LIMIT;
}

apr_status_t ipsie_session_decode(ipsie_session_t **out, const unsigned char *buf, apr_size_t len,
                                  apr_pool_t *p)
{
    reader_t r;
    ipsie_session_t *s;
    apr_uint32_t nclaims, i;

    *out = NULL;
    if (len < 1 || buf[0] != SESSION_FORMAT_VERSION) {
        return IPSIE_ERR_MALFORMED;
    }
    r.buf = apr_pmemdup(p, buf, len);
    r.len = len;
    r.pos = 1;
    s = apr_pcalloc(p, sizeof(*s));
    if (!get_u64(&r, &s->session_expiry) || !get_u64(&r, &s->ceiling)
        || !get_u64(&r, &s->login_time) || !get_u64(&r, &s->last_activity) || !get_str(&r, &s->sub)
        || !get_str(&r, &s->iss) || !get_str(&r, &s->sid)
        || !get_blob(&r, &s->id_token_blob, &s->id_token_blob_len) || !get_str(&r, &s->access_token)
        || !get_str(&r, &s->refresh_token) || !get_u32(&r, &nclaims)) {
        return IPSIE_ERR_MALFORMED;
    }
    if (s->sub == NULL || s->iss == NULL || nclaims > SESSION_MAX_CLAIMS) {
        return IPSIE_ERR_MALFORMED;
    }
    /* Times stay where arithmetic on them cannot overflow: Unix seconds below 10^11. */
    if (!time_ok(s->session_expiry) || !time_ok(s->ceiling) || !time_ok(s->login_time)
        || !time_ok(s->last_activity)) {
        return IPSIE_ERR_MALFORMED;
    }
    s->claims = apr_array_make(p, (int)(nclaims ? nclaims : 1), sizeof(ipsie_claim_t));
    for (i = 0; i < nclaims; i++) {
        ipsie_claim_t *c = apr_array_push(s->claims);
        if (!get_str(&r, &c->name) || !get_str(&r, &c->value) || !get_str(&r, &c->json)
            || c->name == NULL || c->value == NULL) {
            return IPSIE_ERR_MALFORMED;
        }
    }
    if (r.pos != r.len) {
        return IPSIE_ERR_MALFORMED;
    }
    *out = s;
    return APR_SUCCESS;
}
