/* Unit tests of the session model: ceiling and idle rules (SPEC section 1) and the binary
 * session format, including hostile input to the decoder. */
#include <stdlib.h>

#include <apr_tables.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_session.h"
#include "test_support.h"

#define NOW 1700000000LL

/* Offsets of the binary format: version byte, four int64 times, then the sub string. */
#define SUB_LEN_OFFSET 33

static ipsie_session_policy_t spec_defaults(void)
{
    /* IPSIESessionExpiryLeeway 30, MaxDuration 28800, InactivityTimeout 3600, Require Off */
    ipsie_session_policy_t policy = {30, 28800, 3600, 0};
    return policy;
}

/* Minimal validated claims: sub and iss, plus session_expiry when given (reference stolen). */
static json_t *login_claims(json_t *session_expiry)
{
    json_t *claims = json_pack("{s:s, s:s}", "sub", "alice", "iss", "https://op.example");
    if (session_expiry != NULL) {
        json_object_set_new(claims, "session_expiry", session_expiry);
    }
    return claims;
}

static apr_status_t ceiling_for(long long *ceiling, long long *session_expiry, json_t *value,
                                const ipsie_session_policy_t *policy, long long now)
{
    json_t *claims = login_claims(value);
    apr_status_t rv = ipsie_session_ceiling(ceiling, session_expiry, claims, policy, now);
    json_decref(claims);
    return rv;
}

/* A session as a later request sees it, built by value to test the rules in isolation. */
static ipsie_session_t *session_at(long long ceiling, long long last_activity)
{
    ipsie_session_t *s = apr_pcalloc(pool, sizeof(*s));
    s->sub = "alice";
    s->iss = "https://op.example";
    s->ceiling = ceiling;
    s->login_time = last_activity;
    s->last_activity = last_activity;
    s->claims = apr_array_make(pool, 1, sizeof(ipsie_claim_t));
    return s;
}

static void add_claim(ipsie_session_t *s, const char *name, const char *value)
{
    ipsie_claim_t *c = apr_array_push(s->claims);
    c->name = name;
    c->value = value;
    c->json = NULL;
}

/* A session with every field set, as a login with all tokens leaves it. */
static ipsie_session_t *full_session(void)
{
    ipsie_session_t *s = session_at(NOW + 3570, NOW + 100);
    s->sid = "sid-42";
    s->session_expiry = NOW + 3600;
    s->login_time = NOW;
    s->id_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    s->access_token = "access-token-value";
    s->refresh_token = "refresh-token-value";
    add_claim(s, "sub", "alice");
    add_claim(s, "email", "alice@example.com");
    add_claim(s, "groups", "a,b");
    add_claim(s, "empty", "");
    return s;
}

static void assert_same_session(const ipsie_session_t *a, const ipsie_session_t *b)
{
    int i;
    const ipsie_claim_t *ca = (const ipsie_claim_t *)a->claims->elts;
    const ipsie_claim_t *cb = (const ipsie_claim_t *)b->claims->elts;

    ck_assert_pstr_eq(a->sub, b->sub);
    ck_assert_pstr_eq(a->iss, b->iss);
    ck_assert_pstr_eq(a->sid, b->sid);
    ck_assert_pstr_eq(ipsie_session_id_token(a, pool), ipsie_session_id_token(b, pool));
    ck_assert_pstr_eq(a->access_token, b->access_token);
    ck_assert_pstr_eq(a->refresh_token, b->refresh_token);
    ck_assert(a->session_expiry == b->session_expiry);
    ck_assert(a->ceiling == b->ceiling);
    ck_assert(a->login_time == b->login_time);
    ck_assert(a->last_activity == b->last_activity);
    ck_assert_int_eq(a->claims->nelts, b->claims->nelts);
    for (i = 0; i < a->claims->nelts; i++) {
        ck_assert_str_eq(ca[i].name, cb[i].name);
        ck_assert_str_eq(ca[i].value, cb[i].value);
        if (ca[i].json == NULL) {
            ck_assert_ptr_null(cb[i].json);
        }
        else {
            ck_assert_str_eq(ca[i].json, cb[i].json);
        }
    }
}

static void encode_ok(unsigned char **buf, apr_size_t *len, const ipsie_session_t *s)
{
    ck_assert_int_eq(ipsie_session_encode(buf, len, s, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(*buf);
    ck_assert_uint_gt(*len, SUB_LEN_OFFSET + 4);
}

static apr_uint32_t read_u32(const unsigned char *b)
{
    return ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16) | ((apr_uint32_t)b[2] << 8)
           | b[3];
}

static void write_u32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* Decode must refuse: MALFORMED and no session handed out. */
static void assert_refused(const unsigned char *buf, apr_size_t len)
{
    ipsie_session_t *out = (ipsie_session_t *)&out;
    ck_assert_int_eq(ipsie_session_decode(&out, buf, len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(out);
}

/* ---- ceiling arithmetic ---- */

START_TEST(ceiling_is_session_expiry_minus_default_leeway_of_30_when_idp_ends_first)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 3600), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(session_expiry == NOW + 3600);
    ck_assert(ceiling == NOW + 3600 - 30);
}
END_TEST

START_TEST(ceiling_subtracts_the_configured_leeway_not_a_fixed_one)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    policy.leeway = 0;
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 3600), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(ceiling == NOW + 3600);
    policy.leeway = 300;
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 3600), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(ceiling == NOW + 3300);
}
END_TEST

