/* Unit tests of src/ipsie_revocation.c and the keyed names of src/ipsie_crypto.c: which names
 * a session's revocations live under, and which entries end it. */
#include "test_support.h"
#include "ipsie/ipsie_claims.h"
#include "ipsie/ipsie_crypto.h"
#include "ipsie/ipsie_revocation.h"

#define ISS "https://op.example.org"
#define LOGIN 1700000000LL

static ipsie_crypto_t *crypto_of(int n)
{
    static const char *const passes[] = {"first passphrase of at least thirty-two characters",
                                         "second passphrase of at least thirty-two chars!!"};
    apr_array_header_t *list = apr_array_make(pool, 2, sizeof(const char *));
    ipsie_crypto_t *c = NULL;
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(list, const char *) = passes[i];
    }
    ck_assert_int_eq(ipsie_crypto_create(&c, list, pool), APR_SUCCESS);
    return c;
}

static ipsie_session_t *session(const char *sub, const char *sid, const char *id)
{
    ipsie_session_t *s = apr_pcalloc(pool, sizeof(*s));

    s->iss = ISS;
    s->sub = sub;
    s->sid = sid;
    s->id = id;
    s->login_time = LOGIN;
    return s;
}

static const char *name_at(const apr_array_header_t *names, int i)
{
    return APR_ARRAY_IDX(names, i, const char *);
}

/* What a store accepts as a key: printable ASCII without spaces, at most 200 bytes. */
static int store_key_like(const char *key)
{
    const char *c;

    if (strlen(key) == 0 || strlen(key) > 200) {
        return 0;
    }
    for (c = key; *c; c++) {
        if (*c <= ' ' || *c > '~') {
            return 0;
        }
    }
    return 1;
}

START_TEST(names_are_keyed_hashes_that_name_nobody)
{
    ipsie_crypto_t *c = crypto_of(1);
    apr_array_header_t *names = ipsie_revocation_names(c, session("alice", "sid-1", "x"), pool);
    int i;

    ck_assert_int_eq(names->nelts, 2);
    for (i = 0; i < 2; i++) {
        ck_assert(store_key_like(name_at(names, i)));
        ck_assert_ptr_null(strstr(name_at(names, i), "alice"));
        ck_assert_ptr_null(strstr(name_at(names, i), "sid-1"));
        ck_assert_ptr_null(strstr(name_at(names, i), ISS));
    }
    ck_assert_str_ne(name_at(names, 0), name_at(names, 1));
    /* Another passphrase, other names. */
    ck_assert_str_ne(
        name_at(names, 0),
        name_at(ipsie_revocation_names(crypto_of(2), session("alice", "sid-1", "x"), pool), 2));
}
END_TEST

START_TEST(a_session_is_named_by_its_provider_session_or_its_own_id)
{
    ipsie_crypto_t *c = crypto_of(1);
    ipsie_session_t *with_sid = session("alice", "sid-1", "own-1");
    ipsie_session_t *same_sid = session("alice", "sid-1", "own-2");
    ipsie_session_t *without = session("alice", NULL, "own-3");
    apr_array_header_t *sid_names = ipsie_revocation_sid_names(c, ISS, "sid-1", pool);

    ck_assert_str_eq(name_at(ipsie_revocation_session_names(c, with_sid, pool), 0),
                     name_at(sid_names, 0));
    /* Two sessions of one provider session share it. */
    ck_assert_str_eq(name_at(ipsie_revocation_session_names(c, same_sid, pool), 0),
                     name_at(sid_names, 0));
    ck_assert_str_ne(name_at(ipsie_revocation_session_names(c, without, pool), 0),
                     name_at(sid_names, 0));
    /* A sid equal to some session's own id is still another name. */
    ck_assert_str_ne(
        name_at(ipsie_revocation_session_names(c, session("a", NULL, "sid-1"), pool), 0),
        name_at(sid_names, 0));
    ck_assert_str_eq(name_at(ipsie_revocation_names(c, with_sid, pool), 1),
                     name_at(ipsie_revocation_user_names(c, ISS, "alice", pool), 0));
    ck_assert_str_ne(name_at(ipsie_revocation_user_names(c, ISS, "alice", pool), 0),
                     name_at(ipsie_revocation_user_names(c, ISS, "bob", pool), 0));
    ck_assert_str_ne(
        name_at(ipsie_revocation_user_names(c, ISS, "alice", pool), 0),
        name_at(ipsie_revocation_user_names(c, "https://other.example", "alice", pool), 0));
}
END_TEST

