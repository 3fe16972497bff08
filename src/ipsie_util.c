/* Small helpers shared by the core: base64url, randomness, constant-time compare, URLs. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *ipsie_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        *o++ = b64url_alphabet[(v >> 18) & 0x3f];
        *o++ = b64url_alphabet[(v >> 12) & 0x3f];
        *o++ = b64url_alphabet[(v >> 6) & 0x3f];
        *o++ = b64url_alphabet[v & 0x3f];
    }
    if (len - i == 1) {
        *o++ = b64url_alphabet[data[i] >> 2];
        *o++ = b64url_alphabet[(data[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        unsigned long v = ((unsigned long)data[i] << 8) | data[i + 1];
        *o++ = b64url_alphabet[(v >> 10) & 0x3f];
        *o++ = b64url_alphabet[(v >> 4) & 0x3f];
        *o++ = b64url_alphabet[(v << 2) & 0x3f];
    }
    *o = '\0';
    return out;
}

/* A base64url character's value shifted into its place in a 24-bit quantum, one table per
 * place, computed by the compiler; anything else (padding, '+', '/', spaces...) sets bit 24. */
#define B64_BAD 0x01000000u
#define B64_VALUE(c)                                                                               \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '-'               ? 62                                                               \
     : (c) == '_'               ? 63                                                               \
                                : -1)
#define B64_AT(c, s) (B64_VALUE(c) < 0 ? B64_BAD : (apr_uint32_t)B64_VALUE(c) << (s))
#define B64_4(c, s) B64_AT(c, s), B64_AT((c) + 1, s), B64_AT((c) + 2, s), B64_AT((c) + 3, s)
#define B64_16(c, s) B64_4(c, s), B64_4((c) + 4, s), B64_4((c) + 8, s), B64_4((c) + 12, s)
#define B64_64(c, s) B64_16(c, s), B64_16((c) + 16, s), B64_16((c) + 32, s), B64_16((c) + 48, s)
#define B64_TABLE(s)                                                                               \
    {                                                                                              \
        B64_64(0, s), B64_64(64, s), B64_64(128, s), B64_64(192, s)                                \
    }

static const apr_uint32_t b64url_at18[256] = B64_TABLE(18);
static const apr_uint32_t b64url_at12[256] = B64_TABLE(12);
static const apr_uint32_t b64url_at6[256] = B64_TABLE(6);
static const apr_uint32_t b64url_at0[256] = B64_TABLE(0);

apr_status_t ipsie_b64url_decode(unsigned char **out, apr_size_t *out_len, const char *in,
                                 apr_size_t in_len, apr_pool_t *p)
{
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end;
    apr_size_t rem = in_len % 4;
    apr_size_t n = in_len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    unsigned char *buf;
    unsigned char *o;
    apr_uint32_t bad = 0;
    apr_uint32_t v;

    *out = NULL;
    *out_len = 0;
    /* One leftover character carries only 6 bits: no byte can end there. */
    if (in == NULL || rem == 1) {
        return IPSIE_ERR_MALFORMED;
    }
    buf = apr_palloc(p, n + 1);
    o = buf;
    /* This runs on every request's cookie: four lookups per quantum, one check at the end. */
    for (end = s + (in_len - rem); s < end; s += 4) {
        v = b64url_at18[s[0]] | b64url_at12[s[1]] | b64url_at6[s[2]] | b64url_at0[s[3]];
        bad |= v;
        o[0] = (unsigned char)(v >> 16);
        o[1] = (unsigned char)(v >> 8);
        o[2] = (unsigned char)v;
        o += 3;
    }
    if (rem != 0) {
        v = b64url_at18[s[0]] | b64url_at12[s[1]] | (rem == 3 ? b64url_at6[s[2]] : 0);
        bad |= v;
        *o++ = (unsigned char)(v >> 16);
        if (rem == 3) {
            *o++ = (unsigned char)(v >> 8);
        }
        /* Only the canonical encoding is accepted, so that one value has one text form. */
        if ((v & (rem == 3 ? 0xffu : 0xffffu)) != 0) {
            bad |= B64_BAD;
        }
    }
    if (bad & B64_BAD) {
        return IPSIE_ERR_MALFORMED;
    }
    *o = '\0';
    *out = buf;
    *out_len = (apr_size_t)(o - buf);
    return APR_SUCCESS;
}

