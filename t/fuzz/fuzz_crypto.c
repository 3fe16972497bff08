/* Fuzz target: opening sealed cookies. Text the fuzzer invents never opens (it cannot forge
 * AES-GCM), a sealed value opens only untouched, and any plaintext survives seal then open.
 * Sealing the input under a state cookie's name also reaches the login state JSON parser. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

#define FUZZ_NOW 1700000100LL
#define FUZZ_STATE "fuzzstate"
#define FUZZ_TIMEOUT 300
#define FUZZ_AAD "ipsie_session"

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

/* The input as plaintext: seal then open gives it back; under the state cookie's name it is
 * the JSON of a login state, whose parser must keep its promises when it accepts. */
static void check_sealed_input(const uint8_t *data, size_t size, apr_pool_t *p)
{
    unsigned char *opened = NULL;
    apr_size_t len = 0;
    char *sealed = NULL;
    ipsie_login_state_t *st = NULL;
    const char *name;

    if (ipsie_crypto_seal(&sealed, crypto, FUZZ_AAD, data, size, p) != APR_SUCCESS) {
        return;
    }
    FUZZ_ASSERT(ipsie_crypto_open(&opened, &len, crypto, FUZZ_AAD, sealed, strlen(sealed), p)
                    == APR_SUCCESS,
                "a sealed value opens");
    FUZZ_ASSERT(len == size && (size == 0 || memcmp(opened, data, size) == 0)
                    && opened[len] == '\0',
                "open(seal(x)) == x, NUL-terminated");
    FUZZ_ASSERT(ipsie_crypto_open(&opened, &len, crypto, "ipsie_other", sealed, strlen(sealed), p)
                    != APR_SUCCESS,
                "a sealed value does not open under another cookie name");

    name = ipsie_login_state_cookie_name(FUZZ_STATE, p);
    if (ipsie_crypto_seal(&sealed, crypto, name, data, size, p) != APR_SUCCESS) {
        return;
    }
    if (ipsie_login_state_open(&st, FUZZ_STATE, sealed, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p)
        == APR_SUCCESS) {
        FUZZ_ASSERT(st != NULL && strcmp(st->state, FUZZ_STATE) == 0,
                    "an opened login state names the cookie's state");
        FUZZ_ASSERT(st->created > FUZZ_NOW - FUZZ_TIMEOUT && st->created <= FUZZ_NOW + 60,
                    "an opened login state is younger than the timeout and not far ahead");
        FUZZ_ASSERT(st->nonce != NULL && strlen(st->nonce) <= 64 && st->code_verifier != NULL
                        && st->original_url != NULL,
                    "an opened login state has its nonce, verifier and URL");
    }
    else {
        FUZZ_ASSERT(st == NULL, "a refused login state leaves no output");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *text = fuzz_cstr(data, size);
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    ipsie_login_state_t *st = NULL;
    apr_array_header_t *evict;
    apr_table_t *cookies;

    /* Nothing here was sealed with our keys: no input may open. */
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, FUZZ_AAD, (const char *)data, size, p)
                    != APR_SUCCESS,
                "fuzz text never opens as a sealed value");
    FUZZ_ASSERT(plain == NULL, "a refused value leaves no plaintext");
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, NULL, text, strlen(text), p) != APR_SUCCESS,
                "fuzz text never opens, without AAD either");
    FUZZ_ASSERT(ipsie_login_state_open(&st, FUZZ_STATE, text, crypto, FUZZ_TIMEOUT, FUZZ_NOW, p)
                        != APR_SUCCESS
                    && st == NULL,
                "fuzz text never opens as a login state");

    /* Eviction reads every state cookie of a request: feed it the input as one. */
    cookies = apr_table_make(p, 2);
    apr_table_setn(cookies, IPSIE_STATE_COOKIE_PREFIX FUZZ_STATE, text);
    apr_table_setn(cookies, "other", text);
    evict = ipsie_login_state_evict(cookies, crypto, 1, FUZZ_TIMEOUT, FUZZ_NOW, p);
    FUZZ_ASSERT(evict != NULL, "eviction always answers");

    check_tamper(data, size, p);
    check_sealed_input(data, size, p);

    free(text);
    apr_pool_destroy(p);
    return 0;
}