START_TEST(every_passphrase_gives_its_names_first_one_first)
{
    ipsie_crypto_t *one = crypto_of(1);
    ipsie_crypto_t *two = crypto_of(2);
    ipsie_session_t *s = session("alice", "sid-1", "x");
    apr_array_header_t *names = ipsie_revocation_names(two, s, pool);

    ck_assert_int_eq(names->nelts, 4);
    ck_assert_str_eq(name_at(names, 0), name_at(ipsie_revocation_names(one, s, pool), 0));
    ck_assert_str_eq(name_at(names, 1), name_at(ipsie_revocation_names(one, s, pool), 1));
    ck_assert_int_eq(ipsie_revocation_user_names(two, ISS, "alice", pool)->nelts, 2);
}
END_TEST

START_TEST(entries_end_a_session_by_its_rules)
{
    ipsie_session_t *s = session("alice", "sid-1", "x");
    unsigned char *values[4] = {NULL, NULL, NULL, NULL};
    apr_size_t lens[4] = {0, 0, 0, 0};
    apr_size_t len;

    ck_assert(!ipsie_revocation_applies(s, values, lens, 4));
    /* The provider session's entry ends it, whatever its time. */
    values[0] = (unsigned char *)ipsie_revocation_value(LOGIN - 100, &len, pool);
    lens[0] = len;
    ck_assert(ipsie_revocation_applies(s, values, lens, 4));
    values[0] = NULL;
    /* The user's entry ends sessions that began at or before it, not later ones. */
    values[1] = (unsigned char *)ipsie_revocation_value(LOGIN, &len, pool);
    lens[1] = len;
    ck_assert(ipsie_revocation_applies(s, values, lens, 4));
    values[1] = (unsigned char *)ipsie_revocation_value(LOGIN - 1, &len, pool);
    ck_assert(!ipsie_revocation_applies(s, values, lens, 4));
    /* ... under the second passphrase's names too. */
    values[1] = NULL;
    values[3] = (unsigned char *)ipsie_revocation_value(LOGIN + 5, &len, pool);
    lens[3] = len;
    ck_assert(ipsie_revocation_applies(s, values, lens, 4));
}
END_TEST

/* A user's entry holds the logout token's iat, the provider's clock: it is compared with the
 * iat of the session's ID token, the same clock, not with when this host made the session. */
START_TEST(a_user_entry_is_compared_with_the_id_tokens_iat)
{
    ipsie_session_t *s = session("alice", NULL, "x");
    ipsie_claim_t *claim;
    unsigned char *values[2] = {NULL, NULL};
    apr_size_t lens[2] = {0, 0};
    apr_size_t len;

    s->claims = apr_array_make(pool, 1, sizeof(ipsie_claim_t));
    claim = apr_array_push(s->claims);
    memset(claim, 0, sizeof(*claim));
    claim->name = "iat";
    claim->value = "1700000900"; /* after LOGIN on this host's clock */
    values[1] = (unsigned char *)ipsie_revocation_value(1700000950, &len, pool);
    lens[1] = len;
    ck_assert(ipsie_revocation_applies(s, values, lens, 2));
    values[1] = (unsigned char *)ipsie_revocation_value(1700000899, &len, pool);
    lens[1] = len;
    ck_assert(!ipsie_revocation_applies(s, values, lens, 2));
    /* An iat that does not read: when the session began. */
    claim->value = "soon";
    ck_assert(ipsie_revocation_applies(s, values, lens, 2) == (LOGIN <= 1700000899));
}
END_TEST

START_TEST(an_entry_that_does_not_read_ends_the_session)
{
    static const char *const garbage[] = {
        "", "r1:", "r1:12x", "x1:100", "r1:-5", "r1:1000000000000", "r1: 5"};
    ipsie_session_t *s = session("alice", NULL, "x");
    apr_size_t i;

    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        unsigned char *values[2] = {NULL, (unsigned char *)garbage[i]};
        apr_size_t lens[2] = {0, strlen(garbage[i])};
        ck_assert_msg(ipsie_revocation_applies(s, values, lens, 2), "%s", garbage[i]);
    }
}
END_TEST

