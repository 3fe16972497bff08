/* Claims of a validated JSON object, read with a strict scanner instead of a JSON parser:
 * a session's claims are read on every request. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_claims.h"
#include "ipsie/ipsie_error.h"

#define MAX_DEPTH 32

typedef struct {
    const char *s;   /* next character */
    const char *end; /* one past the last */
} scan_t;

static void skip_ws(scan_t *sc)
{
    while (sc->s < sc->end
           && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r')) {
        sc->s++;
    }
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        }
        else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        }
        else {
            return 0;
        }
    }
    *out = v;
    return 1;
}

/* Read one escape after its backslash at *s (s < end); the code point (surrogate pairs
 * joined) goes to *cp. Moves *s past it. */
static int read_escape(const char **s, const char *end, unsigned *cp)
{
    const char *e = *s;
    unsigned lo;

    if (e >= end) {
        return 0;
    }
    switch (*e) {
    case '"':
    case '\\':
    case '/':
        *cp = (unsigned char)*e;
        break;
    case 'b':
        *cp = '\b';
        break;
    case 'f':
        *cp = '\f';
        break;
    case 'n':
        *cp = '\n';
        break;
    case 'r':
        *cp = '\r';
        break;
    case 't':
        *cp = '\t';
        break;
    case 'u':
        if (end - e < 5 || !hex4(e + 1, cp)) {
            return 0;
        }
        e += 4;
        if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
            return 0;
        }
        if (*cp >= 0xD800 && *cp <= 0xDBFF) {
            if (end - e < 7 || e[1] != '\\' || e[2] != 'u' || !hex4(e + 3, &lo) || lo < 0xDC00
                || lo > 0xDFFF) {
                return 0;
            }
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            e += 6;
        }
        break;
    default:
        return 0;
    }
    /* A NUL would cut the value short wherever it is used as a C string. */
    if (*cp == 0) {
        return 0;
    }
    *s = e + 1;
    return 1;
}

static char *put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    }
    else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* A string at sc->s (on its opening quote): checked, and unescaped into *out when out is not
 * NULL. An escape never decodes to more bytes than it is written with. */
static int scan_string(scan_t *sc, const char **out, apr_pool_t *p)
{
    const char *start = sc->s + 1;
    const char *s = start;
    int escaped = 0;
    unsigned cp;
    char *buf;
    char *d;

    while (s < sc->end && *s != '"') {
        if ((unsigned char)*s < 0x20) {
            return 0;
        }
        if (*s == '\\') {
            s++;
            if (!read_escape(&s, sc->end, &cp)) {
                return 0;
            }
            escaped = 1;
        }
        else {
            s++;
        }
    }
    if (s >= sc->end) {
        return 0;
    }
    sc->s = s + 1;
    if (out == NULL) {
        return 1;
    }
    if (!escaped) {
        *out = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
        return 1;
    }
    buf = apr_palloc(p, (apr_size_t)(s - start) + 1);
    for (d = buf; start < s;) {
        if (*start == '\\') {
            start++;
            read_escape(&start, s, &cp);
            d = put_utf8(d, cp);
        }
        else {
            *d++ = *start++;
        }
    }
    *d = '\0';
    *out = buf;
    return 1;
}

static int is_digit(const scan_t *sc)
{
    return sc->s < sc->end && *sc->s >= '0' && *sc->s <= '9';
}

static void skip_digits(scan_t *sc)
{
    while (is_digit(sc)) {
        sc->s++;
    }
}

static int scan_number(scan_t *sc)
{
    if (sc->s < sc->end && *sc->s == '-') {
        sc->s++;
    }
    if (!is_digit(sc)) {
        return 0;
    }
    if (*sc->s == '0') {
        sc->s++;
    }
    else {
        skip_digits(sc);
    }
    if (sc->s < sc->end && *sc->s == '.') {
        sc->s++;
        if (!is_digit(sc)) {
            return 0;
        }
        skip_digits(sc);
    }
    if (sc->s < sc->end && (*sc->s == 'e' || *sc->s == 'E')) {
        sc->s++;
        if (sc->s < sc->end && (*sc->s == '+' || *sc->s == '-')) {
            sc->s++;
        }
        if (!is_digit(sc)) {
            return 0;
        }
        skip_digits(sc);
    }
    return 1;
}

