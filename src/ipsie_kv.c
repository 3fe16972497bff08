/* The store seam: checked calls through an implementation's operations, and what the
 * implementations share (server lists, milliseconds). */
#include <sys/uio.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie_kv_internal.h"

#define HOST_MAX 253
#define KV_MS_FOREVER (100LL * 366 * 24 * 3600 * 1000)

int ipsie_kv_key_ok(const char *key)
{
    apr_size_t i;

    if (key == NULL || key[0] == '\0') {
        return 0;
    }
    for (i = 0; key[i] != '\0'; i++) {
        if (i >= IPSIE_KV_KEY_MAX || key[i] <= ' ' || key[i] > '~') {
            return 0;
        }
    }
    return 1;
}

static int kv_ok(const ipsie_kv_t *kv)
{
    return kv != NULL && kv->ops != NULL;
}

/* One operation that reached the store counted, and its failure: a miss, a key already there
 * or a full set is the store's answer, not a failure. */
static apr_status_t counted(ipsie_metric_e operation, ipsie_metric_e failed, apr_status_t rv)
{
    ipsie_metric_inc(operation);
    if (rv == IPSIE_ERR_KV) {
        ipsie_metric_inc(failed);
    }
    return rv;
}

apr_status_t ipsie_kv_get(ipsie_kv_t *kv, const char *key, unsigned char **value, apr_size_t *len,
                          apr_pool_t *p)
{
    if (value == NULL || len == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    *value = NULL;
    *len = 0;
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(IPSIE_M_CACHE_GET, IPSIE_M_CACHE_FAILED_GET,
                   kv->ops->get(kv, key, value, len, p));
}

apr_status_t ipsie_kv_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                               unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    int i;

    if (n < 0 || (n > 0 && (keys == NULL || values == NULL || lens == NULL))) {
        return IPSIE_ERR_MALFORMED;
    }
    for (i = 0; i < n; i++) {
        values[i] = NULL;
        lens[i] = 0;
    }
    if (!kv_ok(kv)) {
        return IPSIE_ERR_MALFORMED;
    }
    for (i = 0; i < n; i++) {
        if (!ipsie_kv_key_ok(keys[i])) {
            return IPSIE_ERR_MALFORMED;
        }
    }
    if (n == 0) {
        return APR_SUCCESS;
    }
    return counted(IPSIE_M_CACHE_GET_MANY, IPSIE_M_CACHE_FAILED_GET_MANY,
                   kv->ops->get_many(kv, keys, n, values, lens, p));
}

apr_status_t ipsie_kv_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                          apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key) || (value == NULL && len > 0)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(
        IPSIE_M_CACHE_SET, IPSIE_M_CACHE_FAILED_SET,
        kv->ops->set(kv, key, value != NULL ? value : (const unsigned char *)"", len, expiry, p));
}

apr_status_t ipsie_kv_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                          apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key) || (value == NULL && len > 0)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(
        IPSIE_M_CACHE_ADD, IPSIE_M_CACHE_FAILED_ADD,
        kv->ops->add(kv, key, value != NULL ? value : (const unsigned char *)"", len, expiry, p));
}

apr_status_t ipsie_kv_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(IPSIE_M_CACHE_REMOVE, IPSIE_M_CACHE_FAILED_REMOVE, kv->ops->remove(kv, key, p));
}

apr_status_t ipsie_kv_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                              apr_time_t expiry, apr_pool_t *p)
{
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key) || !ipsie_kv_key_ok(member)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(IPSIE_M_CACHE_SET_ADD, IPSIE_M_CACHE_FAILED_SET_ADD,
                   kv->ops->set_add(kv, key, member, expiry, p));
}

apr_status_t ipsie_kv_set_remove(ipsie_kv_t *kv, const char *key, const char *member, apr_pool_t *p)
{
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key) || member == NULL || !ipsie_kv_key_ok(member)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(IPSIE_M_CACHE_SET_REMOVE, IPSIE_M_CACHE_FAILED_SET_REMOVE,
                   kv->ops->set_remove(kv, key, member, p));
}

