/* Per-login state carried in an encrypted, single-use, short-lived cookie in one of a fixed
 * number of slots. The cookie holds a random seed from which the state, the nonce and the
 * PKCE verifier derive, the return path, the time and the prompt=login flag. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_pkce.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

#define STATE_FORMAT 0x01
/* format, created (8), prompt_login, seed */
#define STATE_FIXED_LEN (1 + 8 + 1 + 32)
/* 32 bytes of HMAC as base64url */
#define DERIVED_LEN 43
/* A state made by another server of the farm may be a little ahead of our clock. */
#define FUTURE_SKEW 60
/* Beyond any real Unix time we will meet; keeps now - created from overflowing. */
#define CREATED_MAX 100000000000LL

static const char slot_digits[] = "0123456789abcdef";

static int clamp_slots(int max_slots)
{
    if (max_slots < 1) {
        return 1;
    }
    return max_slots > IPSIE_STATE_MAX_SLOTS ? IPSIE_STATE_MAX_SLOTS : max_slots;
}

/* The bytes one cookie pair "ipsie_state_X=<sealed>" takes for a return path of len. */
static apr_size_t pair_len(apr_size_t path_len)
{
    return sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1 + 1 + 1
           + ipsie_crypto_sealed_len(STATE_FIXED_LEN + path_len);
}

apr_size_t ipsie_login_state_path_max(int max_slots)
{
    /* Each slot's share of the budget, less the "; " that joins it to the others. */
    apr_size_t share = IPSIE_STATE_BUDGET / (apr_size_t)clamp_slots(max_slots) - 2;
    apr_size_t len = 1;

    while (pair_len(len + 1) <= share) {
        len++;
    }
    return len;
}

apr_size_t ipsie_login_state_budget(int max_slots)
{
    apr_size_t n = (apr_size_t)clamp_slots(max_slots);

    return n * pair_len(ipsie_login_state_path_max(max_slots)) + 2 * (n - 1);
}

/* label's 32 bytes of HMAC-SHA256 under the seed, as base64url. */
static const char *derive(const unsigned char *seed, const char *label, apr_pool_t *p)
{
    unsigned char mac[32];
    unsigned int mac_len = sizeof(mac);
    const char *text;

    if (HMAC(EVP_sha256(), seed, 32, (const unsigned char *)label, strlen(label), mac, &mac_len)
            == NULL
        || mac_len != sizeof(mac)) {
        return NULL;
    }
    text = ipsie_b64url_encode(mac, sizeof(mac), p);
    OPENSSL_cleanse(mac, sizeof(mac));
    return text;
}

/* Fill in what derives from the seed and the slot. */
static apr_status_t derive_all(ipsie_login_state_t *st, apr_pool_t *p)
{
    const char *state = derive(st->seed, "state", p);

    st->nonce = derive(st->seed, "nonce", p);
    st->code_verifier = derive(st->seed, "pkce", p);
    if (state == NULL || st->nonce == NULL || st->code_verifier == NULL) {
        return IPSIE_ERR_CRYPTO;
    }
    st->state = apr_psprintf(p, "%c%s", slot_digits[st->slot], state);
    return APR_SUCCESS;
}

/* The part of a return path a state cookie can keep: whole, without its query, or "/". */
static const char *kept_path(const char *path, apr_size_t max, apr_pool_t *p)
{
    apr_size_t query;

    /* "//host" and "/\\host" would read as another site wherever the path is used alone. */
    if (path == NULL || path[0] != '/' || path[1] == '/' || path[1] == '\\') {
        return "/";
    }
    if (strlen(path) <= max) {
        return path;
    }
    query = strcspn(path, "?");
    if (query <= max) {
        ipsie_log(IPSIE_LOG_INFO,
                  "IPSIE01406: the return address is longer than %" APR_SIZE_T_FMT
                  " bytes: the login returns to its path without the query",
                  max);
        return apr_pstrmemdup(p, path, query);
    }
    ipsie_log(IPSIE_LOG_INFO,
              "IPSIE01406: the return address's path is longer than %" APR_SIZE_T_FMT
              " bytes: the login returns to /",
              max);
    return "/";
}