START_TEST(ceiling_is_login_plus_max_duration_when_shorter_than_session_expiry)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(
        ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 86400), &policy, NOW),
        APR_SUCCESS);
    ck_assert(session_expiry == NOW + 86400);
    ck_assert(ceiling == NOW + 28800);
}
END_TEST

START_TEST(ceiling_when_both_limits_coincide_is_that_instant)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(
        ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 28800 + 30), &policy, NOW),
        APR_SUCCESS);
    ck_assert(ceiling == NOW + 28800);
    /* One second earlier at the IdP: the IdP wins. */
    ck_assert_int_eq(
        ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 28800 + 29), &policy, NOW),
        APR_SUCCESS);
    ck_assert(ceiling == NOW + 28799);
}
END_TEST

START_TEST(missing_session_expiry_gives_login_plus_max_duration_and_zero_claim)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, NULL, &policy, NOW), APR_SUCCESS);
    ck_assert(ceiling == NOW + 28800);
    ck_assert(session_expiry == 0);
}
END_TEST

START_TEST(missing_session_expiry_is_refused_when_required)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    policy.require_session_expiry = 1;
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, NULL, &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_MISSING);
    ck_assert(ceiling == 0);
    ck_assert(session_expiry == 0);
}
END_TEST

START_TEST(present_session_expiry_satisfies_require_session_expiry)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    policy.require_session_expiry = 1;
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 600), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(ceiling == NOW + 570);
}
END_TEST

/* Every one of these is not a positive integer below 10^10 and must refuse the login. */
static const char *const invalid_session_expiry[] = {
    "\"1900000000\"",
    "\"\"",
    "1.9e9",
    "1900000000.0",
    "1e10",
    "true",
    "false",
    "null",
    "{}",
    "{\"session_expiry\":1900000000}",
    "[1900000000]",
    "[]",
    "-1",
    "-1900000000",
    "0",
    "10000000000",
    "10000000001",
    "9223372036854775807",
    "-9223372036854775808",
};

START_TEST(invalid_session_expiry_refuses_the_login)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;
    json_error_t error;
    json_t *value = json_loads(invalid_session_expiry[_i], JSON_DECODE_ANY, &error);

    ck_assert_msg(value != NULL, "test value %s does not parse", invalid_session_expiry[_i]);
    /* A huge max_duration so that only the validity of the claim can refuse. */
    policy.max_duration = IPSIE_SESSION_EXPIRY_LIMIT;
    ck_assert_msg(ceiling_for(&ceiling, &session_expiry, value, &policy, NOW)
                      == IPSIE_ERR_SESSION_EXPIRY_INVALID,
                  "session_expiry %s was not refused", invalid_session_expiry[_i]);
    ck_assert(ceiling == 0);
    ck_assert(session_expiry == 0);
}
END_TEST

START_TEST(invalid_session_expiry_is_refused_even_when_required)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling, session_expiry;

    policy.require_session_expiry = 1;
    ck_assert_int_eq(
        ceiling_for(&ceiling, &session_expiry, json_string("1900000000"), &policy, NOW),
        IPSIE_ERR_SESSION_EXPIRY_INVALID);
}
END_TEST

START_TEST(largest_session_expiry_below_ten_to_the_ten_is_accepted)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    policy.max_duration = IPSIE_SESSION_EXPIRY_LIMIT;
    ck_assert_int_eq(
        ceiling_for(&ceiling, &session_expiry, json_integer(9999999999LL), &policy, NOW),
        APR_SUCCESS);
    ck_assert(session_expiry == 9999999999LL);
    ck_assert(ceiling == 9999999999LL - 30);
}
END_TEST

START_TEST(session_expiry_at_now_plus_leeway_is_already_past)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 30), &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    ck_assert(ceiling == 0);
    ck_assert(session_expiry == 0);
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 29), &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW), &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW - 3600), &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
}
END_TEST

START_TEST(session_expiry_one_second_after_now_plus_leeway_gives_ceiling_now_plus_one)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 31), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(session_expiry == NOW + 31);
    ck_assert(ceiling == NOW + 1);
}
END_TEST

START_TEST(session_expiry_with_zero_leeway_is_past_at_now)
{
    ipsie_session_policy_t policy = spec_defaults();
    long long ceiling = -1, session_expiry = -1;

    policy.leeway = 0;
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW), &policy, NOW),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    ck_assert_int_eq(ceiling_for(&ceiling, &session_expiry, json_integer(NOW + 1), &policy, NOW),
                     APR_SUCCESS);
    ck_assert(ceiling == NOW + 1);
}
END_TEST

/* ---- check ---- */

START_TEST(check_is_valid_one_second_before_ceiling)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 1000, NOW + 990);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 999), IPSIE_SESSION_VALID);
}
END_TEST

START_TEST(check_reports_ceiling_at_and_after_ceiling)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 1000, NOW + 990);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 1000), IPSIE_SESSION_CEILING);
    s->last_activity = NOW + 1001;
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 1001), IPSIE_SESSION_CEILING);
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 100000), IPSIE_SESSION_CEILING);
}
END_TEST

START_TEST(check_is_valid_one_second_before_idle_deadline)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 3599), IPSIE_SESSION_VALID);
}
END_TEST

START_TEST(check_reports_idle_at_and_after_idle_deadline)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 3600), IPSIE_SESSION_IDLE);
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 20000), IPSIE_SESSION_IDLE);
}
END_TEST