apr_status_t ipsie_kv_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                  apr_pool_t *p)
{
    if (members == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    *members = NULL;
    if (!kv_ok(kv) || !ipsie_kv_key_ok(key)) {
        return IPSIE_ERR_MALFORMED;
    }
    return counted(IPSIE_M_CACHE_SET_MEMBERS, IPSIE_M_CACHE_FAILED_SET_MEMBERS,
                   kv->ops->set_members(kv, key, members, p));
}

/* ---- what the implementations share ----------------------------------------------------- */

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
           || c == '-' || c == '_';
}

static int ipv6_char_ok(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':'
           || c == '.';
}

/* One "host:port" (not empty, no comma) into *server. */
static apr_status_t parse_server(ipsie_kv_server_t *server, const char *entry, apr_pool_t *p)
{
    const char *host_start = entry, *host_end, *port;
    apr_size_t i;
    long value = 0;

    if (entry[0] == '[') {
        host_start = entry + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL || host_end == host_start || host_end[1] != ':') {
            return IPSIE_ERR_MALFORMED;
        }
        for (i = 0; host_start + i < host_end; i++) {
            if (!ipv6_char_ok(host_start[i])) {
                return IPSIE_ERR_MALFORMED;
            }
        }
        port = host_end + 2;
    }
    else {
        host_end = strrchr(entry, ':');
        if (host_end == NULL || host_end == entry || host_end - entry > HOST_MAX) {
            return IPSIE_ERR_MALFORMED;
        }
        for (i = 0; entry + i < host_end; i++) {
            if (!host_char_ok(entry[i])) {
                return IPSIE_ERR_MALFORMED;
            }
        }
        port = host_end + 1;
    }
    if (port[0] == '\0' || strlen(port) > 5) {
        return IPSIE_ERR_MALFORMED;
    }
    for (i = 0; port[i] != '\0'; i++) {
        if (port[i] < '0' || port[i] > '9') {
            return IPSIE_ERR_MALFORMED;
        }
        value = value * 10 + (port[i] - '0');
    }
    if (value < 1 || value > 65535) {
        return IPSIE_ERR_MALFORMED;
    }
    server->host = apr_pstrmemdup(p, host_start, (apr_size_t)(host_end - host_start));
    server->port = (int)value;
    server->spelled = entry;
    return APR_SUCCESS;
}

