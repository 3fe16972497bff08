/* Unit tests of src/ipsie_state.c. */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_state.h"
#include "ipsie/ipsie_util.h"

#define NOW 1700000000LL
#define TIMEOUT 300
#define PATH "/orders?id=7"
#define SLOTS 7
/* format, created (8), prompt_login, seed (32): the record a state cookie seals. */
#define RECORD_FIXED 42

static ipsie_crypto_t *make_crypto(const char *passphrase)
{
    apr_array_header_t *passes = apr_array_make(pool, 1, sizeof(const char *));
    ipsie_crypto_t *c = NULL;

    APR_ARRAY_PUSH(passes, const char *) = passphrase;
    ck_assert_int_eq(ipsie_crypto_create(&c, passes, pool), APR_SUCCESS);
    return c;
}

static ipsie_crypto_t *test_crypto(void)
{
    return make_crypto("a passphrase of reasonable length for tests");
}

static ipsie_login_state_t *new_state(int slot, const char *path, long long created)
{
    ipsie_login_state_t *st = NULL;

    ck_assert_int_eq(ipsie_login_state_new(&st, slot, SLOTS, path, 0, created, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(st);
    return st;
}

static char *seal(const ipsie_login_state_t *st, const ipsie_crypto_t *c)
{
    char *value = NULL;

    ck_assert_int_eq(ipsie_login_state_seal(&value, st, c, pool), APR_SUCCESS);
    return value;
}

/* A leading character and filler 'A's. */
static const char *shaped(char lead, apr_size_t filler)
{
    char *s = apr_palloc(pool, filler + 2);

    s[0] = lead;
    memset(s + 1, 'A', filler);
    s[filler + 1] = '\0';
    return s;
}

/* A hex digit and 43 filler characters: the shape of a state parameter. */
static const char *state_shape(char digit)
{
    return shaped(digit, 43);
}

/* label's HMAC-SHA256 under seed as base64url, computed here without the module. */
static const char *hmac_text(const unsigned char *seed, const char *label)
{
    unsigned char mac[32];
    unsigned int mac_len = sizeof(mac);

    ck_assert_ptr_nonnull(
        HMAC(EVP_sha256(), seed, 32, (const unsigned char *)label, strlen(label), mac, &mac_len));
    return ipsie_b64url_encode(mac, mac_len, pool);
}

/* A record as the module seals it, with any field a key holder may choose. */
static unsigned char *record(apr_size_t *len, unsigned char format, unsigned long long created,
                             unsigned char prompt, const unsigned char *seed, const char *path,
                             apr_size_t path_len)
{
    unsigned char *r = apr_palloc(pool, RECORD_FIXED + path_len);
    int i;

    r[0] = format;
    for (i = 0; i < 8; i++) {
        r[1 + i] = (unsigned char)(created >> (56 - 8 * i));
    }
    r[9] = prompt;
    memcpy(r + 10, seed, 32);
    memcpy(r + RECORD_FIXED, path, path_len);
    *len = RECORD_FIXED + path_len;
    return r;
}

/* Seal raw bytes under a slot's cookie name, as only a key holder could. */
static char *seal_bytes(const ipsie_crypto_t *c, int slot, const unsigned char *plain,
                        apr_size_t len)
{
    char *value = NULL;

    ck_assert_int_eq(
        ipsie_crypto_seal(&value, c, ipsie_login_state_cookie_name(slot, pool), plain, len, pool),
        APR_SUCCESS);
    return value;
}

/* Put a live (or, with created out of the window, dead) state of slot into cookies. */
static ipsie_login_state_t *add_state(apr_table_t *cookies, const ipsie_crypto_t *c, int slot,
                                      long long created)
{
    ipsie_login_state_t *st = new_state(slot, "/", created);

    apr_table_set(cookies, ipsie_login_state_cookie_name(slot, pool), seal(st, c));
    return st;
}

static int count_of(const apr_array_header_t *names, const char *name)
{
    int i, n = 0;

    for (i = 0; i < names->nelts; i++) {
        n += strcmp(APR_ARRAY_IDX(names, i, const char *), name) == 0;
    }
    return n;
}

static int choose(apr_array_header_t **clear, apr_table_t *cookies, const ipsie_crypto_t *c,
                  int max_slots)
{
    int slot = -1;

    ck_assert_int_eq(
        ipsie_login_state_choose(&slot, clear, cookies, c, max_slots, TIMEOUT, NOW, pool),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(*clear);
    return slot;
}

/* --- seal and open --- */

START_TEST(new_state_derives_distinct_43_character_values_led_by_the_slot_digit)
{
    int slot;

    for (slot = 0; slot < IPSIE_STATE_MAX_SLOTS; slot++) {
        ipsie_login_state_t *a = new_state(slot, PATH, NOW);
        ipsie_login_state_t *b = new_state(slot, PATH, NOW);

        ck_assert_int_eq(a->slot, slot);
        ck_assert_uint_eq(strlen(a->state), 44);
        ck_assert_int_eq(a->state[0], "0123456789abcdef"[slot]);
        ck_assert_uint_eq(strlen(a->nonce), 43);
        ck_assert_uint_eq(strlen(a->code_verifier), 43);
        ck_assert_str_ne(a->state + 1, a->nonce);
        ck_assert_str_ne(a->state + 1, a->code_verifier);
        ck_assert_str_ne(a->nonce, a->code_verifier);
        ck_assert_str_ne(a->state, b->state);
        ck_assert_str_ne(a->nonce, b->nonce);
        ck_assert_str_ne(a->code_verifier, b->code_verifier);
        ck_assert_int_ne(memcmp(a->seed, b->seed, sizeof(a->seed)), 0);
        ck_assert_str_eq(a->return_path, PATH);
        ck_assert_int_eq(a->created, NOW);
        ck_assert_int_eq(a->prompt_login, 0);
    }
}
END_TEST

START_TEST(state_nonce_and_verifier_are_hmacs_of_the_seed)
{
    ipsie_login_state_t *st = new_state(11, PATH, NOW);

    ck_assert_str_eq(st->state, apr_pstrcat(pool, "b", hmac_text(st->seed, "state"), NULL));
    ck_assert_str_eq(st->nonce, hmac_text(st->seed, "nonce"));
    ck_assert_str_eq(st->code_verifier, hmac_text(st->seed, "pkce"));
}
END_TEST

START_TEST(new_state_refuses_a_slot_outside_0_to_15)
{
    ipsie_login_state_t *st = (ipsie_login_state_t *)1;

    ck_assert_int_eq(ipsie_login_state_new(&st, -1, SLOTS, PATH, 0, NOW, pool), APR_EINVAL);
    ck_assert_ptr_null(st);
    st = (ipsie_login_state_t *)1;
    ck_assert_int_eq(ipsie_login_state_new(&st, IPSIE_STATE_MAX_SLOTS, SLOTS, PATH, 0, NOW, pool),
                     APR_EINVAL);
    ck_assert_ptr_null(st);
}
END_TEST

START_TEST(new_state_keeps_prompt_login_as_0_or_1)
{
    ipsie_login_state_t *st = NULL;

    ck_assert_int_eq(ipsie_login_state_new(&st, 0, SLOTS, PATH, 42, NOW, pool), APR_SUCCESS);
    ck_assert_int_eq(st->prompt_login, 1);
}
END_TEST

START_TEST(cookie_name_is_the_prefix_and_the_slot_digit)
{
    ck_assert_str_eq(ipsie_login_state_cookie_name(0, pool), "ipsie_state_0");
    ck_assert_str_eq(ipsie_login_state_cookie_name(9, pool), "ipsie_state_9");
    ck_assert_str_eq(ipsie_login_state_cookie_name(10, pool), "ipsie_state_a");
    ck_assert_str_eq(ipsie_login_state_cookie_name(15, pool), "ipsie_state_f");
}
END_TEST

START_TEST(sealed_state_opens_with_every_field)
{
    ipsie_crypto_t *c = test_crypto();
    int prompt;

    for (prompt = 0; prompt <= 1; prompt++) {
        ipsie_login_state_t *st = NULL, *back = NULL;

        ck_assert_int_eq(ipsie_login_state_new(&st, 5, SLOTS, PATH, prompt, NOW, pool),
                         APR_SUCCESS);
        ck_assert_int_eq(
            ipsie_login_state_open(&back, st->state, seal(st, c), c, TIMEOUT, NOW + 5, pool),
            APR_SUCCESS);
        ck_assert_ptr_nonnull(back);
        ck_assert_int_eq(back->slot, 5);
        ck_assert_str_eq(back->state, st->state);
        ck_assert_str_eq(back->nonce, st->nonce);
        ck_assert_str_eq(back->code_verifier, st->code_verifier);
        ck_assert_str_eq(back->return_path, PATH);
        ck_assert_int_eq(back->created, NOW);
        ck_assert_int_eq(back->prompt_login, prompt);
        ck_assert_int_eq(memcmp(back->seed, st->seed, sizeof(st->seed)), 0);
    }
}
END_TEST

START_TEST(sealed_value_reveals_neither_seed_nonce_verifier_nor_path)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(0, PATH, NOW);
    char *value = seal(st, c);

    ck_assert_ptr_null(strstr(value, st->state + 1));
    ck_assert_ptr_null(strstr(value, st->nonce));
    ck_assert_ptr_null(strstr(value, st->code_verifier));
    ck_assert_ptr_null(strstr(value, ipsie_b64url_encode(st->seed, 30, pool)));
    ck_assert_ptr_null(strstr(value, "orders"));
}
END_TEST

START_TEST(state_is_valid_until_one_second_before_timeout)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(1, PATH, NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, c);

    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + TIMEOUT - 1, pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + TIMEOUT, pool),
        IPSIE_ERR_EXPIRED);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW + 100 * TIMEOUT, pool),
        IPSIE_ERR_EXPIRED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01404"));
}
END_TEST