static int scan_literal(scan_t *sc, const char *word)
{
    apr_size_t n = strlen(word);

    if ((apr_size_t)(sc->end - sc->s) < n || memcmp(sc->s, word, n) != 0) {
        return 0;
    }
    sc->s += n;
    return 1;
}

static int scan_value(scan_t *sc, ipsie_claim_kind_e *kind, int depth);

/* An array or object at sc->s (on its opening bracket), skipped. */
static int scan_container(scan_t *sc, char close, int depth)
{
    ipsie_claim_kind_e kind;

    if (depth > MAX_DEPTH) {
        return 0;
    }
    sc->s++;
    skip_ws(sc);
    if (sc->s < sc->end && *sc->s == close) {
        sc->s++;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            if (sc->s >= sc->end || *sc->s != '"' || !scan_string(sc, NULL, NULL)) {
                return 0;
            }
            skip_ws(sc);
            if (sc->s >= sc->end || *sc->s != ':') {
                return 0;
            }
            sc->s++;
            skip_ws(sc);
        }
        if (!scan_value(sc, &kind, depth)) {
            return 0;
        }
        skip_ws(sc);
        if (sc->s >= sc->end) {
            return 0;
        }
        if (*sc->s == close) {
            sc->s++;
            return 1;
        }
        if (*sc->s != ',') {
            return 0;
        }
        sc->s++;
        skip_ws(sc);
    }
}

static int scan_value(scan_t *sc, ipsie_claim_kind_e *kind, int depth)
{
    if (sc->s >= sc->end) {
        return 0;
    }
    switch (*sc->s) {
    case '"':
        *kind = IPSIE_CLAIM_STRING;
        return scan_string(sc, NULL, NULL);
    case '{':
        *kind = IPSIE_CLAIM_OBJECT;
        return scan_container(sc, '}', depth + 1);
    case '[':
        *kind = IPSIE_CLAIM_ARRAY;
        return scan_container(sc, ']', depth + 1);
    case 't':
        *kind = IPSIE_CLAIM_BOOLEAN;
        return scan_literal(sc, "true");
    case 'f':
        *kind = IPSIE_CLAIM_BOOLEAN;
        return scan_literal(sc, "false");
    case 'n':
        *kind = IPSIE_CLAIM_NULL;
        return scan_literal(sc, "null");
    default:
        *kind = IPSIE_CLAIM_NUMBER;
        return scan_number(sc);
    }
}

/* The value text of a scanned value [start, end) of kind: strings unescaped, null empty,
 * the rest (nested arrays and objects included) as written. */
static const char *scalar_text(const char *start, const char *end, ipsie_claim_kind_e kind,
                               apr_pool_t *p)
{
    scan_t sc;
    const char *text = NULL;

    switch (kind) {
    case IPSIE_CLAIM_STRING:
        sc.s = start;
        sc.end = end;
        scan_string(&sc, &text, p);
        return text;
    case IPSIE_CLAIM_NULL:
        return "";
    default:
        return apr_pstrmemdup(p, start, (apr_size_t)(end - start));
    }
}

/* Call each(element start, end, kind, baton) for the elements of the array at [start, end),
 * stopping when it returns non-zero; returns that. The array was scanned already. */
static int each_element(const char *start, const char *end,
                        int (*each)(const char *, const char *, ipsie_claim_kind_e, void *),
                        void *baton)
{
    scan_t sc = {start + 1, end};
    ipsie_claim_kind_e kind;
    const char *e;
    int stop = 0;

    skip_ws(&sc);
    while (!stop && sc.s < sc.end && *sc.s != ']') {
        e = sc.s;
        if (!scan_value(&sc, &kind, 1)) {
            return 0;
        }
        stop = each(e, sc.s, kind, baton);
        skip_ws(&sc);
        if (sc.s < sc.end && *sc.s == ',') {
            sc.s++;
            skip_ws(&sc);
        }
    }
    return stop;
}

typedef struct {
    char *joined;
    apr_size_t used;
    apr_pool_t *p;
} join_t;