apr_status_t ipsie_login_state_new(ipsie_login_state_t **out, int slot, int max_slots,
                                   const char *return_path, int prompt_login, long long now,
                                   apr_pool_t *p)
{
    ipsie_login_state_t *st;
    apr_status_t rv;

    *out = NULL;
    if (slot < 0 || slot >= IPSIE_STATE_MAX_SLOTS) {
        return APR_EINVAL;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->slot = slot;
    rv = ipsie_random_bytes(st->seed, sizeof(st->seed));
    if (rv == APR_SUCCESS) {
        rv = derive_all(st, p);
    }
    if (rv != APR_SUCCESS) {
        return IPSIE_ERR_CRYPTO;
    }
    st->return_path = kept_path(return_path, ipsie_login_state_path_max(max_slots), p);
    st->created = now;
    st->prompt_login = prompt_login ? 1 : 0;
    *out = st;
    return APR_SUCCESS;
}

const char *ipsie_login_state_cookie_name(int slot, apr_pool_t *p)
{
    return apr_psprintf(p, "%s%c", IPSIE_STATE_COOKIE_PREFIX,
                        slot_digits[slot >= 0 && slot < IPSIE_STATE_MAX_SLOTS ? slot : 0]);
}

int ipsie_login_state_slot(const char *state)
{
    const char *digit;

    if (state == NULL || state[0] == '\0' || strlen(state) != 1 + DERIVED_LEN) {
        return -1;
    }
    digit = strchr(slot_digits, state[0]);
    return digit != NULL ? (int)(digit - slot_digits) : -1;
}

apr_status_t ipsie_login_state_seal(char **out, const ipsie_login_state_t *st,
                                    const ipsie_crypto_t *c, apr_pool_t *p)
{
    apr_size_t path_len;
    unsigned char *plain;
    apr_status_t rv;
    int i;

    *out = NULL;
    if (st->return_path == NULL || st->slot < 0 || st->slot >= IPSIE_STATE_MAX_SLOTS) {
        return APR_EINVAL;
    }
    path_len = strlen(st->return_path);
    plain = apr_palloc(p, STATE_FIXED_LEN + path_len);
    plain[0] = STATE_FORMAT;
    for (i = 0; i < 8; i++) {
        plain[1 + i] = (unsigned char)((unsigned long long)st->created >> (56 - 8 * i));
    }
    plain[9] = (unsigned char)(st->prompt_login ? 1 : 0);
    memcpy(plain + 10, st->seed, 32);
    memcpy(plain + STATE_FIXED_LEN, st->return_path, path_len);
    rv = ipsie_crypto_seal(out, c, ipsie_login_state_cookie_name(st->slot, p), plain,
                           STATE_FIXED_LEN + path_len, p);
    /* The seed gives the nonce and the PKCE verifier: no copy left behind. */
    OPENSSL_cleanse(plain, STATE_FIXED_LEN);
    return rv;
}

/* Build the state from the decrypted bytes; IPSIE_ERR_MALFORMED unless every field is sane. */
static apr_status_t state_from_bytes(ipsie_login_state_t *st, const unsigned char *plain,
                                     apr_size_t len, apr_pool_t *p)
{
    unsigned long long created = 0;
    apr_size_t i;

    if (len < STATE_FIXED_LEN + 1 || plain[0] != STATE_FORMAT || plain[9] > 1
        || plain[STATE_FIXED_LEN] != '/'
        || memchr(plain + STATE_FIXED_LEN, '\0', len - STATE_FIXED_LEN) != NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    for (i = 1; i < 9; i++) {
        created = (created << 8) | plain[i];
    }
    if (created == 0 || created > CREATED_MAX) {
        return IPSIE_ERR_MALFORMED;
    }
    st->created = (long long)created;
    st->prompt_login = plain[9];
    memcpy(st->seed, plain + 10, 32);
    st->return_path =
        apr_pstrmemdup(p, (const char *)plain + STATE_FIXED_LEN, len - STATE_FIXED_LEN);
    return derive_all(st, p);
}

apr_status_t ipsie_login_state_open(ipsie_login_state_t **out, const char *state, const char *value,
                                    const ipsie_crypto_t *c, long timeout, long long now,
                                    apr_pool_t *p)
{
    ipsie_login_state_t *st;
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    apr_status_t rv;
    int slot = ipsie_login_state_slot(state);

    *out = NULL;
    if (slot < 0 || value == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->slot = slot;
    rv = ipsie_crypto_open(&plain, &len, c, ipsie_login_state_cookie_name(slot, p), value,
                           strlen(value), p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = state_from_bytes(st, plain, len, p);
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE01401: login state cookie decrypts but does not "
                                     "hold a usable state");
        goto leave;
    }
    /* The slot's cookie may hold a later login's state: it must be the one named. */
    if (!ipsie_ct_streq(st->state, state)) {
        ipsie_log(IPSIE_LOG_INFO, "IPSIE01402: the login state cookie holds another login's "
                                  "state (a later sign-in in the same slot)");
        rv = IPSIE_ERR_STATE_OTHER;
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
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(st->seed, sizeof(st->seed));
    }
    return rv;
}

/* The slot a state cookie's name stands for, or -1. */
static int slot_of_name(const char *name)
{
    apr_size_t n = sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1;
    const char *digit;

    if (strncmp(name, IPSIE_STATE_COOKIE_PREFIX, n) != 0 || name[n] == '\0'
        || name[n + 1] != '\0') {
        return -1;
    }
    digit = strchr(slot_digits, name[n]);
    return digit != NULL ? (int)(digit - slot_digits) : -1;
}

/* When the sealed value of a state cookie was created, or 0 when it is unusable. */
static long long created_of(const char *name, int slot, const char *value, const ipsie_crypto_t *c,
                            long timeout, long long now, apr_pool_t *p)
{
    ipsie_login_state_t st;
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    long long created = 0;

    memset(&st, 0, sizeof(st));
    st.slot = slot;
    if (ipsie_crypto_open(&plain, &len, c, name, value, strlen(value), p) == APR_SUCCESS
        && state_from_bytes(&st, plain, len, p) == APR_SUCCESS && st.created - now <= FUTURE_SKEW
        && now - st.created < timeout) {
        created = st.created;
    }
    if (plain != NULL) {
        OPENSSL_cleanse(plain, len);
    }
    OPENSSL_cleanse(st.seed, sizeof(st.seed));
    return created;
}

apr_status_t ipsie_login_state_choose(int *slot, apr_array_header_t **clear, apr_table_t *cookies,
                                      const ipsie_crypto_t *c, int max_slots, long timeout,
                                      long long now, apr_pool_t *p)
{
    const apr_array_header_t *elts = apr_table_elts(cookies);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    long long created[IPSIE_STATE_MAX_SLOTS];
    int order[IPSIE_STATE_MAX_SLOTS]; /* place in the Cookie header */
    int free_slots[IPSIE_STATE_MAX_SLOTS];
    int nfree = 0;
    int oldest = 0;
    unsigned char pick;
    apr_status_t rv;
    int i;

    max_slots = clamp_slots(max_slots);
    *clear = apr_array_make(p, 2, sizeof(const char *));
    memset(created, 0, sizeof(created));
    for (i = 0; i < elts->nelts; i++) {
        int s;

        if (e[i].key == NULL
            || strncmp(e[i].key, IPSIE_STATE_COOKIE_PREFIX, sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1)
                   != 0) {
            continue;
        }
        s = slot_of_name(e[i].key);
        if (s >= 0 && s < max_slots) {
            created[s] = created_of(e[i].key, s, e[i].val, c, timeout, now, p);
            order[s] = i;
            if (created[s] != 0) {
                continue;
            }
        }
        /* Expired, unreadable, or of a slot (or a format) no longer in use. */
        APR_ARRAY_PUSH(*clear, const char *) = e[i].key;
    }
    for (i = 0; i < max_slots; i++) {
        if (created[i] == 0) {
            free_slots[nfree++] = i;
        }
        /* Of the same second, the one the browser sends first: its slot's cookie was created
         * earlier (RFC 6265 5.4; an overwritten cookie keeps its creation time). */
        else if (created[oldest] == 0 || created[i] < created[oldest]
                 || (created[i] == created[oldest] && order[i] < order[oldest])) {
            oldest = i;
        }
    }
    if (nfree == 0) {
        /* Every slot holds a live login: the oldest gives way. */
        *slot = oldest;
    }
    else {
        /* A random free slot: logins started in parallel rarely pick the same. */
        rv = ipsie_random_bytes(&pick, 1);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        *slot = free_slots[pick % nfree];
    }
    /* The chosen slot's cookie is replaced, not deleted. */
    for (i = 0; i < (*clear)->nelts; i++) {
        if (slot_of_name(APR_ARRAY_IDX(*clear, i, const char *)) == *slot) {
            APR_ARRAY_IDX(*clear, i, const char *) =
                APR_ARRAY_IDX(*clear, (*clear)->nelts - 1, const char *);
            (*clear)->nelts--;
            i--;
        }
    }
    return APR_SUCCESS;
}