START_TEST(state_from_up_to_60_seconds_in_the_future_is_accepted_beyond_refused)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(2, PATH, NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, c);

    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW - 60, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, value, c, TIMEOUT, NOW - 61, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01403"));
}
END_TEST

START_TEST(state_does_not_open_with_the_digit_of_another_slot)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(3, PATH, NOW);
    char *value = seal(st, c);
    char *other = apr_pstrdup(pool, st->state);
    ipsie_login_state_t *back;

    other[0] = '4';
    ck_assert_int_eq(ipsie_login_state_open(&back, other, value, c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(back);
    /* Another slot's own state does not open this slot's cookie either. */
    ck_assert_int_eq(
        ipsie_login_state_open(&back, new_state(4, PATH, NOW)->state, value, c, TIMEOUT, NOW, pool),
        IPSIE_ERR_CRYPTO);
}
END_TEST

START_TEST(state_cookie_moved_to_another_slot_name_does_not_open)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(3, PATH, NOW);
    ipsie_login_state_t moved = *st;
    char *as_slot_5;
    char *state_5 = apr_pstrdup(pool, st->state);
    ipsie_login_state_t *back;

    /* The same record sealed under ipsie_state_5: only the cookie name (the AAD) differs. */
    moved.slot = 5;
    state_5[0] = '5';
    as_slot_5 = seal(&moved, c);
    ck_assert_int_eq(ipsie_login_state_open(&back, state_5, as_slot_5, c, TIMEOUT, NOW, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, as_slot_5, c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(another_logins_state_in_the_same_slot_is_told_apart)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *first = new_state(6, PATH, NOW);
    ipsie_login_state_t *later = new_state(6, PATH, NOW + 1);
    char *value = seal(later, c);
    char *last_changed = apr_pstrdup(pool, later->state);
    ipsie_login_state_t *back;

    ck_assert_int_eq(ipsie_login_state_open(&back, first->state, value, c, TIMEOUT, NOW + 2, pool),
                     IPSIE_ERR_STATE_OTHER);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01402"));
    last_changed[43] = last_changed[43] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(ipsie_login_state_open(&back, last_changed, value, c, TIMEOUT, NOW + 2, pool),
                     IPSIE_ERR_STATE_OTHER);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, state_shape('6'), value, c, TIMEOUT, NOW + 2, pool),
        IPSIE_ERR_STATE_OTHER);
    ck_assert_int_eq(ipsie_login_state_open(&back, later->state, value, c, TIMEOUT, NOW + 2, pool),
                     APR_SUCCESS);
}
END_TEST