START_TEST(check_idle_deadline_follows_last_activity)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW + 5000);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 8599), IPSIE_SESSION_VALID);
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 8600), IPSIE_SESSION_IDLE);
}
END_TEST

START_TEST(check_ceiling_wins_over_idle_when_both_are_reached)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 3600, NOW);

    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 3600), IPSIE_SESSION_CEILING);
    s->ceiling = NOW + 4000;
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 5000), IPSIE_SESSION_CEILING);
}
END_TEST

START_TEST(check_inactivity_timeout_zero_disables_idle_but_not_ceiling)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    policy.inactivity_timeout = 0;
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 28799), IPSIE_SESSION_VALID);
    ck_assert_int_eq(ipsie_session_check(s, &policy, NOW + 28800), IPSIE_SESSION_CEILING);
}
END_TEST

/* ---- needs_touch and idle_remaining ---- */

START_TEST(needs_touch_waits_60_seconds_with_timeout_3600)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 59), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 60), 1);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 3000), 1);
}
END_TEST

START_TEST(needs_touch_waits_five_percent_with_timeout_600)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    policy.inactivity_timeout = 600;
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 29), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 30), 1);
}
END_TEST

START_TEST(needs_touch_waits_at_least_one_second_with_timeout_10)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    policy.inactivity_timeout = 10;
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 1), 1);
}
END_TEST

START_TEST(needs_touch_never_rewrites_when_idle_timeout_is_disabled)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW);

    policy.inactivity_timeout = 0;
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 1), 0);
    ck_assert_int_eq(ipsie_session_needs_touch(s, &policy, NOW + 28000), 0);
}
END_TEST

START_TEST(idle_remaining_counts_down_to_zero_and_below)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = session_at(NOW + 28800, NOW + 100);

    ck_assert(ipsie_session_idle_remaining(s, &policy, NOW + 100) == 3600);
    ck_assert(ipsie_session_idle_remaining(s, &policy, NOW + 3699) == 1);
    ck_assert(ipsie_session_idle_remaining(s, &policy, NOW + 3700) == 0);
    ck_assert(ipsie_session_idle_remaining(s, &policy, NOW + 4100) == -400);
    policy.inactivity_timeout = 600;
    ck_assert(ipsie_session_idle_remaining(s, &policy, NOW + 100) == 600);
}
END_TEST

/* ---- create ---- */

static json_t *rich_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:{s:s, s:i}, s:i, s:b, s:s, s:s, s:I}", "sub",
                     "alice", "iss", "https://op.example", "sid", "sid-42", "email",
                     "alice@example.com", "groups", "a", "b", "address", "country", "NL", "floor",
                     3, "age", 42, "email_verified", 1, "nonce", "n-0S6_WzA2Mj", "at_hash",
                     "77QmUPtjPfzWtF2A", "session_expiry", (json_int_t)(NOW + 3600));
}

START_TEST(create_keeps_identity_times_and_tokens)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(
        ipsie_session_create(&s, claims, "id.token.sig", "at-1", "rt-1", &policy, NOW, pool),
        APR_SUCCESS);
    json_decref(claims);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_str_eq(s->iss, "https://op.example");
    ck_assert_str_eq(s->sid, "sid-42");
    ck_assert(s->session_expiry == NOW + 3600);
    ck_assert(s->ceiling == NOW + 3570);
    ck_assert(s->login_time == NOW);
    ck_assert(s->last_activity == NOW);
    ck_assert_str_eq(s->id_token, "id.token.sig");
    ck_assert_str_eq(s->access_token, "at-1");
    ck_assert_str_eq(s->refresh_token, "rt-1");
}
END_TEST

START_TEST(create_flattens_claims_in_id_token_order_and_drops_nonce_and_at_hash)
{
    static const char *const expected[][2] = {
        {"sub", "alice"},
        {"iss", "https://op.example"},
        {"sid", "sid-42"},
        {"email", "alice@example.com"},
        {"groups", "a,b"},
        {"address", "{\"country\":\"NL\",\"floor\":3}"},
        {"age", "42"},
        {"email_verified", "true"},
        {"session_expiry", "1700003600"},
    };
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    ipsie_session_t *s = NULL;
    const ipsie_claim_t *c;
    size_t i;

    ck_assert_int_eq(
        ipsie_session_create(&s, claims, "id.token.sig", NULL, NULL, &policy, NOW, pool),
        APR_SUCCESS);
    json_decref(claims);
    c = (const ipsie_claim_t *)s->claims->elts;
    ck_assert_int_eq(s->claims->nelts, (int)(sizeof(expected) / sizeof(expected[0])));
    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        ck_assert_str_eq(c[i].name, expected[i][0]);
        ck_assert_str_eq(c[i].value, expected[i][1]);
    }
    ck_assert_ptr_null(ipsie_session_claim(s, "nonce"));
    ck_assert_ptr_null(ipsie_session_claim(s, "at_hash"));
}
END_TEST

START_TEST(create_drops_c_hash_and_s_hash)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s}", "sub", "alice", "iss", "https://op.example",
                               "c_hash", "LDktKdoQak3Pk0cnXxCltA", "s_hash", "x");
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_ptr_null(ipsie_session_claim(s, "c_hash"));
    ck_assert_ptr_null(ipsie_session_claim(s, "s_hash"));
    ck_assert_int_eq(s->claims->nelts, 2);
}
END_TEST

