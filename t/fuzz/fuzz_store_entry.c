/* Fuzz target: what the shared store hands back. The input is read as each kind of value a
 * store keeps, since a store that is wrong, or written by someone else, can hold anything:
 *   - a set (the cache store's indexes, in memcached and httpd's socache): it parses only when
 *     it is one, adding a member keeps every live member and never shortens anyone's life,
 *     and only a full set refuses a new member;
 *   - a revocation entry: read under a provider session's name it always ends the session,
 *     under a user's name it ends sessions authenticated at or before its time, and when it
 *     does not read it ends the session too (fail closed), as the model below restates;
 *   - a session entry: bytes the fuzzer invents never open, and a session sealed under one
 *     entry's name opens under that name only, to the very bytes, which decode as the same
 *     bytes decode without the seal. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_revocation.h"
#include "ipsie/ipsie_session.h"

#define LOGIN 1700000000LL
#define NEW_MEMBER "ipsie:s:fuzz-new-member"
#define NAME_A "ipsie:s:entry-a"
#define NAME_B "ipsie:s:entry-b"

static apr_pool_t *global_pool;
static ipsie_crypto_t *crypto;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_array_header_t *passphrases;

    fuzz_setup();
    if (apr_pool_create(&global_pool, NULL) != APR_SUCCESS) {
        abort();
    }
    passphrases = apr_array_make(global_pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(passphrases, const char *) = "fuzz passphrase for store entries";
    if (ipsie_crypto_create(&crypto, passphrases, global_pool) != APR_SUCCESS) {
        abort();
    }
    return 0;
}

#define SET_NOW 500
#define SET_UNTIL 1000

static int listed(const apr_array_header_t *members, const char *m)
{
    int i;

    for (i = 0; i < members->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(members, i, const char *), m) == 0) {
            return 1;
        }
    }
    return 0;
}

static void check_set(const uint8_t *data, size_t size, apr_pool_t *p)
{
    apr_array_header_t *members = NULL;
    apr_array_header_t *after = NULL;
    apr_int64_t until = 0, until_after = 0, keep = 0;
    const char *value = NULL;
    int parsed = ipsie_kv_set_value_parse(&until, &members, data, size, SET_NOW, p);
    apr_status_t rv =
        ipsie_kv_set_value_add(&value, &keep, data, size, NEW_MEMBER, SET_UNTIL, SET_NOW, p);
    int i, present, others;

    FUZZ_ASSERT(parsed == (rv == APR_SUCCESS || rv == IPSIE_ERR_TOO_LARGE),
                "a value is a set to add to exactly when it parses");
    if (!parsed) {
        return;
    }
    for (i = 0; i < members->nelts; i++) {
        FUZZ_ASSERT(ipsie_kv_key_ok(APR_ARRAY_IDX(members, i, const char *)),
                    "every member of a set that parses is a usable key");
    }
    present = listed(members, NEW_MEMBER);
    others = members->nelts - present;
    if (rv == IPSIE_ERR_TOO_LARGE) {
        FUZZ_ASSERT(others >= IPSIE_KV_SET_MAX && value == NULL,
                    "only a full set refuses a new member, and writes nothing");
        return;
    }
    if (value == NULL) {
        FUZZ_ASSERT(present && until >= SET_UNTIL, "nothing is written only when nothing changes");
        return;
    }
    FUZZ_ASSERT(keep >= SET_UNTIL, "the set lives at least as long as its new member");
    FUZZ_ASSERT(ipsie_kv_set_value_parse(&until_after, &after, (const unsigned char *)value,
                                         strlen(value), SET_NOW, p),
                "what set_value_add writes parses");
    FUZZ_ASSERT(until_after == keep, "the written expiry is the one reported");
    FUZZ_ASSERT(after->nelts == others + 1, "the live members, and the new one once");
    for (i = 0; i < members->nelts; i++) {
        FUZZ_ASSERT(listed(after, APR_ARRAY_IDX(members, i, const char *)),
                    "every live member stays");
    }
    FUZZ_ASSERT(listed(after, NEW_MEMBER), "the new member is there");
    /* Long after, only the new member (and those that outlive it) remain. */
    FUZZ_ASSERT(ipsie_kv_set_value_parse(&until_after, &after, (const unsigned char *)value,
                                         strlen(value), SET_UNTIL - 1, p)
                    && listed(after, NEW_MEMBER),
                "the new member lives until its expiry");
}

/* The model of a revocation entry's time: "r1:" and 1 to 12 digits below 10^11; -1 else. */
static long long model_time(const uint8_t *data, size_t size)
{
    long long t = 0;
    size_t i;

    if (size <= 3 || size > 15 || memcmp(data, "r1:", 3) != 0) {
        return -1;
    }
    for (i = 3; i < size; i++) {
        if (data[i] < '0' || data[i] > '9') {
            return -1;
        }
        t = t * 10 + (data[i] - '0');
    }
    return t < 100000000000LL ? t : -1;
}

static void check_revocation(const uint8_t *data, size_t size, apr_pool_t *p)
{
    ipsie_session_t *s = apr_pcalloc(p, sizeof(*s));
    unsigned char *copy = apr_palloc(p, size + 1);
    unsigned char *values[2] = {copy, NULL};
    apr_size_t lens[2] = {size, 0};
    long long t = model_time(data, size);

    s->iss = "https://op.example";
    s->sub = "alice";
    s->sid = "sid-1";
    s->id = "own-id";
    s->login_time = LOGIN;
    memcpy(copy, data, size);
    copy[size] = '\0';
    FUZZ_ASSERT(ipsie_revocation_applies(s, values, lens, 2),
                "any provider-session entry ends the session");
    values[0] = NULL;
    values[1] = copy;
    lens[0] = 0;
    lens[1] = size;
    FUZZ_ASSERT(ipsie_revocation_applies(s, values, lens, 2) == (t < 0 || LOGIN <= t),
                "a user entry ends sessions that began at or before it, and when it does not read");
}

static void check_sealed(const uint8_t *data, size_t size, apr_pool_t *p)
{
    char *text = fuzz_cstr(data, size);
    char *sealed = NULL;
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    ipsie_session_t *direct = NULL, *opened = NULL;
    apr_status_t direct_rv, opened_rv;

    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, NAME_A, text, strlen(text), p)
                    != APR_SUCCESS,
                "invented bytes never open as a session entry");
    free(text);
    if (ipsie_crypto_seal(&sealed, crypto, NAME_A, data, size, p) != APR_SUCCESS) {
        /* Only what is too large to keep is not sealed. */
        FUZZ_ASSERT(size > 60000, "anything a session can be is sealed");
        return;
    }
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, NAME_B, sealed, strlen(sealed), p)
                    != APR_SUCCESS,
                "an entry copied under another name does not open");
    FUZZ_ASSERT(ipsie_crypto_open(&plain, &len, crypto, NAME_A, sealed, strlen(sealed), p)
                        == APR_SUCCESS
                    && len == size && memcmp(plain, data, size) == 0,
                "an entry opens under its own name to the very bytes");
    direct_rv = ipsie_session_decode(&direct, data, size, p);
    opened_rv = ipsie_session_decode(&opened, plain, len, p);
    FUZZ_ASSERT(direct_rv == opened_rv, "the seal changes nothing about what decodes");
    if (opened_rv == APR_SUCCESS) {
        FUZZ_ASSERT(strcmp(direct->sub, opened->sub) == 0 && direct->ceiling == opened->ceiling,
                    "the same session either way");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();

    check_set(data, size, p);
    check_revocation(data, size, p);
    check_sealed(data, size, p);
    apr_pool_destroy(p);
    return 0;
}