START_TEST(tampered_state_cookie_is_refused)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(0, PATH, NOW);
    char *value = seal(st, c);
    apr_size_t i, n = strlen(value);

    for (i = 0; i < n; i++) {
        ipsie_login_state_t *back;
        char *copy = apr_pstrdup(pool, value);
        apr_status_t rv;

        copy[i] = (copy[i] == 'A') ? 'B' : 'A';
        rv = ipsie_login_state_open(&back, st->state, copy, c, TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "position %lu: %d",
                      (unsigned long)i, rv);
        ck_assert_ptr_null(back);
    }
}
END_TEST

START_TEST(truncated_state_cookie_is_refused)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(0, PATH, NOW);
    char *value = seal(st, c);
    apr_size_t i, n = strlen(value);

    for (i = 0; i < n; i++) {
        ipsie_login_state_t *back;
        apr_status_t rv = ipsie_login_state_open(&back, st->state, apr_pstrmemdup(pool, value, i),
                                                 c, TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "length %lu: %d",
                      (unsigned long)i, rv);
        ck_assert_ptr_null(back);
    }
}
END_TEST

START_TEST(garbage_state_cookie_values_are_refused)
{
    static const char *garbage[] = {
        "",
        "x",
        "!!not a sealed value!!",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AQ0VP2FcnfYcMyChke5GQx6s7FHoXZUhTFH6oF89up6vT_8M_WNEBo6g",
        "AQ0VP2FcnfYcMyChke5GQx6s7FHoXZUhTFH6oF89up6vT_8M_WNEBo6g==",
        "AQ0VP2FcnfYcMyChke5GQx6s7F+oXZUhTFH6oF89up6vT/8M_WNEBo6g",
        "\"quoted\"",
        "a b",
    };
    ipsie_crypto_t *c = test_crypto();
    const char *state = new_state(0, PATH, NOW)->state;
    apr_size_t i;

    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        ipsie_login_state_t *back;
        apr_status_t rv = ipsie_login_state_open(&back, state, garbage[i], c, TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_CRYPTO || rv == IPSIE_ERR_MALFORMED, "accepted \"%s\"",
                      garbage[i]);
        ck_assert_ptr_null(back);
    }
}
END_TEST

