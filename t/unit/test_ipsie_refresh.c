/* Unit tests of refresh decisions (SPEC section 1, OpenID Connect Core 12): when an access
 * token is due, the ceiling preserved on a refresh, a later session_expiry only with the
 * refresh action at the ceiling and the same user, an earlier auth_time refused, and what the
 * session keeps of the answer. */
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_refresh.h"
#include "test_jose_support.h"

#define LEEWAY 30
#define MAX_DURATION 28800
#define AUTH_TIME (NOW - 100)
#define SUB "248289761001"

static ipsie_login_policy_t policy_default(void)
{
    ipsie_login_policy_t pol;

    memset(&pol, 0, sizeof(pol));
    pol.client_id = CLIENT;
    pol.signing_algs = all_algs();
    pol.clock_skew = SKEW;
    pol.max_age = -1;
    pol.session.leeway = LEEWAY;
    pol.session.max_duration = MAX_DURATION;
    pol.session.inactivity_timeout = 3600;
    pol.keep_access_token = 1;
    pol.keep_refresh_token = 1;
    return pol;
}

/* Claims of the login's ID token: good_claims with auth_time and sid. */
static json_t *login_claims(void)
{
    json_t *c = good_claims();

    json_object_set_new(c, "auth_time", json_integer(AUTH_TIME));
    json_object_set_new(c, "sid", json_string("sid-1"));
    return c;
}

static const char *signed_token(json_t *claims)
{
    return sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), json_text(claims));
}

/* The session a login at NOW with login_claims made, holding tokens. */
static ipsie_session_t *session_of(json_t *claims)
{
    ipsie_login_policy_t pol = policy_default();
    ipsie_session_t *s = NULL;
    ipsie_session_tokens_t t = {"at-1", 300, "rt-1", 1, 1, 0};
    json_t *copy = json_deep_copy(claims);

    ck_assert_int_eq(
        ipsie_session_create(&s, copy, signed_token(claims), NULL, NULL, &pol.session, NOW, pool),
        APR_SUCCESS);
    json_decref(copy);
    ipsie_session_set_tokens(s, &t, NOW, pool);
    return s;
}

static ipsie_session_t *session(void)
{
    return session_of(login_claims());
}

/* Claims of a refreshed ID token issued at t: the login's, with a new iat and exp. */
static json_t *refreshed_claims(long long t)
{
    json_t *c = login_claims();

    json_object_set_new(c, "iat", json_integer(t));
    json_object_set_new(c, "exp", json_integer(t + 300));
    return c;
}

/* ---- when an access token is due ---- */

START_TEST(due_within_before_seconds_of_the_access_token_expiry)
{
    ipsie_session_t *s = session();

    ck_assert(s->access_token_expiry == NOW + 300);
    ck_assert_int_eq(ipsie_refresh_due(s, 60, NOW + 239), 0);
    ck_assert_int_eq(ipsie_refresh_due(s, 60, NOW + 240), 1);
    ck_assert_int_eq(ipsie_refresh_due(s, 60, NOW + 400), 1);
    ck_assert_int_eq(ipsie_refresh_due(s, 0, NOW + 299), 0);
    ck_assert_int_eq(ipsie_refresh_due(s, 0, NOW + 300), 1);
}
END_TEST

START_TEST(never_due_without_a_refresh_token_an_expiry_or_the_directive)
{
    ipsie_session_t *s = session();

    ck_assert_int_eq(ipsie_refresh_due(s, -1, NOW + 400), 0);
    s->access_token_expiry = 0;
    ck_assert_int_eq(ipsie_refresh_due(s, 60, NOW + 400), 0);
    s = session();
    s->refresh_token = NULL;
    ck_assert_int_eq(ipsie_refresh_due(s, 60, NOW + 400), 0);
}
END_TEST

/* ---- the decision ---- */

static ipsie_refresh_outcome_e decide(long long *ceiling, long long *expiry,
                                      const ipsie_session_t *s, json_t *claims, int renew,
                                      long long now)
{
    ipsie_login_policy_t pol = policy_default();
    ipsie_refresh_outcome_e out =
        ipsie_refresh_decide(ceiling, expiry, s, claims, renew, &pol.session, now);

    json_decref(claims);
    return out;
}

