/* Per-login state carried in an encrypted, single-use, short-lived cookie. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_pkce.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

#define STATE_BYTES 32
#define NONCE_BYTES 32
#define NONCE_MAX_LEN 64
/* A state made by another server of the farm may be a little ahead of our clock. */
#define FUTURE_SKEW 60
/* Beyond any real Unix time we will meet; keeps now - created from overflowing. */
#define CREATED_MAX 100000000000LL

apr_status_t ipsie_login_state_new(ipsie_login_state_t **out, const char *original_url,
                                   int prompt_login, long long now, apr_pool_t *p)
{
    ipsie_login_state_t *st;

    *out = NULL;
    if (original_url == NULL || *original_url == '\0') {
        return APR_EINVAL;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->state = ipsie_random_token(STATE_BYTES, p);
    st->nonce = ipsie_random_token(NONCE_BYTES, p);
    st->code_verifier = ipsie_pkce_verifier(p);
    if (st->state == NULL || st->nonce == NULL || st->code_verifier == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    st->original_url = apr_pstrdup(p, original_url);
    st->created = now;
    st->prompt_login = prompt_login ? 1 : 0;
    *out = st;
    return APR_SUCCESS;
}

const char *ipsie_login_state_cookie_name(const char *state, apr_pool_t *p)
{
    return apr_pstrcat(p, IPSIE_STATE_COOKIE_PREFIX, state, NULL);
}

apr_status_t ipsie_login_state_seal(char **out, const ipsie_login_state_t *st,
                                    const ipsie_crypto_t *c, apr_pool_t *p)
{
    json_t *obj;
    char *text = NULL;
    apr_status_t rv;

    *out = NULL;
    if (st->state == NULL || st->nonce == NULL || st->code_verifier == NULL
        || st->original_url == NULL) {
        return APR_EINVAL;
    }
    obj = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "state", st->state, "nonce", st->nonce,
                    "code_verifier", st->code_verifier, "original_url", st->original_url, "created",
                    (json_int_t)st->created, "prompt_login", st->prompt_login);
    if (obj != NULL) {
        text = json_dumps(obj, JSON_COMPACT);
    }
    json_decref(obj);
    if (text == NULL) {
        return APR_ENOMEM;
    }
    rv = ipsie_crypto_seal(out, c, ipsie_login_state_cookie_name(st->state, p),
                           (const unsigned char *)text, strlen(text), p);
    /* The JSON holds the nonce and the PKCE verifier: do not leave them in freed memory. */
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rv;
}

/* The non-empty string member key of obj, or NULL. */
static const char *json_text(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return (s != NULL && *s != '\0') ? s : NULL;
}

/* Build the state from decrypted JSON; IPSIE_ERR_MALFORMED unless every field is sane. */
static apr_status_t state_from_json(ipsie_login_state_t **out, const unsigned char *plain,
                                    apr_size_t len, apr_pool_t *p)
{
    json_error_t err;
    json_t *obj = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, &err);
    json_t *created = json_object_get(obj, "created");
    json_t *prompt = json_object_get(obj, "prompt_login");
    ipsie_login_state_t *st = apr_pcalloc(p, sizeof(*st));
    const char *state = json_text(obj, "state");
    const char *nonce = json_text(obj, "nonce");
    const char *verifier = json_text(obj, "code_verifier");
    const char *url = json_text(obj, "original_url");
    apr_status_t rv = IPSIE_ERR_MALFORMED;

    if (!json_is_object(obj) || state == NULL || nonce == NULL || verifier == NULL || url == NULL
        || !json_is_integer(created) || !json_is_boolean(prompt) || strlen(nonce) > NONCE_MAX_LEN) {
        goto leave;
    }
    st->created = json_integer_value(created);
    if (st->created <= 0 || st->created > CREATED_MAX) {
        goto leave;
    }
    st->state = apr_pstrdup(p, state);
    st->nonce = apr_pstrdup(p, nonce);
    st->code_verifier = apr_pstrdup(p, verifier);
    st->original_url = apr_pstrdup(p, url);
    st->prompt_login = json_is_true(prompt);
    *out = st;
    rv = APR_SUCCESS;
leave:
    json_decref(obj);
    return rv;
}