START_TEST(state_sealed_with_another_key_is_refused)
{
    ipsie_login_state_t *st = new_state(0, PATH, NOW);
    ipsie_login_state_t *back;
    char *value = seal(st, make_crypto("some other passphrase entirely, also long"));

    ck_assert_int_eq(
        ipsie_login_state_open(&back, st->state, value, test_crypto(), TIMEOUT, NOW, pool),
        IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(a_record_forged_with_the_key_opens_only_when_every_field_is_sane)
{
    ipsie_crypto_t *c = test_crypto();
    unsigned char seed[32];
    const char *state;
    struct {
        const char *what;
        unsigned char format;
        unsigned long long created;
        unsigned char prompt;
        const char *path;
        apr_size_t path_len;
    } bad[] = {
        {"format 0", 0x00, NOW, 0, "/", 1},
        {"format 2", 0x02, NOW, 0, "/", 1},
        {"prompt_login 2", 0x01, NOW, 2, "/", 1},
        {"prompt_login 255", 0x01, NOW, 0xff, "/", 1},
        {"created 0", 0x01, 0, 0, "/", 1},
        {"created past year 5000", 0x01, 100000000001ULL, 0, "/", 1},
        {"created negative", 0x01, 0x8000000000000000ULL, 0, "/", 1},
        {"created all ones", 0x01, ~0ULL, 0, "/", 1},
        {"no path", 0x01, NOW, 0, "", 0},
        {"relative path", 0x01, NOW, 0, "x/y", 3},
        {"absolute URL", 0x01, NOW, 0, "https://evil.example/", 21},
        {"NUL in the path", 0x01, NOW, 0, "/a\0b", 4},
        {"NUL ending the path", 0x01, NOW, 0, "/a\0", 3},
    };
    apr_size_t i, len;
    unsigned char *plain;
    ipsie_login_state_t *back;

    for (i = 0; i < sizeof(seed); i++) {
        seed[i] = (unsigned char)(i * 7 + 1);
    }
    state = apr_pstrcat(pool, "9", hmac_text(seed, "state"), NULL);
    plain = record(&len, 0x01, NOW, 1, seed, "/a?b", 4);
    ck_assert_int_eq(
        ipsie_login_state_open(&back, state, seal_bytes(c, 9, plain, len), c, TIMEOUT, NOW, pool),
        APR_SUCCESS);
    ck_assert_str_eq(back->return_path, "/a?b");
    ck_assert_int_eq(back->prompt_login, 1);
    ck_assert_str_eq(back->nonce, hmac_text(seed, "nonce"));

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_status_t rv;

        plain = record(&len, bad[i].format, bad[i].created, bad[i].prompt, seed, bad[i].path,
                       bad[i].path_len);
        rv = ipsie_login_state_open(&back, state, seal_bytes(c, 9, plain, len), c, TIMEOUT, NOW,
                                    pool);
        ck_assert_msg(rv == IPSIE_ERR_MALFORMED, "%s: %d", bad[i].what, rv);
        ck_assert_ptr_null(back);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01401"));
}
END_TEST

START_TEST(a_record_shorter_than_its_fixed_part_is_refused)
{
    ipsie_crypto_t *c = test_crypto();
    unsigned char plain[RECORD_FIXED + 1];
    const char *state = state_shape('0');
    apr_size_t len;

    memset(plain, 0x01, sizeof(plain));
    for (len = 0; len <= RECORD_FIXED; len++) {
        ipsie_login_state_t *back;
        apr_status_t rv = ipsie_login_state_open(&back, state, seal_bytes(c, 0, plain, len), c,
                                                 TIMEOUT, NOW, pool);
        ck_assert_msg(rv == IPSIE_ERR_MALFORMED, "length %lu: %d", (unsigned long)len, rv);
        ck_assert_ptr_null(back);
    }
}
END_TEST

START_TEST(open_refuses_a_missing_or_foreign_state_parameter_or_no_value)
{
    const char *bad_states[] = {
        NULL, "", "0", shaped('0', 42), shaped('0', 44), shaped('A', 43), shaped('g', 43),
    };
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *st = new_state(0, PATH, NOW);
    char *value = seal(st, c);
    ipsie_login_state_t *back;
    apr_size_t i;

    for (i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
        back = (ipsie_login_state_t *)1;
        ck_assert_msg(ipsie_login_state_open(&back, bad_states[i], value, c, TIMEOUT, NOW, pool)
                          == IPSIE_ERR_MALFORMED,
                      "state %lu accepted", (unsigned long)i);
        ck_assert_ptr_null(back);
    }
    ck_assert_int_eq(ipsie_login_state_open(&back, st->state, NULL, c, TIMEOUT, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(back);
}
END_TEST

/* --- the slot of a state parameter --- */

START_TEST(slot_of_a_state_is_its_leading_lowercase_hex_digit)
{
    int slot;

    for (slot = 0; slot < IPSIE_STATE_MAX_SLOTS; slot++) {
        ck_assert_int_eq(ipsie_login_state_slot(state_shape("0123456789abcdef"[slot])), slot);
        ck_assert_int_eq(ipsie_login_state_slot(new_state(slot, PATH, NOW)->state), slot);
    }
}
END_TEST

START_TEST(slot_is_minus_one_for_a_state_the_module_does_not_issue)
{
    const char *bad[] = {
        "",
        "0",
        shaped('0', 42),
        shaped('0', 44),
        shaped('0', 100),
        shaped('A', 43),
        shaped('F', 43),
        shaped('g', 43),
        shaped('-', 43),
        shaped(' ', 43),
        shaped('\xff', 43),
    };
    apr_size_t i;

    ck_assert_int_eq(ipsie_login_state_slot(NULL), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ipsie_login_state_slot(bad[i]) == -1, "\"%s\" has a slot", bad[i]);
    }
    /* Checked just below the limit: the refusals above are about the digit or the length. */
    ck_assert_int_eq(ipsie_login_state_slot(state_shape('f')), 15);
}
END_TEST

/* --- return paths and the Cookie header budget --- */

/* A path "/aaa..." of len bytes, with "?" and query bytes appended when query > 0. */
static const char *long_path(apr_size_t len, apr_size_t query)
{
    char *s = apr_palloc(pool, len + query + 2);

    memset(s, 'a', len + query + 1);
    s[0] = '/';
    if (query > 0) {
        s[len] = '?';
    }
    s[len + (query > 0 ? query + 1 : 0)] = '\0';
    return s;
}

START_TEST(return_path_is_kept_whole_without_query_or_as_root_at_the_limit)
{
    static const int slot_counts[] = {1, 2, 7, 16};
    apr_size_t k;

    for (k = 0; k < sizeof(slot_counts) / sizeof(slot_counts[0]); k++) {
        int n = slot_counts[k];
        apr_size_t max = ipsie_login_state_path_max(n);
        const char *path;
        ipsie_login_state_t *st;

        ck_assert_uint_gt(max, 20);
        /* Whole: exactly max bytes, with and without a query. */
        path = long_path(max, 0);
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, path, 0, NOW, pool), APR_SUCCESS);
        ck_assert_str_eq(st->return_path, path);
        path = long_path(max - 5, 4);
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, path, 0, NOW, pool), APR_SUCCESS);
        ck_assert_str_eq(st->return_path, path);
        ck_assert_ptr_null(strstr(captured_log, "IPSIE01406"));

        /* One byte over with a query: the path alone, up to exactly max bytes of it. */
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, long_path(max - 4, 4), 0, NOW, pool),
                         APR_SUCCESS);
        ck_assert_str_eq(st->return_path, long_path(max - 4, 0));
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, long_path(max, 1), 0, NOW, pool),
                         APR_SUCCESS);
        ck_assert_str_eq(st->return_path, long_path(max, 0));
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01406"));

        /* A path over max: "/", query or not. */
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, long_path(max + 1, 0), 0, NOW, pool),
                         APR_SUCCESS);
        ck_assert_str_eq(st->return_path, "/");
        ck_assert_int_eq(ipsie_login_state_new(&st, 0, n, long_path(max + 1, 3), 0, NOW, pool),
                         APR_SUCCESS);
        ck_assert_str_eq(st->return_path, "/");
        captured_log[0] = '\0';
    }
}
END_TEST