START_TEST(a_refresh_preserves_the_ceiling_whatever_session_expiry_it_brings)
{
    ipsie_session_t *s = session();
    json_t *later = refreshed_claims(NOW + 1000);
    long long ceiling, expiry;

    ck_assert(s->ceiling == NOW + 3600 - LEEWAY);
    json_object_set_new(later, "session_expiry", json_integer(NOW + 90000));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, later, 0, NOW + 1000), IPSIE_REFRESH_OK);
    ck_assert(ceiling == s->ceiling);
    ck_assert(expiry == NOW + 3600);
    /* Without an ID token, the same. */
    ck_assert_int_eq(decide(&ceiling, &expiry, s, NULL, 0, NOW + 1000), IPSIE_REFRESH_OK);
    ck_assert(ceiling == s->ceiling);
    /* Even at the ceiling, without the refresh action. */
    later = refreshed_claims(s->ceiling);
    json_object_set_new(later, "session_expiry", json_integer(s->ceiling + 90000));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, later, 0, s->ceiling), IPSIE_REFRESH_OK);
    ck_assert(ceiling == s->ceiling);
}
END_TEST

START_TEST(the_refresh_action_at_the_ceiling_takes_a_later_session_expiry)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    json_t *later = refreshed_claims(now);
    long long ceiling, expiry;

    json_object_set_new(later, "session_expiry", json_integer(now + 3600));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, later, 1, now), IPSIE_REFRESH_RENEWED);
    ck_assert(expiry == now + 3600);
    ck_assert(ceiling == now + 3600 - LEEWAY);
    /* IPSIESessionMaxDuration counts from the re-validation, and can only shorten it. */
    later = refreshed_claims(now);
    json_object_set_new(later, "session_expiry", json_integer(now + MAX_DURATION + 5000));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, later, 1, now), IPSIE_REFRESH_RENEWED);
    ck_assert(ceiling == now + MAX_DURATION);
    ck_assert(expiry == now + MAX_DURATION + 5000);
    /* One second past now + leeway is later. */
    later = refreshed_claims(now);
    json_object_set_new(later, "session_expiry", json_integer(now + LEEWAY + 1));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, later, 1, now), IPSIE_REFRESH_RENEWED);
    ck_assert(ceiling == now + 1);
}
END_TEST

START_TEST(the_refresh_action_without_a_later_session_expiry_renews_nothing)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    /* At now + leeway, the login's own, a string, a real, 10^10, negative, null. */
    json_t *values[] = {json_integer(now + LEEWAY),
                        json_integer(NOW + 3600),
                        json_string("9999999999"),
                        json_real((double)now + 7200.5),
                        json_integer(10000000000LL),
                        json_integer(-5),
                        json_null()};
    long long ceiling, expiry;
    json_t *c;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        c = refreshed_claims(now);
        json_object_set_new(c, "session_expiry", values[i]);
        ck_assert_msg(decide(&ceiling, &expiry, s, c, 1, now) == IPSIE_REFRESH_NOT_LATER,
                      "value %d", (int)i);
        ck_assert(ceiling == s->ceiling);
        ck_assert(expiry == s->session_expiry);
    }
    c = refreshed_claims(now);
    json_object_del(c, "session_expiry");
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 1, now), IPSIE_REFRESH_NOT_LATER);
    ck_assert_int_eq(decide(&ceiling, &expiry, s, NULL, 1, now), IPSIE_REFRESH_NO_ID_TOKEN);
    ck_assert(ceiling == s->ceiling);
}
END_TEST

START_TEST(another_sub_or_iss_is_refused_with_or_without_the_refresh_action)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    long long ceiling, expiry;
    int renew;

    for (renew = 0; renew <= 1; renew++) {
        json_t *other_sub = refreshed_claims(now);
        json_t *other_iss = refreshed_claims(now);
        json_t *no_sub = refreshed_claims(now);
        json_t *sid_number = refreshed_claims(now);

        json_object_set_new(other_sub, "sub", json_string("someone-else"));
        json_object_set_new(other_sub, "session_expiry", json_integer(now + 3600));
        json_object_set_new(other_iss, "iss", json_string("https://other.example"));
        json_object_set_new(other_iss, "session_expiry", json_integer(now + 3600));
        json_object_del(no_sub, "sub");
        json_object_set_new(sid_number, "sid", json_integer(1));
        ck_assert_int_eq(decide(&ceiling, &expiry, s, other_sub, renew, now),
                         IPSIE_REFRESH_OTHER_USER);
        ck_assert(ceiling == s->ceiling);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, other_iss, renew, now),
                         IPSIE_REFRESH_OTHER_USER);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, no_sub, renew, now),
                         IPSIE_REFRESH_OTHER_USER);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, sid_number, renew, now),
                         IPSIE_REFRESH_OTHER_USER);
    }
}
END_TEST

