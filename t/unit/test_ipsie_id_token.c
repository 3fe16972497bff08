/* Unit tests of src/ipsie_id_token.c: the ID token claim rules (OIDC Core 3.1.3.7). */
#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_id_token.h"

/* An RS256 ID token signed by rsa_key (kid rsa1) over claims (stolen). */
static const char *id_token(json_t *claims)
{
    return sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(claims));
}

static ipsie_id_token_expect_t expect_default(void)
{
    ipsie_id_token_expect_t e;

    memset(&e, 0, sizeof(e));
    e.issuer = ISSUER;
    e.client_id = CLIENT;
    e.nonce = NONCE;
    e.allowed_algs = all_algs();
    e.aud_single_string = 0;
    e.clock_skew = SKEW;
    e.now = NOW;
    return e;
}

static apr_status_t validate_with(json_t *claims, const ipsie_id_token_expect_t *e)
{
    json_t *out = (json_t *)1;
    apr_status_t rv = ipsie_id_token_validate(&out, id_token(claims), std_jwks(), e, pool);

    if (rv == APR_SUCCESS) {
        ck_assert_ptr_nonnull(out);
    }
    else {
        ck_assert_ptr_null(out);
    }
    return rv;
}

static apr_status_t validate(json_t *claims)
{
    ipsie_id_token_expect_t e = expect_default();

    return validate_with(claims, &e);
}

/* ---- ID token claims ---- */

START_TEST(valid_id_token_is_accepted)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();

    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), &e, pool),
        APR_SUCCESS);
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "session_expiry")), NOW + 3600);
    ck_assert_int_eq(log_lines(), 0);
}
END_TEST

START_TEST(signature_failure_is_reported_as_such)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();
    const char *jwt =
        sign_raw(rsa_other, "RS256", header_text("RS256", "rsa1"), json_text(good_claims()));

    ck_assert_int_eq(ipsie_id_token_validate(&claims, jwt, std_jwks(), &e, pool),
                     IPSIE_ERR_JWT_SIGNATURE);
    ck_assert_ptr_null(claims);
}
END_TEST

static void assert_claim_refused(json_t *claims, const char *tag, const char *claim)
{
    ck_assert_int_eq(validate(claims), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(log_lines(), 1);
    ck_assert_ptr_nonnull(strstr(captured_log, tag));
    ck_assert_ptr_nonnull(strstr(captured_log, claim));
}

START_TEST(wrong_iss_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "iss", json_string(ISSUER "/"));
    assert_claim_refused(c, "IPSIE05040", "iss");
}
END_TEST

START_TEST(missing_or_non_string_iss_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_del(c, "iss");
    ck_assert_int_eq(validate(c), IPSIE_ERR_JWT_CLAIMS);
    json_object_set_new(d, "iss", json_pack("[s]", ISSUER));
    ck_assert_int_eq(validate(d), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(aud_of_another_client_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_string("client-2"));
    assert_claim_refused(c, "IPSIE05041", "aud");
}
END_TEST

START_TEST(aud_array_holding_only_the_client_is_accepted)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_pack("[s]", CLIENT));
    ck_assert_int_eq(validate(c), APR_SUCCESS);
}
END_TEST

START_TEST(aud_array_with_an_extra_audience_is_refused)
{
    json_t *c = good_claims();

    json_object_set_new(c, "aud", json_pack("[ss]", CLIENT, "other-api"));
    json_object_set_new(c, "azp", json_string(CLIENT));
    assert_claim_refused(c, "IPSIE05041", "aud");
}
END_TEST

