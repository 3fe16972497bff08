/* Unit tests of src/ipsie_logout_token.c: the logout token rules (Back-Channel Logout 1.0 2.6,
 * RFC 8725), each good and bad. */
#include <limits.h>

#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_logout_token.h"

#define SUB "248289761001"
#define SID "08a5019c-17e1-4977-8f42-65a12843ea02"
#define JTI "bWJq-4f1b-9c3e"
#define MAX_AGE 300
/* Spelled out, not taken from the header under test. */
#define EVENT "http://schemas.openid.net/event/backchannel-logout"

/* Claims of a valid logout token at NOW naming a session (sid only); tests change what they
 * are about. */
static json_t *logout_claims(void)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:{s:{}}, s:s}", "iss", ISSUER, "aud", CLIENT, "iat",
                     (json_int_t)NOW, "jti", JTI, "events", EVENT, "sid", SID);
}

/* An RS256 token signed by rsa_key (kid rsa1) with header typ (NULL: none) over claims
 * (stolen). */
static const char *typed_token(json_t *claims, const char *typ)
{
    return sign_raw(rsa_key, "RS256", header_typed("RS256", "rsa1", typ), json_text(claims));
}

static const char *logout_token(json_t *claims)
{
    return typed_token(claims, "logout+jwt");
}

static ipsie_logout_token_expect_t expect_default(void)
{
    ipsie_logout_token_expect_t e;

    memset(&e, 0, sizeof(e));
    e.issuer = ISSUER;
    e.client_id = CLIENT;
    e.allowed_algs = all_algs();
    e.aud_single_string = 0;
    e.clock_skew = SKEW;
    e.max_age = MAX_AGE;
    e.now = NOW;
    return e;
}

/* Validate jwt; *out is set on success only. */
static apr_status_t check_with(ipsie_logout_token_t **out, const char *jwt,
                               const ipsie_logout_token_expect_t *e)
{
    ipsie_logout_token_t *t = (ipsie_logout_token_t *)1;
    apr_status_t rv = ipsie_logout_token_validate(&t, jwt, std_jwks(), e, pool);

    if (rv == APR_SUCCESS) {
        ck_assert_ptr_nonnull(t);
    }
    else {
        ck_assert_ptr_null(t);
    }
    if (out != NULL) {
        *out = t;
    }
    return rv;
}

static apr_status_t check(const char *jwt)
{
    ipsie_logout_token_expect_t e = expect_default();

    return check_with(NULL, jwt, &e);
}

static apr_status_t validate(json_t *claims)
{
    return check(logout_token(claims));
}

static apr_status_t validate_with(json_t *claims, const ipsie_logout_token_expect_t *e)
{
    return check_with(NULL, logout_token(claims), e);
}

/* Refused for its claims, with one log line holding tag and naming what failed. */
static void assert_refused(json_t *claims, const char *tag, const char *what)
{
    captured_log[0] = '\0';
    ck_assert_int_eq(validate(claims), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(log_lines(), 1);
    ck_assert_ptr_nonnull(strstr(captured_log, tag));
    ck_assert_ptr_nonnull(strstr(captured_log, what));
}

/* claims with member set to value (stolen). */
static json_t *with(const char *member, json_t *value)
{
    json_t *c = logout_claims();

    json_object_set_new(c, member, value);
    return c;
}

static json_t *without(const char *member)
{
    json_t *c = logout_claims();

    json_object_del(c, member);
    return c;
}

/* A string of n copies of ch. */
static const char *repeat(char ch, size_t n)
{
    char *s = apr_palloc(pool, n + 1);

    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- valid tokens ---- */

START_TEST(valid_token_naming_a_session_is_accepted)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();

    ck_assert_int_eq(check_with(&t, logout_token(logout_claims()), &e), APR_SUCCESS);
    ck_assert_str_eq(t->iss, ISSUER);
    ck_assert_str_eq(t->sid, SID);
    ck_assert_ptr_null(t->sub);
    ck_assert_str_eq(t->jti, JTI);
    ck_assert_int_eq(t->iat, NOW);
    ck_assert_int_eq(t->exp, 0);
    ck_assert_int_eq(log_lines(), 0);
}
END_TEST

START_TEST(valid_token_naming_a_user_is_accepted)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();
    json_t *c = without("sid");

    json_object_set_new(c, "sub", json_string(SUB));
    ck_assert_int_eq(check_with(&t, logout_token(c), &e), APR_SUCCESS);
    ck_assert_str_eq(t->sub, SUB);
    ck_assert_ptr_null(t->sid);
}
END_TEST