apr_status_t ipsie_random_bytes(unsigned char *buf, apr_size_t len)
{
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    if (RAND_bytes(buf, (int)len) != 1) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE01001: the OpenSSL random generator failed");
        return IPSIE_ERR_CRYPTO;
    }
    return APR_SUCCESS;
}

char *ipsie_random_token(apr_size_t nbytes, apr_pool_t *p)
{
    unsigned char *raw = apr_palloc(p, nbytes ? nbytes : 1);
    char *token = NULL;

    if (ipsie_random_bytes(raw, nbytes) == APR_SUCCESS) {
        token = ipsie_b64url_encode(raw, nbytes, p);
    }
    OPENSSL_cleanse(raw, nbytes);
    return token;
}

int ipsie_ct_streq(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (a == NULL || b == NULL) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    /* On a length mismatch still compare la bytes, so time depends on the lengths only. */
    return (CRYPTO_memcmp(a, la == lb ? b : a, la) == 0) & (la == lb);
}

int ipsie_has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

static int is_unreserved(unsigned char ch)
{
    return apr_isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

char *ipsie_url_encode(const char *s, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(s);
    char *out = apr_palloc(p, len * 3 + 1);
    char *o = out;

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (is_unreserved(ch)) {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Value of the escape "%XY" at s, or -1 when s does not start with a well-formed one. */
static int percent_value(const char *s)
{
    int hi, lo;

    if (s[0] != '%') {
        return -1;
    }
    hi = hex_value((unsigned char)s[1]);
    if (hi < 0) {
        return -1;
    }
    lo = hex_value((unsigned char)s[2]);
    if (lo < 0) {
        return -1;
    }
    return hi * 16 + lo;
}

apr_status_t ipsie_url_decode(char **out, const char *s, int form, apr_pool_t *p)
{
    char *buf;
    char *o;

    *out = NULL;
    if (s == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    buf = apr_palloc(p, strlen(s) + 1);
    o = buf;
    while (*s != '\0') {
        if (*s == '%') {
            int v = percent_value(s);
            /* A NUL would silently cut the value short for every later C consumer. */
            if (v <= 0) {
                return IPSIE_ERR_MALFORMED;
            }
            *o++ = (char)v;
            s += 3;
        }
        else {
            *o++ = (form && *s == '+') ? ' ' : *s;
            s++;
        }
    }
    *o = '\0';
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t ipsie_form_parse(apr_table_t **out, const char *s, apr_pool_t *p)
{
    apr_table_t *t = apr_table_make(p, 8);
    apr_status_t rv = APR_SUCCESS;
    const char *pair = s ? s : "";

    *out = NULL;
    while (*pair != '\0') {
        const char *end = strchr(pair, '&');
        apr_size_t plen = end ? (apr_size_t)(end - pair) : strlen(pair);
        const char *eq = memchr(pair, '=', plen);
        char *raw_name, *raw_value, *name, *value;

        raw_name = apr_pstrmemdup(p, pair, eq ? (apr_size_t)(eq - pair) : plen);
        raw_value = eq ? apr_pstrmemdup(p, eq + 1, plen - (apr_size_t)(eq - pair) - 1) : "";
        rv = ipsie_url_decode(&name, raw_name, 1, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        rv = ipsie_url_decode(&value, raw_value, 1, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        /* First value wins so a parameter appended later cannot override an earlier one. */
        if (*name != '\0' && apr_table_get(t, name) == NULL) {
            apr_table_setn(t, name, value);
        }
        pair = end ? end + 1 : pair + plen;
    }
    *out = t;
leave:
    return rv;
}

/* The parts of "scheme://authority..." we compare; the port has its default applied. */
typedef struct {
    const char *scheme;
    apr_size_t scheme_len;
    const char *host;
    apr_size_t host_len;
    long port;
    const char *rest; /* path, query and fragment after the authority */
} url_parts_t;

static int host_char_ok(unsigned char ch, int bracketed)
{
    if (bracketed) {
        return apr_isxdigit(ch) || ch == ':' || ch == '.';
    }
    return apr_isalnum(ch) || ch == '-' || ch == '.';
}

/* Split an absolute http(s) URL. Rejects userinfo, odd host characters and bad ports. */
static int split_http_url(url_parts_t *u, const char *s)
{
    const char *colon = strchr(s, ':');
    const char *auth, *auth_end, *h, *port_at = NULL;
    apr_size_t i;

    if (colon == NULL) {
        return 0;
    }
    u->scheme = s;
    u->scheme_len = (apr_size_t)(colon - s);
    if (!((u->scheme_len == 4 && strncasecmp(s, "http", 4) == 0)
          || (u->scheme_len == 5 && strncasecmp(s, "https", 5) == 0))) {
        return 0;
    }
    if (colon[1] != '/' || colon[2] != '/') {
        return 0;
    }
    auth = colon + 3;
    auth_end = auth + strcspn(auth, "/?#");
    /* Userinfo is how "https://ourhost@evil.example/" smuggles another host in. */
    if (auth_end == auth || memchr(auth, '@', (apr_size_t)(auth_end - auth)) != NULL) {
        return 0;
    }
    h = auth;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', (apr_size_t)(auth_end - auth));
        if (close == NULL || close == auth + 1) {
            return 0;
        }
        u->host = auth;
        u->host_len = (apr_size_t)(close - auth) + 1;
        for (i = 1; i + 1 < u->host_len; i++) {
            if (!host_char_ok((unsigned char)h[i], 1)) {
                return 0;
            }
        }
        if (close + 1 != auth_end) {
            if (close[1] != ':') {
                return 0;
            }
            port_at = close + 2;
        }
    }
    else {
        const char *pc = memchr(auth, ':', (apr_size_t)(auth_end - auth));
        u->host = auth;
        u->host_len = (apr_size_t)((pc ? pc : auth_end) - auth);
        if (u->host_len == 0) {
            return 0;
        }
        for (i = 0; i < u->host_len; i++) {
            if (!host_char_ok((unsigned char)h[i], 0)) {
                return 0;
            }
        }
        port_at = pc ? pc + 1 : NULL;
    }
    u->port = (u->scheme_len == 5) ? 443 : 80;
    if (port_at != NULL) {
        apr_size_t plen = (apr_size_t)(auth_end - port_at);
        long port = 0;
        if (plen == 0 || plen > 5) {
            return 0;
        }
        for (i = 0; i < plen; i++) {
            if (!apr_isdigit(port_at[i])) {
                return 0;
            }
            port = port * 10 + (port_at[i] - '0');
        }
        if (port < 1 || port > 65535) {
            return 0;
        }
        u->port = port;
    }
    u->rest = auth_end;
    return 1;
}

/* Raw controls, spaces, backslashes, non-ASCII and escaped controls ("%0d%0a") are refused:
 * browsers strip or reinterpret them, which is how header injection and "/\evil" work. */
static int url_chars_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7f || ch == '\\') {
            return 0;
        }
        if (ch == '%') {
            int v = percent_value(s);
            if (v < 0x20 || v == 0x7f) {
                return 0;
            }
        }
    }
    return 1;
}

apr_status_t ipsie_url_same_origin(const char **abs_url, const char *target, const char *origin,
                                   apr_pool_t *p)
{
    url_parts_t o, t;
    const char *base;

    *abs_url = NULL;
    if (origin == NULL || !split_http_url(&o, origin)
        || !(o.rest[0] == '\0' || (o.rest[0] == '/' && o.rest[1] == '\0'))) {
        return IPSIE_ERR_MALFORMED;
    }
    base = apr_pstrmemdup(p, origin, (apr_size_t)(o.rest - origin));
    if (target == NULL || *target == '\0' || !url_chars_ok(target)) {
        return IPSIE_ERR_NOT_SAME_ORIGIN;
    }
    if (target[0] == '/') {
        /* "//host" is scheme-relative: another origin. */
        if (target[1] == '/') {
            return IPSIE_ERR_NOT_SAME_ORIGIN;
        }
        *abs_url = apr_pstrcat(p, base, target, NULL);
        return APR_SUCCESS;
    }
    if (!split_http_url(&t, target) || t.scheme_len != o.scheme_len
        || strncasecmp(t.scheme, o.scheme, o.scheme_len) != 0 || t.host_len != o.host_len
        || strncasecmp(t.host, o.host, o.host_len) != 0 || t.port != o.port) {
        return IPSIE_ERR_NOT_SAME_ORIGIN;
    }
    /* Rebuild on our own spelling of the origin so nothing of the target's authority leaks. */
    *abs_url = apr_pstrcat(p, base, t.rest[0] == '/' ? "" : "/", t.rest, NULL);
    return APR_SUCCESS;
}

apr_status_t ipsie_url_same_origin_path(const char **path, const char *target, const char *origin,
                                        apr_pool_t *p)
{
    const char *abs_url;
    url_parts_t o;
    apr_status_t rv;

    *path = NULL;
    rv = ipsie_url_same_origin(&abs_url, target, origin, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* abs_url is the origin's own spelling followed by the path: split_http_url accepted it. */
    split_http_url(&o, origin);
    *path = abs_url + (o.rest - origin);
    return APR_SUCCESS;
}

int ipsie_name_has_prefix_loose(const char *name, const char *prefix)
{
    for (; *prefix != '\0'; name++, prefix++) {
        char a = *name == '_' ? '-' : (char)apr_tolower(*name);
        char b = *prefix == '_' ? '-' : (char)apr_tolower(*prefix);
        if (a != b) {
            return 0;
        }
    }
    return 1;
}

/* Case-insensitive: does s contain word? */
static int contains_nocase(const char *s, const char *word)
{
    apr_size_t n = strlen(word);

    for (; *s != '\0'; s++) {
        if (strncasecmp(s, word, n) == 0) {
            return 1;
        }
    }
    return 0;
}

int ipsie_is_browser(const char *x_requested_with, const char *sec_fetch_mode, const char *accept)
{
    if (x_requested_with != NULL && strcasecmp(x_requested_with, "XMLHttpRequest") == 0) {
        return 0;
    }
    if (sec_fetch_mode != NULL && strcasecmp(sec_fetch_mode, "navigate") != 0) {
        return 0;
    }
    if (accept != NULL && !contains_nocase(accept, "text/html") && strstr(accept, "*/*") == NULL) {
        return 0;
    }
    return 1;
}

const char *ipsie_secret_weakness(const char *secret, int min_distinct)
{
    /* What documentation writes where a secret goes, ours included. */
    static const char *const placeholders[] = {"change-me",
                                               "changeme",
                                               "change_me",
                                               "change me",
                                               "replace-me",
                                               "replaceme",
                                               "replace_me",
                                               "replace with",
                                               "openssl rand",
                                               "at least 32 characters",
                                               "placeholder",
                                               "your-secret",
                                               "your_secret",
                                               "your secret",
                                               "the secret registered",
                                               "<secret>",
                                               "<passphrase>",
                                               NULL};
    unsigned char seen[256];
    apr_size_t n = strlen(secret);
    apr_size_t i, period;
    int distinct = 0, run = 1;

    for (i = 0; placeholders[i] != NULL; i++) {
        apr_size_t m = strlen(placeholders[i]);
        apr_size_t j;

        for (j = 0; j + m <= n; j++) {
            if (strncasecmp(secret + j, placeholders[i], m) == 0) {
                return "it holds a placeholder of the documentation";
            }
        }
    }
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)secret[i];
        distinct += !seen[c];
        seen[c] = 1;
        run = i > 0 && secret[i] == secret[i - 1] ? run + 1 : 1;
        if (run >= 8) {
            return "it repeats one character 8 times in a row";
        }
    }
    if (distinct < min_distinct) {
        return "it has too few different characters";
    }
    for (period = 1; n >= 16 && period <= 6; period++) {
        for (i = period; i < n && secret[i] == secret[i - period]; i++) {
        }
        if (i == n) {
            return "it is a short pattern repeated";
        }
    }
    return NULL;
}