START_TEST(return_path_not_starting_with_a_single_slash_becomes_root)
{
    static const char *bad[] = {NULL,
                                "",
                                "orders",
                                "?q=1",
                                "https://app.example/orders",
                                "\\evil",
                                "//evil.example/x",
                                "/\\evil.example/x",
                                "//"};
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ipsie_login_state_t *st = NULL;

        ck_assert_int_eq(ipsie_login_state_new(&st, 0, SLOTS, bad[i], 0, NOW, pool), APR_SUCCESS);
        ck_assert_msg(strcmp(st->return_path, "/") == 0, "%lu kept as %s", (unsigned long)i,
                      st->return_path);
    }
}
END_TEST

START_TEST(state_cookies_of_every_slot_count_fit_the_budget)
{
    ipsie_crypto_t *c = test_crypto();
    int n;

    for (n = 1; n <= IPSIE_STATE_MAX_SLOTS; n++) {
        apr_size_t max = ipsie_login_state_path_max(n);
        apr_size_t un = (apr_size_t)n;
        ipsie_login_state_t *st = NULL;
        ipsie_login_state_t longer;
        apr_size_t pair, longer_pair;

        ck_assert_uint_le(ipsie_login_state_budget(n), IPSIE_STATE_BUDGET);
        /* The longest kept path, in the last slot, as "name=value". */
        ck_assert_int_eq(ipsie_login_state_new(&st, n - 1, n, long_path(max, 0), 1, NOW, pool),
                         APR_SUCCESS);
        ck_assert_uint_eq(strlen(st->return_path), max);
        pair = strlen(ipsie_login_state_cookie_name(st->slot, pool)) + 1 + strlen(seal(st, c));
        ck_assert_msg(un * pair + 2 * (un - 1) <= IPSIE_STATE_BUDGET, "%d slots: %lu bytes", n,
                      (unsigned long)(un * pair + 2 * (un - 1)));
        ck_assert_uint_eq(un * pair + 2 * (un - 1), ipsie_login_state_budget(n));
        /* One byte more and n cookies, each with its "; ", would pass the budget. */
        longer = *st;
        longer.return_path = long_path(max + 1, 0);
        longer_pair =
            strlen(ipsie_login_state_cookie_name(st->slot, pool)) + 1 + strlen(seal(&longer, c));
        ck_assert_uint_gt(un * (longer_pair + 2), IPSIE_STATE_BUDGET);
    }
}
END_TEST