apr_status_t ipsie_kv_parse_servers(ipsie_kv_server_t **servers, int *n, const char *spec, int max,
                                    apr_pool_t *p)
{
    ipsie_kv_server_t *list;
    const char *at, *comma;
    int count = 0, i;
    apr_status_t rv = APR_SUCCESS;

    *servers = NULL;
    *n = 0;
    if (spec == NULL || spec[0] == '\0' || max < 1) {
        return IPSIE_ERR_MALFORMED;
    }
    list = apr_pcalloc(p, sizeof(*list) * (apr_size_t)max);
    at = spec;
    for (;;) {
        comma = strchr(at, ',');
        if (count == max) {
            rv = IPSIE_ERR_MALFORMED;
            goto leave;
        }
        rv = parse_server(&list[count],
                          comma != NULL ? apr_pstrmemdup(p, at, (apr_size_t)(comma - at))
                                        : apr_pstrdup(p, at),
                          p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        for (i = 0; i < count; i++) {
            if (list[i].port == list[count].port
                && strcasecmp(list[i].host, list[count].host) == 0) {
                rv = IPSIE_ERR_MALFORMED;
                goto leave;
            }
        }
        count++;
        if (comma == NULL) {
            break;
        }
        at = comma + 1;
    }
    *servers = list;
    *n = count;
leave:
    return rv;
}

long ipsie_kv_ms(apr_interval_time_t t)
{
    if (t <= 1000) {
        return 1;
    }
    if (t / 1000 >= APR_INT32_MAX) {
        return APR_INT32_MAX;
    }
    return (long)(t / 1000 + (t % 1000 != 0));
}

long long ipsie_kv_ms_left(apr_time_t expiry, apr_time_t now)
{
    apr_time_t left;

    if (expiry <= now || expiry - now <= 1000) {
        return 1;
    }
    left = expiry - now;
    /* A store refuses an expiry it cannot add to its clock; a century is forever here. */
    if (left / 1000 >= KV_MS_FOREVER) {
        return KV_MS_FOREVER;
    }
    return (long long)(left / 1000 + (left % 1000 != 0));
}

/* Expiries beyond this are not Unix times a store keeps. */
#define SET_UNTIL_DIGITS 12

typedef struct {
    const char *member;
    apr_int64_t until;
} set_entry_t;

/* Digits at v[*i..] up to stop (exclusive), at most SET_UNTIL_DIGITS: -1 when there are none. */
static apr_int64_t read_until(const unsigned char *v, apr_size_t len, apr_size_t *i,
                              unsigned char stop)
{
    apr_size_t start = *i;
    apr_int64_t t = 0;

    for (; *i < len && v[*i] >= '0' && v[*i] <= '9' && *i - start < SET_UNTIL_DIGITS; (*i)++) {
        t = t * 10 + (v[*i] - '0');
    }
    if (*i == start || *i >= len || v[*i] != stop) {
        return -1;
    }
    return t;
}

/* Every entry of a set value (expired ones too): 0 when v is not one (a member twice is not
 * what set_value_add writes). */
static int set_entries(apr_int64_t *until, apr_array_header_t **entries, const unsigned char *v,
                       apr_size_t len, apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, 4, sizeof(set_entry_t));
    apr_hash_t *seen = apr_hash_make(p);
    apr_size_t i = 0, start;

    *until = read_until(v, len, &i, '\n');
    if (*until < 0) {
        return 0;
    }
    for (i++; i < len; i++) {
        set_entry_t *e;

        for (start = i; i < len && v[i] > ' ' && v[i] <= '~'; i++) {
        }
        if (i == start || i >= len || v[i] != ' ' || i - start > IPSIE_KV_KEY_MAX) {
            return 0;
        }
        if (apr_hash_get(seen, v + start, (apr_ssize_t)(i - start)) != NULL) {
            return 0;
        }
        e = apr_array_push(list);
        e->member = apr_pstrmemdup(p, (const char *)v + start, i - start);
        apr_hash_set(seen, e->member, (apr_ssize_t)(i - start), e->member);
        i++;
        e->until = read_until(v, len, &i, '\n');
        if (e->until < 0) {
            return 0;
        }
    }
    *entries = list;
    return 1;
}

int ipsie_kv_set_value_parse(apr_int64_t *until, apr_array_header_t **members,
                             const unsigned char *v, apr_size_t len, apr_int64_t now, apr_pool_t *p)
{
    apr_array_header_t *entries;
    int i;

    if (!set_entries(until, &entries, v, len, p)) {
        return 0;
    }
    *members = apr_array_make(p, entries->nelts, sizeof(const char *));
    for (i = 0; i < entries->nelts; i++) {
        const set_entry_t *e = &APR_ARRAY_IDX(entries, i, set_entry_t);
        if (e->until > now) {
            APR_ARRAY_PUSH(*members, const char *) = e->member;
        }
    }
    return 1;
}

/* A set's value from entries: those live at now, member's expiry set to member_until (or
 * member left out when member_until < 0), member last when append; *keep the latest expiry.
 * "" when no member is left. */
