/* Cookie header parsing and splitting of large values into numbered chunk cookies. */
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_log.h"

static int is_cookie_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Copy [start, end) without surrounding blanks. */
static char *trimmed_copy(const char *start, const char *end, apr_pool_t *p)
{
    while (start < end && is_cookie_space(*start)) {
        start++;
    }
    while (end > start && is_cookie_space(end[-1])) {
        end--;
    }
    return apr_pstrmemdup(p, start, (apr_size_t)(end - start));
}

apr_table_t *ipsie_cookie_parse(const char *header, apr_pool_t *p)
{
    apr_table_t *cookies = apr_table_make(p, 8);
    /* apr_table keys are case-insensitive: dedup the same way, in O(1) per pair. */
    apr_hash_t *seen = apr_hash_make(p);
    const char *pair = header;

    if (pair == NULL) {
        return cookies;
    }
    while (*pair != '\0') {
        const char *end = pair + strcspn(pair, ";");
        const char *eq = memchr(pair, '=', (apr_size_t)(end - pair));

        if (eq != NULL) {
            char *name = trimmed_copy(pair, eq, p);
            if (*name != '\0') {
                char *key = apr_pstrdup(p, name);
                char *k;
                for (k = key; *k != '\0'; k++) {
                    *k = (char)apr_tolower(*k);
                }
                if (apr_hash_get(seen, key, APR_HASH_KEY_STRING) == NULL) {
                    apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
                    apr_table_addn(cookies, name, trimmed_copy(eq + 1, end, p));
                }
            }
        }
        pair = (*end == ';') ? end + 1 : end;
    }
    return cookies;
}

const char *ipsie_cookie_find(const char *header, const char *name, apr_pool_t *p)
{
    apr_size_t name_len = strlen(name);
    const char *pair = header;

    if (pair == NULL || name_len == 0) {
        return NULL;
    }
    while (*pair != '\0') {
        const char *end = pair + strcspn(pair, ";");
        const char *k = pair;
        const char *after;

        while (k < end && is_cookie_space(*k)) {
            k++;
        }
        after = k + name_len;
        if ((apr_size_t)(end - k) > name_len && strncasecmp(k, name, name_len) == 0) {
            while (after < end && is_cookie_space(*after)) {
                after++;
            }
            if (after < end && *after == '=') {
                return trimmed_copy(after + 1, end, p);
            }
        }
        pair = (*end == ';') ? end + 1 : end;
    }
    return NULL;
}

static apr_size_t decimal_digits(apr_size_t n)
{
    apr_size_t d = 1;

    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

apr_size_t ipsie_cookie_split_size(const char *name, const apr_array_header_t *pieces)
{
    apr_size_t name_len = strlen(name);
    apr_size_t size;
    int i;

    if (pieces->nelts == 1) {
        return name_len + 1 + strlen(APR_ARRAY_IDX(pieces, 0, const char *));
    }
    /* name_chunks=N */
    size = name_len + sizeof("_chunks=") - 1 + decimal_digits((apr_size_t)pieces->nelts);
    for (i = 0; i < pieces->nelts; i++) {
        size += 2 + name_len + 1 + decimal_digits((apr_size_t)i) + 1
                + strlen(APR_ARRAY_IDX(pieces, i, const char *));
    }
    return size;
}

apr_array_header_t *ipsie_cookie_split(const char *name, const char *value, apr_size_t chunk_size,
                                       apr_pool_t *p)
{
    apr_size_t name_len = strlen(name);
    apr_size_t len = strlen(value);
    apr_size_t off = 0;
    apr_array_header_t *pieces = apr_array_make(p, 4, sizeof(const char *));

    if (name_len + 1 + len <= chunk_size) {
        APR_ARRAY_PUSH(pieces, const char *) = value;
        return pieces;
    }
    while (off < len) {
        /* Room left once "name_N=" is written; N grows a digit at chunk 10. */
        apr_size_t overhead = name_len + 1 + decimal_digits((apr_size_t)pieces->nelts) + 1;
        apr_size_t room, take;

        if (pieces->nelts >= IPSIE_COOKIE_MAX_CHUNKS || chunk_size <= overhead) {
            ipsie_log(IPSIE_LOG_ERROR,
                      "IPSIE01201: cookie %s needs more than %d chunks of %lu "
                      "bytes",
                      name, IPSIE_COOKIE_MAX_CHUNKS, (unsigned long)chunk_size);
            return NULL;
        }
        room = chunk_size - overhead;
        take = (len - off < room) ? len - off : room;
        APR_ARRAY_PUSH(pieces, const char *) = apr_pstrmemdup(p, value + off, take);
        off += take;
    }
    return pieces;
}

/* The chunk count, or 0 unless text is plain decimal digits within 1..MAX_CHUNKS. */
static int parse_chunk_count(const char *text)
{
    int n = 0;
    const char *s;

    if (*text == '\0' || strlen(text) > 2) {
        return 0;
    }
    for (s = text; *s != '\0'; s++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
        n = n * 10 + (*s - '0');
    }
    return (n >= 1 && n <= IPSIE_COOKIE_MAX_CHUNKS) ? n : 0;
}

const char *ipsie_cookie_join(apr_table_t *cookies, const char *name, apr_pool_t *p)
{
    const char *count = apr_table_get(cookies, apr_pstrcat(p, name, "_chunks", NULL));
    struct iovec parts[IPSIE_COOKIE_MAX_CHUNKS];
    int n, i;

    /* A count cookie means the value is chunked, even if a stale whole cookie lingers. */
    if (count == NULL) {
        return apr_table_get(cookies, name);
    }
    n = parse_chunk_count(count);
    if (n == 0) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const char *piece = apr_table_get(cookies, apr_psprintf(p, "%s_%d", name, i));
        if (piece == NULL || *piece == '\0') {
            return NULL;
        }
        parts[i].iov_base = (void *)piece;
        parts[i].iov_len = strlen(piece);
    }
    return apr_pstrcatv(p, parts, (apr_size_t)n, NULL);
}