static int join_one(const char *start, const char *end, ipsie_claim_kind_e kind, void *baton)
{
    join_t *j = baton;
    const char *text = scalar_text(start, end, kind, j->p);
    apr_size_t n = strlen(text);

    if (j->used > 0) {
        j->joined[j->used++] = ',';
    }
    memcpy(j->joined + j->used, text, n);
    j->used += n;
    return 0;
}

/* Elements' values joined with ",": never longer than the array's own text. */
static const char *joined_text(const char *start, const char *end, apr_pool_t *p)
{
    join_t j = {apr_palloc(p, (apr_size_t)(end - start) + 1), 0, p};

    each_element(start, end, join_one, &j);
    j.joined[j.used] = '\0';
    return j.joined;
}

apr_status_t ipsie_claims_scan(apr_array_header_t **out, const char *text, apr_size_t len,
                               apr_pool_t *p)
{
    scan_t sc = {text, text + len};
    apr_array_header_t *claims;

    *out = NULL;
    if (text == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    skip_ws(&sc);
    if (sc.s >= sc.end || *sc.s != '{') {
        return IPSIE_ERR_MALFORMED;
    }
    claims = apr_array_make(p, 16, sizeof(ipsie_claim_t));
    sc.s++;
    skip_ws(&sc);
    if (sc.s < sc.end && *sc.s == '}') {
        sc.s++;
    }
    else {
        for (;;) {
            ipsie_claim_t c;
            const char *v;

            memset(&c, 0, sizeof(c));
            if (sc.s >= sc.end || *sc.s != '"' || !scan_string(&sc, &c.name, p)) {
                return IPSIE_ERR_MALFORMED;
            }
            skip_ws(&sc);
            if (sc.s >= sc.end || *sc.s != ':') {
                return IPSIE_ERR_MALFORMED;
            }
            sc.s++;
            skip_ws(&sc);
            v = sc.s;
            /* Strings, the most common values, are checked and copied in one pass. */
            if (sc.s < sc.end && *sc.s == '"') {
                c.kind = IPSIE_CLAIM_STRING;
                if (!scan_string(&sc, &c.value, p)) {
                    return IPSIE_ERR_MALFORMED;
                }
            }
            else if (!scan_value(&sc, &c.kind, 1)) {
                return IPSIE_ERR_MALFORMED;
            }
            else if (c.kind == IPSIE_CLAIM_ARRAY) {
                c.json = apr_pstrmemdup(p, v, (apr_size_t)(sc.s - v));
                c.value = joined_text(v, sc.s, p);
            }
            else {
                c.value = scalar_text(v, sc.s, c.kind, p);
            }
            *(ipsie_claim_t *)apr_array_push(claims) = c;
            skip_ws(&sc);
            if (sc.s < sc.end && *sc.s == '}') {
                sc.s++;
                break;
            }
            if (sc.s >= sc.end || *sc.s != ',') {
                return IPSIE_ERR_MALFORMED;
            }
            sc.s++;
            skip_ws(&sc);
        }
    }
    skip_ws(&sc);
    if (sc.s != sc.end) {
        return IPSIE_ERR_MALFORMED;
    }
    *out = claims;
    return APR_SUCCESS;
}

typedef struct {
    const char *value;
    apr_pool_t *p;
} holds_t;

static int holds_one(const char *start, const char *end, ipsie_claim_kind_e kind, void *baton)
{
    holds_t *h = baton;

    return kind != IPSIE_CLAIM_ARRAY && kind != IPSIE_CLAIM_OBJECT
           && strcmp(scalar_text(start, end, kind, h->p), h->value) == 0;
}

int ipsie_claims_array_holds(const char *array_json, const char *value, apr_pool_t *p)
{
    scan_t sc;
    ipsie_claim_kind_e kind;
    holds_t h = {value, p};

    if (array_json == NULL || value == NULL) {
        return 0;
    }
    sc.s = array_json;
    sc.end = array_json + strlen(array_json);
    if (*sc.s != '[' || !scan_value(&sc, &kind, 0) || sc.s != sc.end) {
        return 0;
    }
    return each_element(array_json, sc.end, holds_one, &h);
}

/* A claim name as the header and variable mappings see it: letters and digits without case,
 * every other character the same. A table: this runs on every request. */
#define MAP_ROW(b)                                                                                 \
    MAP1(b + 0), MAP1(b + 1), MAP1(b + 2), MAP1(b + 3), MAP1(b + 4), MAP1(b + 5), MAP1(b + 6),     \
        MAP1(b + 7), MAP1(b + 8), MAP1(b + 9), MAP1(b + 10), MAP1(b + 11), MAP1(b + 12),           \
        MAP1(b + 13), MAP1(b + 14), MAP1(b + 15)
#define MAP1(c)                                                                                    \
    ((unsigned char)((c) >= '0' && (c) <= '9'   ? (c)                                              \
                     : (c) >= 'a' && (c) <= 'z' ? (c)                                              \
                     : (c) >= 'A' && (c) <= 'Z' ? (c) + ('a' - 'A')                                \
                                                : '-'))
static const unsigned char map_table[256] = {
    MAP_ROW(0),   MAP_ROW(16),  MAP_ROW(32),  MAP_ROW(48),  MAP_ROW(64),  MAP_ROW(80),
    MAP_ROW(96),  MAP_ROW(112), MAP_ROW(128), MAP_ROW(144), MAP_ROW(160), MAP_ROW(176),
    MAP_ROW(192), MAP_ROW(208), MAP_ROW(224), MAP_ROW(240)};

static unsigned char mapped(char c)
{
    return map_table[(unsigned char)c];
}

static apr_uint32_t mapped_hash(const char *name)
{
    apr_uint32_t h = 2166136261u;

    for (; *name != '\0'; name++) {
        h = (h ^ mapped(*name)) * 16777619u;
    }
    return h;
}

static int mapped_equal(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        if (mapped(*a) != mapped(*b)) {
            return 0;
        }
    }
    return *a == *b;
}