START_TEST(create_flattens_mixed_empty_and_null_values)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = json_pack("{s:s, s:s, s:[i,b,s,n], s:[], s:n, s:f, s:[[s,s]]}", "sub", "alice",
                               "iss", "https://op.example", "mixed", 7, 0, "x", "empty", "nothing",
                               "ratio", 0.5, "nested", "p", "q");
    ipsie_session_t *s = NULL;

    json_object_set_new(claims, "big", json_integer(-9223372036854775807LL));
    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_str_eq(ipsie_session_claim(s, "mixed"), "7,false,x,");
    ck_assert_str_eq(ipsie_session_claim(s, "empty"), "");
    ck_assert_str_eq(ipsie_session_claim(s, "nothing"), "");
    ck_assert_str_eq(ipsie_session_claim(s, "ratio"), "0.5");
    ck_assert_str_eq(ipsie_session_claim(s, "big"), "-9223372036854775807");
    ck_assert_str_eq(ipsie_session_claim(s, "nested"), "[\"p\",\"q\"]");
}
END_TEST

START_TEST(create_without_sid_or_tokens_leaves_them_null)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_ptr_null(s->sid);
    ck_assert_ptr_null(s->access_token);
    ck_assert_ptr_null(s->refresh_token);
    ck_assert(s->session_expiry == 0);
    ck_assert(s->ceiling == NOW + 28800);
}
END_TEST

START_TEST(create_copies_strings_into_the_pool)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    char access[] = "access-token";
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", access, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    memset(access, 'X', sizeof(access) - 1);
    ck_assert_str_eq(s->access_token, "access-token");
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_str_eq(ipsie_session_claim(s, "iss"), "https://op.example");
}
END_TEST