START_TEST(another_provider_session_is_refused_and_a_renewal_keeps_its_sid)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    long long ceiling, expiry;
    json_t *c;

    c = refreshed_claims(now);
    json_object_set_new(c, "sid", json_string("sid-2"));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 0, now), IPSIE_REFRESH_OTHER_USER);
    /* A refresh whose ID token names no sid is about the same session... */
    c = refreshed_claims(now);
    json_object_del(c, "sid");
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 0, now), IPSIE_REFRESH_OK);
    /* ...but a renewal would drop what revokes it: refused. */
    c = refreshed_claims(now);
    json_object_del(c, "sid");
    json_object_set_new(c, "session_expiry", json_integer(now + 3600));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 1, now), IPSIE_REFRESH_OTHER_USER);
    c = refreshed_claims(now);
    json_object_set_new(c, "session_expiry", json_integer(now + 3600));
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 1, now), IPSIE_REFRESH_RENEWED);
}
END_TEST

START_TEST(an_earlier_auth_time_is_refused)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    long long ceiling, expiry;
    int renew;

    for (renew = 0; renew <= 1; renew++) {
        json_t *earlier = refreshed_claims(now);
        json_t *missing = refreshed_claims(now);
        json_t *text = refreshed_claims(now);
        json_t *same = refreshed_claims(now);
        json_t *later = refreshed_claims(now);

        json_object_set_new(earlier, "auth_time", json_integer(AUTH_TIME - 1));
        json_object_del(missing, "auth_time");
        json_object_set_new(text, "auth_time", json_string("9999999999"));
        json_object_set_new(later, "auth_time", json_integer(now - 5));
        json_object_set_new(earlier, "session_expiry", json_integer(now + 3600));
        json_object_set_new(same, "session_expiry", json_integer(now + 3600));
        json_object_set_new(later, "session_expiry", json_integer(now + 3600));
        ck_assert_int_eq(decide(&ceiling, &expiry, s, earlier, renew, now),
                         IPSIE_REFRESH_AUTH_TIME_EARLIER);
        ck_assert(ceiling == s->ceiling);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, missing, renew, now),
                         IPSIE_REFRESH_AUTH_TIME_EARLIER);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, text, renew, now),
                         IPSIE_REFRESH_AUTH_TIME_EARLIER);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, same, renew, now),
                         renew ? IPSIE_REFRESH_RENEWED : IPSIE_REFRESH_OK);
        ck_assert_int_eq(decide(&ceiling, &expiry, s, later, renew, now),
                         renew ? IPSIE_REFRESH_RENEWED : IPSIE_REFRESH_OK);
    }
}
END_TEST

START_TEST(a_session_without_auth_time_takes_any)
{
    json_t *claims = login_claims();
    ipsie_session_t *s;
    long long ceiling, expiry;
    json_t *c;

    json_object_del(claims, "auth_time");
    s = session_of(claims);
    c = refreshed_claims(NOW + 10);
    json_object_del(c, "auth_time");
    ck_assert_int_eq(decide(&ceiling, &expiry, s, c, 0, NOW + 10), IPSIE_REFRESH_OK);
    ck_assert_int_eq(decide(&ceiling, &expiry, s, refreshed_claims(NOW + 10), 0, NOW + 10),
                     IPSIE_REFRESH_OK);
}
END_TEST

/* ---- what the session keeps ---- */

static ipsie_token_response_t *answer(const char *id_token, const char *refresh_token)
{
    ipsie_token_response_t *t = apr_pcalloc(pool, sizeof(*t));

    t->id_token = id_token;
    t->access_token = "at-2";
    t->refresh_token = refresh_token;
    t->token_type = "Bearer";
    t->expires_in = 600;
    return t;
}

static ipsie_refresh_result_t apply_at(ipsie_session_t *s, const ipsie_token_response_t *t,
                                       int renew, int keys_refetched, long long now)
{
    ipsie_login_policy_t pol = policy_default();
    ipsie_refresh_result_t out;

    ipsie_refresh_apply(&out, s, t, renew, ISSUER, std_jwks(), keys_refetched, &pol, now, pool);
    return out;
}