/* Spelled as OpenID Connect spells its claims: lower-case letters, digits and '_'. */
static int canonical(const char *name)
{
    return *name != '\0' && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

int ipsie_claims_hide_collisions(apr_array_header_t *claims, const char **names, apr_pool_t *p)
{
    ipsie_claim_t *c = (ipsie_claim_t *)claims->elts;
    int n = claims->nelts;
    apr_uint32_t small_hash[64];
    int small_owner[64];
    apr_uint32_t *hash = small_hash;
    int *owner = small_owner; /* the first claim of each one's group */
    const char *list = NULL;
    int hidden = 0;
    int i, j;

    if (names != NULL) {
        *names = NULL;
    }
    if (n < 2) {
        return 0;
    }
    /* Most sessions have a few dozen claims: no allocation on the request path for them. */
    if (n > 64) {
        hash = apr_palloc(p, sizeof(*hash) * (apr_size_t)n);
        owner = apr_palloc(p, sizeof(*owner) * (apr_size_t)n);
    }
    for (i = 0; i < n; i++) {
        hash[i] = mapped_hash(c[i].name);
        owner[i] = -1;
    }
    for (i = 0; i < n; i++) {
        int members = 1;
        int keeper = -1;

        if (owner[i] >= 0) {
            continue;
        }
        owner[i] = i;
        for (j = i + 1; j < n; j++) {
            if (owner[j] < 0 && hash[j] == hash[i] && mapped_equal(c[i].name, c[j].name)) {
                owner[j] = i;
                members++;
            }
        }
        if (members == 1) {
            continue;
        }
        /* One canonical spelling maps to a given name (twice only for a duplicated name,
         * where the first counts, as it does for lookups). */
        for (j = i; j < n && keeper < 0; j++) {
            if (owner[j] == i && canonical(c[j].name)) {
                keeper = j;
            }
        }
        for (j = i; j < n; j++) {
            if (owner[j] == i && j != keeper) {
                c[j].hidden = 1;
                hidden++;
                list = list ? apr_pstrcat(p, list, " ", c[j].name, NULL) : c[j].name;
            }
        }
    }
    if (names != NULL) {
        *names = list;
    }
    return hidden;
}
