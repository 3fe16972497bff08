/* Unit tests of the session model: ceiling and idle rules (SPEC section 1), the claims a
 * session reads from its ID token, and the binary session format (version 0x07), including
 * hostile input to the decoder. */
#include <stdlib.h>

#include <apr_tables.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_session.h"
#include "ipsie/ipsie_util.h"
#include "test_support.h"

#define NOW 1700000000LL

/* Offsets of the binary format: version byte, six int64 times, then the ID token blob's
 * length and the blob ('P', header length, payload length, header, payload, signature). */
#define BLOB_LEN_OFFSET 49
#define BLOB_OFFSET 53

#define CLAIM(s, i) (((const ipsie_claim_t *)(s)->claims->elts)[i])

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

/* ---- ID tokens made from claims ---- */

static const char *b64s(const char *s)
{
    return ipsie_b64url_encode((const unsigned char *)s, strlen(s), pool);
}

#define TOKEN_HEADER "{\"alg\":\"RS256\",\"kid\":\"k1\"}"
#define TOKEN_SIGNATURE "signature-bytes"

/* A compact ID token whose payload is payload; its signature is not checked here. */
static const char *token_with_payload(const char *payload)
{
    return apr_pstrcat(pool, b64s(TOKEN_HEADER), ".", b64s(payload), ".", b64s(TOKEN_SIGNATURE),
                       NULL);
}

/* claims as an IdP writes them into its token. */
static const char *claims_text(const json_t *claims)
{
    char *text = json_dumps(claims, JSON_COMPACT);
    const char *copy = apr_pstrdup(pool, text);

    free(text);
    return copy;
}

static const char *token_of(const json_t *claims)
{
    return token_with_payload(claims_text(claims));
}

/* ipsie_session_create as the login does it: the claims and a token that carries them. The
 * claims are released. */
static apr_status_t create_with(ipsie_session_t **s, json_t *claims, const char *access,
                                const char *refresh, const ipsie_session_policy_t *policy)
{
    apr_status_t rv =
        ipsie_session_create(s, claims, token_of(claims), access, refresh, policy, NOW, pool);

    json_decref(claims);
    return rv;
}

static ipsie_session_t *created(json_t *claims)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(create_with(&s, claims, NULL, NULL, &policy), APR_SUCCESS);
    ck_assert_ptr_nonnull(s);
    return s;
}

static json_t *rich_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:{s:s, s:i}, s:i, s:b, s:s, s:s, s:I}", "sub",
                     "alice", "iss", "https://op.example", "sid", "sid-42", "email",
                     "alice@example.com", "groups", "a", "b", "address", "country", "NL", "floor",
                     3, "age", 42, "email_verified", 1, "nonce", "n-0S6_WzA2Mj", "at_hash",
                     "77QmUPtjPfzWtF2A", "session_expiry", (json_int_t)(NOW + 3600));
}

/* A session with every field set, as a login with all tokens and a later request leave it:
 * claims of every kind, two of them colliding. */
static ipsie_session_t *full_session(void)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    json_t *userinfo;
    ipsie_session_t *s = NULL;

    json_object_set_new(claims, "nothing", json_null());
    json_object_set_new(claims, "empty", json_string(""));
    json_object_set_new(claims, "roles", json_pack("[s,i,[s],{s:s}]", "x,y", 7, "z", "k", "v"));
    json_object_set_new(claims, "given-name", json_string("Alice"));
    json_object_set_new(claims, "given_name", json_string("Alice"));
    ck_assert_int_eq(create_with(&s, claims, "access-token-value", "refresh-token-value", &policy),
                     APR_SUCCESS);
    userinfo = json_pack("{s:s, s:s, s:[s,s], s:s}", "sub", "alice", "department", "R&D", "badges",
                         "gold", "\"quoted\"", "email", "other@example.com");
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW + 50, pool), APR_SUCCESS);
    json_decref(userinfo);
    s->last_activity = NOW + 100;
    s->access_token_expiry = NOW + 300;
    s->access_token_dpop = 1;
    return s;
}

static void assert_same_session(const ipsie_session_t *a, const ipsie_session_t *b)
{
    int i;

    ck_assert_pstr_eq(a->sub, b->sub);
    ck_assert_pstr_eq(a->iss, b->iss);
    ck_assert_pstr_eq(a->sid, b->sid);
    ck_assert_pstr_eq(ipsie_session_id_token(a, pool), ipsie_session_id_token(b, pool));
    ck_assert_uint_eq(a->id_token_blob_len, b->id_token_blob_len);
    ck_assert_mem_eq(a->id_token_blob, b->id_token_blob, a->id_token_blob_len);
    ck_assert_pstr_eq(a->access_token, b->access_token);
    ck_assert_pstr_eq(a->refresh_token, b->refresh_token);
    ck_assert_pstr_eq(a->userinfo, b->userinfo);
    ck_assert(a->access_token_expiry == b->access_token_expiry);
    ck_assert_int_eq(a->access_token_dpop, b->access_token_dpop);
    ck_assert(a->userinfo_time == b->userinfo_time);
    ck_assert_int_eq(a->id_token_claims, b->id_token_claims);
    ck_assert(a->session_expiry == b->session_expiry);
    ck_assert(a->ceiling == b->ceiling);
    ck_assert(a->login_time == b->login_time);
    ck_assert(a->last_activity == b->last_activity);
    ck_assert_int_eq(a->claims->nelts, b->claims->nelts);
    for (i = 0; i < a->claims->nelts; i++) {
        ck_assert_str_eq(CLAIM(a, i).name, CLAIM(b, i).name);
        ck_assert_str_eq(CLAIM(a, i).value, CLAIM(b, i).value);
        ck_assert_pstr_eq(CLAIM(a, i).json, CLAIM(b, i).json);
        ck_assert_int_eq(CLAIM(a, i).kind, CLAIM(b, i).kind);
        ck_assert_int_eq(CLAIM(a, i).hidden, CLAIM(b, i).hidden);
    }
}