static const char *set_write(apr_int64_t *keep, const apr_array_header_t *entries,
                             const char *member, apr_int64_t member_until, int append,
                             apr_int64_t now, apr_pool_t *p)
{
    int n = entries != NULL ? entries->nelts : 0;
    struct iovec *parts = apr_palloc(p, sizeof(*parts) * (apr_size_t)(n + 2));
    int i, count = 1;

    *keep = append ? member_until : 0;
    for (i = 0; i < n; i++) {
        const set_entry_t *e = &APR_ARRAY_IDX(entries, i, set_entry_t);
        int mine = strcmp(e->member, member) == 0;
        apr_int64_t until = mine ? member_until : e->until;

        if ((mine && member_until >= 0) || (!mine && e->until > now)) {
            parts[count].iov_base = apr_psprintf(p, "%s %" APR_INT64_T_FMT "\n", e->member, until);
            parts[count].iov_len = strlen(parts[count].iov_base);
            count++;
            *keep = until > *keep ? until : *keep;
        }
    }
    if (append) {
        parts[count].iov_base = apr_psprintf(p, "%s %" APR_INT64_T_FMT "\n", member, member_until);
        parts[count].iov_len = strlen(parts[count].iov_base);
        count++;
    }
    if (count == 1) {
        return "";
    }
    parts[0].iov_base = apr_psprintf(p, "%" APR_INT64_T_FMT "\n", *keep);
    parts[0].iov_len = strlen(parts[0].iov_base);
    return apr_pstrcatv(p, parts, (apr_size_t)count, NULL);
}

/* The entries of old (none for NULL) and whether member is one of them, with its expiry, and
 * how many others are live or expired at now. 0 when old is not a set. */
typedef struct {
    apr_array_header_t *entries;
    apr_int64_t until; /* the set's */
    int present;
    apr_int64_t stored; /* member's, when present */
    int live, dropped;  /* the others */
} set_look_t;

static int set_look(set_look_t *look, const unsigned char *old, apr_size_t old_len,
                    const char *member, apr_int64_t now, apr_pool_t *p)
{
    int i;

    memset(look, 0, sizeof(*look));
    if (old != NULL && !set_entries(&look->until, &look->entries, old, old_len, p)) {
        return 0;
    }
    for (i = 0; look->entries != NULL && i < look->entries->nelts; i++) {
        const set_entry_t *e = &APR_ARRAY_IDX(look->entries, i, set_entry_t);

        if (strcmp(e->member, member) == 0) {
            look->present = 1;
            look->stored = e->until;
        }
        else if (e->until > now) {
            look->live++;
        }
        else {
            look->dropped++;
        }
    }
    return 1;
}

apr_status_t ipsie_kv_set_value_add(const char **value, apr_int64_t *keep, const unsigned char *old,
                                    apr_size_t old_len, const char *member, apr_int64_t until,
                                    apr_int64_t now, apr_pool_t *p)
{
    set_look_t look;
    apr_int64_t member_until;

    *value = NULL;
    *keep = until;
    if (!ipsie_kv_key_ok(member) || !set_look(&look, old, old_len, member, now, p)) {
        return IPSIE_ERR_MALFORMED;
    }
    member_until = look.present && look.stored > until ? look.stored : until;
    if (!look.present && look.live >= IPSIE_KV_SET_MAX) {
        return IPSIE_ERR_TOO_LARGE;
    }
    *value = set_write(keep, look.entries, member, member_until, !look.present, now, p);
    /* The member is there until then already, and nothing is to be dropped. */
    if (look.present && look.stored >= until && look.dropped == 0 && look.until >= *keep) {
        *value = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t ipsie_kv_set_value_remove(const char **value, apr_int64_t *keep,
                                       const unsigned char *old, apr_size_t old_len,
                                       const char *member, apr_int64_t now, apr_pool_t *p)
{
    set_look_t look;

    *value = NULL;
    *keep = 0;
    if (!ipsie_kv_key_ok(member) || !set_look(&look, old, old_len, member, now, p)) {
        return IPSIE_ERR_MALFORMED;
    }
    if (look.present || look.dropped > 0) {
        *value = set_write(keep, look.entries, member, -1, 0, now, p);
    }
    return APR_SUCCESS;
}
