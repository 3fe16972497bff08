/* What the application receives: the user, identity headers and environment variables, and
 * none of the incoming headers that pretend to be ours nor the module's own cookies. */
#include <httpd.h>
#include <ctype.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

APLOG_USE_MODULE(auth_ipsie);

#define SESSION_HEADER_PREFIX "IPSIE-"

/* A header name the application could take for one of ours: the default claim prefix is
 * inside SESSION_HEADER_PREFIX, and every configured one is in the global list. */
static int is_ours(const char *name)
{
    const apr_array_header_t *prefixes = auth_ipsie_claim_prefixes();
    int i;

    if (ipsie_name_has_prefix_loose(name, SESSION_HEADER_PREFIX)) {
        return 1;
    }
    for (i = 0; prefixes != NULL && i < prefixes->nelts; i++) {
        if (ipsie_name_has_prefix_loose(name, APR_ARRAY_IDX(prefixes, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

int auth_ipsie_strip_spoofed(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *doomed = NULL;
    int i;

    /* A subrequest or an internal redirect shares its first request's headers, already
     * cleaned and then filled. */
    if (r->main != NULL || r->prev != NULL) {
        return DECLINED;
    }
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key == NULL) {
            continue;
        }
        if (is_ours(e[i].key)) {
            if (doomed == NULL) {
                doomed = apr_array_make(r->pool, 4, sizeof(const char *));
            }
            APR_ARRAY_PUSH(doomed, const char *) = e[i].key;
        }
    }
    for (i = 0; doomed != NULL && i < doomed->nelts; i++) {
        const char *key = APR_ARRAY_IDX(doomed, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "IPSIE13001: removed incoming header %s", key);
        apr_table_unset(r->headers_in, key);
    }
    return DECLINED;
}

/* A header value with no control characters: CR, LF and friends become spaces. */
static const char *clean_value(const char *value, apr_pool_t *p)
{
    const char *c;
    char *copy;
    char *d;

    for (c = value; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            break;
        }
    }
    if (*c == '\0') {
        return value;
    }
    copy = apr_pstrdup(p, value);
    for (d = copy; *d != '\0'; d++) {
        if ((unsigned char)*d < 0x20 || *d == 0x7f) {
            *d = ' ';
        }
    }
    return copy;
}

/* prefix + name in one allocation, as a header name (letters, digits and '-' kept, the rest
 * '-') or as a variable name (letters and digits upper-cased, the rest '_'). */
static const char *claim_key(const char *prefix, const char *name, int for_env, apr_pool_t *p)
{
    apr_size_t plen = strlen(prefix);
    apr_size_t nlen = strlen(name);
    char *key = apr_palloc(p, plen + nlen + 1);
    char *d = key + plen;

    memcpy(key, prefix, plen);
    for (; *name != '\0'; name++, d++) {
        unsigned char ch = (unsigned char)*name;
        if (isalnum(ch)) {
            *d = for_env ? (char)toupper(ch) : (char)ch;
        }
        else {
            *d = (ch == '-' && !for_env) ? '-' : (for_env ? '_' : '-');
        }
    }
    *d = '\0';
    return key;
}

/* Adding is enough where nothing of ours can be there yet; setting searches the table. */
static void put(apr_table_t *t, int fresh, const char *key, const char *value)
{
    if (fresh) {
        apr_table_addn(t, key, value);
    }
    else {
        apr_table_setn(t, key, value);
    }
}

/* 1 when the table holds no variable that starts with IPSIE_. */
static int env_is_fresh(const apr_table_t *env)
{
    const apr_array_header_t *arr = apr_table_elts(env);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key != NULL && strncasecmp(e[i].key, "IPSIE_", 6) == 0) {
            return 0;
        }
    }
    return 1;
}

void auth_ipsie_pass_identity(request_rec *r, const auth_ipsie_dir_settings_t *dir,
                              const ipsie_session_t *s, long long now, int fresh)
{
    const ipsie_claim_t *c = (const ipsie_claim_t *)s->claims->elts;
    const char *expiry = NULL;
    const char *remaining = NULL;
    const char **values = NULL;
    int env_fresh;
    int i;

    if (dir->pass_claims_as & (PASS_HEADERS | PASS_ENVIRONMENT)) {
        expiry = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)s->ceiling);
        remaining = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)(s->ceiling - now));
        values = apr_palloc(r->pool, sizeof(*values) * ((apr_size_t)s->claims->nelts + 1));
        for (i = 0; i < s->claims->nelts; i++) {
            values[i] = clean_value(c[i].value, r->pool);
        }
    }
    if (dir->pass_claims_as & PASS_HEADERS) {
        for (i = 0; i < s->claims->nelts; i++) {
            if (c[i].hidden) {
                continue;
            }
            put(r->headers_in, fresh, claim_key(dir->claim_prefix, c[i].name, 0, r->pool),
                values[i]);
        }
        put(r->headers_in, fresh, "IPSIE-Session-Expiry", expiry);
        put(r->headers_in, fresh, "IPSIE-Session-Remaining", remaining);
    }
    if (dir->pass_claims_as & PASS_ENVIRONMENT) {
        env_fresh = env_is_fresh(r->subprocess_env);
        for (i = 0; i < s->claims->nelts; i++) {
            if (c[i].hidden) {
                continue;
            }
            put(r->subprocess_env, env_fresh, claim_key("IPSIE_CLAIM_", c[i].name, 1, r->pool),
                values[i]);
        }
        put(r->subprocess_env, env_fresh, "IPSIE_SESSION_EXPIRY", expiry);
        put(r->subprocess_env, env_fresh, "IPSIE_SESSION_REMAINING", remaining);
    }
    if (dir->pass_access_token && s->access_token != NULL) {
        put(r->headers_in, fresh, "IPSIE-Access-Token", clean_value(s->access_token, r->pool));
    }
}