START_TEST(create_without_sub_or_iss_is_malformed)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *no_sub = json_pack("{s:s}", "iss", "https://op.example");
    json_t *no_iss = json_pack("{s:s}", "sub", "alice");
    json_t *sub_not_string = json_pack("{s:i, s:s}", "sub", 42, "iss", "https://op.example");
    ipsie_session_t *s = (ipsie_session_t *)&s;

    ck_assert_int_eq(ipsie_session_create(&s, no_sub, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(s);
    s = (ipsie_session_t *)&s;
    ck_assert_int_eq(ipsie_session_create(&s, no_iss, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ipsie_session_create(&s, sub_not_string, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(s);
    json_decref(no_sub);
    json_decref(no_iss);
    json_decref(sub_not_string);
}
END_TEST

START_TEST(create_refuses_what_the_ceiling_refuses)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *invalid = login_claims(json_real(1.9e9));
    json_t *past = login_claims(json_integer(NOW + 30));
    json_t *missing = login_claims(NULL);
    ipsie_session_t *s = (ipsie_session_t *)&s;

    ck_assert_int_eq(ipsie_session_create(&s, invalid, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_SESSION_EXPIRY_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ipsie_session_create(&s, past, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    policy.require_session_expiry = 1;
    ck_assert_int_eq(ipsie_session_create(&s, missing, "t", NULL, NULL, &policy, NOW, pool),
                     IPSIE_ERR_SESSION_EXPIRY_MISSING);
    ck_assert_ptr_null(s);
    json_decref(invalid);
    json_decref(past);
    json_decref(missing);
}
END_TEST

START_TEST(claim_holds_matches_array_elements_and_whole_strings_only)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims =
        json_pack("{s:s, s:s, s:[s,s,i], s:s, s:[]}", "sub", "alice", "iss", "https://op.example",
                  "groups", "staff", "x,admin", 7, "dept", "a,admin", "none");
    ipsie_session_t *s = NULL, *back = NULL;
    unsigned char *buf;
    apr_size_t len;

    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    /* Survives the cookie. */
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&back, buf, len, pool), APR_SUCCESS);
    ck_assert(ipsie_session_claim_holds(back, "groups", "staff", pool));
    ck_assert(ipsie_session_claim_holds(back, "groups", "x,admin", pool));
    ck_assert(ipsie_session_claim_holds(back, "groups", "7", pool));
    ck_assert(!ipsie_session_claim_holds(back, "groups", "admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "groups", "x", pool));
    ck_assert(ipsie_session_claim_holds(back, "dept", "a,admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "dept", "admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "dept", "a", pool));
    ck_assert(!ipsie_session_claim_holds(back, "none", "", pool));
    ck_assert(!ipsie_session_claim_holds(back, "missing", "", pool));
    ck_assert(ipsie_session_claim_holds(back, "sub", "alice", pool));
}
END_TEST

START_TEST(claim_lookup_finds_by_exact_name_only)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_str_eq(ipsie_session_claim(s, "email"), "alice@example.com");
    ck_assert_str_eq(ipsie_session_claim(s, "groups"), "a,b");
    ck_assert_str_eq(ipsie_session_claim(s, "sub"), "alice");
    ck_assert_ptr_null(ipsie_session_claim(s, "Email"));
    ck_assert_ptr_null(ipsie_session_claim(s, "emai"));
    ck_assert_ptr_null(ipsie_session_claim(s, ""));
    ck_assert_ptr_null(ipsie_session_claim(s, "unknown"));
}
END_TEST

START_TEST(create_keeps_at_most_256_claims_keeping_iss_sub_aud_and_logs_the_cut)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s = NULL, *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;
    int i;

    for (i = 0; i < 300; i++) {
        json_object_set_new(claims, apr_psprintf(pool, "c%03d", i), json_string("secretvalue"));
    }
    json_object_set_new(claims, "nonce", json_string("n"));
    /* The audience comes last, past the cap: the session is checked against it. */
    json_object_set_new(claims, "aud", json_string("rp1"));
    ck_assert_int_eq(ipsie_session_create(&s, claims, "t", NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_int_le(s->claims->nelts, 256);
    ck_assert_int_eq(s->claims->nelts, 254);
    ck_assert_str_eq(ipsie_session_claim(s, "c250"), "secretvalue");
    ck_assert_ptr_null(ipsie_session_claim(s, "c251"));
    ck_assert_str_eq(ipsie_session_claim(s, "aud"), "rp1");
    ck_assert_str_eq(ipsie_session_claim(s, "sub"), "alice");
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04001"));
    ck_assert_ptr_null(strstr(captured_log, "secretvalue"));
    /* What create keeps must survive a round trip through the format. */
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    assert_same_session(s, decoded);
}
END_TEST

/* ---- encode and decode ---- */

START_TEST(round_trip_keeps_every_field)
{
    ipsie_session_t *s = full_session(), *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;

    encode_ok(&buf, &len, s);
    ck_assert_int_eq(buf[0], 0x03);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(decoded);
    assert_same_session(s, decoded);
}
END_TEST

START_TEST(round_trip_of_created_session_keeps_every_field)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    ipsie_session_t *s = NULL, *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;

    ck_assert_int_eq(
        ipsie_session_create(&s, claims, "id.token.sig", "at", "rt", &policy, NOW, pool),
        APR_SUCCESS);
    json_decref(claims);
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    assert_same_session(s, decoded);
    ck_assert_str_eq(ipsie_session_claim(decoded, "groups"), "a,b");
}
END_TEST

START_TEST(round_trip_keeps_null_apart_from_empty)
{
    ipsie_session_t *s = session_at(NOW + 100, NOW), *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;

    s->sid = NULL;
    s->id_token = NULL;
    s->access_token = "";
    s->refresh_token = NULL;
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    assert_same_session(s, decoded);
    ck_assert_ptr_null(decoded->sid);
    ck_assert_ptr_null(decoded->id_token);
    ck_assert_ptr_null(decoded->refresh_token);
    ck_assert_ptr_nonnull(decoded->access_token);
    ck_assert_str_eq(decoded->access_token, "");
    ck_assert_int_eq(decoded->claims->nelts, 0);
}
END_TEST

START_TEST(round_trip_keeps_the_widest_times_and_long_values)
{
    ipsie_session_t *s = session_at(99999999999LL, 0), *decoded = NULL;
    char *long_value = apr_palloc(pool, 20001);
    unsigned char *buf;
    apr_size_t len;

    memset(long_value, 'v', 20000);
    long_value[20000] = '\0';
    s->session_expiry = IPSIE_SESSION_EXPIRY_LIMIT - 1;
    s->login_time = 99999999999LL;
    s->access_token = long_value;
    add_claim(s, "big", long_value);
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    assert_same_session(s, decoded);
}
END_TEST

START_TEST(times_where_arithmetic_would_overflow_are_malformed)
{
    static const long long bad[] = {-1, 100000000000LL, 0x7fffffffffffffffLL,
                                    (-0x7fffffffffffffffLL) - 1};
    unsigned char *buf;
    apr_size_t len, i;
    int field;

    for (field = 0; field < 4; field++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ipsie_session_t *s = full_session(), *decoded = NULL;
            long long *t[] = {&s->session_expiry, &s->ceiling, &s->login_time, &s->last_activity};
            *t[field] = bad[i];
            encode_ok(&buf, &len, s);
            ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), IPSIE_ERR_MALFORMED);
            ck_assert_ptr_null(decoded);
        }
    }
}
END_TEST

START_TEST(decoded_session_does_not_depend_on_the_input_buffer)
{
    ipsie_session_t *s = full_session(), *decoded = NULL;
    unsigned char *buf, *copy;
    apr_size_t len;

    encode_ok(&buf, &len, s);
    copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, len);
    ck_assert_int_eq(ipsie_session_decode(&decoded, copy, len, pool), APR_SUCCESS);
    memset(copy, 0xAA, len);
    free(copy);
    assert_same_session(s, decoded);
}
END_TEST

START_TEST(every_truncation_of_a_valid_encoding_is_malformed)
{
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, cut;

    encode_ok(&buf, &len, s);
    assert_refused(NULL, 0);
    for (cut = 0; cut < len; cut++) {
        /* An exact-size heap copy so that an over-read is visible to memory checkers. */
        unsigned char *copy = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, buf, cut);
        assert_refused(copy, cut);
        free(copy);
    }
}
END_TEST

START_TEST(another_version_byte_is_malformed)
{
    static const unsigned char versions[] = {0x00, 0x01, 0x02, 0x04, 0x7f, 0x80, 0xff};
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, i;

    encode_ok(&buf, &len, s);
    for (i = 0; i < sizeof(versions); i++) {
        buf[0] = versions[i];
        assert_refused(buf, len);
    }
}
END_TEST

START_TEST(trailing_bytes_after_a_valid_encoding_are_malformed)
{
    ipsie_session_t *s = full_session();
    unsigned char *buf, *longer;
    apr_size_t len;

    encode_ok(&buf, &len, s);
    longer = apr_palloc(pool, len + 16);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 16);
    assert_refused(longer, len + 1);
    longer[len] = 'x';
    assert_refused(longer, len + 1);
    assert_refused(longer, len + 16);
}
END_TEST

