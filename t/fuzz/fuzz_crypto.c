/* Fuzz target: opening sealed cookies and login states. Text the fuzzer invents never opens
 * (it cannot forge AES-GCM), a sealed value opens only untouched, and any plaintext survives
 * seal then open. Sealing the input under a state cookie's name reaches the login state
 * record parser; states built from the input round-trip within the Cookie budget; and the
 * slot chooser is fed arbitrary Cookie headers with live, expired and foreign states. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ipsie/ipsie_cookie.h"
#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

#define FUZZ_NOW 1700000100LL
#define FUZZ_TIMEOUT 300
#define FUZZ_AAD "ipsie_session"
/* A login state may come from up to this many seconds ahead (another server's clock). */
#define FUZZ_SKEW 60
/* The sealed record: format, created (8), prompt_login, seed (32), then the return path. */
#define RECORD_FIXED 42
#define RECORD_FORMAT 0x01
#define CREATED_MAX 100000000000ULL

static const char digits[] = "0123456789abcdef";
static apr_pool_t *global_pool;
static ipsie_crypto_t *crypto;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_array_header_t *passphrases;

    fuzz_setup();
    if (apr_pool_create(&global_pool, NULL) != APR_SUCCESS) {
        abort();
    }
    /* Two passphrases: the open path tries every key, as during a rotation. */
    passphrases = apr_array_make(global_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(passphrases, const char *) = "fuzz passphrase, current";
    APR_ARRAY_PUSH(passphrases, const char *) = "fuzz passphrase, previous";
    if (ipsie_crypto_create(&crypto, passphrases, global_pool) != APR_SUCCESS) {
        fprintf(stderr, "ipsie_crypto_create failed\n");
        abort();
    }
    return 0;
}

static int clamp_slots(int n)
{
    return n < 1 ? 1 : n > IPSIE_STATE_MAX_SLOTS ? IPSIE_STATE_MAX_SLOTS : n;
}

/* Whether a state created at created is live at FUZZ_NOW. */
static int live_at_now(long long created)
{
    return created - FUZZ_NOW <= FUZZ_SKEW && FUZZ_NOW - created < FUZZ_TIMEOUT;
}

/* The state parameter of a seed in slot: its digit and HMAC-SHA256(seed, "state"). */
static const char *state_of_seed(int slot, const unsigned char *seed, apr_pool_t *p)
{
    unsigned char mac[32];
    unsigned int mac_len = sizeof(mac);

    FUZZ_ASSERT(HMAC(EVP_sha256(), seed, 32, (const unsigned char *)"state", 5, mac, &mac_len)
                    != NULL,
                "HMAC works");
    return apr_pstrcat(p, apr_pstrmemdup(p, &digits[slot], 1), ipsie_b64url_encode(mac, 32, p),
                       NULL);
}

/* The same state with its last character changed: another login of the same slot. */
static const char *other_state(const char *state, apr_pool_t *p)
{
    char *s = apr_pstrdup(p, state);
    apr_size_t n = strlen(s);

    s[n - 1] = s[n - 1] == 'A' ? 'B' : 'A';
    return s;
}

/* The same state naming another slot. */
static const char *state_in_other_slot(const char *state, apr_pool_t *p)
{
    char *s = apr_pstrdup(p, state);

    s[0] = s[0] == '0' ? '1' : '0';
    return s;
}

/* XOR the input over the raw bytes of a sealed value (appending what is longer): it may open
 * only when nothing changed. */