START_TEST(apply_keeps_the_new_tokens_and_the_ceiling)
{
    ipsie_session_t *s = session();
    long long ceiling = s->ceiling;
    const char *id_token = ipsie_session_id_token(s, pool);
    json_t *c = refreshed_claims(NOW + 250);
    ipsie_refresh_result_t out;

    json_object_set_new(c, "session_expiry", json_integer(NOW + 90000));
    out = apply_at(s, answer(signed_token(c), "rt-2"), 0, 0, NOW + 250);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_OK);
    ck_assert_str_eq(s->access_token, "at-2");
    ck_assert_str_eq(s->refresh_token, "rt-2");
    ck_assert(s->access_token_expiry == NOW + 250 + 600);
    ck_assert(s->ceiling == ceiling);
    ck_assert(s->session_expiry == NOW + 3600);
    ck_assert_int_eq(s->renewed, 0);
    /* The login's ID token stays: its claims are what the application was given. */
    ck_assert_str_eq(ipsie_session_id_token(s, pool), id_token);
    /* Without an ID token and without a new refresh token. */
    out = apply_at(s, answer(NULL, NULL), 0, 0, NOW + 500);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_OK);
    ck_assert_str_eq(s->refresh_token, "rt-2");
    ck_assert(s->access_token_expiry == NOW + 1100);
}
END_TEST

START_TEST(apply_at_the_ceiling_renews_the_session_with_the_new_id_token)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    json_t *c = refreshed_claims(now);
    json_t *userinfo = json_pack("{s:s, s:s}", "sub", SUB, "department", "R&D");
    const char *token;
    ipsie_refresh_result_t out;
    ipsie_login_policy_t pol = policy_default();
    ipsie_session_t *decoded;
    unsigned char *buf;
    apr_size_t len;

    ck_assert_int_eq(ipsie_session_set_userinfo(s, userinfo, NOW, pool), APR_SUCCESS);
    json_decref(userinfo);
    json_object_set_new(c, "session_expiry", json_integer(now + 3600));
    json_object_set_new(c, "email", json_string("new@example.com"));
    token = signed_token(c);
    out = apply_at(s, answer(token, "rt-2"), 1, 0, now);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_RENEWED);
    ck_assert(out.old_ceiling == NOW + 3600 - LEEWAY);
    ck_assert(s->ceiling == now + 3600 - LEEWAY);
    ck_assert(s->session_expiry == now + 3600);
    ck_assert_int_eq(s->renewed, 1);
    ck_assert_str_eq(ipsie_session_id_token(s, pool), token);
    ck_assert_str_eq(ipsie_session_claim(s, "email"), "new@example.com");
    ck_assert_str_eq(ipsie_session_claim(s, "department"), "R&D");
    ck_assert_str_eq(s->sid, "sid-1");
    ck_assert_str_eq(s->refresh_token, "rt-2");
    ck_assert(s->login_time == NOW);
    ck_assert(ipsie_session_check(s, &pol.session, now) == IPSIE_SESSION_VALID);
    /* What is kept reads back. */
    ck_assert_int_eq(ipsie_session_encode(&buf, &len, s, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_session_decode(&decoded, buf, len, pool), APR_SUCCESS);
    ck_assert(decoded->ceiling == s->ceiling);
    ck_assert_str_eq(ipsie_session_claim(decoded, "email"), "new@example.com");
}
END_TEST

START_TEST(apply_leaves_the_session_alone_when_nothing_renews)
{
    ipsie_session_t *s = session();
    long long now = s->ceiling;
    long long ceiling = s->ceiling;
    json_t *c = refreshed_claims(now);
    ipsie_refresh_result_t out;

    out = apply_at(s, answer(signed_token(c), "rt-2"), 1, 0, now);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_NOT_LATER);
    ck_assert(s->ceiling == ceiling);
    ck_assert_str_eq(s->access_token, "at-1");
    ck_assert_str_eq(s->refresh_token, "rt-1");
    out = apply_at(s, answer(NULL, "rt-2"), 1, 0, now);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_NO_ID_TOKEN);
    ck_assert_str_eq(s->refresh_token, "rt-1");
}
END_TEST