static void encode_ok(unsigned char **buf, apr_size_t *len, const ipsie_session_t *s)
{
    ck_assert_int_eq(ipsie_session_encode(buf, len, s, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(*buf);
    ck_assert_uint_gt(*len, BLOB_OFFSET);
}

static ipsie_session_t *round_trip(const ipsie_session_t *s)
{
    ipsie_session_t *decoded = NULL;
    unsigned char *buf;
    apr_size_t len;

    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(decoded);
    return decoded;
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

/* Where needle first is in buf, or -1. */
static long find(const unsigned char *buf, apr_size_t len, const char *needle)
{
    apr_size_t n = strlen(needle), i;

    for (i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(buf + i, needle, n) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* Decode must refuse: MALFORMED and no session handed out. */
static void assert_refused(const unsigned char *buf, apr_size_t len)
{
    ipsie_session_t *out = (ipsie_session_t *)&out;
    ck_assert_int_eq(ipsie_session_decode(&out, buf, len, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(out);
}

/* ---- create ---- */

START_TEST(create_keeps_identity_times_and_tokens)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    const char *token = token_of(claims);
    ipsie_session_t *s = NULL;

    ck_assert_int_eq(ipsie_session_create(&s, claims, token, "at-1", "rt-1", &policy, NOW, pool),
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
    ck_assert_str_eq(s->id_token, token);
    ck_assert_str_eq(ipsie_session_id_token(s, pool), token);
    ck_assert_ptr_nonnull(s->id_token_blob);
    ck_assert_str_eq(s->access_token, "at-1");
    ck_assert_str_eq(s->refresh_token, "rt-1");
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(create_reads_claims_in_id_token_order_and_drops_nonce_and_at_hash)
{
    static const struct {
        const char *name;
        const char *value;
        ipsie_claim_kind_e kind;
        const char *json;
    } expected[] = {
        {"sub", "alice", IPSIE_CLAIM_STRING, NULL},
        {"iss", "https://op.example", IPSIE_CLAIM_STRING, NULL},
        {"sid", "sid-42", IPSIE_CLAIM_STRING, NULL},
        {"email", "alice@example.com", IPSIE_CLAIM_STRING, NULL},
        {"groups", "a,b", IPSIE_CLAIM_ARRAY, "[\"a\",\"b\"]"},
        {"address", "{\"country\":\"NL\",\"floor\":3}", IPSIE_CLAIM_OBJECT, NULL},
        {"age", "42", IPSIE_CLAIM_NUMBER, NULL},
        {"email_verified", "true", IPSIE_CLAIM_BOOLEAN, NULL},
        {"session_expiry", "1700003600", IPSIE_CLAIM_NUMBER, NULL},
    };
    ipsie_session_t *s = created(rich_claims());
    size_t i;

    ck_assert_int_eq(s->claims->nelts, (int)(sizeof(expected) / sizeof(expected[0])));
    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        ck_assert_str_eq(CLAIM(s, i).name, expected[i].name);
        ck_assert_str_eq(CLAIM(s, i).value, expected[i].value);
        ck_assert_int_eq(CLAIM(s, i).kind, expected[i].kind);
        ck_assert_pstr_eq(CLAIM(s, i).json, expected[i].json);
        ck_assert_int_eq(CLAIM(s, i).hidden, 0);
    }
    ck_assert_ptr_null(ipsie_session_claim(s, "nonce"));
    ck_assert_ptr_null(ipsie_session_claim(s, "at_hash"));
}
END_TEST

START_TEST(create_drops_c_hash_and_s_hash)
{
    ipsie_session_t *s =
        created(json_pack("{s:s, s:s, s:s, s:s}", "sub", "alice", "iss", "https://op.example",
                          "c_hash", "LDktKdoQak3Pk0cnXxCltA", "s_hash", "x"));

    ck_assert_ptr_null(ipsie_session_claim(s, "c_hash"));
    ck_assert_ptr_null(ipsie_session_claim(s, "s_hash"));
    ck_assert_int_eq(s->claims->nelts, 2);
}
END_TEST

START_TEST(create_flattens_mixed_empty_and_null_values)
{
    json_t *claims = json_pack("{s:s, s:s, s:[i,b,s,n], s:[], s:n, s:f, s:[[s,s]]}", "sub", "alice",
                               "iss", "https://op.example", "mixed", 7, 0, "x", "empty", "nothing",
                               "ratio", 0.5, "nested", "p", "q");
    ipsie_session_t *s;

    json_object_set_new(claims, "big", json_integer(-9223372036854775807LL));
    s = created(claims);
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
    ipsie_session_t *s = created(login_claims(NULL));

    ck_assert_ptr_null(s->sid);
    ck_assert_ptr_null(s->access_token);
    ck_assert_ptr_null(s->refresh_token);
    ck_assert(s->session_expiry == 0);
    ck_assert(s->ceiling == NOW + 28800);
}
END_TEST

START_TEST(create_reads_the_claims_from_the_id_token_only)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    const char *token = token_of(claims);
    ipsie_session_t *s = NULL;

    /* The validated claims gain one the token does not carry: the session does not see it. */
    json_object_set_new(claims, "email", json_string("alice@example.com"));
    ck_assert_int_eq(ipsie_session_create(&s, claims, token, NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    ck_assert_ptr_null(ipsie_session_claim(s, "email"));
    ck_assert_int_eq(s->claims->nelts, 2);
}
END_TEST

START_TEST(create_copies_strings_into_the_pool)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    char *token = strdup(token_of(claims));
    char access[] = "access-token";
    ipsie_session_t *s = NULL;
    const char *kept;

    ck_assert_ptr_nonnull(token);
    kept = apr_pstrdup(pool, token);
    ck_assert_int_eq(ipsie_session_create(&s, claims, token, access, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    json_decref(claims);
    memset(access, 'X', sizeof(access) - 1);
    memset(token, 'X', strlen(token));
    free(token);
    ck_assert_str_eq(s->access_token, "access-token");
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_str_eq(ipsie_session_claim(s, "iss"), "https://op.example");
    ck_assert_str_eq(ipsie_session_id_token(s, pool), kept);
    ck_assert_str_eq(ipsie_session_id_token(round_trip(s), pool), kept);
}
END_TEST

START_TEST(create_without_string_sub_or_iss_is_malformed)
{
    json_t *cases[] = {
        json_pack("{s:s}", "iss", "https://op.example"),
        json_pack("{s:s}", "sub", "alice"),
        json_pack("{s:i, s:s}", "sub", 42, "iss", "https://op.example"),
        json_pack("{s:s, s:[s]}", "sub", "alice", "iss", "https://op.example"),
        json_pack("{s:n, s:s}", "sub", "iss", "https://op.example"),
    };
    ipsie_session_policy_t policy = spec_defaults();
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ipsie_session_t *s = (ipsie_session_t *)&s;
        ck_assert_int_eq(create_with(&s, cases[i], NULL, NULL, &policy), IPSIE_ERR_MALFORMED);
        ck_assert_ptr_null(s);
    }
}
END_TEST

START_TEST(create_without_an_id_token_is_malformed)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s = (ipsie_session_t *)&s;

    ck_assert_int_eq(ipsie_session_create(&s, claims, NULL, "at", NULL, &policy, NOW, pool),
                     IPSIE_ERR_MALFORMED);
    json_decref(claims);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(create_refuses_what_the_ceiling_refuses)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = (ipsie_session_t *)&s;

    ck_assert_int_eq(create_with(&s, login_claims(json_real(1.9e9)), NULL, NULL, &policy),
                     IPSIE_ERR_SESSION_EXPIRY_INVALID);
    ck_assert_ptr_null(s);
    s = (ipsie_session_t *)&s;
    ck_assert_int_eq(create_with(&s, login_claims(json_integer(NOW + 30)), NULL, NULL, &policy),
                     IPSIE_ERR_SESSION_EXPIRY_PAST);
    ck_assert_ptr_null(s);
    policy.require_session_expiry = 1;
    s = (ipsie_session_t *)&s;
    ck_assert_int_eq(create_with(&s, login_claims(NULL), NULL, NULL, &policy),
                     IPSIE_ERR_SESSION_EXPIRY_MISSING);
    ck_assert_ptr_null(s);
}
END_TEST

/* Payloads a validated claims object may come with that the session cannot keep. */
static const char *const unkeepable_payloads[] = {
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",\"x\":\"a\\u0000b\"}",
    "{\"sub\":\"alice\\u0000admin\",\"iss\":\"https://op.example\"}",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",\"x\":\"\\ud800\"}",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",\"x\":\"\\udc00\\ud800\"}",
    "[{\"sub\":\"alice\",\"iss\":\"https://op.example\"}]",
    "\"alice\"",
    "",
    "not json",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\"} trailing",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",}",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",\"n\":01}",
    "{\"sub\":\"alice\",\"iss\":\"https://op.example\",\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
};

START_TEST(token_whose_payload_cannot_be_kept_makes_no_session)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    const char *payload = unkeepable_payloads[_i];
    ipsie_session_t *s = (ipsie_session_t *)&s;

    ck_assert_msg(ipsie_session_create(&s, claims, token_with_payload(payload), NULL, NULL, &policy,
                                       NOW, pool)
                      == IPSIE_ERR_MALFORMED,
                  "a session was made from %s", payload);
    json_decref(claims);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04003"));
}
END_TEST

START_TEST(token_without_a_readable_payload_makes_no_session)
{
    static const char *const tokens[] = {
        "",
        "just-one-part",
        "two.parts",
        "eyJhbGciOiJSUzI1NiJ9.not*base64url.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.Zh.c2ln",
    };
    ipsie_session_policy_t policy = spec_defaults();
    size_t i;

    for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        json_t *claims = login_claims(NULL);
        ipsie_session_t *s = (ipsie_session_t *)&s;
        ck_assert_msg(ipsie_session_create(&s, claims, tokens[i], NULL, NULL, &policy, NOW, pool)
                          == IPSIE_ERR_MALFORMED,
                      "a session was made from %s", tokens[i]);
        json_decref(claims);
        ck_assert_ptr_null(s);
    }
}
END_TEST

START_TEST(claim_holds_matches_array_elements_and_whole_strings_only)
{
    ipsie_session_t *back = round_trip(created(json_pack(
        "{s:s, s:s, s:[s,s,i,b,[s]], s:s, s:[]}", "sub", "alice", "iss", "https://op.example",
        "groups", "staff", "x,admin", 7, 1, "nested", "dept", "a,admin", "none")));

    ck_assert(ipsie_session_claim_holds(back, "groups", "staff", pool));
    ck_assert(ipsie_session_claim_holds(back, "groups", "x,admin", pool));
    ck_assert(ipsie_session_claim_holds(back, "groups", "7", pool));
    ck_assert(ipsie_session_claim_holds(back, "groups", "true", pool));
    ck_assert(!ipsie_session_claim_holds(back, "groups", "admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "groups", "x", pool));
    ck_assert(!ipsie_session_claim_holds(back, "groups", "nested", pool));
    ck_assert(
        !ipsie_session_claim_holds(back, "groups", "staff,x,admin,7,true,[\"nested\"]", pool));
    ck_assert(ipsie_session_claim_holds(back, "dept", "a,admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "dept", "admin", pool));
    ck_assert(!ipsie_session_claim_holds(back, "dept", "a", pool));
    ck_assert(!ipsie_session_claim_holds(back, "none", "", pool));
    ck_assert(!ipsie_session_claim_holds(back, "missing", "", pool));
    ck_assert(ipsie_session_claim_holds(back, "sub", "alice", pool));
    ck_assert(!ipsie_session_claim_holds(back, "sub", "alic", pool));
}
END_TEST

START_TEST(claim_lookup_finds_by_exact_name_only)
{
    ipsie_session_t *s = created(rich_claims());

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
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s;
    int i;

    for (i = 0; i < 300; i++) {
        json_object_set_new(claims, apr_psprintf(pool, "c%03d", i), json_string("secretvalue"));
    }
    json_object_set_new(claims, "nonce", json_string("n"));
    /* The audience comes last, past the cap: the session is checked against it. */
    json_object_set_new(claims, "aud", json_string("rp1"));
    s = created(claims);
    ck_assert_int_eq(s->claims->nelts, 254);
    ck_assert_str_eq(ipsie_session_claim(s, "c250"), "secretvalue");
    ck_assert_ptr_null(ipsie_session_claim(s, "c251"));
    ck_assert_str_eq(ipsie_session_claim(s, "aud"), "rp1");
    ck_assert_str_eq(ipsie_session_claim(s, "sub"), "alice");
    ck_assert_str_eq(CLAIM(s, 253).name, "aud");
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04001"));
    ck_assert_ptr_null(strstr(captured_log, "secretvalue"));
    /* What create keeps must survive a round trip through the format, without a new log. */
    captured_log[0] = '\0';
    assert_same_session(s, round_trip(s));
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(iss_sub_and_aud_after_the_cap_fill_it_to_256)
{
    json_t *claims = json_object();
    ipsie_session_t *s;
    int i;

    for (i = 0; i < 300; i++) {
        json_object_set_new(claims, apr_psprintf(pool, "c%03d", i), json_integer(i));
    }
    json_object_set_new(claims, "iss", json_string("https://op.example"));
    json_object_set_new(claims, "sub", json_string("alice"));
    json_object_set_new(claims, "aud", json_pack("[s,s]", "rp1", "rp2"));
    s = created(claims);
    ck_assert_int_eq(s->claims->nelts, 256);
    ck_assert_str_eq(CLAIM(s, 252).name, "c252");
    ck_assert_str_eq(CLAIM(s, 253).name, "iss");
    ck_assert_str_eq(CLAIM(s, 254).name, "sub");
    ck_assert_str_eq(CLAIM(s, 255).name, "aud");
    ck_assert(ipsie_session_claim_holds(s, "aud", "rp2", pool));
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04001"));
}
END_TEST

START_TEST(claims_within_the_cap_are_kept_whole_without_a_log)
{
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s;
    int i;

    for (i = 0; i < 251; i++) {
        json_object_set_new(claims, apr_psprintf(pool, "c%03d", i), json_integer(i));
    }
    json_object_set_new(claims, "nonce", json_string("n"));
    s = created(claims);
    ck_assert_int_eq(s->claims->nelts, 253);
    ck_assert_str_eq(CLAIM(s, 252).name, "c250");
    ck_assert_ptr_null(strstr(captured_log, "IPSIE04001"));
}
END_TEST

START_TEST(colliding_names_are_hidden_and_logged_at_create_but_not_at_decode)
{
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s, *back;
    int i;

    json_object_set_new(claims, "a-b", json_string("1"));
    json_object_set_new(claims, "a_b", json_string("2"));
    json_object_set_new(claims, "A_B", json_string("3"));
    json_object_set_new(claims, "x.y", json_string("4"));
    json_object_set_new(claims, "X-Y", json_string("5"));
    json_object_set_new(claims, "e\r\nvil", json_string("6"));
    json_object_set_new(claims, "e__vil", json_string("7"));
    json_object_set_new(claims, "Sub", json_string("mallory"));
    s = created(claims);
    ck_assert_int_eq(s->claims->nelts, 10);
    for (i = 0; i < s->claims->nelts; i++) {
        const char *n = CLAIM(s, i).name;
        int visible = strcmp(n, "sub") == 0 || strcmp(n, "iss") == 0 || strcmp(n, "a_b") == 0
                      || strcmp(n, "e__vil") == 0;
        ck_assert_msg(CLAIM(s, i).hidden == !visible, "%s hidden %d", n, CLAIM(s, i).hidden);
    }
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04002"));
    ck_assert_ptr_nonnull(strstr(captured_log, "a-b A_B"));
    ck_assert_ptr_nonnull(strstr(captured_log, "x.y X-Y"));
    /* The name reaches the log only as safe text. */
    ck_assert_ptr_nonnull(strstr(captured_log, "e??vil"));
    ck_assert_ptr_null(strchr(captured_log, '\r'));
    ck_assert_ptr_nonnull(strstr(captured_log, "Sub"));
    captured_log[0] = '\0';
    back = round_trip(s);
    assert_same_session(s, back);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

/* ---- remote_user ---- */

/* A round-tripped session with sub, iss and name = value (stolen). */
static ipsie_session_t *session_with(const char *name, json_t *value)
{
    json_t *claims = login_claims(NULL);

    json_object_set_new(claims, name, value);
    return round_trip(created(claims));
}

static ipsie_remote_user_e remote_user(const ipsie_session_t *s, const char *name)
{
    const char *user = "unset";
    ipsie_remote_user_e rv = ipsie_session_remote_user(&user, s, name);

    if (rv == IPSIE_REMOTE_USER_OK) {
        ck_assert_ptr_nonnull(user);
    }
    else {
        ck_assert_ptr_null(user);
    }
    return rv;
}

START_TEST(remote_user_is_the_string_claim)
{
    ipsie_session_t *s = session_with("preferred_username", json_string("al ice@\xc3\xa9x"));
    const char *user = NULL;

    ck_assert_int_eq(ipsie_session_remote_user(&user, s, "sub"), IPSIE_REMOTE_USER_OK);
    ck_assert_str_eq(user, "alice");
    ck_assert_int_eq(ipsie_session_remote_user(&user, s, "preferred_username"),
                     IPSIE_REMOTE_USER_OK);
    ck_assert_str_eq(user, "al ice@\xc3\xa9x");
}
END_TEST

START_TEST(remote_user_is_missing_for_an_absent_empty_or_null_claim)
{
    ck_assert_int_eq(remote_user(session_with("email", json_string("a@b")), "preferred_username"),
                     IPSIE_REMOTE_USER_MISSING);
    ck_assert_int_eq(remote_user(session_with("email", json_string("a@b")), "Email"),
                     IPSIE_REMOTE_USER_MISSING);
    ck_assert_int_eq(remote_user(session_with("email", json_string("")), "email"),
                     IPSIE_REMOTE_USER_MISSING);
    ck_assert_int_eq(remote_user(session_with("email", json_null()), "email"),
                     IPSIE_REMOTE_USER_MISSING);
}
END_TEST

START_TEST(remote_user_is_not_string_for_other_kinds)
{
    ck_assert_int_eq(remote_user(session_with("uid", json_integer(1001)), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
    ck_assert_int_eq(remote_user(session_with("uid", json_real(1.5)), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
    ck_assert_int_eq(remote_user(session_with("uid", json_pack("[s]", "alice")), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
    ck_assert_int_eq(remote_user(session_with("uid", json_pack("{s:s}", "name", "alice")), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
    ck_assert_int_eq(remote_user(session_with("uid", json_true()), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
    ck_assert_int_eq(remote_user(session_with("uid", json_false()), "uid"),
                     IPSIE_REMOTE_USER_NOT_STRING);
}
END_TEST

START_TEST(remote_user_with_a_control_character_is_refused_not_rewritten)
{
    static const char *const values[] = {
        "alice\r\nX-Injected: yes", "alice\n", "\ralice", "ali\tce", "alice\x7f", "\x01", "a\x1f",
    };
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ck_assert_msg(remote_user(session_with("name", json_string(values[i])), "name")
                          == IPSIE_REMOTE_USER_CONTROL,
                      "value %zu was accepted", i);
    }
    /* Bytes past ASCII are no control characters. */
    ck_assert_int_eq(remote_user(session_with("name", json_string("\xc2\x80\xc2\x9f")), "name"),
                     IPSIE_REMOTE_USER_OK);
}
END_TEST

/* ---- tokens kept from a token response ---- */

static ipsie_session_tokens_t tokens_of(const char *access, long long expires_in,
                                        const char *refresh, int keep_access, int keep_refresh)
{
    ipsie_session_tokens_t t;

    t.access_token = access;
    t.expires_in = expires_in;
    t.refresh_token = refresh;
    t.keep_access_token = keep_access;
    t.keep_refresh_token = keep_refresh;
    t.dpop = 0;
    return t;
}

START_TEST(set_tokens_keeps_what_is_wanted_and_the_access_token_expiry)
{
    ipsie_session_t *s = created(login_claims(NULL));
    ipsie_session_tokens_t t = tokens_of("at-1", 300, "rt-1", 1, 1);

    ipsie_session_set_tokens(s, &t, NOW, pool);
    ck_assert_str_eq(s->access_token, "at-1");
    ck_assert_str_eq(s->refresh_token, "rt-1");
    ck_assert(s->access_token_expiry == NOW + 300);
    assert_same_session(s, round_trip(s));
    /* Nothing uses them: neither token travels with the session, the expiry does. */
    t = tokens_of("at-2", 600, "rt-2", 0, 0);
    ipsie_session_set_tokens(s, &t, NOW + 10, pool);
    ck_assert_ptr_null(s->access_token);
    ck_assert_ptr_null(s->refresh_token);
    ck_assert(s->access_token_expiry == NOW + 610);
    assert_same_session(s, round_trip(s));
}
END_TEST

START_TEST(set_tokens_keeps_the_held_refresh_token_when_none_is_issued)
{
    ipsie_session_t *s = created(login_claims(NULL));
    ipsie_session_tokens_t t = tokens_of("at-1", 300, "rt-1", 1, 1);

    ipsie_session_set_tokens(s, &t, NOW, pool);
    t = tokens_of("at-2", 300, NULL, 1, 1);
    ipsie_session_set_tokens(s, &t, NOW + 200, pool);
    ck_assert_str_eq(s->access_token, "at-2");
    ck_assert_str_eq(s->refresh_token, "rt-1");
    ck_assert(s->access_token_expiry == NOW + 500);
    /* A rotated one replaces it. */
    t = tokens_of("at-3", 300, "rt-2", 1, 1);
    ipsie_session_set_tokens(s, &t, NOW + 400, pool);
    ck_assert_str_eq(s->refresh_token, "rt-2");
}
END_TEST

START_TEST(set_tokens_takes_the_type_of_every_response)
{
    ipsie_session_t *s = created(login_claims(NULL));
    ipsie_session_tokens_t t = tokens_of("at-1", 300, "rt-1", 1, 1);

    t.dpop = 1;
    ipsie_session_set_tokens(s, &t, NOW, pool);
    ck_assert_int_eq(s->access_token_dpop, 1);
    ck_assert_int_eq(round_trip(s)->access_token_dpop, 1);
    /* A refresh answered with a Bearer token: the session's token is a Bearer token now. */
    t = tokens_of("at-2", 300, NULL, 1, 1);
    ipsie_session_set_tokens(s, &t, NOW + 200, pool);
    ck_assert_int_eq(s->access_token_dpop, 0);
    ck_assert_int_eq(round_trip(s)->access_token_dpop, 0);
    t.dpop = 1;
    ipsie_session_set_tokens(s, &t, NOW + 400, pool);
    ck_assert_int_eq(round_trip(s)->access_token_dpop, 1);
}
END_TEST

START_TEST(set_tokens_without_expires_in_or_with_a_huge_one_stays_in_the_format)
{
    ipsie_session_t *s = created(login_claims(NULL));
    ipsie_session_tokens_t t = tokens_of("at-1", 0, NULL, 1, 0);

    ipsie_session_set_tokens(s, &t, NOW, pool);
    ck_assert(s->access_token_expiry == 0);
    t = tokens_of("at-1", 0x7fffffffffffffffLL, NULL, 1, 0);
    ipsie_session_set_tokens(s, &t, NOW, pool);
    ck_assert(s->access_token_expiry == NOW + IPSIE_SESSION_EXPIRES_IN_MAX);
    assert_same_session(s, round_trip(s));
}
END_TEST

/* ---- claims from UserInfo ---- */

/* A session of rich_claims given the UserInfo response text json at NOW + 5. */
static ipsie_session_t *with_userinfo(const char *json)
{
    ipsie_session_t *s = created(rich_claims());
    json_t *userinfo = json_loads(json, JSON_REJECT_DUPLICATES, NULL);

    ck_assert_ptr_nonnull(userinfo);
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW + 5, pool), APR_SUCCESS);
    json_decref(userinfo);
    return s;
}

START_TEST(userinfo_only_claims_are_added_after_the_id_token_claims)
{
    ipsie_session_t *s = with_userinfo("{\"sub\":\"alice\",\"department\":\"R&D\","
                                       "\"phone_number\":\"+31 20 123\",\"badges\":[\"a\",\"b\"]}");
    int n = s->claims->nelts;

    ck_assert_int_eq(s->id_token_claims, n - 3);
    ck_assert_str_eq(CLAIM(s, n - 3).name, "department");
    ck_assert_str_eq(CLAIM(s, n - 2).name, "phone_number");
    ck_assert_str_eq(CLAIM(s, n - 1).name, "badges");
    ck_assert(ipsie_session_claim_holds(s, "badges", "b", pool));
    ck_assert_str_eq(s->userinfo,
                     "{\"department\":\"R&D\",\"phone_number\":\"+31 20 123\",\"badges\":[\"a\","
                     "\"b\"]}");
    ck_assert(s->userinfo_time == NOW + 5);
    assert_same_session(s, round_trip(s));
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(id_token_claims_win_over_userinfo)
{
    ipsie_session_t *s = with_userinfo("{\"sub\":\"alice\",\"email\":\"mallory@example.com\","
                                       "\"groups\":[\"admin\"],\"age\":\"17\"}");

    ck_assert_str_eq(ipsie_session_claim(s, "email"), "alice@example.com");
    ck_assert(!ipsie_session_claim_holds(s, "groups", "admin", pool));
    ck_assert_str_eq(ipsie_session_claim(s, "age"), "42");
    ck_assert_ptr_null(s->userinfo);
    ck_assert_int_eq(s->claims->nelts, s->id_token_claims);
}
END_TEST

START_TEST(userinfo_never_gives_protocol_claims)
{
    static const char *const protocol[] = {
        "session_expiry", "iss",    "aud", "exp", "iat",          "nbf",           "jti",
        "auth_time",      "nonce",  "acr", "amr", "azp",          "sid",           "at_hash",
        "c_hash",         "s_hash", "cnf", "typ", "_claim_names", "_claim_sources"};
    ipsie_session_t *s = created(login_claims(NULL));
    json_t *userinfo = json_pack("{s:s, s:s}", "sub", "alice", "kept", "yes");
    apr_size_t i;

    for (i = 0; i < sizeof(protocol) / sizeof(protocol[0]); i++) {
        json_object_set_new(userinfo, protocol[i], json_integer(NOW + 99999));
        ck_assert(ipsie_session_claim_is_protocol(protocol[i]));
    }
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    json_decref(userinfo);
    ck_assert_str_eq(s->userinfo, "{\"kept\":\"yes\"}");
    for (i = 0; i < sizeof(protocol) / sizeof(protocol[0]); i++) {
        ck_assert_msg(ipsie_session_claim(s, protocol[i]) == NULL
                          || strcmp(protocol[i], "iss") == 0,
                      "%s from UserInfo", protocol[i]);
    }
    /* The ceiling and the identity are the ID token's. */
    ck_assert(s->session_expiry == 0);
    ck_assert_str_eq(s->sub, "alice");
    ck_assert_str_eq(s->iss, "https://op.example");
    ck_assert(!ipsie_session_claim_is_protocol("email"));
}
END_TEST

START_TEST(a_second_userinfo_replaces_the_first)
{
    ipsie_session_t *s = with_userinfo("{\"sub\":\"alice\",\"department\":\"R&D\",\"desk\":\"4\"}");
    json_t *userinfo = json_pack("{s:s, s:s}", "sub", "alice", "department", "Sales");

    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW + 600, pool), APR_SUCCESS);
    json_decref(userinfo);
    ck_assert_str_eq(ipsie_session_claim(s, "department"), "Sales");
    ck_assert_ptr_null(ipsie_session_claim(s, "desk"));
    ck_assert(s->userinfo_time == NOW + 600);
    assert_same_session(s, round_trip(s));
}
END_TEST

START_TEST(userinfo_claims_past_the_size_limit_are_left_out_and_logged)
{
    ipsie_session_t *s = created(login_claims(NULL));
    json_t *userinfo = json_pack("{s:s, s:s}", "sub", "alice", "small", "kept");
    char *big = apr_palloc(pool, IPSIE_SESSION_USERINFO_MAX + 1);

    memset(big, 'b', IPSIE_SESSION_USERINFO_MAX);
    big[IPSIE_SESSION_USERINFO_MAX] = '\0';
    json_object_set_new(userinfo, "big", json_string(big));
    json_object_set_new(userinfo, "after", json_string("kept too"));
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    json_decref(userinfo);
    ck_assert_str_eq(s->userinfo, "{\"small\":\"kept\",\"after\":\"kept too\"}");
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04004"));
    ck_assert_ptr_nonnull(strstr(captured_log, "big"));
    ck_assert_ptr_null(strstr(captured_log, "bbbb"));
}
END_TEST

START_TEST(userinfo_claims_of_exactly_the_size_limit_are_kept)
{
    ipsie_session_t *s = created(login_claims(NULL));
    json_t *userinfo = json_pack("{s:s}", "sub", "alice");
    /* {"v":"..."}: 8 bytes around the value. */
    apr_size_t n = IPSIE_SESSION_USERINFO_MAX - 8;
    char *value = apr_palloc(pool, n + 1);

    memset(value, 'v', n);
    value[n] = '\0';
    json_object_set_new(userinfo, "v", json_string(value));
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    ck_assert_uint_eq(strlen(s->userinfo), IPSIE_SESSION_USERINFO_MAX);
    json_object_set_new(userinfo, "w", json_integer(1));
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    json_decref(userinfo);
    ck_assert_uint_eq(strlen(s->userinfo), IPSIE_SESSION_USERINFO_MAX);
    ck_assert_ptr_null(ipsie_session_claim(s, "w"));
}
END_TEST

START_TEST(userinfo_values_the_session_cannot_read_are_left_out)
{
    ipsie_session_t *s = created(login_claims(NULL));
    json_t *userinfo = json_pack("{s:s}", "sub", "alice");
    json_t *deep = json_string("bottom");
    int i;

    for (i = 0; i < 40; i++) {
        deep = json_pack("[o]", deep);
    }
    json_object_set_new(userinfo, "deep", deep);
    json_object_set_new(userinfo, "nul", json_stringn("a\0b", 3));
    json_object_set_new(userinfo, "fine", json_true());
    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    json_decref(userinfo);
    ck_assert_str_eq(s->userinfo, "{\"fine\":true}");
    assert_same_session(s, round_trip(s));
}
END_TEST

START_TEST(userinfo_that_is_not_an_object_is_malformed)
{
    ipsie_session_t *s = created(login_claims(NULL));
    json_t *array = json_pack("[s]", "sub");

    ck_assert_int_eq(ipsie_session_set_userinfo(s, array, NOW, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_session_set_userinfo(s, NULL, NOW, pool), IPSIE_ERR_MALFORMED);
    json_decref(array);
    ck_assert_ptr_null(s->userinfo);
}
END_TEST

START_TEST(userinfo_names_colliding_with_id_token_names_are_hidden_and_logged)
{
    ipsie_session_t *s = with_userinfo("{\"sub\":\"alice\",\"Email\":\"x@example.com\"}");
    int i;

    for (i = 0; i < s->claims->nelts; i++) {
        if (strcmp(CLAIM(s, i).name, "Email") == 0) {
            ck_assert_int_eq(CLAIM(s, i).hidden, 1);
        }
        if (strcmp(CLAIM(s, i).name, "email") == 0) {
            ck_assert_int_eq(CLAIM(s, i).hidden, 0);
        }
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04002"));
    assert_same_session(s, round_trip(s));
}
END_TEST

START_TEST(decoded_userinfo_claims_follow_the_same_rules)
{
    ipsie_session_t *s = with_userinfo("{\"sub\":\"alice\",\"department\":\"R&D\"}");
    ipsie_session_t *decoded;
    unsigned char *buf;
    apr_size_t len;

    /* A UserInfo text that names an ID token claim or a protocol claim: neither comes through.
     * (The format is sealed; this is the decoder's own guard.) */
    s->userinfo = "{\"email\":\"m@example.com\",\"session_expiry\":1,\"department\":\"R&D\"}";
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_claim(decoded, "email"), "alice@example.com");
    ck_assert_str_eq(ipsie_session_claim(decoded, "session_expiry"),
                     apr_psprintf(pool, "%" APR_INT64_T_FMT, (apr_int64_t)(NOW + 3600)));
    ck_assert_int_eq(decoded->claims->nelts, decoded->id_token_claims + 1);
    /* A text that does not read: no session. */
    s->userinfo = "{\"department\":\"R&D\"";
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
    s->userinfo = "[\"department\"]";
    encode_ok(&buf, &len, s);
    assert_refused(buf, len);
}
END_TEST

/* ---- encode and decode ---- */

START_TEST(round_trip_keeps_every_field_and_every_claim)
{
    ipsie_session_t *s = full_session();
    ipsie_session_t *decoded;
    unsigned char *buf;
    apr_size_t len;
    int hidden = 0, arrays = 0, i;

    encode_ok(&buf, &len, s);
    ck_assert_int_eq(buf[0], 0x07);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    assert_same_session(s, decoded);
    ck_assert_ptr_null(decoded->id_token);
    ck_assert(decoded->last_activity == NOW + 100);
    ck_assert_str_eq(ipsie_session_claim(decoded, "roles"), "x,y,7,[\"z\"],{\"k\":\"v\"}");
    for (i = 0; i < decoded->claims->nelts; i++) {
        hidden += CLAIM(decoded, i).hidden;
        arrays += CLAIM(decoded, i).json != NULL;
    }
    /* The test session has what it is meant to exercise. */
    ck_assert_int_eq(hidden, 1);
    ck_assert_int_eq(arrays, 3);
    ck_assert_str_eq(ipsie_session_claim(decoded, "department"), "R&D");
    ck_assert(decoded->access_token_expiry == NOW + 300);
    ck_assert(decoded->userinfo_time == NOW + 50);
    ck_assert_int_eq(decoded->access_token_dpop, 1);
}
END_TEST

START_TEST(round_trip_keeps_the_access_token_type)
{
    ipsie_session_t *s = full_session();
    ipsie_session_t *decoded;

    s->access_token_dpop = 0;
    decoded = round_trip(s);
    ck_assert_int_eq(decoded->access_token_dpop, 0);
    assert_same_session(s, decoded);
    s->access_token_dpop = 1;
    decoded = round_trip(s);
    ck_assert_int_eq(decoded->access_token_dpop, 1);
    assert_same_session(s, decoded);
    /* Without an access token the type is kept as well: the next response sets both. */
    s->access_token = NULL;
    decoded = round_trip(s);
    ck_assert_ptr_null(decoded->access_token);
    ck_assert_int_eq(decoded->access_token_dpop, 1);
}
END_TEST

START_TEST(access_token_type_other_than_bearer_or_dpop_is_malformed)
{
    static const unsigned char bad[] = {0x02, 0x03, 0x30, 0x44, 0x7f, 0x80, 0xff};
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, i;
    long at;

    encode_ok(&buf, &len, s);
    /* The type byte follows the access token's NUL. */
    at = find(buf, len, "access-token-value");
    ck_assert_int_gt(at, BLOB_OFFSET);
    at += (long)strlen("access-token-value") + 1;
    ck_assert_int_eq(buf[at], 0x01);
    buf[at] = 0x00;
    ck_assert_int_eq(ipsie_session_decode(&s, buf, len, pool), APR_SUCCESS);
    ck_assert_int_eq(s->access_token_dpop, 0);
    for (i = 0; i < sizeof(bad); i++) {
        buf[at] = bad[i];
        assert_refused(buf, len);
    }
}
END_TEST

START_TEST(round_trip_keeps_null_apart_from_empty)
{
    ipsie_session_policy_t policy = spec_defaults();
    ipsie_session_t *s = NULL, *decoded;

    ck_assert_int_eq(create_with(&s, login_claims(NULL), "", NULL, &policy), APR_SUCCESS);
    decoded = round_trip(s);
    assert_same_session(s, decoded);
    ck_assert_ptr_null(decoded->sid);
    ck_assert_ptr_null(decoded->refresh_token);
    ck_assert_ptr_nonnull(decoded->access_token);
    ck_assert_str_eq(decoded->access_token, "");
}
END_TEST

START_TEST(round_trip_keeps_the_widest_times_and_long_values)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = login_claims(NULL);
    char *long_value = apr_palloc(pool, 20001);
    ipsie_session_t *s = NULL;

    memset(long_value, 'v', 20000);
    long_value[20000] = '\0';
    json_object_set_new(claims, "big", json_string(long_value));
    ck_assert_int_eq(create_with(&s, claims, long_value, long_value, &policy), APR_SUCCESS);
    s->session_expiry = IPSIE_SESSION_EXPIRY_LIMIT - 1;
    s->ceiling = 99999999999LL;
    s->login_time = 99999999999LL;
    s->last_activity = 0;
    assert_same_session(s, round_trip(s));
    ck_assert_str_eq(ipsie_session_claim(round_trip(s), "big"), long_value);
}
END_TEST

START_TEST(times_where_arithmetic_would_overflow_are_malformed)
{
    static const long long bad[] = {-1, 100000000000LL, 0x7fffffffffffffffLL,
                                    (-0x7fffffffffffffffLL) - 1};
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, i;
    int field;

    for (field = 0; field < 6; field++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ipsie_session_t copy = *s;
            long long *t[] = {&copy.session_expiry,      &copy.ceiling,
                              &copy.login_time,          &copy.last_activity,
                              &copy.access_token_expiry, &copy.userinfo_time};
            *t[field] = bad[i];
            encode_ok(&buf, &len, &copy);
            assert_refused(buf, len);
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
    ck_assert(ipsie_session_claim_holds(decoded, "groups", "b", pool));
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
    static const unsigned char versions[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                             0x06, 0x08, 0x7f, 0x80, 0xff};
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

START_TEST(blob_length_pointing_past_the_end_or_null_is_malformed)
{
    static const apr_uint32_t lengths[] = {
        0x7fffffffu, 0xfffffffeu, 0x80000000u, 0xffffffffu, 0, 1, 8};
    ipsie_session_t *s = full_session();
    unsigned char *buf;
    apr_size_t len, i;
    apr_uint32_t blob_len;

    encode_ok(&buf, &len, s);
    /* The layout this test relies on: the blob's length right after the fixed header. */
    blob_len = read_u32(buf + BLOB_LEN_OFFSET);
    ck_assert_uint_eq(blob_len, s->id_token_blob_len);
    ck_assert_int_eq(buf[BLOB_OFFSET], 'P');
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        write_u32(buf + BLOB_LEN_OFFSET, lengths[i]);
        assert_refused(buf, len);
    }
    write_u32(buf + BLOB_LEN_OFFSET, (apr_uint32_t)(len - BLOB_OFFSET));
    assert_refused(buf, len);
    write_u32(buf + BLOB_LEN_OFFSET, (apr_uint32_t)(len - BLOB_OFFSET + 1));
    assert_refused(buf, len);
    write_u32(buf + BLOB_LEN_OFFSET, blob_len - 1);
    assert_refused(buf, len);
    write_u32(buf + BLOB_LEN_OFFSET, blob_len + 1);
    assert_refused(buf, len);
    write_u32(buf + BLOB_LEN_OFFSET, blob_len);
    ck_assert_int_eq(ipsie_session_decode(&s, buf, len, pool), APR_SUCCESS);
}
END_TEST

START_TEST(packed_id_token_with_lengths_past_its_blob_is_malformed)
{
    ipsie_session_t *s = full_session();
    unsigned char *buf, *blob;
    apr_size_t len;
    apr_uint32_t blob_len, header_len, payload_len;

    encode_ok(&buf, &len, s);
    blob_len = read_u32(buf + BLOB_LEN_OFFSET);
    blob = buf + BLOB_OFFSET;
    header_len = read_u32(blob + 1);
    payload_len = read_u32(blob + 5);
    ck_assert_int_eq(blob[0], 'P');
    ck_assert_uint_eq(header_len, strlen(TOKEN_HEADER));
    ck_assert_uint_eq(9 + header_len + payload_len + strlen(TOKEN_SIGNATURE), blob_len);
    write_u32(blob + 1, blob_len); /* header longer than the blob */
    assert_refused(buf, len);
    write_u32(blob + 1, blob_len - 8);
    assert_refused(buf, len);
    write_u32(blob + 1, 0xffffffffu);
    assert_refused(buf, len);
    write_u32(blob + 1, header_len);
    write_u32(blob + 5, blob_len - 9 - header_len + 1); /* payload past the end */
    assert_refused(buf, len);
    write_u32(blob + 5, 0xfffffff8u);
    assert_refused(buf, len);
    /* Lengths inside the blob that put the payload elsewhere: it does not read as claims. */
    write_u32(blob + 1, header_len + 1);
    write_u32(blob + 5, payload_len);
    assert_refused(buf, len);
    write_u32(blob + 1, header_len);
    write_u32(blob + 5, payload_len - 1);
    assert_refused(buf, len);
    write_u32(blob + 5, payload_len);
    blob[0] = 'X'; /* unknown kind */
    assert_refused(buf, len);
    blob[0] = 'T'; /* text without its terminator */
    assert_refused(buf, len);
    blob[0] = 'P';
    ck_assert_int_eq(ipsie_session_decode(&s, buf, len, pool), APR_SUCCESS);
}
END_TEST

/* The encoding of full_session with its access token's length field at *at. */
static unsigned char *encoding_with_access_at(apr_size_t *len, apr_size_t *at)
{
    unsigned char *buf;

    encode_ok(&buf, len, full_session());
    *at = BLOB_OFFSET + read_u32(buf + BLOB_LEN_OFFSET);
    ck_assert_uint_eq(read_u32(buf + *at), strlen("access-token-value"));
    ck_assert_mem_eq(buf + *at + 4, "access-token-value", strlen("access-token-value") + 1);
    return buf;
}

START_TEST(token_length_pointing_past_the_end_is_malformed)
{
    static const apr_uint32_t lengths[] = {0x7fffffffu, 0xfffffffeu, 0x80000000u};
    ipsie_session_t *s = NULL;
    unsigned char *buf;
    apr_size_t len, at, i, refresh_at;

    buf = encoding_with_access_at(&len, &at);
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        write_u32(buf + at, lengths[i]);
        assert_refused(buf, len);
    }
    /* Exactly to the end leaves no room for the terminator; one more is past the end. */
    write_u32(buf + at, (apr_uint32_t)(len - at - 4));
    assert_refused(buf, len);
    write_u32(buf + at, (apr_uint32_t)(len - at - 3));
    assert_refused(buf, len);
    write_u32(buf + at, (apr_uint32_t)strlen("access-token-value"));
    /* The refresh token's length, after the token type's byte: the same. */
    refresh_at = at + 4 + strlen("access-token-value") + 1 + 1;
    ck_assert_uint_eq(read_u32(buf + refresh_at), strlen("refresh-token-value"));
    write_u32(buf + refresh_at, (apr_uint32_t)strlen("refresh-token-value") + 1);
    assert_refused(buf, len);
    write_u32(buf + refresh_at, 0xfffffffeu);
    assert_refused(buf, len);
    write_u32(buf + refresh_at, (apr_uint32_t)strlen("refresh-token-value"));
    ck_assert_int_eq(ipsie_session_decode(&s, buf, len, pool), APR_SUCCESS);
}
END_TEST

START_TEST(token_string_with_inner_nul_or_no_terminator_is_malformed)
{
    unsigned char *buf, *copy;
    apr_size_t len, at;

    buf = encoding_with_access_at(&len, &at);
    copy = apr_pmemdup(pool, buf, len);
    copy[at + 4 + 2] = '\0';
    assert_refused(copy, len);
    copy = apr_pmemdup(pool, buf, len);
    copy[at + 4 + strlen("access-token-value")] = 'x';
    assert_refused(copy, len);
    /* A shorter length leaves the string unterminated where it claims to end. */
    copy = apr_pmemdup(pool, buf, len);
    write_u32(copy + at, (apr_uint32_t)strlen("access-token-value") - 1);
    assert_refused(copy, len);
}
END_TEST

START_TEST(id_token_travels_packed_and_comes_back_whole)
{
    ipsie_session_policy_t policy = spec_defaults();
    json_t *claims = rich_claims();
    const char *jwt = token_of(claims);
    char *unpackable = apr_pstrcat(pool, jwt, "+", NULL);
    ipsie_session_t *s = NULL, *text_s = NULL, *back, *again;
    unsigned char *packed, *text, *buf2;
    apr_size_t packed_len, text_len, len2;

    ck_assert_int_eq(ipsie_session_create(&s, claims, jwt, NULL, NULL, &policy, NOW, pool),
                     APR_SUCCESS);
    encode_ok(&packed, &packed_len, s);
    ck_assert_int_eq(packed[BLOB_OFFSET], 'P');
    ck_assert_int_eq(ipsie_session_decode(&back, packed, packed_len, pool), APR_SUCCESS);
    ck_assert_ptr_null(back->id_token);
    ck_assert_str_eq(ipsie_session_id_token(back, pool), jwt);
    /* A decoded session written again (the idle write-back) keeps it without rebuilding. */
    encode_ok(&buf2, &len2, back);
    ck_assert_uint_eq(len2, packed_len);
    ck_assert_mem_eq(buf2, packed, packed_len);
    ck_assert_int_eq(ipsie_session_decode(&again, buf2, len2, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_id_token(again, pool), jwt);
    /* The same token with a signature that is not base64url stays text, its claims read all
     * the same; the packed form is smaller by about a quarter of the token. */
    ck_assert_int_eq(
        ipsie_session_create(&text_s, claims, unpackable, NULL, NULL, &policy, NOW, pool),
        APR_SUCCESS);
    json_decref(claims);
    encode_ok(&text, &text_len, text_s);
    ck_assert_int_eq(text[BLOB_OFFSET], 'T');
    ck_assert_int_eq(ipsie_session_decode(&back, text, text_len, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_id_token(back, pool), unpackable);
    ck_assert_int_eq(back->claims->nelts, s->claims->nelts);
    ck_assert_str_eq(ipsie_session_claim(back, "email"), "alice@example.com");
    ck_assert_uint_lt(packed_len + strlen(jwt) / 5, text_len);
}
END_TEST

START_TEST(decoded_token_whose_claims_do_not_read_is_malformed)
{
    json_t *claims = login_claims(NULL);
    ipsie_session_t *s;
    unsigned char *buf, *copy;
    apr_size_t len;
    long at;

    /* Spots in the payload to overwrite with as many bytes. */
    json_object_set_new(claims, "x", json_string("ABCDEF"));
    s = created(claims);
    encode_ok(&buf, &len, s);
    ck_assert_int_eq(ipsie_session_decode(&s, buf, len, pool), APR_SUCCESS);
    at = find(buf, len, "ABCDEF");
    ck_assert_int_gt(at, BLOB_OFFSET);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "\\u0000", 6);
    assert_refused(copy, len);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "\\ud800", 6);
    assert_refused(copy, len);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "AB\"CDE", 6);
    assert_refused(copy, len);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "\\u0041", 6);
    ck_assert_int_eq(ipsie_session_decode(&s, copy, len, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_session_claim(s, "x"), "A");
    /* sub and iss stay strings. */
    at = find(buf, len, "\"alice\"");
    ck_assert_int_gt(at, BLOB_OFFSET);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "1234567", 7);
    assert_refused(copy, len);
    at = find(buf, len, "\"iss\"");
    ck_assert_int_gt(at, BLOB_OFFSET);
    copy = apr_pmemdup(pool, buf, len);
    memcpy(copy + at, "\"isz\"", 5);
    assert_refused(copy, len);
    ck_assert_str_eq(captured_log, "");
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
static int assert_decode_is_safe(const unsigned char *buf, apr_size_t len, apr_pool_t *p)
{
    ipsie_session_t *out = NULL, *again = NULL;
    unsigned char *bytes;
    apr_size_t bytes_len;
    apr_status_t rv = ipsie_session_decode(&out, buf, len, p);
    const char *user;

    if (rv != APR_SUCCESS) {
        ck_assert_int_eq(rv, IPSIE_ERR_MALFORMED);
        ck_assert_ptr_null(out);
        return 0;
    }
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(out->sub);
    ck_assert_ptr_nonnull(out->iss);
    ck_assert_ptr_nonnull(ipsie_session_id_token(out, p));
    (void)ipsie_session_remote_user(&user, out, "sub");
    (void)ipsie_session_claim_holds(out, "groups", "b", p);
    ck_assert_int_eq(ipsie_session_encode(&bytes, &bytes_len, out, p), APR_SUCCESS);
    ck_assert_uint_eq(bytes_len, len);
    ck_assert(memcmp(bytes, buf, len) == 0);
    ck_assert_int_eq(ipsie_session_decode(&again, bytes, bytes_len, p), APR_SUCCESS);
    return 1;
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
            buf[0] = 0x04;
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
        memcpy(buf, valid, len);
        for (f = 0; f < flips; f++) {
            apr_size_t at = prng_next() % len;
            /* Favour the values that matter most to a parser: 0, 0xff, small numbers, and
             * the characters of JSON. */
            switch (prng_next() % 5) {
            case 0:
                buf[at] = 0x00;
                break;
            case 1:
                buf[at] = 0xff;
                break;
            case 2:
                buf[at] = (unsigned char)(buf[at] + 1);
                break;
            case 3:
                buf[at] = (unsigned char)"{}[]\",:\\u0"[prng_next() % 10];
                break;
            default:
                buf[at] = (unsigned char)prng_next();
            }
        }
        accepted += assert_decode_is_safe(buf, len, scratch);
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
    TCase *claims = tcase_create("claims");
    TCase *tokens = tcase_create("tokens");
    TCase *userinfo = tcase_create("userinfo");
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
    tcase_add_test(create, create_without_sid_or_tokens_leaves_them_null);
    tcase_add_test(create, create_copies_strings_into_the_pool);
    tcase_add_test(create, create_without_string_sub_or_iss_is_malformed);
    tcase_add_test(create, create_without_an_id_token_is_malformed);
    tcase_add_test(create, create_refuses_what_the_ceiling_refuses);
    tcase_add_loop_test(create, token_whose_payload_cannot_be_kept_makes_no_session, 0,
                        (int)(sizeof(unkeepable_payloads) / sizeof(unkeepable_payloads[0])));
    tcase_add_test(create, token_without_a_readable_payload_makes_no_session);
    suite_add_tcase(s, create);

    tcase_add_checked_fixture(claims, pool_setup, pool_teardown);
    tcase_add_test(claims, create_reads_claims_in_id_token_order_and_drops_nonce_and_at_hash);
    tcase_add_test(claims, create_drops_c_hash_and_s_hash);
    tcase_add_test(claims, create_flattens_mixed_empty_and_null_values);
    tcase_add_test(claims, create_reads_the_claims_from_the_id_token_only);
    tcase_add_test(claims, claim_lookup_finds_by_exact_name_only);
    tcase_add_test(claims, claim_holds_matches_array_elements_and_whole_strings_only);
    tcase_add_test(claims, create_keeps_at_most_256_claims_keeping_iss_sub_aud_and_logs_the_cut);
    tcase_add_test(claims, iss_sub_and_aud_after_the_cap_fill_it_to_256);
    tcase_add_test(claims, claims_within_the_cap_are_kept_whole_without_a_log);
    tcase_add_test(claims, colliding_names_are_hidden_and_logged_at_create_but_not_at_decode);
    tcase_add_test(claims, remote_user_is_the_string_claim);
    tcase_add_test(claims, remote_user_is_missing_for_an_absent_empty_or_null_claim);
    tcase_add_test(claims, remote_user_is_not_string_for_other_kinds);
    tcase_add_test(claims, remote_user_with_a_control_character_is_refused_not_rewritten);
    suite_add_tcase(s, claims);

    tcase_add_checked_fixture(tokens, pool_setup, pool_teardown);
    tcase_add_test(tokens, set_tokens_keeps_what_is_wanted_and_the_access_token_expiry);
    tcase_add_test(tokens, set_tokens_keeps_the_held_refresh_token_when_none_is_issued);
    tcase_add_test(tokens, set_tokens_takes_the_type_of_every_response);
    tcase_add_test(tokens, set_tokens_without_expires_in_or_with_a_huge_one_stays_in_the_format);
    suite_add_tcase(s, tokens);

    tcase_add_checked_fixture(userinfo, pool_setup, pool_teardown);
    tcase_add_test(userinfo, userinfo_only_claims_are_added_after_the_id_token_claims);
    tcase_add_test(userinfo, id_token_claims_win_over_userinfo);
    tcase_add_test(userinfo, userinfo_never_gives_protocol_claims);
    tcase_add_test(userinfo, a_second_userinfo_replaces_the_first);
    tcase_add_test(userinfo, userinfo_claims_past_the_size_limit_are_left_out_and_logged);
    tcase_add_test(userinfo, userinfo_claims_of_exactly_the_size_limit_are_kept);
    tcase_add_test(userinfo, userinfo_values_the_session_cannot_read_are_left_out);
    tcase_add_test(userinfo, userinfo_that_is_not_an_object_is_malformed);
    tcase_add_test(userinfo, userinfo_names_colliding_with_id_token_names_are_hidden_and_logged);
    tcase_add_test(userinfo, decoded_userinfo_claims_follow_the_same_rules);
    suite_add_tcase(s, userinfo);

    tcase_add_checked_fixture(format, pool_setup, pool_teardown);
    tcase_set_timeout(format, 60);
    tcase_add_test(format, round_trip_keeps_every_field_and_every_claim);
    tcase_add_test(format, round_trip_keeps_null_apart_from_empty);
    tcase_add_test(format, round_trip_keeps_the_widest_times_and_long_values);
    tcase_add_test(format, times_where_arithmetic_would_overflow_are_malformed);
    tcase_add_test(format, decoded_session_does_not_depend_on_the_input_buffer);
    tcase_add_test(format, every_truncation_of_a_valid_encoding_is_malformed);
    tcase_add_test(format, another_version_byte_is_malformed);
    tcase_add_test(format, round_trip_keeps_the_access_token_type);
    tcase_add_test(format, access_token_type_other_than_bearer_or_dpop_is_malformed);
    tcase_add_test(format, trailing_bytes_after_a_valid_encoding_are_malformed);
    tcase_add_test(format, blob_length_pointing_past_the_end_or_null_is_malformed);
    tcase_add_test(format, packed_id_token_with_lengths_past_its_blob_is_malformed);
    tcase_add_test(format, token_length_pointing_past_the_end_is_malformed);
    tcase_add_test(format, token_string_with_inner_nul_or_no_terminator_is_malformed);
    tcase_add_test(format, id_token_travels_packed_and_comes_back_whole);
    tcase_add_test(format, decoded_token_whose_claims_do_not_read_is_malformed);
    tcase_add_test(format, random_bytes_never_crash_the_decoder);
    tcase_add_test(format, mutated_valid_encodings_never_crash_the_decoder);
    suite_add_tcase(s, format);
    return s;
}

int main(void)
{
    return run_suite(session_suite());
}