START_TEST(slot_counts_outside_1_to_16_are_clamped)
{
    ck_assert_uint_eq(ipsie_login_state_path_max(0), ipsie_login_state_path_max(1));
    ck_assert_uint_eq(ipsie_login_state_path_max(-5), ipsie_login_state_path_max(1));
    ck_assert_uint_eq(ipsie_login_state_path_max(17), ipsie_login_state_path_max(16));
    ck_assert_uint_eq(ipsie_login_state_budget(0), ipsie_login_state_budget(1));
    ck_assert_uint_eq(ipsie_login_state_budget(1000), ipsie_login_state_budget(16));
    ck_assert_uint_gt(ipsie_login_state_path_max(1), ipsie_login_state_path_max(16));
}
END_TEST

/* --- choosing a slot --- */

START_TEST(choose_without_state_cookies_picks_a_slot_below_max)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 2);
    int n;

    apr_table_set(cookies, "ipsie_session", "unrelated");
    apr_table_set(cookies, "xipsie_state_1", "unrelated");
    for (n = 1; n <= IPSIE_STATE_MAX_SLOTS; n++) {
        apr_array_header_t *clear;
        int slot = choose(&clear, cookies, c, n);

        ck_assert_int_ge(slot, 0);
        ck_assert_int_lt(slot, n);
        ck_assert_int_eq(clear->nelts, 0);
    }
}
END_TEST

START_TEST(choose_with_every_slot_live_replaces_the_oldest)
{
    static const int insert_order[SLOTS] = {4, 1, 6, 0, 3, 5, 2};
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    apr_array_header_t *clear;
    int i;

    /* Slot 3 is the oldest, in neither the first nor the last place of the table. */
    for (i = 0; i < SLOTS; i++) {
        int slot = insert_order[i];
        add_state(cookies, c, slot, slot == 3 ? NOW - 200 : NOW - 100 + slot);
    }
    ck_assert_int_eq(choose(&clear, cookies, c, SLOTS), 3);
    ck_assert_int_eq(clear->nelts, 0);
}
END_TEST

START_TEST(choose_among_states_of_the_same_second_replaces_the_first_in_the_table)
{
    static const int insert_order[SLOTS] = {4, 1, 6, 0, 3, 5, 2};
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 8);
    apr_array_header_t *clear;
    int i;

    /* Browsers send the older cookie first: within one second that order is all there is. */
    for (i = 0; i < SLOTS; i++) {
        add_state(cookies, c, insert_order[i], NOW - 10);
    }
    ck_assert_int_eq(choose(&clear, cookies, c, SLOTS), 4);
    /* The tie is among the oldest only: a younger first cookie does not win it. */
    add_state(cookies, c, 4, NOW - 5);
    ck_assert_int_eq(choose(&clear, cookies, c, SLOTS), 1);
}
END_TEST

START_TEST(choose_frees_and_clears_expired_future_and_unreadable_slots)
{
    ipsie_crypto_t *c = test_crypto();
    ipsie_login_state_t *moved;
    int seen[SLOTS] = {0};
    int round, i;

    for (round = 0; round < 200; round++) {
        apr_table_t *cookies = apr_table_make(pool, 8);
        apr_array_header_t *clear;
        int slot;

        for (i = 0; i < SLOTS; i++) {
            add_state(cookies, c, i, NOW - i);
        }
        add_state(cookies, c, 1, NOW - TIMEOUT); /* expired exactly */
        add_state(cookies, c, 2, NOW + 61);      /* too far ahead */
        apr_table_set(cookies, "ipsie_state_3", "!!garbage!!");
        moved = new_state(5, "/", NOW); /* slot 5's state under slot 4's name */
        apr_table_set(cookies, "ipsie_state_4", seal(moved, c));
        add_state(cookies, c, 5, NOW - TIMEOUT + 1); /* live, by a second */
        add_state(cookies, c, 6, NOW + 60);          /* live, ahead within the skew */
        slot = choose(&clear, cookies, c, SLOTS);
        ck_assert_msg(slot >= 1 && slot <= 4, "slot %d is not free", slot);
        seen[slot]++;
        ck_assert_int_eq(clear->nelts, 3);
        for (i = 1; i <= 4; i++) {
            ck_assert_int_eq(count_of(clear, ipsie_login_state_cookie_name(i, pool)),
                             i == slot ? 0 : 1);
        }
    }
    for (i = 1; i <= 4; i++) {
        ck_assert_msg(seen[i] > 0, "free slot %d never chosen", i);
    }
}
END_TEST