START_TEST(aud_empty_missing_or_not_strings_is_refused)
{
    json_t *empty = good_claims();
    json_t *missing = good_claims();
    json_t *number = good_claims();
    json_t *nested = good_claims();

    json_object_set_new(empty, "aud", json_array());
    json_object_del(missing, "aud");
    json_object_set_new(number, "aud", json_integer(1));
    json_object_set_new(nested, "aud", json_pack("[[s]]", CLIENT));
    ck_assert_int_eq(validate(empty), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(missing), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(nested), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(sl1_profile_refuses_aud_array_even_of_one_element)
{
    json_t *arr = good_claims();
    ipsie_id_token_expect_t e = expect_default();

    e.aud_single_string = 1;
    json_object_set_new(arr, "aud", json_pack("[s]", CLIENT));
    ck_assert_int_eq(validate_with(arr, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05041"));
    ck_assert_int_eq(validate_with(good_claims(), &e), APR_SUCCESS);
}
END_TEST

START_TEST(wrong_azp_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "azp", json_string("client-2"));
    assert_claim_refused(c, "IPSIE05042", "azp");
    json_object_set_new(d, "azp", json_string(CLIENT));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(azp_is_required_when_aud_has_several_values)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "aud", json_pack("[ss]", CLIENT, CLIENT));
    ck_assert_int_eq(validate(c), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "azp"));
    json_object_set_new(d, "aud", json_pack("[ss]", CLIENT, CLIENT));
    json_object_set_new(d, "azp", json_string(CLIENT));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(exp_at_now_minus_skew_is_refused_one_second_later_accepted)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "exp", json_integer(NOW - SKEW));
    assert_claim_refused(c, "IPSIE05044", "exp");
    json_object_set_new(d, "exp", json_integer(NOW - SKEW + 1));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(exp_that_is_not_an_integer_is_refused)
{
    json_t *str = good_claims();
    json_t *real = good_claims();
    json_t *missing = good_claims();

    json_object_set_new(str, "exp", json_string("1700000300"));
    json_object_set_new(real, "exp", json_real((double)(NOW + 300)));
    json_object_del(missing, "exp");
    assert_claim_refused(str, "IPSIE05043", "exp");
    ck_assert_int_eq(validate(real), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(missing), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(iat_beyond_now_plus_skew_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "iat", json_integer(NOW + SKEW + 1));
    assert_claim_refused(c, "IPSIE05046", "iat");
    json_object_set_new(d, "iat", json_integer(NOW + SKEW));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(iat_missing_or_not_an_integer_is_refused)
{
    json_t *missing = good_claims();
    json_t *str = good_claims();

    json_object_del(missing, "iat");
    json_object_set_new(str, "iat", json_string("now"));
    assert_claim_refused(missing, "IPSIE05045", "iat");
    ck_assert_int_eq(validate(str), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(nbf_in_the_future_is_refused)
{
    json_t *c = good_claims();
    json_t *d = good_claims();

    json_object_set_new(c, "nbf", json_integer(NOW + SKEW + 1));
    assert_claim_refused(c, "IPSIE05050", "nbf");
    json_object_set_new(d, "nbf", json_integer(NOW));
    ck_assert_int_eq(validate(d), APR_SUCCESS);
}
END_TEST

START_TEST(sub_missing_empty_or_oversized_is_refused)
{
    json_t *missing = good_claims();
    json_t *empty = good_claims();
    json_t *number = good_claims();
    json_t *longer = good_claims();
    char big[257];

    memset(big, 's', 256);
    big[256] = '\0';
    json_object_del(missing, "sub");
    json_object_set_new(empty, "sub", json_string(""));
    json_object_set_new(number, "sub", json_integer(42));
    json_object_set_new(longer, "sub", json_string(big));
    assert_claim_refused(missing, "IPSIE05047", "sub");
    ck_assert_int_eq(validate(empty), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(longer), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

/* sub becomes REMOTE_USER and goes into log lines: no control character may forge either. */
START_TEST(sub_with_a_control_character_is_refused)
{
    static const char *const subs[] = {
        "alice\r\nX-Injected: yes", "alice\n", "\ralice", "ali\tce", "alice\x7f", "\x01", "a\x1f",
    };
    json_t *fine = good_claims();
    size_t i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        json_t *c = good_claims();
        captured_log[0] = '\0';
        json_object_set_new(c, "sub", json_string(subs[i]));
        ck_assert_msg(validate(c) == IPSIE_ERR_JWT_CLAIMS, "sub %zu was accepted", i);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05047"));
        ck_assert_ptr_null(strstr(captured_log, "Injected"));
    }
    /* Spaces and bytes past ASCII are no control characters. */
    json_object_set_new(fine, "sub", json_string("al ice \xc3\xa9\xc2\x80"));
    ck_assert_int_eq(validate(fine), APR_SUCCESS);
}
END_TEST

START_TEST(missing_or_different_nonce_is_refused)
{
    json_t *missing = good_claims();
    json_t *other = good_claims();
    json_t *prefix = good_claims();
    json_t *number = good_claims();

    json_object_del(missing, "nonce");
    json_object_set_new(other, "nonce", json_string("n-0S6_WzA2Mk"));
    json_object_set_new(prefix, "nonce", json_string("n-0S6_WzA2M"));
    json_object_set_new(number, "nonce", json_integer(1));
    assert_claim_refused(missing, "IPSIE05048", "nonce");
    ck_assert_int_eq(validate(other), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(prefix), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate(number), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_null(strstr(captured_log, NONCE));
}
END_TEST

START_TEST(nonce_present_when_none_was_sent_is_refused)
{
    json_t *with = good_claims();
    json_t *without = good_claims();
    ipsie_id_token_expect_t e = expect_default();

    e.nonce = NULL;
    ck_assert_int_eq(validate_with(with, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05049"));
    json_object_del(without, "nonce");
    ck_assert_int_eq(validate_with(without, &e), APR_SUCCESS);
}
END_TEST

START_TEST(refreshed_id_token_may_omit_the_nonce_but_not_change_it)
{
    json_t *without = good_claims();
    json_t *other = good_claims();
    ipsie_id_token_expect_t e = expect_default();

    e.nonce_optional = 1;
    json_object_del(without, "nonce");
    json_object_set_new(other, "nonce", json_string("n-0S6_WzA2Mk"));
    ck_assert_int_eq(validate_with(good_claims(), &e), APR_SUCCESS);
    ck_assert_int_eq(validate_with(without, &e), APR_SUCCESS);
    ck_assert_int_eq(validate_with(other, &e), IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05048"));
    /* A session whose ID token had none: none now either. */
    e.nonce = NULL;
    ck_assert_int_eq(validate_with(good_claims(), &e), IPSIE_ERR_JWT_CLAIMS);
}
END_TEST

START_TEST(missing_expectations_refuse_every_token)
{
    json_t *claims = NULL;
    ipsie_id_token_expect_t e = expect_default();

    e.client_id = NULL;
    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), &e, pool),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(
        ipsie_id_token_validate(&claims, id_token(good_claims()), std_jwks(), NULL, pool),
        IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_null(claims);
}
END_TEST

/* ---- RFC 8725: the JWS header of an ID token ---- */

/* validate() of a valid ID token under this header (its alg RS256, its kid rsa1). */
static apr_status_t validate_header(const char *header)
{
    json_t *out = NULL;
    ipsie_id_token_expect_t e = expect_default();
    apr_status_t rv = ipsie_id_token_validate(
        &out, sign_raw(rsa_key, "RS256", header, json_text(good_claims())), std_jwks(), &e, pool);

    ck_assert(rv == APR_SUCCESS ? out != NULL : out == NULL);
    return rv;
}

START_TEST(typ_jwt_in_any_spelling_or_none_is_accepted)
{
    static const char *const typs[] = {"JWT", "jwt", "Jwt", "application/jwt", "Application/JWT"};
    size_t i;

    for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        ck_assert_msg(validate_header(header_typed("RS256", "rsa1", typs[i])) == APR_SUCCESS,
                      "typ %s was refused", typs[i]);
    }
    ck_assert_int_eq(validate_header(header_typed("RS256", "rsa1", NULL)), APR_SUCCESS);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(typ_of_another_kind_of_token_is_refused)
{
    static const char *const typs[] = {"at+jwt",
                                       "application/at+jwt",
                                       "AT+JWT",
                                       "logout+jwt",
                                       "secevent+jwt",
                                       "application/secevent+jwt",
                                       "dpop+jwt",
                                       "JOSE",
                                       "JWS",
                                       "",
                                       "JWT ",
                                       "text/jwt",
                                       "application/application/jwt"};
    size_t i;

    for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        captured_log[0] = '\0';
        ck_assert_msg(validate_header(header_typed("RS256", "rsa1", typs[i]))
                          == IPSIE_ERR_JWT_CLAIMS,
                      "typ \"%s\" was accepted", typs[i]);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
        ck_assert_ptr_nonnull(strstr(captured_log, "is not JWT"));
    }
}
END_TEST

START_TEST(typ_that_is_not_a_string_is_refused)
{
    ck_assert_int_eq(validate_header("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":1}"),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate_header("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":[\"JWT\"]}"),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_int_eq(validate_header("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":null}"),
                     IPSIE_ERR_JWT_CLAIMS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05026"));
}
END_TEST

START_TEST(any_crit_header_is_refused)
{
    static const char *const headers[] = {
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\",\"crit\":[\"exp\"],\"exp\":1}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"b64\"],\"b64\":true}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[]}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":null}",
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":\"x\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        captured_log[0] = '\0';
        ck_assert_msg(validate_header(headers[i]) != APR_SUCCESS, "%s was accepted", headers[i]);
        ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05019"));
    }
}
END_TEST

static Suite *id_token_suite(void)
{
    Suite *s = suite_create("ipsie_id_token");
    TCase *claims = tcase_create("id_token");

    tcase_add_unchecked_fixture(claims, keys_setup, keys_teardown);
    tcase_add_checked_fixture(claims, pool_setup, pool_teardown);
    tcase_add_test(claims, valid_id_token_is_accepted);
    tcase_add_test(claims, signature_failure_is_reported_as_such);
    tcase_add_test(claims, wrong_iss_is_refused);
    tcase_add_test(claims, missing_or_non_string_iss_is_refused);
    tcase_add_test(claims, aud_of_another_client_is_refused);
    tcase_add_test(claims, aud_array_holding_only_the_client_is_accepted);
    tcase_add_test(claims, aud_array_with_an_extra_audience_is_refused);
    tcase_add_test(claims, aud_empty_missing_or_not_strings_is_refused);
    tcase_add_test(claims, sl1_profile_refuses_aud_array_even_of_one_element);
    tcase_add_test(claims, wrong_azp_is_refused);
    tcase_add_test(claims, azp_is_required_when_aud_has_several_values);
    tcase_add_test(claims, exp_at_now_minus_skew_is_refused_one_second_later_accepted);
    tcase_add_test(claims, exp_that_is_not_an_integer_is_refused);
    tcase_add_test(claims, iat_beyond_now_plus_skew_is_refused);
    tcase_add_test(claims, iat_missing_or_not_an_integer_is_refused);
    tcase_add_test(claims, nbf_in_the_future_is_refused);
    tcase_add_test(claims, sub_missing_empty_or_oversized_is_refused);
    tcase_add_test(claims, sub_with_a_control_character_is_refused);
    tcase_add_test(claims, missing_or_different_nonce_is_refused);
    tcase_add_test(claims, nonce_present_when_none_was_sent_is_refused);
    tcase_add_test(claims, refreshed_id_token_may_omit_the_nonce_but_not_change_it);
    tcase_add_test(claims, missing_expectations_refuse_every_token);
    tcase_add_test(claims, typ_jwt_in_any_spelling_or_none_is_accepted);
    tcase_add_test(claims, typ_of_another_kind_of_token_is_refused);
    tcase_add_test(claims, typ_that_is_not_a_string_is_refused);
    tcase_add_test(claims, any_crit_header_is_refused);
    suite_add_tcase(s, claims);
    return s;
}

int main(void)
{
    return run_suite(id_token_suite());
}