/* 1 for the session cookie ("name", "name_chunks", "name_<digits>") and the login state
 * cookies, matched without regard to case as the cookie parser matches them. */
static int is_own_cookie(const char *name, apr_size_t len, const auth_ipsie_settings_t *cfg)
{
    apr_size_t base = strlen(cfg->cookie_name);
    apr_size_t prefix = sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1;
    apr_size_t i;

    if (len > prefix && strncasecmp(name, IPSIE_STATE_COOKIE_PREFIX, prefix) == 0) {
        return 1;
    }
    if (len < base || strncasecmp(name, cfg->cookie_name, base) != 0) {
        return 0;
    }
    if (len == base) {
        return 1;
    }
    if (name[base] != '_' || len == base + 1) {
        return 0;
    }
    if (len == base + 7 && strncasecmp(name + base, "_chunks", 7) == 0) {
        return 1;
    }
    for (i = base + 1; i < len; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return 0;
        }
    }
    return 1;
}

void auth_ipsie_strip_own_cookies(request_rec *r, const auth_ipsie_settings_t *cfg)
{
    const char *header = apr_table_get(r->headers_in, "Cookie");
    const char *pair;
    char *kept;
    apr_size_t used = 0;

    if (header == NULL) {
        return;
    }
    /* Session cookies are credentials: the application and its logs have no use for them. */
    /* "; " may replace a bare ";": at most one more byte per pair. */
    kept = apr_palloc(r->pool, 2 * strlen(header) + 1);
    for (pair = header; *pair != '\0';) {
        const char *end = pair + strcspn(pair, ";");
        const char *name = pair;
        apr_size_t name_len;

        while (name < end && (*name == ' ' || *name == '\t')) {
            name++;
        }
        name_len = strcspn(name, "=;");
        while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t')) {
            name_len--;
        }
        if (name < end && !is_own_cookie(name, name_len, cfg)) {
            if (used > 0) {
                kept[used++] = ';';
                kept[used++] = ' ';
            }
            memcpy(kept + used, name, (apr_size_t)(end - name));
            used += (apr_size_t)(end - name);
        }
        pair = *end == ';' ? end + 1 : end;
    }
    kept[used] = '\0';
    if (used == 0) {
        apr_table_unset(r->headers_in, "Cookie");
    }
    else {
        apr_table_setn(r->headers_in, "Cookie", kept);
    }
}

const char *auth_ipsie_remote_user(request_rec *r, const ipsie_session_t *s, const char *claim)
{
    static const char *const why[] = {
        [IPSIE_REMOTE_USER_MISSING] = "has no",
        [IPSIE_REMOTE_USER_NOT_STRING] = "has a non-string",
        [IPSIE_REMOTE_USER_CONTROL] = "has control characters in its",
    };
    const char *user;
    ipsie_remote_user_e state = ipsie_session_remote_user(&user, s, claim);

    if (state != IPSIE_REMOTE_USER_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "IPSIE11005: the session of sub=%s %s '%s' claim for REMOTE_USER",
                      ipsie_log_safe(s->sub, r->pool), why[state], ipsie_log_safe(claim, r->pool));
        return NULL;
    }
    return user;
}

int auth_ipsie_adopt(request_rec *r, const auth_ipsie_dir_settings_t *dir, const ipsie_session_t *s,
                     long long now, int fresh, int denied)
{
    const char *user = s ? auth_ipsie_remote_user(r, s, dir->remote_user_claim) : NULL;

    if (user == NULL) {
        return denied;
    }
    auth_ipsie_set_request_session(r, s);
    r->user = apr_pstrdup(r->pool, user);
    r->ap_auth_type = AUTH_IPSIE_AUTH_TYPE;
    auth_ipsie_pass_identity(r, dir, s, now, fresh);
    return OK;
}