START_TEST(valid_token_naming_both_is_accepted)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();

    ck_assert_int_eq(check_with(&t, logout_token(with("sub", json_string(SUB))), &e), APR_SUCCESS);
    ck_assert_str_eq(t->sub, SUB);
    ck_assert_str_eq(t->sid, SID);
}
END_TEST

START_TEST(token_stays_valid_after_its_claims_are_released)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();
    json_t *c = with("sub", json_string(SUB));

    json_object_set_new(c, "exp", json_integer(NOW + 120));
    ck_assert_int_eq(check_with(&t, logout_token(c), &e), APR_SUCCESS);
    ck_assert_int_eq(t->exp, NOW + 120);
    ck_assert_str_eq(t->iss, ISSUER);
    ck_assert_str_eq(t->sub, SUB);
    ck_assert_str_eq(t->sid, SID);
    ck_assert_str_eq(t->jti, JTI);
}
END_TEST

/* ---- the header ---- */

START_TEST(typ_logout_jwt_is_accepted_in_any_case_and_with_the_application_prefix)
{
    ck_assert_int_eq(check(typed_token(logout_claims(), "logout+jwt")), APR_SUCCESS);
    ck_assert_int_eq(check(typed_token(logout_claims(), "application/logout+jwt")), APR_SUCCESS);
    ck_assert_int_eq(check(typed_token(logout_claims(), "LOGOUT+JWT")), APR_SUCCESS);
    ck_assert_int_eq(check(typed_token(logout_claims(), NULL)), APR_SUCCESS);
}
END_TEST