START_TEST(apply_validates_the_new_id_token_as_at_login_but_the_nonce)
{
    ipsie_session_t *s = session();
    long long now = NOW + 250;
    json_t *no_nonce = refreshed_claims(now);
    json_t *other_nonce = refreshed_claims(now);
    json_t *other_aud = refreshed_claims(now);
    json_t *expired = refreshed_claims(now);
    json_t *azp = refreshed_claims(now);

    json_object_del(no_nonce, "nonce");
    json_object_set_new(other_nonce, "nonce", json_string("n-other"));
    json_object_set_new(other_aud, "aud", json_pack("[s,s]", CLIENT, "api"));
    json_object_set_new(expired, "exp", json_integer(now - SKEW - 1));
    json_object_set_new(azp, "azp", json_string("another-client"));
    ck_assert_int_eq(apply_at(s, answer(signed_token(no_nonce), NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_OK);
    ck_assert_int_eq(apply_at(s, answer(signed_token(other_nonce), NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_ID_TOKEN_REFUSED);
    ck_assert_int_eq(apply_at(s, answer(signed_token(other_aud), NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_ID_TOKEN_REFUSED);
    ck_assert_int_eq(apply_at(s, answer(signed_token(expired), NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_ID_TOKEN_REFUSED);
    ck_assert_int_eq(apply_at(s, answer(signed_token(azp), NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_ID_TOKEN_REFUSED);
    ck_assert_int_eq(apply_at(s, answer("not.a.token", NULL), 0, 0, now).outcome,
                     IPSIE_REFRESH_ID_TOKEN_REFUSED);
}
END_TEST

START_TEST(apply_asks_for_the_keys_once_when_none_verifies)
{
    ipsie_session_t *s = session();
    long long now = NOW + 250;
    json_t *claims = refreshed_claims(now);
    const char *token =
        sign_raw(rsa_other, "RS256", header_text("RS256", "rsa-new"), json_text(claims));
    ipsie_refresh_result_t out;

    out = apply_at(s, answer(token, "rt-2"), 0, 0, now);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_KEYS_NEEDED);
    ck_assert_str_eq(s->refresh_token, "rt-1");
    out = apply_at(s, answer(token, "rt-2"), 0, 1, now);
    ck_assert_int_eq(out.outcome, IPSIE_REFRESH_ID_TOKEN_REFUSED);
    ck_assert_str_eq(s->refresh_token, "rt-1");
}
END_TEST

START_TEST(apply_refuses_another_user_and_leaves_the_tokens)
{
    ipsie_session_t *s = session();
    long long now = NOW + 250;
    json_t *c = refreshed_claims(now);

    json_object_set_new(c, "sub", json_string("mallory"));
    ck_assert_int_eq(apply_at(s, answer(signed_token(c), "rt-2"), 0, 0, now).outcome,
                     IPSIE_REFRESH_OTHER_USER);
    ck_assert_str_eq(s->access_token, "at-1");
    ck_assert_str_eq(s->refresh_token, "rt-1");
    ck_assert_str_eq(s->sub, SUB);
}
END_TEST

static Suite *refresh_suite(void)
{
    Suite *s = suite_create("ipsie_refresh");
    TCase *due = tcase_create("due");
    TCase *decision = tcase_create("decide");
    TCase *apply = tcase_create("apply");

    tcase_add_unchecked_fixture(due, keys_setup, keys_teardown);
    tcase_add_checked_fixture(due, pool_setup, pool_teardown);
    tcase_add_test(due, due_within_before_seconds_of_the_access_token_expiry);
    tcase_add_test(due, never_due_without_a_refresh_token_an_expiry_or_the_directive);
    suite_add_tcase(s, due);

    tcase_add_unchecked_fixture(decision, keys_setup, keys_teardown);
    tcase_add_checked_fixture(decision, pool_setup, pool_teardown);
    tcase_add_test(decision, a_refresh_preserves_the_ceiling_whatever_session_expiry_it_brings);
    tcase_add_test(decision, the_refresh_action_at_the_ceiling_takes_a_later_session_expiry);
    tcase_add_test(decision, the_refresh_action_without_a_later_session_expiry_renews_nothing);
    tcase_add_test(decision, another_sub_or_iss_is_refused_with_or_without_the_refresh_action);
    tcase_add_test(decision, another_provider_session_is_refused_and_a_renewal_keeps_its_sid);
    tcase_add_test(decision, an_earlier_auth_time_is_refused);
    tcase_add_test(decision, a_session_without_auth_time_takes_any);
    suite_add_tcase(s, decision);

    tcase_add_unchecked_fixture(apply, keys_setup, keys_teardown);
    tcase_add_checked_fixture(apply, pool_setup, pool_teardown);
    tcase_set_timeout(apply, 30);
    tcase_add_test(apply, apply_keeps_the_new_tokens_and_the_ceiling);
    tcase_add_test(apply, apply_at_the_ceiling_renews_the_session_with_the_new_id_token);
    tcase_add_test(apply, apply_leaves_the_session_alone_when_nothing_renews);
    tcase_add_test(apply, apply_validates_the_new_id_token_as_at_login_but_the_nonce);
    tcase_add_test(apply, apply_asks_for_the_keys_once_when_none_verifies);
    tcase_add_test(apply, apply_refuses_another_user_and_leaves_the_tokens);
    suite_add_tcase(s, apply);
    return s;
}

int main(void)
{
    return run_suite(refresh_suite());
}