START_TEST(length_field_pointing_past_the_end_is_malformed)
{
    static const apr_uint32_t lengths[] = {0x7fffffffu, 0xfffffffeu, 0x80000000u};
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, i, remaining;

    encode_ok(&buf, &len, s);
    /* The layout this test relies on: sub's length right after the fixed header. */
    ck_assert_uint_eq(read_u32(buf + SUB_LEN_OFFSET), strlen("alice"));
    ck_assert_mem_eq(buf + SUB_LEN_OFFSET + 4, "alice", 6);
    remaining = len - SUB_LEN_OFFSET - 4;
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        write_u32(buf + SUB_LEN_OFFSET, lengths[i]);
        assert_refused(buf, len);
    }
    /* Exactly to the end leaves no room for the terminator; one more is past the end. */
    write_u32(buf + SUB_LEN_OFFSET, (apr_uint32_t)remaining);
    assert_refused(buf, len);
    write_u32(buf + SUB_LEN_OFFSET, (apr_uint32_t)remaining + 1);
    assert_refused(buf, len);
}
END_TEST

START_TEST(id_token_travels_packed_and_comes_back_whole)
{
    static const char *const jwt =
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6InJwMSJ9."
        "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMDEyMzQ1Njc4OQ";
    ipsie_session_t *s = full_session();
    ipsie_session_t *back = NULL, *again = NULL;
    unsigned char *packed, *text, *buf2;
    apr_size_t packed_len, text_len, len2;
    char *unpackable;

    s->id_token = jwt;
    encode_ok(&packed, &packed_len, s);
    ck_assert_int_eq(ipsie_session_decode(&back, packed, packed_len, pool), APR_SUCCESS);
    ck_assert_ptr_null(back->id_token);
    ck_assert_str_eq(ipsie_session_id_token(back, pool), jwt);
    /* A decoded session written again (the idle write-back) keeps it without rebuilding. */
    encode_ok(&buf2, &len2, back);
    ck_assert_uint_eq(len2, packed_len);
    ck_assert_int_eq(ipsie_session_decode(&again, buf2, len2, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_id_token(again, pool), jwt);
    /* The same token with one character that is not base64url stays text, and the packed
     * form is smaller by about a quarter of the token. */
    unpackable = apr_pstrdup(pool, jwt);
    unpackable[3] = '+';
    s->id_token = unpackable;
    encode_ok(&text, &text_len, s);
    ck_assert_int_eq(ipsie_session_decode(&back, text, text_len, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_id_token(back, pool), unpackable);
    ck_assert_uint_lt(packed_len + strlen(jwt) / 5, text_len);
    s->id_token = NULL;
    encode_ok(&text, &text_len, s);
    ck_assert_int_eq(ipsie_session_decode(&back, text, text_len, pool), APR_SUCCESS);
    ck_assert_ptr_null(ipsie_session_id_token(back, pool));
}
END_TEST

START_TEST(packed_id_token_with_lengths_past_its_blob_is_malformed)
{
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, at;
    apr_uint32_t blob_len;
    unsigned char *blob;

    s->id_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    encode_ok(&buf, &len, s);
    /* The blob follows sub, iss and sid: find its 'P' after their strings. */
    at = SUB_LEN_OFFSET;
    at += 4 + read_u32(buf + at) + 1; /* sub */
    at += 4 + read_u32(buf + at) + 1; /* iss */
    at += 4 + read_u32(buf + at) + 1; /* sid */
    blob_len = read_u32(buf + at);
    blob = buf + at + 4;
    ck_assert_int_eq(blob[0], 'P');
    write_u32(blob + 1, blob_len); /* header longer than the blob */
    assert_refused(buf, len);
    write_u32(blob + 1, 0);
    write_u32(blob + 5, blob_len - 8); /* payload past the end */
    assert_refused(buf, len);
    write_u32(blob + 5, 0);
    blob[0] = 'X'; /* unknown kind */
    assert_refused(buf, len);
    blob[0] = 'T'; /* text without its terminator */
    assert_refused(buf, len);
}
END_TEST

START_TEST(claim_length_pointing_past_the_end_is_malformed)
{
    ipsie_session_t *s = session_at(NOW + 100, NOW);
    unsigned char *buf;
    apr_size_t len;

    add_claim(s, "k", "v");
    encode_ok(&buf, &len, s);
    /* The last fields: value "v" as length 1, 'v', NUL, then the NULL marker of its json. */
    ck_assert_uint_eq(read_u32(buf + len - 10), 1);
    ck_assert_mem_eq(buf + len - 6, "v", 2);
    ck_assert_uint_eq(read_u32(buf + len - 4), 0xffffffffu);
    write_u32(buf + len - 10, 2);
    assert_refused(buf, len);
    write_u32(buf + len - 10, 0xfffffff0u);
    assert_refused(buf, len);
    write_u32(buf + len - 10, 1);
    write_u32(buf + len - 4, 5);
    assert_refused(buf, len);
}
END_TEST

START_TEST(string_with_inner_nul_or_no_terminator_is_malformed)
{
    ipsie_session_t *s = full_session();
    unsigned char *buf, *copy;
    apr_size_t len;
    const unsigned char *sub = NULL;

    encode_ok(&buf, &len, s);
    sub = buf + SUB_LEN_OFFSET + 4;
    ck_assert_mem_eq(sub, "alice", 6);
    copy = apr_pmemdup(pool, buf, len);
    copy[SUB_LEN_OFFSET + 4 + 2] = '\0';
    assert_refused(copy, len);
    copy = apr_pmemdup(pool, buf, len);
    copy[SUB_LEN_OFFSET + 4 + 5] = 'x';
    assert_refused(copy, len);
    /* A shorter length leaves the string unterminated where it claims to end. */
    copy = apr_pmemdup(pool, buf, len);
    write_u32(copy + SUB_LEN_OFFSET, 4);
    assert_refused(copy, len);
}
END_TEST

START_TEST(null_sub_iss_or_claim_is_malformed)
{
    ipsie_session_t *s = session_at(NOW + 100, NOW);
    unsigned char *buf;
    apr_size_t len;

    s->sub = NULL;
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
    s->sub = "alice";
    s->iss = NULL;
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
    s->iss = "https://op.example";
    add_claim(s, "k", NULL);
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
    ((ipsie_claim_t *)s->claims->elts)[0].name = NULL;
    ((ipsie_claim_t *)s->claims->elts)[0].value = "v";
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
}
END_TEST

START_TEST(claim_count_above_256_is_malformed)
{
    ipsie_session_t *s = session_at(NOW + 100, NOW), *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;
    int i;

    for (i = 0; i < 256; i++) {
        add_claim(s, apr_psprintf(pool, "c%d", i), "v");
    }
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    ck_assert_int_eq(decoded->claims->nelts, 256);
    add_claim(s, "c256", "v");
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
}
END_TEST

START_TEST(huge_claim_count_without_claims_is_malformed)
{
    ipsie_session_t *s = session_at(NOW + 100, NOW);
    unsigned char *buf;
    apr_size_t len;

    encode_ok(&buf, &len, s);
    ck_assert_uint_eq(read_u32(buf + len - 4), 0);
    write_u32(buf + len - 4, 0xffffffffu);
    assert_refused(buf, len);
    write_u32(buf + len - 4, 1);
    assert_refused(buf, len);
}
END_TEST

/* Deterministic generator so that a failure can be replayed. */
static apr_uint32_t prng_state;

static apr_uint32_t prng_next(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 17;
    prng_state ^= prng_state << 5;
    return prng_state;
}

/* A decode that succeeds must hand out a complete session that encodes back to the input. */
static void assert_decode_is_safe(const unsigned char *buf, apr_size_t len, apr_pool_t *p)
{
    ipsie_session_t *out = NULL;
    unsigned char *again;
    apr_size_t again_len;
    apr_status_t rv = ipsie_session_decode(&out, buf, len, p);

    if (rv != APR_SUCCESS) {
        ck_assert_int_eq(rv, IPSIE_ERR_MALFORMED);
        ck_assert_ptr_null(out);
        return;
    }
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(out->sub);
    ck_assert_ptr_nonnull(out->iss);
    ck_assert_int_le(out->claims->nelts, 256);
    ck_assert_int_eq(ipsie_session_encode(&again, &again_len, out, p), APR_SUCCESS);
    ck_assert_uint_eq(again_len, len);
    ck_assert(memcmp(again, buf, len) == 0);
}

START_TEST(random_bytes_never_crash_the_decoder)
{
    apr_pool_t *scratch;
    unsigned char *buf = malloc(512);
    int iteration;

    ck_assert_ptr_nonnull(buf);
    apr_pool_create(&scratch, pool);
    prng_state = 0x1e5e5e55u;
    for (iteration = 0; iteration < 5000; iteration++) {
        apr_size_t len = prng_next() % 512, i;
        for (i = 0; i < len; i++) {
            buf[i] = (unsigned char)prng_next();
        }
        /* Half the time get past the version byte to reach the field parsers. */
        if (len > 0 && (iteration & 1)) {
            buf[0] = 0x03;
        }
        assert_decode_is_safe(buf, len, scratch);
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
    free(buf);
}
END_TEST

START_TEST(mutated_valid_encodings_never_crash_the_decoder)
{
    ipsie_session_t *s = full_session();
    apr_pool_t *scratch;
    unsigned char *valid, *buf;
    apr_size_t len;
    int iteration, accepted = 0;

    encode_ok(&valid, &len, s);
    buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    apr_pool_create(&scratch, pool);
    prng_state = 0x0badc0deu;
    for (iteration = 0; iteration < 5000; iteration++) {
        int flips = 1 + (int)(prng_next() % 4), f;
        ipsie_session_t *out = NULL;
        memcpy(buf, valid, len);
        for (f = 0; f < flips; f++) {
            apr_size_t at = prng_next() % len;
            /* Favour the values that matter most to a parser: 0, 0xff, and small numbers. */
            switch (prng_next() % 4) {
            case 0:
                buf[at] = 0x00;
                break;
            case 1:
                buf[at] = 0xff;
                break;
            case 2:
                buf[at] = (unsigned char)(buf[at] + 1);
                break;
            default:
                buf[at] = (unsigned char)prng_next();
            }
        }
        assert_decode_is_safe(buf, len, scratch);
        if (ipsie_session_decode(&out, buf, len, scratch) == APR_SUCCESS) {
            accepted++;
        }
        apr_pool_clear(scratch);
    }
    /* Flips inside the times and string bodies still decode: the fuzzer reached the end. */
    ck_assert_int_gt(accepted, 0);
    apr_pool_destroy(scratch);
    free(buf);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("ipsie_session");
    TCase *ceiling = tcase_create("ceiling");
    TCase *check = tcase_create("check");
    TCase *create = tcase_create("create");
    TCase *format = tcase_create("format");

    tcase_add_checked_fixture(ceiling, pool_setup, pool_teardown);
    tcase_add_test(ceiling,
                   ceiling_is_session_expiry_minus_default_leeway_of_30_when_idp_ends_first);
    tcase_add_test(ceiling, ceiling_subtracts_the_configured_leeway_not_a_fixed_one);
    tcase_add_test(ceiling, ceiling_is_login_plus_max_duration_when_shorter_than_session_expiry);
    tcase_add_test(ceiling, ceiling_when_both_limits_coincide_is_that_instant);
    tcase_add_test(ceiling, missing_session_expiry_gives_login_plus_max_duration_and_zero_claim);
    tcase_add_test(ceiling, missing_session_expiry_is_refused_when_required);
    tcase_add_test(ceiling, present_session_expiry_satisfies_require_session_expiry);
    tcase_add_loop_test(ceiling, invalid_session_expiry_refuses_the_login, 0,
                        (int)(sizeof(invalid_session_expiry) / sizeof(invalid_session_expiry[0])));
    tcase_add_test(ceiling, invalid_session_expiry_is_refused_even_when_required);
    tcase_add_test(ceiling, largest_session_expiry_below_ten_to_the_ten_is_accepted);
    tcase_add_test(ceiling, session_expiry_at_now_plus_leeway_is_already_past);
    tcase_add_test(ceiling,
                   session_expiry_one_second_after_now_plus_leeway_gives_ceiling_now_plus_one);
    tcase_add_test(ceiling, session_expiry_with_zero_leeway_is_past_at_now);
    suite_add_tcase(s, ceiling);

    tcase_add_checked_fixture(check, pool_setup, pool_teardown);
    tcase_add_test(check, check_is_valid_one_second_before_ceiling);
    tcase_add_test(check, check_reports_ceiling_at_and_after_ceiling);
    tcase_add_test(check, check_is_valid_one_second_before_idle_deadline);
    tcase_add_test(check, check_reports_idle_at_and_after_idle_deadline);
    tcase_add_test(check, check_idle_deadline_follows_last_activity);
    tcase_add_test(check, check_ceiling_wins_over_idle_when_both_are_reached);
    tcase_add_test(check, check_inactivity_timeout_zero_disables_idle_but_not_ceiling);
    tcase_add_test(check, needs_touch_waits_60_seconds_with_timeout_3600);
    tcase_add_test(check, needs_touch_waits_five_percent_with_timeout_600);
    tcase_add_test(check, needs_touch_waits_at_least_one_second_with_timeout_10);
    tcase_add_test(check, needs_touch_never_rewrites_when_idle_timeout_is_disabled);
    tcase_add_test(check, idle_remaining_counts_down_to_zero_and_below);
    suite_add_tcase(s, check);

    tcase_add_checked_fixture(create, pool_setup, pool_teardown);
    tcase_add_test(create, create_keeps_identity_times_and_tokens);
    tcase_add_test(create, create_flattens_claims_in_id_token_order_and_drops_nonce_and_at_hash);
    tcase_add_test(create, create_drops_c_hash_and_s_hash);
    tcase_add_test(create, create_flattens_mixed_empty_and_null_values);
    tcase_add_test(create, create_without_sid_or_tokens_leaves_them_null);
    tcase_add_test(create, create_copies_strings_into_the_pool);
    tcase_add_test(create, create_without_sub_or_iss_is_malformed);
    tcase_add_test(create, create_refuses_what_the_ceiling_refuses);
    tcase_add_test(create, claim_lookup_finds_by_exact_name_only);
    tcase_add_test(create, claim_holds_matches_array_elements_and_whole_strings_only);
    tcase_add_test(create, create_keeps_at_most_256_claims_keeping_iss_sub_aud_and_logs_the_cut);
    suite_add_tcase(s, create);

    tcase_add_checked_fixture(format, pool_setup, pool_teardown);
    tcase_set_timeout(format, 60);
    tcase_add_test(format, round_trip_keeps_every_field);
    tcase_add_test(format, round_trip_of_created_session_keeps_every_field);
    tcase_add_test(format, round_trip_keeps_null_apart_from_empty);
    tcase_add_test(format, round_trip_keeps_the_widest_times_and_long_values);
    tcase_add_test(format, times_where_arithmetic_would_overflow_are_malformed);
    tcase_add_test(format, decoded_session_does_not_depend_on_the_input_buffer);
    tcase_add_test(format, every_truncation_of_a_valid_encoding_is_malformed);
    tcase_add_test(format, another_version_byte_is_malformed);
    tcase_add_test(format, id_token_travels_packed_and_comes_back_whole);
    tcase_add_test(format, packed_id_token_with_lengths_past_its_blob_is_malformed);
    tcase_add_test(format, trailing_bytes_after_a_valid_encoding_are_malformed);
    tcase_add_test(format, length_field_pointing_past_the_end_is_malformed);
    tcase_add_test(format, claim_length_pointing_past_the_end_is_malformed);
    tcase_add_test(format, string_with_inner_nul_or_no_terminator_is_malformed);
    tcase_add_test(format, null_sub_iss_or_claim_is_malformed);
    tcase_add_test(format, claim_count_above_256_is_malformed);
    tcase_add_test(format, huge_claim_count_without_claims_is_malformed);
    tcase_add_test(format, random_bytes_never_crash_the_decoder);
    tcase_add_test(format, mutated_valid_encodings_never_crash_the_decoder);
    suite_add_tcase(s, format);
    return s;
}

int main(void)
{
    return run_suite(session_suite());
}