apr_status_t ipsie_login_state_open(ipsie_login_state_t **out, const char *state, const char *value,
                                    const ipsie_crypto_t *c, long timeout, long long now,
                                    apr_pool_t *p)
{
    ipsie_login_state_t *st = NULL;
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    *out = NULL;
    if (state == NULL || *state == '\0' || value == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    rv = ipsie_crypto_open(&plain, &len, c, ipsie_login_state_cookie_name(state, p), value,
                           strlen(value), p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = state_from_json(&st, plain, len, p);
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE01401: login state cookie decrypts but does not "
                                     "hold a usable state");
        goto leave;
    }
    /* The cookie name is the AAD already; this also catches a state copied under another name. */
    if (!ipsie_ct_streq(st->state, state)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE01402: login state cookie names another state");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (st->created - now > FUTURE_SKEW) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE01403: login state created %lld s in the future",
                  st->created - now);
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (now - st->created >= timeout) {
        ipsie_log(IPSIE_LOG_DEBUG, "IPSIE01404: login state expired %lld s after creation",
                  now - st->created);
        rv = IPSIE_ERR_EXPIRED;
        goto leave;
    }
    *out = st;
leave:
    if (plain != NULL) {
        OPENSSL_cleanse(plain, len);
    }
    return rv;
}

typedef struct {
    const char *name;
    long long created;
    int order; /* position in the Cookie header */
} live_state_t;

static int by_age(const void *a, const void *b)
{
    const live_state_t *x = a;
    const live_state_t *y = b;

    if (x->created != y->created) {
        return x->created < y->created ? -1 : 1;
    }
    /* Equal ages: browsers send older cookies first (RFC 6265 5.4). */
    return x->order < y->order ? -1 : (x->order > y->order);
}

apr_array_header_t *ipsie_login_state_evict(apr_table_t *cookies, const ipsie_crypto_t *c,
                                            int max_live, long timeout, long long now,
                                            apr_pool_t *p)
{
    apr_array_header_t *evict = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *live = apr_array_make(p, 8, sizeof(live_state_t));
    const apr_array_header_t *elts = apr_table_elts(cookies);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    apr_size_t prefix_len = strlen(IPSIE_STATE_COOKIE_PREFIX);
    int i, excess;

    for (i = 0; i < elts->nelts; i++) {
        ipsie_login_state_t *st;

        if (e[i].key == NULL || strncmp(e[i].key, IPSIE_STATE_COOKIE_PREFIX, prefix_len) != 0) {
            continue;
        }
        if (ipsie_login_state_open(&st, e[i].key + prefix_len, e[i].val, c, timeout, now, p)
            != APR_SUCCESS) {
            APR_ARRAY_PUSH(evict, const char *) = e[i].key;
        }
        else {
            live_state_t *ls = apr_array_push(live);
            ls->name = e[i].key;
            ls->created = st->created;
            ls->order = i;
        }
    }
    /* Room for the state cookie about to be added. */
    excess = live->nelts - ((max_live > 1 ? max_live : 1) - 1);
    if (excess > 0) {
        qsort(live->elts, (size_t)live->nelts, sizeof(live_state_t), by_age);
        for (i = 0; i < excess; i++) {
            APR_ARRAY_PUSH(evict, const char *) = APR_ARRAY_IDX(live, i, live_state_t).name;
        }
    }
    if (evict->nelts > 0) {
        ipsie_log(IPSIE_LOG_DEBUG, "IPSIE01405: clearing %d of %d login state cookies",
                  evict->nelts, evict->nelts - (excess > 0 ? excess : 0) + live->nelts);
    }
    return evict;
}