static void check_tamper(const uint8_t *data, size_t size, apr_pool_t *p)
{
    static const unsigned char plain[] = "{\"sub\":\"alice\"}";
    unsigned char *raw = NULL;
    unsigned char *opened = NULL;
    unsigned char *mixed;
    apr_size_t raw_len = 0, mixed_len, len = 0, i;
    char *sealed = NULL;
    char *text;
    int changed = 0;
    apr_status_t rv;

    FUZZ_ASSERT(
        ipsie_crypto_seal(&sealed, crypto, FUZZ_AAD, plain, sizeof(plain) - 1, p) == APR_SUCCESS
            && ipsie_b64url_decode(&raw, &raw_len, sealed, strlen(sealed), p) == APR_SUCCESS,
        "a fixed plaintext seals into base64url");
    mixed_len = size > raw_len ? size : raw_len;
    mixed = apr_pcalloc(p, mixed_len);
    memcpy(mixed, raw, raw_len);
    for (i = 0; i < size; i++) {
        mixed[i] ^= data[i];
        changed |= data[i] != 0 || i >= raw_len;
    }
    text = ipsie_b64url_encode(mixed, mixed_len, p);
    rv = ipsie_crypto_open(&opened, &len, crypto, FUZZ_AAD, text, strlen(text), p);
    if (changed) {
        FUZZ_ASSERT(rv != APR_SUCCESS, "a tampered sealed value never opens");
    }
    else {
        FUZZ_ASSERT(rv == APR_SUCCESS && len == sizeof(plain) - 1
                        && memcmp(opened, plain, len) == 0,
                    "an untouched sealed value opens to its plaintext");
    }
}

/* What the record parser must answer for these decrypted bytes, opened at FUZZ_NOW with the
 * state parameter of their own seed. */