START_TEST(an_entry_lives_longer_than_any_session_it_ends)
{
    ck_assert(ipsie_revocation_expiry(LOGIN, 28800) > LOGIN + 28800);
}
END_TEST

START_TEST(a_name_depends_on_every_part_and_their_bounds)
{
    ipsie_crypto_t *c = crypto_of(1);
    const char *ab_c[] = {"ab", "c"};
    const char *a_bc[] = {"a", "bc"};

    ck_assert_str_ne(ipsie_crypto_name(c, 0, "k", ab_c, 2, pool),
                     ipsie_crypto_name(c, 0, "k", a_bc, 2, pool));
    ck_assert_str_ne(ipsie_crypto_name(c, 0, "k", ab_c, 2, pool),
                     ipsie_crypto_name(c, 0, "j", ab_c, 2, pool));
    ck_assert_str_eq(ipsie_crypto_name(c, 0, "k", ab_c, 2, pool),
                     ipsie_crypto_name(c, 0, "k", ab_c, 2, pool));
    ck_assert_ptr_null(ipsie_crypto_name(c, 1, "k", ab_c, 2, pool));
    ck_assert_ptr_null(ipsie_crypto_name(c, -1, "k", ab_c, 2, pool));
    ck_assert(strncmp(ipsie_crypto_name(c, 0, "k", ab_c, 2, pool), "ipsie:k:", 8) == 0);
}
END_TEST

/* Names are shared by every host and kept across upgrades: the construction is fixed.
 * HMAC-SHA256 under HKDF-SHA256(passphrase, salt "mod_auth_ipsie", info "mod_auth_ipsie store
 * names v1") of the kind and the parts, each with its NUL; this value was computed apart. */
START_TEST(a_name_is_hmac_sha256_under_the_derived_key)
{
    const char *ab_c[] = {"ab", "c"};

    ck_assert_str_eq(ipsie_crypto_name(crypto_of(1), 0, "k", ab_c, 2, pool),
                     "ipsie:k:fXzKwG3JzNwjUCRMjvou2IyezSR66gcUnk3W-fZhrZs");
}
END_TEST

/* Marks are found by every server whatever passphrases it lists: SHA-256, no key. */
START_TEST(a_mark_name_is_the_same_for_every_passphrase)
{
    const char *parts[] = {"client", "state-1"};
    const char *other[] = {"client", "state-2"};

    ck_assert_str_eq(ipsie_crypto_mark_name("st", parts, 2, pool),
                     "ipsie:st:osAoK5cQ8G6-o7cHZOJk-D3zPaGZ4yma11RLojFpc_8");
    ck_assert_str_ne(ipsie_crypto_mark_name("st", parts, 2, pool),
                     ipsie_crypto_mark_name("st", other, 2, pool));
    ck_assert_str_ne(ipsie_crypto_mark_name("st", parts, 2, pool),
                     ipsie_crypto_mark_name("sr", parts, 2, pool));
}
END_TEST

static Suite *revocation_suite(void)
{
    Suite *s = suite_create("ipsie_revocation");
    TCase *tc = tcase_create("revocation");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, names_are_keyed_hashes_that_name_nobody);
    tcase_add_test(tc, a_session_is_named_by_its_provider_session_or_its_own_id);
    tcase_add_test(tc, every_passphrase_gives_its_names_first_one_first);
    tcase_add_test(tc, entries_end_a_session_by_its_rules);
    tcase_add_test(tc, an_entry_that_does_not_read_ends_the_session);
    tcase_add_test(tc, a_user_entry_is_compared_with_the_id_tokens_iat);
    tcase_add_test(tc, an_entry_lives_longer_than_any_session_it_ends);
    tcase_add_test(tc, a_name_depends_on_every_part_and_their_bounds);
    tcase_add_test(tc, a_name_is_hmac_sha256_under_the_derived_key);
    tcase_add_test(tc, a_mark_name_is_the_same_for_every_passphrase);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(revocation_suite());
}