START_TEST(choose_clears_legacy_and_unused_slot_names_but_not_other_cookies)
{
    static const char *legacy[] = {
        "ipsie_state_0123456789012345678901234567890123456789012",
        "ipsie_state_",
        "ipsie_state_B",
        "ipsie_state_g",
        "ipsie_state_00",
        "ipsie_state_7",
        "ipsie_state_f",
    };
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 16);
    apr_array_header_t *clear;
    apr_size_t k;
    int i;

    apr_table_set(cookies, "ipsie_session", "x");
    apr_table_set(cookies, "ipsie_statement", "x");
    for (k = 0; k < sizeof(legacy) / sizeof(legacy[0]); k++) {
        apr_table_set(cookies, legacy[k], "x");
    }
    /* A live state of slot 10 is cleared too: only 7 slots are in use. */
    add_state(cookies, c, 10, NOW);
    for (i = 0; i < SLOTS; i++) {
        add_state(cookies, c, i, NOW - 1 - i);
    }
    ck_assert_int_eq(choose(&clear, cookies, c, SLOTS), SLOTS - 1);
    ck_assert_int_eq(clear->nelts, (int)(sizeof(legacy) / sizeof(legacy[0])) + 1);
    for (k = 0; k < sizeof(legacy) / sizeof(legacy[0]); k++) {
        ck_assert_msg(count_of(clear, legacy[k]) == 1, "%s not cleared", legacy[k]);
    }
    ck_assert_int_eq(count_of(clear, "ipsie_state_a"), 1);
    /* With every slot free as well, the same names go. */
    for (i = 0; i < SLOTS; i++) {
        apr_table_unset(cookies, ipsie_login_state_cookie_name(i, pool));
    }
    i = choose(&clear, cookies, c, SLOTS);
    ck_assert_int_lt(i, SLOTS);
    ck_assert_int_eq(clear->nelts, (int)(sizeof(legacy) / sizeof(legacy[0])) + 1);
}
END_TEST

START_TEST(choose_never_lists_the_chosen_slot_to_clear)
{
    ipsie_crypto_t *c = test_crypto();
    int n, round, i;

    for (n = 1; n <= IPSIE_STATE_MAX_SLOTS; n += 5) {
        for (round = 0; round < 50; round++) {
            apr_table_t *cookies = apr_table_make(pool, 16);
            apr_array_header_t *clear;
            int slot;

            /* Every slot of the table holds something to clear: expired or garbage. */
            for (i = 0; i < IPSIE_STATE_MAX_SLOTS; i++) {
                if (i % 2 == 0) {
                    add_state(cookies, c, i, NOW - 2 * TIMEOUT);
                }
                else {
                    apr_table_set(cookies, ipsie_login_state_cookie_name(i, pool), "garbage");
                }
            }
            slot = choose(&clear, cookies, c, n);
            ck_assert_int_lt(slot, n);
            ck_assert_int_eq(clear->nelts, IPSIE_STATE_MAX_SLOTS - 1);
            ck_assert_int_eq(count_of(clear, ipsie_login_state_cookie_name(slot, pool)), 0);
        }
    }
}
END_TEST

START_TEST(choose_spreads_over_every_free_slot_and_none_beyond)
{
    static const int slot_counts[] = {1, 2, 7, 16};
    ipsie_crypto_t *c = test_crypto();
    apr_size_t k;
    int i, round;

    for (k = 0; k < sizeof(slot_counts) / sizeof(slot_counts[0]); k++) {
        int n = slot_counts[k];
        int seen[IPSIE_STATE_MAX_SLOTS] = {0};
        apr_table_t *empty = apr_table_make(pool, 1);

        for (round = 0; round < 1000; round++) {
            apr_array_header_t *clear;
            int slot = choose(&clear, empty, c, n);

            ck_assert_msg(slot >= 0 && slot < n, "%d slots: chose %d", n, slot);
            seen[slot]++;
        }
        for (i = 0; i < n; i++) {
            ck_assert_msg(seen[i] > 0, "%d slots: slot %d never chosen", n, i);
        }
    }
}
END_TEST