static apr_status_t expected_open(const uint8_t *data, size_t size)
{
    unsigned long long created = 0;
    size_t i;

    if (size < RECORD_FIXED + 1 || data[0] != RECORD_FORMAT || data[9] > 1
        || data[RECORD_FIXED] != '/'
        || memchr(data + RECORD_FIXED, '\0', size - RECORD_FIXED) != NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    for (i = 1; i < 9; i++) {
        created = (created << 8) | data[i];
    }
    if (created == 0 || created > CREATED_MAX) {
        return IPSIE_ERR_MALFORMED;
    }
    if ((long long)created - FUZZ_NOW > FUZZ_SKEW) {
        return IPSIE_ERR_MALFORMED;
    }
    return FUZZ_NOW - (long long)created >= FUZZ_TIMEOUT ? IPSIE_ERR_EXPIRED : APR_SUCCESS;
}

/* The input as plaintext: seal then open gives it back; sealed under a state cookie's name it
 * is a login state record, which opens exactly when every field is sane. */
static void check_sealed_input(const uint8_t *data, size_t size, apr_pool_t *p)
{
    unsigned char *opened = NULL;
    apr_size_t len = 0;
    char *sealed = NULL;
    ipsie_login_state_t *st = NULL;
    const char *state;
    int slot = size > 0 ? data[size - 1] % IPSIE_STATE_MAX_SLOTS : 0;
    apr_status_t rv, want;

    if (ipsie_crypto_seal(&sealed, crypto, FUZZ_AAD, data, size, p) != APR_SUCCESS) {
        return;
    }
    FUZZ_ASSERT(ipsie_crypto_open(&opened, &len, crypto, FUZZ_AAD, sealed, strlen(sealed), p)
                    == APR_SUCCESS,
                "a sealed value opens");
    FUZZ_ASSERT(len == size && (size == 0 || memcmp(opened, data, size) == 0)
                    && opened[len] == '\0',
                "open(seal(x)) == x, NUL-terminated");
    FUZZ_ASSERT(strlen(sealed) == ipsie_crypto_sealed_len(size),
                "ipsie_crypto_sealed_len tells the sealed length");
    FUZZ_ASSERT(ipsie_crypto_open(&opened, &len, crypto, "ipsie_other", sealed, strlen(sealed), p)
                    != APR_SUCCESS,
                "a sealed value does not open under another cookie name");

    if (ipsie_crypto_seal(&sealed, crypto, ipsie_login_state_cookie_name(slot, p), data, size, p)
        != APR_SUCCESS) {
        return;
    }
    if (size < RECORD_FIXED) {
        /* Too short to hold a seed: no state parameter can name it. */
        rv = ipsie_login_state_open(&st,
                                    state_of_seed(slot,
                                                  (const unsigned char *)"0123456789"
                                                                         "0123456789"
                                                                         "0123456789"
                                                                         "01",
                                                  p),
                                    sealed, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p);
        FUZZ_ASSERT(rv == IPSIE_ERR_MALFORMED && st == NULL, "a short record is malformed");
        return;
    }
    state = state_of_seed(slot, data + 10, p);
    want = expected_open(data, size);
    rv = ipsie_login_state_open(&st, state, sealed, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p);
    FUZZ_ASSERT(rv == want, "a sealed record opens exactly when every field is sane and live");
    if (rv == APR_SUCCESS) {
        FUZZ_ASSERT(st != NULL && st->slot == slot && strcmp(st->state, state) == 0
                        && st->prompt_login == data[9] && memcmp(st->seed, data + 10, 32) == 0
                        && strlen(st->return_path) == size - RECORD_FIXED
                        && memcmp(st->return_path, data + RECORD_FIXED, size - RECORD_FIXED) == 0
                        && strlen(st->nonce) == 43 && strlen(st->code_verifier) == 43,
                    "an opened login state holds the record's fields");
    }
    else {
        FUZZ_ASSERT(st == NULL, "a refused login state leaves no output");
    }
    rv = ipsie_login_state_open(&st, other_state(state, p), sealed, crypto, FUZZ_TIMEOUT, FUZZ_NOW,
                                p);
    FUZZ_ASSERT(rv != APR_SUCCESS && st == NULL, "a record never opens for another state");
    FUZZ_ASSERT(want != APR_SUCCESS || rv == IPSIE_ERR_STATE_OTHER,
                "a live record opened for another state is another login's");
    rv = ipsie_login_state_open(&st, state_in_other_slot(state, p), sealed, crypto, FUZZ_TIMEOUT,
                                FUZZ_NOW, p);
    FUZZ_ASSERT(rv == IPSIE_ERR_CRYPTO && st == NULL, "a record opens only in its own slot");
}

/* Arbitrary state parameters and cookie values: nothing opens, nothing is misread. */
static void check_raw_state(const char *text, apr_pool_t *p)
{
    static const char pad[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    apr_size_t n = strlen(text);
    ipsie_login_state_t *st = NULL;
    int slot = ipsie_login_state_slot(text);
    const char *state;
    const char *value;
    apr_status_t rv;

    FUZZ_ASSERT(slot >= -1 && slot < IPSIE_STATE_MAX_SLOTS, "a slot is -1 or 0..15");
    if (slot >= 0) {
        FUZZ_ASSERT(n == 44 && text[0] == digits[slot], "a slot is the digit of a 44-char state");
    }
    /* The first 44 characters as the state, the rest as the cookie value. */
    state = apr_pstrmemdup(p, text, n < 44 ? n : 44);
    value = n < 44 ? text : text + 44;
    rv = ipsie_login_state_open(&st, state, value, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p);
    FUZZ_ASSERT((rv == IPSIE_ERR_MALFORMED || rv == IPSIE_ERR_CRYPTO) && st == NULL,
                "fuzz text never opens as a login state");
    /* The whole text as the value, under a well-formed state of the slot the text starts with. */
    state = apr_psprintf(p, "%c%.43s%s", digits[(unsigned char)text[0] % 16], text,
                         &pad[n < 43 ? n : 43]);
    rv = ipsie_login_state_open(&st, state, text, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p);
    FUZZ_ASSERT((rv == IPSIE_ERR_MALFORMED || rv == IPSIE_ERR_CRYPTO) && st == NULL,
                "fuzz text never opens as a login state, whatever the state parameter");
}

/* A state built from the input: its return path is cut to fit, it seals within its share of
 * the budget and opens back exactly while live. */
static void check_new_state(const uint8_t *data, size_t size, apr_pool_t *p)
{
    ipsie_login_state_t *st = NULL, *back = NULL;
    int slot, max_slots, n;
    long long created;
    apr_size_t max, query, pair;
    const char *path, *name;
    int single;
    char *sealed = NULL;
    apr_status_t rv;

    if (size < 5) {
        return;
    }
    slot = data[0] % IPSIE_STATE_MAX_SLOTS;
    max_slots = data[1] % (IPSIE_STATE_MAX_SLOTS + 3) - 1;
    n = clamp_slots(max_slots);
    created = FUZZ_NOW - 400 + ((data[2] << 8 | data[3]) % 501);
    path = apr_pstrmemdup(p, (const char *)data + 5, size - 5);
    FUZZ_ASSERT(ipsie_login_state_new(&st, slot, max_slots, path, data[4] & 1, created, p)
                    == APR_SUCCESS,
                "a state in slot 0..15 is always made");
    max = ipsie_login_state_path_max(max_slots);
    query = strcspn(path, "?");
    /* Only a path of this site: one '/' first ("//host" and "/\\host" read as another). */
    single = path[0] == '/' && path[1] != '/' && path[1] != '\\';
    if (single && strlen(path) <= max) {
        FUZZ_ASSERT(strcmp(st->return_path, path) == 0, "a short path is kept whole");
    }
    else if (single && query <= max) {
        FUZZ_ASSERT(strlen(st->return_path) == query && strncmp(st->return_path, path, query) == 0,
                    "a path with a long query is kept without it");
    }
    else {
        FUZZ_ASSERT(strcmp(st->return_path, "/") == 0, "anything else returns to /");
    }
    FUZZ_ASSERT(ipsie_login_state_seal(&sealed, st, crypto, p) == APR_SUCCESS, "a state seals");
    name = ipsie_login_state_cookie_name(slot, p);
    pair = strlen(name) + 1 + strlen(sealed);
    FUZZ_ASSERT((apr_size_t)n * pair + 2 * (apr_size_t)(n - 1)
                        <= ipsie_login_state_budget(max_slots)
                    && ipsie_login_state_budget(max_slots) <= IPSIE_STATE_BUDGET,
                "the state cookies of every slot fit the budget");

    rv = ipsie_login_state_open(&back, st->state, sealed, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p);
    if (created - FUZZ_NOW > FUZZ_SKEW) {
        FUZZ_ASSERT(rv == IPSIE_ERR_MALFORMED, "a state from too far ahead is refused");
    }
    else if (FUZZ_NOW - created >= FUZZ_TIMEOUT) {
        FUZZ_ASSERT(rv == IPSIE_ERR_EXPIRED, "an old state has expired");
    }
    else {
        FUZZ_ASSERT(rv == APR_SUCCESS && back->slot == slot && strcmp(back->state, st->state) == 0
                        && strcmp(back->nonce, st->nonce) == 0
                        && strcmp(back->code_verifier, st->code_verifier) == 0
                        && strcmp(back->return_path, st->return_path) == 0
                        && back->created == created && back->prompt_login == (data[4] & 1),
                    "a live state opens with every field");
    }
    rv = ipsie_login_state_open(&back, other_state(st->state, p), sealed, crypto, FUZZ_TIMEOUT,
                                FUZZ_NOW, p);
    FUZZ_ASSERT(back == NULL && (rv == IPSIE_ERR_STATE_OTHER || !live_at_now(created))
                    && rv != APR_SUCCESS,
                "another login's live state in the slot is told apart");
    rv = ipsie_login_state_open(&back, state_in_other_slot(st->state, p), sealed, crypto,
                                FUZZ_TIMEOUT, FUZZ_NOW, p);
    FUZZ_ASSERT(rv == IPSIE_ERR_CRYPTO && back == NULL, "a state opens only in its own slot");
}

/* The slot a cookie name stands for, or -1 (exactly "ipsie_state_" and one lowercase digit). */
static int slot_of_name(const char *name)
{
    apr_size_t n = sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1;
    const char *d;

    if (strncmp(name, IPSIE_STATE_COOKIE_PREFIX, n) != 0 || name[n] == '\0'
        || name[n + 1] != '\0') {
        return -1;
    }
    d = strchr(digits, name[n]);
    return d != NULL ? (int)(d - digits) : -1;
}

/* The chooser on an arbitrary Cookie header into which states made here are set: header
 * values never open, so which slots are live is known, and so is the right answer. */
static void check_choose(const uint8_t *data, size_t size, apr_pool_t *p)
{
    const apr_array_header_t *elts;
    const apr_table_entry_t *e;
    apr_array_header_t *clear = NULL;
    apr_table_t *cookies;
    long long created[IPSIE_STATE_MAX_SLOTS];
    int live[IPSIE_STATE_MAX_SLOTS];
    int max_slots, n, mask, slot = -1, i, nfree = 0, oldest = -1, expected_clear = 0;
    char *header;

    if (size < 3 + IPSIE_STATE_MAX_SLOTS) {
        return;
    }
    max_slots = data[0] % (IPSIE_STATE_MAX_SLOTS + 3) - 1;
    n = clamp_slots(max_slots);
    mask = data[1] << 8 | data[2];
    header = fuzz_cstr(data + 3 + IPSIE_STATE_MAX_SLOTS, size - 3 - IPSIE_STATE_MAX_SLOTS);
    cookies = ipsie_cookie_parse(header, p);
    for (i = 0; i < IPSIE_STATE_MAX_SLOTS; i++) {
        ipsie_login_state_t *st = NULL;
        char *sealed = NULL;

        created[i] = FUZZ_NOW - 400 + 2 * data[3 + i];
        if (mask & (1 << i)) {
            FUZZ_ASSERT(ipsie_login_state_new(&st, i, max_slots, "/", 0, created[i], p)
                                == APR_SUCCESS
                            && ipsie_login_state_seal(&sealed, st, crypto, p) == APR_SUCCESS,
                        "a state seals");
            /* Replaces a header cookie of the same name, in any case, in its place. */
            apr_table_set(cookies, ipsie_login_state_cookie_name(i, p), sealed);
        }
    }

    /* Live: a state made here, under its exact name, in a slot in use, not expired. */
    memset(live, 0, sizeof(live));
    elts = apr_table_elts(cookies);
    e = (const apr_table_entry_t *)elts->elts;
    for (i = 0; i < elts->nelts; i++) {
        int s = slot_of_name(e[i].key);

        if (s >= 0 && s < n && (mask & (1 << s)) && live_at_now(created[s])) {
            live[s] = 1;
            if (oldest < 0 || created[s] < created[oldest]) {
                oldest = s;
            }
        }
    }
    for (i = 0; i < n; i++) {
        nfree += !live[i];
    }

    FUZZ_ASSERT(ipsie_login_state_choose(&slot, &clear, cookies, crypto, max_slots, FUZZ_TIMEOUT,
                                         FUZZ_NOW, p)
                        == APR_SUCCESS
                    && clear != NULL,
                "choose always answers");
    FUZZ_ASSERT(slot >= 0 && slot < n, "the chosen slot is in use");
    if (nfree > 0) {
        FUZZ_ASSERT(!live[slot], "a free slot is chosen while there is one");
    }
    else {
        FUZZ_ASSERT(slot == oldest, "with every slot live the oldest, first sent, gives way");
    }

    /* Cleared: every other state cookie but the live ones. */
    for (i = 0; i < elts->nelts; i++) {
        int s = slot_of_name(e[i].key);
        int j, found = 0;
        int want =
            strncmp(e[i].key, IPSIE_STATE_COOKIE_PREFIX, sizeof(IPSIE_STATE_COOKIE_PREFIX) - 1) == 0
            && s != slot && !(s >= 0 && s < n && live[s]);

        for (j = 0; j < clear->nelts; j++) {
            found += APR_ARRAY_IDX(clear, j, const char *) == e[i].key;
        }
        FUZZ_ASSERT(found == want, want ? "a dead or foreign state cookie is cleared"
                                        : "a live, chosen or other cookie is not cleared");
        expected_clear += want;
    }
    FUZZ_ASSERT(clear->nelts == expected_clear, "only the request's cookies are cleared");
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *text = fuzz_cstr(data, size);
    unsigned char *plain = NULL;
    apr_size_t len = 0;

    /* Nothing here was sealed with our keys: no input may open. */
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, FUZZ_AAD, (const char *)data, size, p)
                    != APR_SUCCESS,
                "fuzz text never opens as a sealed value");
    FUZZ_ASSERT(plain == NULL, "a refused value leaves no plaintext");
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, NULL, text, strlen(text), p) != APR_SUCCESS,
                "fuzz text never opens, without AAD either");

    check_raw_state(text, p);
    check_tamper(data, size, p);
    check_sealed_input(data, size, p);
    check_new_state(data, size, p);
    check_choose(data, size, p);

    free(text);
    apr_pool_destroy(p);
    return 0;
}
