/* DPoP (RFC 9449): proofs, the servers' nonces per endpoint, and resource requests with a
 * DPoP-bound access token. */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "ipsie/ipsie_dpop.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

/* Longest htu whose nonce is kept; a longer endpoint URL gets no remembered nonce. */
#define HTU_MAX 1024

typedef struct {
    char htu[HTU_MAX + 1];
    char nonce[IPSIE_DPOP_NONCE_MAX + 1];
    apr_uint64_t used; /* when it was last kept, as a count of keeps */
} nonce_slot_t;

struct ipsie_dpop_t {
    const ipsie_signer_t *key;
    apr_thread_mutex_t *lock; /* NULL without threads */
    nonce_slot_t slots[IPSIE_DPOP_ENDPOINTS];
    apr_uint64_t keeps;
};

apr_status_t ipsie_dpop_create(ipsie_dpop_t **out, const ipsie_signer_t *key, apr_pool_t *p)
{
    ipsie_dpop_t *d;
    const char *alg = key != NULL ? ipsie_signer_alg(key) : NULL;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (alg == NULL || (strcmp(alg, "ES256") != 0 && strcmp(alg, "EdDSA") != 0)) {
        return APR_EINVAL;
    }
    d = apr_pcalloc(p, sizeof(*d));
    d->key = key;
#if APR_HAS_THREADS
    rv = apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, p);
#endif
    if (rv == APR_SUCCESS) {
        *out = d;
    }
    return rv;
}

const ipsie_signer_t *ipsie_dpop_key(const ipsie_dpop_t *d)
{
    return d->key;
}

int ipsie_dpop_wanted(ipsie_dpop_mode_e mode, const ipsie_provider_t *op, const char *alg)
{
    int i;

    if (mode == IPSIE_DPOP_REQUIRED) {
        return 1;
    }
    if (mode == IPSIE_DPOP_OFF || op == NULL || op->dpop_algs == NULL || alg == NULL) {
        return 0;
    }
    for (i = 0; i < op->dpop_algs->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(op->dpop_algs, i, const char *), alg) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *ipsie_dpop_htu(const char *url, apr_pool_t *p)
{
    return apr_pstrmemdup(p, url, strcspn(url, "?#"));
}

apr_status_t ipsie_dpop_proof(const char **out, const ipsie_dpop_t *d, const char *htm,
                              const char *url, const char *access_token, const char *nonce,
                              long long now, apr_pool_t *p)
{
    json_t *header = NULL;
    json_t *claims = NULL;
    json_t *jwk = NULL;
    const char *jti = ipsie_random_token(24, p);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    *out = NULL;
    if (htm == NULL || url == NULL) {
        return APR_EINVAL;
    }
    jwk = ipsie_signer_public_jwk(d->key, 0);
    if (jti == NULL || jwk == NULL) {
        goto leave;
    }
    header = json_pack("{s:s, s:O}", "typ", "dpop+jwt", "jwk", jwk);
    claims = json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", htm, "htu",
                       ipsie_dpop_htu(url, p), "iat", (json_int_t)now);
    if (header == NULL || claims == NULL) {
        goto leave;
    }
    if (access_token != NULL) {
        SHA256((const unsigned char *)access_token, strlen(access_token), digest);
        if (json_object_set_new(claims, "ath",
                                json_string(ipsie_b64url_encode(digest, sizeof(digest), p)))
            != 0) {
            goto leave;
        }
    }
    if (nonce != NULL && json_object_set_new(claims, "nonce", json_string(nonce)) != 0) {
        goto leave;
    }
    rv = ipsie_signer_sign(out, d->key, header, claims, p);

leave:
    json_decref(jwk);
    json_decref(header);
    json_decref(claims);
    return rv;
}

int ipsie_dpop_nonce_valid(const char *value)
{
    apr_size_t n = 0;
    const unsigned char *c;

    if (value == NULL) {
        return 0;
    }
    for (c = (const unsigned char *)value; *c; c++, n++) {
        if (*c < 0x21 || *c > 0x7e || *c == '"' || *c == '\\' || n >= IPSIE_DPOP_NONCE_MAX) {
            return 0;
        }
    }
    return n > 0;
}