START_TEST(choose_spreads_over_the_free_slots_only)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *cookies = apr_table_make(pool, 4);
    int seen[SLOTS] = {0};
    int i, round;

    add_state(cookies, c, 1, NOW);
    add_state(cookies, c, 3, NOW - 100);
    for (round = 0; round < 500; round++) {
        apr_array_header_t *clear;
        int slot = choose(&clear, cookies, c, SLOTS);

        ck_assert_msg(slot != 1 && slot != 3 && slot >= 0 && slot < SLOTS, "chose %d", slot);
        ck_assert_int_eq(clear->nelts, 0);
        seen[slot]++;
    }
    for (i = 0; i < SLOTS; i++) {
        ck_assert_msg(seen[i] > 0 || i == 1 || i == 3, "free slot %d never chosen", i);
    }
}
END_TEST

START_TEST(choose_clamps_the_slot_count)
{
    ipsie_crypto_t *c = test_crypto();
    apr_table_t *empty = apr_table_make(pool, 1);
    apr_array_header_t *clear;
    int round;

    for (round = 0; round < 50; round++) {
        ck_assert_int_eq(choose(&clear, empty, c, 0), 0);
        ck_assert_int_eq(choose(&clear, empty, c, -3), 0);
        ck_assert_int_lt(choose(&clear, empty, c, 1000), IPSIE_STATE_MAX_SLOTS);
    }
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("ipsie_state");
    TCase *tc = tcase_create("seal and open");
    TCase *sl = tcase_create("slot of a state");
    TCase *bu = tcase_create("return path and budget");
    TCase *ch = tcase_create("choose");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, new_state_derives_distinct_43_character_values_led_by_the_slot_digit);
    tcase_add_test(tc, state_nonce_and_verifier_are_hmacs_of_the_seed);
    tcase_add_test(tc, new_state_refuses_a_slot_outside_0_to_15);
    tcase_add_test(tc, new_state_keeps_prompt_login_as_0_or_1);
    tcase_add_test(tc, cookie_name_is_the_prefix_and_the_slot_digit);
    tcase_add_test(tc, sealed_state_opens_with_every_field);
    tcase_add_test(tc, sealed_value_reveals_neither_seed_nonce_verifier_nor_path);
    tcase_add_test(tc, state_is_valid_until_one_second_before_timeout);
    tcase_add_test(tc, state_from_up_to_60_seconds_in_the_future_is_accepted_beyond_refused);
    tcase_add_test(tc, state_does_not_open_with_the_digit_of_another_slot);
    tcase_add_test(tc, state_cookie_moved_to_another_slot_name_does_not_open);
    tcase_add_test(tc, another_logins_state_in_the_same_slot_is_told_apart);
    tcase_add_test(tc, tampered_state_cookie_is_refused);
    tcase_add_test(tc, truncated_state_cookie_is_refused);
    tcase_add_test(tc, garbage_state_cookie_values_are_refused);
    tcase_add_test(tc, state_sealed_with_another_key_is_refused);
    tcase_add_test(tc, a_record_forged_with_the_key_opens_only_when_every_field_is_sane);
    tcase_add_test(tc, a_record_shorter_than_its_fixed_part_is_refused);
    tcase_add_test(tc, open_refuses_a_missing_or_foreign_state_parameter_or_no_value);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(sl, pool_setup, pool_teardown);
    tcase_add_test(sl, slot_of_a_state_is_its_leading_lowercase_hex_digit);
    tcase_add_test(sl, slot_is_minus_one_for_a_state_the_module_does_not_issue);
    suite_add_tcase(s, sl);

    tcase_add_checked_fixture(bu, pool_setup, pool_teardown);
    tcase_add_test(bu, return_path_is_kept_whole_without_query_or_as_root_at_the_limit);
    tcase_add_test(bu, return_path_not_starting_with_a_single_slash_becomes_root);
    tcase_add_test(bu, state_cookies_of_every_slot_count_fit_the_budget);
    tcase_add_test(bu, slot_counts_outside_1_to_16_are_clamped);
    suite_add_tcase(s, bu);

    tcase_add_checked_fixture(ch, pool_setup, pool_teardown);
    tcase_set_timeout(ch, 30);
    tcase_add_test(ch, choose_without_state_cookies_picks_a_slot_below_max);
    tcase_add_test(ch, choose_with_every_slot_live_replaces_the_oldest);
    tcase_add_test(ch, choose_among_states_of_the_same_second_replaces_the_first_in_the_table);
    tcase_add_test(ch, choose_frees_and_clears_expired_future_and_unreadable_slots);
    tcase_add_test(ch, choose_clears_legacy_and_unused_slot_names_but_not_other_cookies);
    tcase_add_test(ch, choose_never_lists_the_chosen_slot_to_clear);
    tcase_add_test(ch, choose_spreads_over_every_free_slot_and_none_beyond);
    tcase_add_test(ch, choose_spreads_over_the_free_slots_only);
    tcase_add_test(ch, choose_clamps_the_slot_count);
    suite_add_tcase(s, ch);
    return s;
}

int main(void)
{
    return run_suite(state_suite());
}