START_TEST(typ_of_another_token_is_refused)
{
    ck_assert_int_eq(check(typed_token(logout_claims(), "JWT")), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(log_lines(), 1);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
    ck_assert_int_eq(check(typed_token(logout_claims(), "at+jwt")), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(check(typed_token(logout_claims(), "secevent+jwt")), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(crit_header_is_refused)
{
    json_t *h = json_pack("{s:s, s:s, s:s, s:[s], s:b}", "alg", "RS256", "kid", "rsa1", "typ",
                          "logout+jwt", "crit", "b64", "b64", 1);

    ck_assert_int_eq(check(sign_raw(rsa_key, "RS256", json_text(h), json_text(logout_claims()))),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05019"));
}
END_TEST

START_TEST(alg_none_and_hs256_are_refused)
{
    const char *payload = b64s(json_text(logout_claims()));
    const char *none = apr_pstrcat(pool, b64s("{\"alg\":\"none\",\"typ\":\"logout+jwt\"}"), ".",
                                   payload, ".", NULL);
    const char *hs = apr_pstrcat(pool, b64s("{\"alg\":\"HS256\",\"typ\":\"logout+jwt\"}"), ".",
                                 payload, ".", b64s("0123456789abcdef0123456789abcdef"), NULL);
    ipsie_logout_token_expect_t e = expect_default();

    e.allowed_algs = algs("RS256 none HS256");
    ck_assert_int_eq(check_with(NULL, none, &e), IPSIE_ERR_JWT_ALG);
    ck_assert_int_eq(check_with(NULL, hs, &e), IPSIE_ERR_JWT_ALG);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05016"));
}
END_TEST

START_TEST(unknown_kid_asks_for_a_jwks_refetch)
{
    const char *jwt = sign_raw(rsa_key, "RS256", header_typed("RS256", "rotated-2", "logout+jwt"),
                               json_text(logout_claims()));

    ck_assert_int_eq(check(jwt), IPSIE_ERR_JWT_KID);
}
END_TEST

START_TEST(bad_signature_is_reported_as_such)
{
    const char *jwt = sign_raw(rsa_other, "RS256", header_typed("RS256", "rsa1", "logout+jwt"),
                               json_text(logout_claims()));

    ck_assert_int_eq(check(jwt), IPSIE_ERR_JWT_SIGNATURE);
}
END_TEST

START_TEST(jwe_oversized_and_garbage_tokens_are_refused)
{
    char *huge = apr_palloc(pool, IPSIE_JWT_MAX_LEN + 2);

    memset(huge, 'a', IPSIE_JWT_MAX_LEN + 1);
    huge[IPSIE_JWT_MAX_LEN + 1] = '\0';
    ck_assert_int_eq(check("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05011"));
    ck_assert_int_eq(check(huge), IPSIE_ERR_TOO_LARGE);
    ck_assert_int_eq(check("not a token"), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(check(""), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(check(NULL), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(check("a.b.c"), IPSIE_ERR_MALFORMED);
}
END_TEST

/* ---- iss and aud ---- */

START_TEST(wrong_or_missing_iss_is_refused)
{
    assert_refused(with("iss", json_string(ISSUER "/")), "IPSIE05201", "iss");
    assert_refused(without("iss"), "IPSIE05201", "iss");
    assert_refused(with("iss", json_pack("[s]", ISSUER)), "IPSIE05201", "iss");
}
END_TEST

START_TEST(aud_missing_or_of_another_client_is_refused)
{
    assert_refused(without("aud"), "IPSIE05202", "aud");
    assert_refused(with("aud", json_string("client-2")), "IPSIE05202", "aud");
    assert_refused(with("aud", json_array()), "IPSIE05202", "aud");
    assert_refused(with("aud", json_integer(1)), "IPSIE05202", "aud");
}
END_TEST

START_TEST(aud_array_holding_the_client_is_accepted)
{
    ck_assert_int_eq(validate(with("aud", json_pack("[s]", CLIENT))), APR_SUCCESS);
    ck_assert_int_eq(validate(with("aud", json_pack("[ss]", "other-rp", CLIENT))), APR_SUCCESS);
}
END_TEST

START_TEST(aud_array_without_the_client_is_refused)
{
    assert_refused(with("aud", json_pack("[ss]", "other-rp", "client-2")), "IPSIE05202", "aud");
    assert_refused(with("aud", json_pack("[si]", CLIENT, 1)), "IPSIE05202", "aud");
}
END_TEST

START_TEST(aud_array_is_refused_under_the_sl1_profile)
{
    ipsie_logout_token_expect_t e = expect_default();

    e.aud_single_string = 1;
    ck_assert_int_eq(validate_with(with("aud", json_pack("[s]", CLIENT)), &e),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05202"));
    ck_assert_int_eq(validate_with(logout_claims(), &e), APR_SUCCESS);
}
END_TEST

/* ---- iat and exp ---- */

START_TEST(iat_missing_or_not_an_integer_is_refused)
{
    assert_refused(without("iat"), "IPSIE05203", "iat");
    assert_refused(with("iat", json_string("1700000000")), "IPSIE05203", "iat");
    assert_refused(with("iat", json_real((double)NOW)), "IPSIE05203", "iat");
    assert_refused(with("iat", json_null()), "IPSIE05203", "iat");
}
END_TEST

START_TEST(iat_at_now_plus_skew_is_accepted_one_second_later_refused)
{
    ck_assert_int_eq(validate(with("iat", json_integer(NOW + SKEW))), APR_SUCCESS);
    assert_refused(with("iat", json_integer(NOW + SKEW + 1)), "IPSIE05204", "iat");
    assert_refused(with("iat", json_integer(LLONG_MAX)), "IPSIE05204", "iat");
}
END_TEST

START_TEST(iat_at_now_minus_max_age_is_accepted_one_second_earlier_refused)
{
    ck_assert_int_eq(validate(with("iat", json_integer(NOW - MAX_AGE))), APR_SUCCESS);
    assert_refused(with("iat", json_integer(NOW - MAX_AGE - 1)), "IPSIE05205", "iat");
    assert_refused(with("iat", json_integer(0)), "IPSIE05205", "iat");
    assert_refused(with("iat", json_integer(LLONG_MIN)), "IPSIE05205", "iat");
}
END_TEST

START_TEST(exp_past_is_refused_at_now_minus_skew_one_second_later_accepted)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();

    assert_refused(with("exp", json_integer(NOW - SKEW)), "IPSIE05207", "exp");
    assert_refused(with("exp", json_integer(NOW - 3600)), "IPSIE05207", "exp");
    assert_refused(with("exp", json_integer(0)), "IPSIE05207", "exp");
    ck_assert_int_eq(check_with(&t, logout_token(with("exp", json_integer(NOW - SKEW + 1))), &e),
                     APR_SUCCESS);
    ck_assert_int_eq(t->exp, NOW - SKEW + 1);
}
END_TEST

START_TEST(exp_that_is_not_an_integer_is_refused)
{
    assert_refused(with("exp", json_string("1700000300")), "IPSIE05206", "exp");
    assert_refused(with("exp", json_real((double)(NOW + 300))), "IPSIE05206", "exp");
    assert_refused(with("exp", json_null()), "IPSIE05206", "exp");
}
END_TEST

START_TEST(exp_absent_is_accepted)
{
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e = expect_default();

    ck_assert_int_eq(check_with(&t, logout_token(without("exp")), &e), APR_SUCCESS);
    ck_assert_int_eq(t->exp, 0);
}
END_TEST

/* ---- jti ---- */

START_TEST(jti_missing_empty_or_not_a_string_is_refused)
{
    assert_refused(without("jti"), "IPSIE05208", "jti");
    assert_refused(with("jti", json_string("")), "IPSIE05208", "jti");
    assert_refused(with("jti", json_integer(42)), "IPSIE05208", "jti");
    assert_refused(with("jti", json_pack("[s]", JTI)), "IPSIE05208", "jti");
}
END_TEST

START_TEST(jti_of_256_characters_is_accepted_257_refused)
{
    ck_assert_int_eq(validate(with("jti", json_string(repeat('j', IPSIE_LOGOUT_JTI_MAX_LEN)))),
                     APR_SUCCESS);
    assert_refused(with("jti", json_string(repeat('j', IPSIE_LOGOUT_JTI_MAX_LEN + 1))),
                   "IPSIE05208", "jti");
}
END_TEST

START_TEST(jti_with_a_control_or_non_ascii_character_is_refused)
{
    static const char *const jtis[] = {"a\nb", "\r", "a\tb", "a\x7f", "\x01", "caf\xc3\xa9"};
    size_t i;

    for (i = 0; i < sizeof(jtis) / sizeof(jtis[0]); i++) {
        assert_refused(with("jti", json_string(jtis[i])), "IPSIE05208", "jti");
    }
    ck_assert_int_eq(validate(with("jti", json_string(" !~{}\"\\/ "))), APR_SUCCESS);
}
END_TEST

/* ---- events ---- */

START_TEST(events_missing_or_not_an_object_is_refused)
{
    assert_refused(without("events"), "IPSIE05209", "events");
    assert_refused(with("events", json_string(EVENT)), "IPSIE05209", "events");
    assert_refused(with("events", json_pack("[s]", EVENT)), "IPSIE05209", "events");
}
END_TEST

START_TEST(events_without_the_back_channel_logout_member_is_refused)
{
    assert_refused(with("events", json_object()), "IPSIE05209", "events");
    assert_refused(with("events", json_pack("{s:{}}", "https://schemas.openid.net/secevent/"
                                                      "caep/event-type/session-revoked")),
                   "IPSIE05209", "events");
    assert_refused(with("events", json_pack("{s:{}}", EVENT "/")), "IPSIE05209", "events");
}
END_TEST

START_TEST(events_member_that_is_not_an_object_is_refused)
{
    assert_refused(with("events", json_pack("{s:s}", EVENT, "")), "IPSIE05209", "events");
    assert_refused(with("events", json_pack("{s:b}", EVENT, 1)), "IPSIE05209", "events");
    assert_refused(with("events", json_pack("{s:n}", EVENT)), "IPSIE05209", "events");
    assert_refused(with("events", json_pack("{s:[]}", EVENT)), "IPSIE05209", "events");
}
END_TEST

START_TEST(events_member_with_content_or_beside_other_events_is_accepted)
{
    ck_assert_int_eq(validate(with("events", json_pack("{s:{s:s}}", EVENT, "reason", "x"))),
                     APR_SUCCESS);
    ck_assert_int_eq(validate(with("events", json_pack("{s:{}, s:{}}", "urn:other", EVENT))),
                     APR_SUCCESS);
}
END_TEST

/* ---- sub and sid ---- */

START_TEST(neither_sid_nor_sub_is_refused)
{
    assert_refused(without("sid"), "IPSIE05211", "neither");
}
END_TEST

START_TEST(sub_empty_non_string_oversized_or_with_control_characters_is_refused)
{
    assert_refused(with("sub", json_string("")), "IPSIE05210", "sub is");
    assert_refused(with("sub", json_integer(42)), "IPSIE05210", "sub is");
    assert_refused(with("sub", json_null()), "IPSIE05210", "sub is");
    assert_refused(with("sub", json_string(repeat('s', 256))), "IPSIE05210", "sub is");
    assert_refused(with("sub", json_string("alice\r\nX-Injected: yes")), "IPSIE05210", "sub is");
    assert_refused(with("sub", json_string("alice\x7f")), "IPSIE05210", "sub is");
    ck_assert_ptr_null(strstr(captured_log, "Injected"));
    ck_assert_int_eq(validate(with("sub", json_string(repeat('s', 255)))), APR_SUCCESS);
}
END_TEST

START_TEST(sid_empty_non_string_oversized_or_with_control_characters_is_refused)
{
    json_t *c = without("sid");

    json_object_set_new(c, "sub", json_string(SUB));
    assert_refused(with("sid", json_string("")), "IPSIE05210", "sid is");
    assert_refused(with("sid", json_integer(42)), "IPSIE05210", "sid is");
    assert_refused(with("sid", json_pack("[s]", SID)), "IPSIE05210", "sid is");
    assert_refused(with("sid", json_string(repeat('s', 256))), "IPSIE05210", "sid is");
    assert_refused(with("sid", json_string("s\n1")), "IPSIE05210", "sid is");
    assert_refused(with("sid", json_string("s\x1f")), "IPSIE05210", "sid is");
    ck_assert_int_eq(validate(with("sid", json_string(repeat('s', 255)))), APR_SUCCESS);
    /* A bad sid is no absent one, even beside a good sub. */
    json_object_set_new(c, "sid", json_string(""));
    assert_refused(c, "IPSIE05210", "sid is");
}
END_TEST

/* ---- nonce ---- */

START_TEST(nonce_present_is_refused)
{
    assert_refused(with("nonce", json_string(NONCE)), "IPSIE05212", "nonce");
    assert_refused(with("nonce", json_string("")), "IPSIE05212", "nonce");
    assert_refused(with("nonce", json_null()), "IPSIE05212", "nonce");
}
END_TEST

/* An ID token is no logout token, though signed by the same keys for the same client. */
START_TEST(id_token_is_refused_as_a_logout_token)
{
    ck_assert_int_eq(check(sign_raw(rsa_key, "RS256", header_typed("RS256", "rsa1", NULL),
                                    json_text(good_claims()))),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(
        check(sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()))),
        IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

/* ---- the caller's side ---- */

START_TEST(missing_expectations_refuse_every_token)
{
    ipsie_logout_token_expect_t e = expect_default();
    const char *jwt = logout_token(logout_claims());

    ck_assert_int_eq(check_with(NULL, jwt, NULL), IPSIE_ERR_JWT_CLAIMS);
    e.issuer = NULL;
    ck_assert_int_eq(check_with(NULL, jwt, &e), IPSIE_ERR_JWT_CLAIMS);
    e = expect_default();
    e.client_id = NULL;
    ck_assert_int_eq(check_with(NULL, jwt, &e), IPSIE_ERR_JWT_CLAIMS);
    e = expect_default();
    e.max_age = 0;
    ck_assert_int_eq(check_with(NULL, jwt, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05200"));
}
END_TEST

START_TEST(refusals_never_log_the_token)
{
    json_t *c = with("sub", json_string("alice-the-user"));
    const char *jwt;
    const char *bad_sig;

    json_object_set_new(c, "nonce", json_string(NONCE));
    jwt = logout_token(c);
    bad_sig = sign_raw(rsa_other, "RS256", header_typed("RS256", "rsa1", "logout+jwt"),
                       json_text(logout_claims()));
    ck_assert_int_eq(check(jwt), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(check(bad_sig), IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_int_eq(check(typed_token(logout_claims(), "JWT")), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(check(apr_pstrcat(pool, jwt, ".x", NULL)), IPSIE_ERR_MALFORMED);
    ck_assert_int_gt(log_lines(), 3);
    ck_assert_ptr_null(strstr(captured_log, apr_pstrndup(pool, jwt, 16)));
    ck_assert_ptr_null(strstr(captured_log, strrchr(jwt, '.') + 1));
    ck_assert_ptr_null(strstr(captured_log, strrchr(bad_sig, '.') + 1));
    ck_assert_ptr_null(strstr(captured_log, "alice-the-user"));
    ck_assert_ptr_null(strstr(captured_log, NONCE));
    ck_assert_ptr_null(strstr(captured_log, SID));
    ck_assert_ptr_null(strstr(captured_log, JTI));
}
END_TEST

static Suite *logout_token_suite(void)
{
    Suite *s = suite_create("ipsie_logout_token");
    TCase *tc = tcase_create("logout_token");

    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, valid_token_naming_a_session_is_accepted);
    tcase_add_test(tc, valid_token_naming_a_user_is_accepted);
    tcase_add_test(tc, valid_token_naming_both_is_accepted);
    tcase_add_test(tc, token_stays_valid_after_its_claims_are_released);
    tcase_add_test(tc, typ_logout_jwt_is_accepted_in_any_case_and_with_the_application_prefix);
    tcase_add_test(tc, typ_of_another_token_is_refused);
    tcase_add_test(tc, crit_header_is_refused);
    tcase_add_test(tc, alg_none_and_hs256_are_refused);
    tcase_add_test(tc, unknown_kid_asks_for_a_jwks_refetch);
    tcase_add_test(tc, bad_signature_is_reported_as_such);
    tcase_add_test(tc, jwe_oversized_and_garbage_tokens_are_refused);
    tcase_add_test(tc, wrong_or_missing_iss_is_refused);
    tcase_add_test(tc, aud_missing_or_of_another_client_is_refused);
    tcase_add_test(tc, aud_array_holding_the_client_is_accepted);
    tcase_add_test(tc, aud_array_without_the_client_is_refused);
    tcase_add_test(tc, aud_array_is_refused_under_the_sl1_profile);
    tcase_add_test(tc, iat_missing_or_not_an_integer_is_refused);
    tcase_add_test(tc, iat_at_now_plus_skew_is_accepted_one_second_later_refused);
    tcase_add_test(tc, iat_at_now_minus_max_age_is_accepted_one_second_earlier_refused);
    tcase_add_test(tc, exp_past_is_refused_at_now_minus_skew_one_second_later_accepted);
    tcase_add_test(tc, exp_that_is_not_an_integer_is_refused);
    tcase_add_test(tc, exp_absent_is_accepted);
    tcase_add_test(tc, jti_missing_empty_or_not_a_string_is_refused);
    tcase_add_test(tc, jti_of_256_characters_is_accepted_257_refused);
    tcase_add_test(tc, jti_with_a_control_or_non_ascii_character_is_refused);
    tcase_add_test(tc, events_missing_or_not_an_object_is_refused);
    tcase_add_test(tc, events_without_the_back_channel_logout_member_is_refused);
    tcase_add_test(tc, events_member_that_is_not_an_object_is_refused);
    tcase_add_test(tc, events_member_with_content_or_beside_other_events_is_accepted);
    tcase_add_test(tc, neither_sid_nor_sub_is_refused);
    tcase_add_test(tc, sub_empty_non_string_oversized_or_with_control_characters_is_refused);
    tcase_add_test(tc, sid_empty_non_string_oversized_or_with_control_characters_is_refused);
    tcase_add_test(tc, nonce_present_is_refused);
    tcase_add_test(tc, id_token_is_refused_as_a_logout_token);
    tcase_add_test(tc, missing_expectations_refuse_every_token);
    tcase_add_test(tc, refusals_never_log_the_token);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(logout_token_suite());
}