const char *ipsie_dpop_nonce(ipsie_dpop_t *d, const char *url, apr_pool_t *p)
{
    const char *htu = ipsie_dpop_htu(url, p);
    const char *found = NULL;
    int i;

#if APR_HAS_THREADS
    apr_thread_mutex_lock(d->lock);
#endif
    for (i = 0; i < IPSIE_DPOP_ENDPOINTS; i++) {
        if (d->slots[i].used != 0 && strcmp(d->slots[i].htu, htu) == 0) {
            found = apr_pstrdup(p, d->slots[i].nonce);
            break;
        }
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(d->lock);
#endif
    return found;
}

void ipsie_dpop_nonce_keep(ipsie_dpop_t *d, const char *url, const char *nonce)
{
    apr_size_t htu_len = strcspn(url, "?#");
    nonce_slot_t *slot = NULL;
    int i;

    if (!ipsie_dpop_nonce_valid(nonce) || htu_len > HTU_MAX) {
        return;
    }
#if APR_HAS_THREADS
    apr_thread_mutex_lock(d->lock);
#endif
    /* The endpoint's own slot, else a free one, else the one kept longest ago. */
    for (i = 0; i < IPSIE_DPOP_ENDPOINTS; i++) {
        nonce_slot_t *s = &d->slots[i];

        if (s->used != 0 && strlen(s->htu) == htu_len && strncmp(s->htu, url, htu_len) == 0) {
            slot = s;
            break;
        }
        if (slot == NULL || s->used < slot->used) {
            slot = s;
        }
    }
    memcpy(slot->htu, url, htu_len);
    slot->htu[htu_len] = '\0';
    apr_cpystrn(slot->nonce, nonce, sizeof(slot->nonce));
    slot->used = ++d->keeps;
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(d->lock);
#endif
}

/* ---- WWW-Authenticate (RFC 9110 11.6.1) ----------------------------------------------- */

static int is_tchar(char c)
{
    return apr_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token68_char(char c)
{
    return apr_isalnum(c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* After a token at s: 1 when BWS "=" BWS and a token or a quoted string follow (an auth-param
 * rather than a scheme or a token68). */
static int param_follows(const char *s)
{
    s = skip_ws(s);
    if (*s != '=') {
        return 0;
    }
    s = skip_ws(s + 1);
    return *s == '"' || is_tchar(*s);
}

/* Past the token or quoted string at *s: 1 when it is well formed, with *equals set when its
 * value (unescaped) is want; 0 when malformed. */
static int read_value(const char **s, int *equals, const char *want)
{
    const char *c = *s;
    const char *w = want;

    if (*c != '"') {
        while (is_tchar(*c)) {
            c++;
        }
        *equals = (apr_size_t)(c - *s) == strlen(want) && strncmp(*s, want, strlen(want)) == 0;
        *s = c;
        return 1;
    }
    *equals = 1;
    for (c++; *c != '"'; c++) {
        if (*c == '\\') {
            c++;
        }
        if (*c == '\0' || ((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return 0;
        }
        if (*equals && *w == *c) {
            w++;
        }
        else {
            *equals = 0;
        }
    }
    *equals = *equals && *w == '\0';
    *s = c + 1;
    return 1;
}

/* After a scheme and its spaces, at s: the end of a token68 there (RFC 9110 11.4), or s when
 * what follows is an auth-param (or nothing). */
static const char *skip_token68(const char *s)
{
    const char *t = s;
    int all_tchar = 1;

    while (is_token68_char(*t)) {
        all_tchar &= is_tchar(*t);
        t++;
    }
    if (t == s || (all_tchar && param_follows(t))) {
        return s;
    }
    while (*t == '=') {
        t++;
    }
    return t;
}

int ipsie_dpop_challenge_wants_nonce(const char *www_authenticate)
{
    const char *s = www_authenticate;
    int in_challenge = 0; /* a scheme was read: what follows may be its parameters */
    int in_dpop = 0;      /* ... and it is DPoP */
    int found = 0;
    int ok = s != NULL && strlen(s) <= 8192;

    while (ok) {
        const char *start;
        apr_size_t len;
        int scheme;
        int equals;

        s = skip_ws(s);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\0') {
            break;
        }
        for (start = s; is_tchar(*s); s++) {
        }
        len = (apr_size_t)(s - start);
        if (len == 0) {
            ok = 0;
            break;
        }
        scheme = !in_challenge || !param_follows(s);
        if (scheme) {
            in_challenge = 1;
            in_dpop = len == 4 && strncasecmp(start, "DPoP", 4) == 0;
            if (*s == ' ' || *s == '\t') {
                s = skip_token68(skip_ws(s));
            }
        }
        else {
            s = skip_ws(skip_ws(s) + 1);
            if (!read_value(&s, &equals, "use_dpop_nonce")) {
                ok = 0;
                break;
            }
            found |= in_dpop && equals && len == 5 && strncasecmp(start, "error", 5) == 0;
        }
        s = skip_ws(s);
        /* An element ends at a comma; a scheme's first parameter follows it after spaces. */
        if (*s != ',' && *s != '\0' && !(scheme && s > start + len && is_tchar(*s))) {
            ok = 0;
        }
    }
    return ok && found;
}

/* ---- answers that ask for a nonce ----------------------------------------------------- */

/* 1 when a JSON body's error member is use_dpop_nonce. */
static int body_wants_nonce(const ipsie_http_response_t *resp)
{
    json_t *doc;
    json_t *v;
    int wants;

    if (resp->body == NULL || resp->body_len == 0 || resp->body_len > IPSIE_HTTP_MAX_BODY) {
        return 0;
    }
    doc = json_loadb(resp->body, resp->body_len, 0, NULL);
    v = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
    wants = json_is_string(v) && strcmp(json_string_value(v), "use_dpop_nonce") == 0;
    json_decref(doc);
    return wants;
}

typedef struct {
    int wants;
} challenge_scan_t;

static int scan_challenge(void *baton, const char *key, const char *value)
{
    challenge_scan_t *scan = baton;

    scan->wants |= ipsie_dpop_challenge_wants_nonce(value);
    return 1;
}

int ipsie_dpop_retry_with_nonce(ipsie_dpop_t *d, const char *url, const ipsie_http_response_t *resp,
                                const char *used, apr_pool_t *p)
{
    const char *nonce = resp->headers ? apr_table_get(resp->headers, "DPoP-Nonce") : NULL;
    challenge_scan_t scan = {0};
    int asked;

    if (nonce != NULL && !ipsie_dpop_nonce_valid(nonce)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE06301: %s answered an unusable DPoP-Nonce; ignored",
                  ipsie_log_safe(ipsie_dpop_htu(url, p), p));
        nonce = NULL;
    }
    if (nonce != NULL) {
        ipsie_dpop_nonce_keep(d, url, nonce);
    }
    if (resp->status == 400) {
        asked = body_wants_nonce(resp);
    }
    else if (resp->status == 401 && resp->headers != NULL) {
        apr_table_do(scan_challenge, &scan, resp->headers, "WWW-Authenticate", NULL);
        asked = scan.wants;
    }
    else {
        asked = 0;
    }
    if (asked && (nonce == NULL || (used != NULL && strcmp(nonce, used) == 0))) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE06302: %s asked for a DPoP nonce without giving a new one",
                  ipsie_log_safe(ipsie_dpop_htu(url, p), p));
        return 0;
    }
    return asked;
}

apr_status_t ipsie_dpop_resource_send(ipsie_http_response_t *resp, ipsie_dpop_t *d, const char *url,
                                      const char *form, const char *access_token, long long now,
                                      const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    const char *headers[4] = {"Accept: application/json", NULL, NULL, NULL};
    const char *proof;
    const char *nonce;
    apr_status_t rv;
    int attempt;

    memset(resp, 0, sizeof(*resp));
    if (url == NULL || access_token == NULL) {
        return APR_EINVAL;
    }
    if (d == NULL) {
        headers[1] = apr_pstrcat(p, "Authorization: Bearer ", access_token, NULL);
        return ipsie_http_send(resp, url, form, headers, NULL, NULL, opts, p);
    }
    headers[1] = apr_pstrcat(p, "Authorization: DPoP ", access_token, NULL);
    nonce = ipsie_dpop_nonce(d, url, p);
    for (attempt = 0;; attempt++) {
        rv = ipsie_dpop_proof(&proof, d, form ? "POST" : "GET", url, access_token, nonce, now, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        headers[2] = apr_pstrcat(p, "DPoP: ", proof, NULL);
        rv = ipsie_http_send(resp, url, form, headers, NULL, NULL, opts, p);
        if (rv != APR_SUCCESS || attempt > 0
            || !ipsie_dpop_retry_with_nonce(d, url, resp, nonce, p)) {
            return rv;
        }
        nonce = apr_pstrdup(p, apr_table_get(resp->headers, "DPoP-Nonce"));
    }
}
