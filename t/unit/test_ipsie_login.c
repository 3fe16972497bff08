/* Unit tests of src/ipsie_login.c: the authorization and end-session URLs, the RFC 9207 check
 * of the authorization response, and the completion of a login (ID token, auth_time after
 * max_age and prompt=login, session_expiry, the keys-refetch decision). */
#include <limits.h>

#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_login.h"

#define AUTHZ_ENDPOINT "https://op.example.org/authorize"
#define LOGOUT_ENDPOINT "https://op.example.org/logout"
#define REDIRECT_URI "https://rp.example.org/cb?x=1"
#define LEEWAY 30
#define MAX_DURATION 28800
#define MAX_AGE 600

static ipsie_provider_t provider(void)
{
    ipsie_provider_t op;

    memset(&op, 0, sizeof(op));
    op.issuer = ISSUER;
    op.authorization_endpoint = AUTHZ_ENDPOINT;
    op.token_endpoint = "https://op.example.org/token";
    op.jwks_uri = "https://op.example.org/jwks";
    op.end_session_endpoint = LOGOUT_ENDPOINT;
    return op;
}

static ipsie_login_state_t *state(int prompt_login)
{
    ipsie_login_state_t *st = NULL;

    ck_assert_int_eq(ipsie_login_state_new(&st, 3, 4, "/app", prompt_login, NOW, pool),
                     APR_SUCCESS);
    return st;
}

/* ---- authorization URL ---- */

static ipsie_login_request_t request(void)
{
    ipsie_login_request_t req;

    memset(&req, 0, sizeof(req));
    req.client_id = "client 1/&=";
    req.redirect_uri = REDIRECT_URI;
    req.scope = "openid profile email";
    req.max_age = -1;
    return req;
}

/* The query of url (after its first '?') as a table, decoded. */
static apr_table_t *query_of(const char *url)
{
    const char *q = strchr(url, '?');
    apr_table_t *t = NULL;

    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(ipsie_form_parse(&t, q + 1, pool), APR_SUCCESS);
    return t;
}

/* BASE64URL(SHA256(verifier)), computed here rather than by the code under test. */
static const char *s256(const char *verifier)
{
    unsigned char md[32];
    unsigned int md_len = sizeof(md);

    ck_assert_int_eq(EVP_Digest(verifier, strlen(verifier), md, &md_len, EVP_sha256(), NULL), 1);
    return b64(md, md_len);
}

START_TEST(authorization_url_carries_every_parameter_encoded)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(0);
    const char *url = ipsie_login_authorization_url(&op, &req, st, pool);
    apr_table_t *q = query_of(url);

    ck_assert_str_eq(apr_table_get(q, "response_type"), "code");
    ck_assert_str_eq(apr_table_get(q, "client_id"), "client 1/&=");
    ck_assert_str_eq(apr_table_get(q, "redirect_uri"), REDIRECT_URI);
    ck_assert_str_eq(apr_table_get(q, "scope"), "openid profile email");
    ck_assert_str_eq(apr_table_get(q, "state"), st->state);
    ck_assert_str_eq(apr_table_get(q, "nonce"), st->nonce);
    ck_assert_str_eq(apr_table_get(q, "code_challenge"), s256(st->code_verifier));
    ck_assert_str_eq(apr_table_get(q, "code_challenge_method"), "S256");
    ck_assert_int_eq(apr_table_elts(q)->nelts, 8);
    /* Percent-encoded as RFC 3986 wants, not form-encoded: a space is %20, never '+'. */
    ck_assert_ptr_nonnull(
        strstr(url, AUTHZ_ENDPOINT "?response_type=code&client_id=client%201%2F%26%3D&"));
    ck_assert_ptr_nonnull(strstr(url, "&redirect_uri=https%3A%2F%2Frp.example.org%2Fcb%3Fx%3D1&"));
    ck_assert_ptr_nonnull(strstr(url, "&scope=openid%20profile%20email&"));
    ck_assert_ptr_null(strchr(url, ' '));
    ck_assert_ptr_null(strchr(url, '+'));
    /* The verifier itself never leaves. */
    ck_assert_ptr_null(strstr(url, st->code_verifier));
}
END_TEST

START_TEST(authorization_params_are_the_urls_query_and_carry_dpop_jkt_when_given)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(0);
    const char *url = ipsie_login_authorization_url(&op, &req, st, pool);
    const char *params = ipsie_login_authorization_params(&req, st, pool);

    ck_assert_ptr_nonnull(strstr(url, apr_pstrcat(pool, "?", params, NULL)));
    ck_assert_ptr_null(strstr(params, "dpop_jkt"));
    req.dpop_jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    params = ipsie_login_authorization_params(&req, st, pool);
    ck_assert_str_eq(
        apr_table_get(query_of(apr_pstrcat(pool, "https://x/?", params, NULL)), "dpop_jkt"),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
}
END_TEST

START_TEST(authorization_url_asks_prompt_login_only_when_the_state_does)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    const char *without = ipsie_login_authorization_url(&op, &req, state(0), pool);
    const char *with = ipsie_login_authorization_url(&op, &req, state(1), pool);

    ck_assert_ptr_null(apr_table_get(query_of(without), "prompt"));
    ck_assert_ptr_null(strstr(without, "prompt"));
    ck_assert_str_eq(apr_table_get(query_of(with), "prompt"), "login");
}
END_TEST

START_TEST(authorization_url_sends_max_age_only_when_not_negative_zero_included)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(0);
    const char *url;

    req.max_age = -1;
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_ptr_null(strstr(url, "max_age"));
    req.max_age = 0;
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_str_eq(apr_table_get(query_of(url), "max_age"), "0");
    req.max_age = 86400;
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_str_eq(apr_table_get(query_of(url), "max_age"), "86400");
}
END_TEST

START_TEST(authorization_url_encodes_the_login_hint_and_sends_none_without_one)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(0);
    const char *url = ipsie_login_authorization_url(&op, &req, st, pool);

    ck_assert_ptr_null(strstr(url, "login_hint"));
    req.login_hint = "alice+x@example.org&prompt=none";
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_ptr_nonnull(strstr(url, "&login_hint=alice%2Bx%40example.org%26prompt%3Dnone"));
    ck_assert_str_eq(apr_table_get(query_of(url), "login_hint"), "alice+x@example.org&prompt=none");
    ck_assert_ptr_null(apr_table_get(query_of(url), "prompt"));
}
END_TEST

START_TEST(authorization_url_appends_the_extra_parameters_as_given)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(1);
    const char *url;
    const char *extra = "acr_values=urn%3Aacr%3Amfa&ui_locales=de";
    size_t n = strlen(extra);

    req.max_age = 0;
    req.login_hint = "alice";
    req.extra_params = extra;
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_uint_gt(strlen(url), n + 1);
    ck_assert_str_eq(url + strlen(url) - n - 1, apr_pstrcat(pool, "&", extra, NULL));
    ck_assert_str_eq(apr_table_get(query_of(url), "acr_values"), "urn:acr:mfa");
    ck_assert_str_eq(apr_table_get(query_of(url), "login_hint"), "alice");
}
END_TEST

START_TEST(authorization_url_continues_an_endpoint_query_with_an_ampersand)
{
    ipsie_provider_t op = provider();
    ipsie_login_request_t req = request();
    ipsie_login_state_t *st = state(0);
    const char *url;

    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_int_eq(strncmp(url, AUTHZ_ENDPOINT "?response_type=code&",
                             strlen(AUTHZ_ENDPOINT "?response_type=code&")),
                     0);
    op.authorization_endpoint = AUTHZ_ENDPOINT "?tenant=a";
    url = ipsie_login_authorization_url(&op, &req, st, pool);
    ck_assert_int_eq(strncmp(url, AUTHZ_ENDPOINT "?tenant=a&response_type=code&",
                             strlen(AUTHZ_ENDPOINT "?tenant=a&response_type=code&")),
                     0);
    ck_assert_ptr_null(strchr(strchr(url, '?') + 1, '?'));
    ck_assert_str_eq(apr_table_get(query_of(url), "tenant"), "a");
}
END_TEST

/* ---- end-session URL ---- */

START_TEST(logout_url_carries_hint_return_address_and_client_encoded)
{
    ipsie_provider_t op = provider();
    const char *url = ipsie_logout_url(&op, "eyJh.eyJz+/x.sig", "https://rp.example.org/bye?x=1",
                                       "client 1", NULL, pool);

    ck_assert_ptr_nonnull(url);
    ck_assert_str_eq(url, LOGOUT_ENDPOINT "?id_token_hint=eyJh.eyJz%2B%2Fx.sig"
                                          "&post_logout_redirect_uri=https%3A%2F%2Frp.example.org"
                                          "%2Fbye%3Fx%3D1&client_id=client%201");
}
END_TEST

START_TEST(logout_url_carries_the_state_when_one_is_given)
{
    ipsie_provider_t op = provider();

    ck_assert_str_eq(ipsie_logout_url(&op, "h.p.s", "https://rp.example.org/", CLIENT, "s t", pool),
                     LOGOUT_ENDPOINT "?id_token_hint=h.p.s&post_logout_redirect_uri="
                                     "https%3A%2F%2Frp.example.org%2F&client_id=" CLIENT
                                     "&state=s%20t");
}
END_TEST

START_TEST(logout_url_is_null_without_end_session_endpoint_or_id_token)
{
    ipsie_provider_t op = provider();
    ipsie_provider_t none = provider();

    none.end_session_endpoint = NULL;
    ck_assert_ptr_null(
        ipsie_logout_url(&none, "h.p.s", "https://rp.example.org/", CLIENT, NULL, pool));
    ck_assert_ptr_null(ipsie_logout_url(&op, NULL, "https://rp.example.org/", CLIENT, NULL, pool));
    ck_assert_ptr_null(
        ipsie_logout_url(NULL, "h.p.s", "https://rp.example.org/", CLIENT, NULL, pool));
    ck_assert_ptr_nonnull(
        ipsie_logout_url(&op, "h.p.s", "https://rp.example.org/", CLIENT, NULL, pool));
}
END_TEST

START_TEST(logout_url_continues_an_endpoint_query_with_an_ampersand)
{
    ipsie_provider_t op = provider();

    op.end_session_endpoint = LOGOUT_ENDPOINT "?tenant=a";
    ck_assert_str_eq(ipsie_logout_url(&op, "h.p.s", "https://rp.example.org/", CLIENT, NULL, pool),
                     LOGOUT_ENDPOINT "?tenant=a&id_token_hint=h.p.s&post_logout_redirect_uri="
                                     "https%3A%2F%2Frp.example.org%2F&client_id=" CLIENT);
}
END_TEST

/* ---- the authorization response (RFC 9207) ---- */

START_TEST(response_with_the_issuers_iss_and_a_code_is_accepted)
{
    ipsie_provider_t op = provider();

    ck_assert_int_eq(ipsie_login_check_response("c0de", ISSUER, &op), IPSIE_LOGIN_OK);
    op.iss_parameter_supported = 1;
    ck_assert_int_eq(ipsie_login_check_response("c0de", ISSUER, &op), IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(response_naming_another_issuer_is_iss_wrong)
{
    ipsie_provider_t op = provider();

    ck_assert_int_eq(ipsie_login_check_response("c0de", "https://evil.example.org", &op),
                     IPSIE_LOGIN_ISS_WRONG);
    ck_assert_int_eq(ipsie_login_check_response("c0de", ISSUER "/", &op), IPSIE_LOGIN_ISS_WRONG);
    ck_assert_int_eq(ipsie_login_check_response("c0de", "", &op), IPSIE_LOGIN_ISS_WRONG);
    op.iss_parameter_supported = 1;
    ck_assert_int_eq(ipsie_login_check_response("c0de", "https://OP.example.org", &op),
                     IPSIE_LOGIN_ISS_WRONG);
}
END_TEST

START_TEST(response_iss_is_compared_with_the_metadata_spelling_of_a_slashed_issuer)
{
    ipsie_provider_t op = provider();

    op.issuer = ISSUER "/";
    op.iss_parameter_supported = 1;
    ck_assert_int_eq(ipsie_login_check_response("c0de", ISSUER "/", &op), IPSIE_LOGIN_OK);
    ck_assert_int_eq(ipsie_login_check_response("c0de", ISSUER, &op), IPSIE_LOGIN_ISS_WRONG);
}
END_TEST

START_TEST(response_without_iss_is_accepted_when_the_provider_does_not_advertise_it)
{
    ipsie_provider_t op = provider();

    op.iss_parameter_supported = 0;
    ck_assert_int_eq(ipsie_login_check_response("c0de", NULL, &op), IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(response_without_iss_is_iss_missing_under_sl1_whatever_the_metadata_says)
{
    ipsie_provider_t op = provider();

    op.iss_parameter_supported = 0;
    ck_assert_int_eq(ipsie_login_check_response_iss("c0de", NULL, &op, 1), IPSIE_LOGIN_ISS_MISSING);
    ck_assert_int_eq(ipsie_login_check_response_iss("c0de", NULL, &op, 0), IPSIE_LOGIN_OK);
    ck_assert_int_eq(ipsie_login_check_response_iss("c0de", ISSUER, &op, 1), IPSIE_LOGIN_OK);
    ck_assert_int_eq(ipsie_login_check_response_iss("c0de", ISSUER "/", &op, 1),
                     IPSIE_LOGIN_ISS_WRONG);
    ck_assert_int_eq(ipsie_login_check_response_iss(NULL, ISSUER, &op, 1), IPSIE_LOGIN_NO_CODE);
}
END_TEST

START_TEST(plain_endpoint_names_the_first_that_is_not_https)
{
    ipsie_provider_t op = provider();

    op.issuer = "https://op.example.org";
    op.authorization_endpoint = "https://op.example.org/auth";
    op.token_endpoint = "HTTPS://op.example.org/token";
    op.jwks_uri = "https://op.example.org/jwks";
    op.end_session_endpoint = NULL;
    op.userinfo_endpoint = NULL;
    ck_assert_ptr_null(ipsie_provider_plain_endpoint(&op));
    op.userinfo_endpoint = "https://op.example.org/me";
    ck_assert_ptr_null(ipsie_provider_plain_endpoint(&op));
    op.par_endpoint = "https://op.example.org/par";
    ck_assert_ptr_null(ipsie_provider_plain_endpoint(&op));
    op.par_endpoint = "http://op.example.org/par";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "pushed_authorization_request_endpoint");
    op.userinfo_endpoint = "http://op.example.org/me";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "userinfo_endpoint");
    op.end_session_endpoint = "http://op.example.org/logout";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "end_session_endpoint");
    op.jwks_uri = "http://op.example.org/jwks";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "jwks_uri");
    op.token_endpoint = "//op.example.org/token";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "token_endpoint");
    op.authorization_endpoint = "https:/op.example.org/auth";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "authorization_endpoint");
    op.issuer = "http://op.example.org";
    ck_assert_str_eq(ipsie_provider_plain_endpoint(&op), "issuer");
}
END_TEST

START_TEST(response_without_iss_is_iss_missing_when_the_provider_advertises_it)
{
    ipsie_provider_t op = provider();

    op.iss_parameter_supported = 1;
    ck_assert_int_eq(ipsie_login_check_response("c0de", NULL, &op), IPSIE_LOGIN_ISS_MISSING);
}
END_TEST

START_TEST(response_code_must_be_present_and_at_most_2048_characters)
{
    ipsie_provider_t op = provider();
    char code[2050];

    memset(code, 'c', sizeof(code) - 1);
    code[2049] = '\0';
    ck_assert_int_eq(ipsie_login_check_response(NULL, ISSUER, &op), IPSIE_LOGIN_NO_CODE);
    ck_assert_int_eq(ipsie_login_check_response("", ISSUER, &op), IPSIE_LOGIN_NO_CODE);
    ck_assert_int_eq(ipsie_login_check_response(code, ISSUER, &op), IPSIE_LOGIN_NO_CODE);
    code[2048] = '\0';
    ck_assert_int_eq(ipsie_login_check_response(code, ISSUER, &op), IPSIE_LOGIN_OK);
    ck_assert_int_eq(ipsie_login_check_response(code, NULL, &op), IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(response_wrong_or_missing_iss_wins_over_a_missing_code)
{
    ipsie_provider_t op = provider();

    ck_assert_int_eq(ipsie_login_check_response(NULL, "https://evil.example.org", &op),
                     IPSIE_LOGIN_ISS_WRONG);
    ck_assert_int_eq(ipsie_login_check_response("", "https://evil.example.org", &op),
                     IPSIE_LOGIN_ISS_WRONG);
    op.iss_parameter_supported = 1;
    ck_assert_int_eq(ipsie_login_check_response(NULL, NULL, &op), IPSIE_LOGIN_ISS_MISSING);
}
END_TEST

/* ---- login completion ---- */

static ipsie_login_policy_t policy_default(void)
{
    ipsie_login_policy_t pol;

    memset(&pol, 0, sizeof(pol));
    pol.client_id = CLIENT;
    pol.signing_algs = all_algs();
    pol.aud_single_string = 0;
    pol.clock_skew = SKEW;
    pol.max_age = -1;
    pol.session.leeway = LEEWAY;
    pol.session.max_duration = MAX_DURATION;
    pol.session.inactivity_timeout = 3600;
    pol.session.require_session_expiry = 0;
    pol.keep_access_token = 1;
    return pol;
}

/* Claims of a valid ID token for the login state st. */
static json_t *claims_for(const ipsie_login_state_t *st)
{
    json_t *c = good_claims();

    json_object_set_new(c, "nonce", json_string(st->nonce));
    return c;
}

/* An ID token over claims (stolen), signed with k under kid, as the token endpoint sent it. */
static ipsie_token_response_t *tokens_signed(EVP_PKEY *k, const char *kid, json_t *claims)
{
    ipsie_token_response_t *t = apr_pcalloc(pool, sizeof(*t));

    t->id_token = sign_raw(k, "RS256", header_text("RS256", kid), json_text(claims));
    t->access_token = "at-SlAV32hkKG";
    t->refresh_token = "rt-8xLOxBtZp8";
    t->token_type = "Bearer";
    t->expires_in = 3600;
    return t;
}

static ipsie_token_response_t *tokens(json_t *claims)
{
    return tokens_signed(rsa_key, "rsa1", claims);
}

/* The login with claims (stolen) for st under pol, keys not fetched again. */
static ipsie_login_result_t complete_with(const ipsie_login_state_t *st, json_t *claims,
                                          const ipsie_login_policy_t *pol)
{
    ipsie_login_result_t out;

    out.outcome = IPSIE_LOGIN_OUTCOMES;
    out.session = (ipsie_session_t *)&out;
    ipsie_login_complete(&out, st, tokens(claims), ISSUER, std_jwks(), 0, pol, NOW, pool);
    if (out.outcome == IPSIE_LOGIN_OK) {
        ck_assert_ptr_nonnull(out.session);
    }
    else {
        ck_assert_ptr_null(out.session);
    }
    return out;
}

static ipsie_login_outcome_e complete(const ipsie_login_state_t *st, json_t *claims,
                                      const ipsie_login_policy_t *pol)
{
    return complete_with(st, claims, pol).outcome;
}

/* The outcome of a login whose ID token is signed with k under kid. */
static ipsie_login_outcome_e complete_signed(EVP_PKEY *k, const char *kid, const ipsie_jwks_t *jwks,
                                             int keys_refetched)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    ipsie_login_complete(&out, st, tokens_signed(k, kid, claims_for(st)), ISSUER, jwks,
                         keys_refetched, &pol, NOW, pool);
    if (out.outcome != IPSIE_LOGIN_OK) {
        ck_assert_ptr_null(out.session);
    }
    return out.outcome;
}

START_TEST(good_id_token_completes_the_login_with_a_session)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_token_response_t *t = tokens(claims_for(st));
    ipsie_login_result_t out;

    ipsie_login_complete(&out, st, t, ISSUER, std_jwks(), 0, &pol, NOW, pool);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_ptr_nonnull(out.session);
    ck_assert_str_eq(out.session->sub, "248289761001");
    ck_assert_str_eq(out.session->iss, ISSUER);
    ck_assert_str_eq(out.session->id_token, t->id_token);
    ck_assert_int_eq(out.session->session_expiry, NOW + 3600);
    ck_assert_int_eq(out.session->ceiling, NOW + 3600 - LEEWAY);
    ck_assert_int_eq(out.session->login_time, NOW);
    /* No refresh is configured: the refresh token is not carried in every request. */
    ck_assert_ptr_null(out.session->refresh_token);
    ck_assert_int_eq(out.session->access_token_expiry, NOW + 3600);
    ck_assert_ptr_null(ipsie_session_claim(out.session, "nonce"));
}
END_TEST

START_TEST(id_token_breaking_a_claim_rule_is_refused_without_asking_for_keys)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    json_t *nonce = claims_for(st);
    json_t *aud = claims_for(st);
    json_t *expired = claims_for(st);
    json_t *other_state = good_claims();

    json_object_set_new(nonce, "nonce", json_string("n-another-login"));
    json_object_set_new(aud, "aud", json_string("client-2"));
    json_object_set_new(expired, "exp", json_integer(NOW - SKEW));
    ck_assert_int_eq(complete(st, nonce, &pol), IPSIE_LOGIN_ID_TOKEN_REFUSED);
    ck_assert_int_eq(complete(st, aud, &pol), IPSIE_LOGIN_ID_TOKEN_REFUSED);
    ck_assert_int_eq(complete(st, expired, &pol), IPSIE_LOGIN_ID_TOKEN_REFUSED);
    /* Another login's nonce (NONCE) is not this state's. */
    ck_assert_int_eq(complete(st, other_state, &pol), IPSIE_LOGIN_ID_TOKEN_REFUSED);
}
END_TEST

START_TEST(id_token_from_another_issuer_is_refused)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    ipsie_login_complete(&out, st, tokens(claims_for(st)), "https://other.example.org", std_jwks(),
                         0, &pol, NOW, pool);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_ID_TOKEN_REFUSED);
    ck_assert_ptr_null(out.session);
}
END_TEST

START_TEST(unknown_kid_asks_for_keys_once_then_is_refused)
{
    ck_assert_int_eq(complete_signed(rsa_key, "rsa2", std_jwks(), 0), IPSIE_LOGIN_KEYS_NEEDED);
    ck_assert_int_eq(complete_signed(rsa_key, "rsa2", std_jwks(), 1), IPSIE_LOGIN_ID_TOKEN_REFUSED);
}
END_TEST

START_TEST(key_rotated_under_the_same_kid_asks_for_keys_once_then_is_refused)
{
    ck_assert_int_eq(complete_signed(rsa_other, "rsa1", std_jwks(), 0), IPSIE_LOGIN_KEYS_NEEDED);
    ck_assert_int_eq(complete_signed(rsa_other, "rsa1", std_jwks(), 1),
                     IPSIE_LOGIN_ID_TOKEN_REFUSED);
}
END_TEST

START_TEST(refetched_keys_holding_the_rotated_key_complete_the_login)
{
    ipsie_jwks_t *fresh = jwks_of(json_pack("[o]", jwk_of(rsa_other, "rsa1", NULL)));

    ck_assert_int_eq(complete_signed(rsa_other, "rsa1", fresh, 1), IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete_signed(rsa_key, "rsa2",
                                     jwks_of(json_pack("[o]", jwk_of(rsa_key, "rsa2", NULL))), 1),
                     IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(alg_off_the_allow_list_is_refused_without_asking_for_keys)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();

    pol.signing_algs = algs("ES256");
    ck_assert_int_eq(complete(st, claims_for(st), &pol), IPSIE_LOGIN_ID_TOKEN_REFUSED);
}
END_TEST

/* auth_time, set in claims (or removed when at is NULL). */
static json_t *with_auth_time(json_t *claims, json_t *at)
{
    if (at == NULL) {
        json_object_del(claims, "auth_time");
    }
    else {
        json_object_set_new(claims, "auth_time", at);
    }
    return claims;
}

START_TEST(without_max_age_or_prompt_login_auth_time_is_not_needed)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();

    ck_assert_int_eq(complete(st, claims_for(st), &pol), IPSIE_LOGIN_OK);
    /* Nor read: an ancient or odd one does not matter. */
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(1)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_string("now")), &pol),
                     IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(an_auth_time_no_sign_in_can_have_is_auth_time_missing)
{
    ipsie_login_state_t *st = state(1);
    ipsie_login_policy_t pol = policy_default();
    static const json_int_t impossible[] = {0, -1, LLONG_MIN, LLONG_MIN + 1000, LLONG_MAX};
    size_t i;

    pol.max_age = MAX_AGE;
    for (i = 0; i < sizeof(impossible) / sizeof(impossible[0]); i++) {
        ck_assert_int_eq(
            complete(st, with_auth_time(claims_for(st), json_integer(impossible[i])), &pol),
            IPSIE_LOGIN_AUTH_TIME_MISSING);
    }
    /* In the future: no more than the clock skew. */
    ck_assert_int_eq(
        complete(st, with_auth_time(claims_for(st), json_integer(NOW + pol.clock_skew)), &pol),
        IPSIE_LOGIN_OK);
    ck_assert_int_eq(
        complete(st, with_auth_time(claims_for(st), json_integer(NOW + pol.clock_skew + 1)), &pol),
        IPSIE_LOGIN_AUTH_TIME_MISSING);
}
END_TEST

START_TEST(prompt_login_without_auth_time_is_taken_at_its_word)
{
    ipsie_login_state_t *st = state(1);
    ipsie_login_policy_t pol = policy_default();

    ck_assert_int_eq(complete(st, claims_for(st), &pol), IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(max_age_without_an_integer_auth_time_is_auth_time_missing)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_state_t *prompted = state(1);
    ipsie_login_policy_t pol = policy_default();
    json_t *values[3];
    ipsie_login_result_t out;
    int i;

    pol.max_age = MAX_AGE;
    values[0] = NULL;
    values[1] = json_string("1700000000");
    values[2] = json_real((double)NOW);
    for (i = 0; i < 3; i++) {
        out = complete_with(st, with_auth_time(claims_for(st), json_incref(values[i])), &pol);
        ck_assert_msg(out.outcome == IPSIE_LOGIN_AUTH_TIME_MISSING, "auth_time %d: outcome %d", i,
                      out.outcome);
        ck_assert_ptr_nonnull(out.detail);
        ck_assert_str_eq(out.detail, "IPSIEMaxAge");
    }
    /* With prompt=login too, max_age is what asked for it. */
    out = complete_with(prompted, claims_for(prompted), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_AUTH_TIME_MISSING);
    ck_assert_str_eq(out.detail, "IPSIEMaxAge");
    json_decref(values[1]);
    json_decref(values[2]);
}
END_TEST

START_TEST(prompt_login_with_a_non_integer_auth_time_is_auth_time_missing)
{
    ipsie_login_state_t *st = state(1);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    out = complete_with(st, with_auth_time(claims_for(st), json_string("1700000000")), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_AUTH_TIME_MISSING);
    ck_assert_ptr_nonnull(out.detail);
    ck_assert_str_eq(out.detail, "prompt=login");
    out = complete_with(st, with_auth_time(claims_for(st), json_real((double)NOW)), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_AUTH_TIME_MISSING);
    ck_assert_str_eq(out.detail, "prompt=login");
}
END_TEST

START_TEST(max_age_accepts_auth_time_up_to_max_age_plus_skew_ago)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    long long edge = NOW - MAX_AGE - SKEW;

    pol.max_age = MAX_AGE;
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(NOW)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(edge)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(edge - 1)), &pol),
                     IPSIE_LOGIN_AUTH_TIME_OLD);
}
END_TEST

START_TEST(max_age_zero_still_allows_the_clock_skew)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();

    pol.max_age = 0;
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(NOW - SKEW)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(
        complete(st, with_auth_time(claims_for(st), json_integer(NOW - SKEW - 1)), &pol),
        IPSIE_LOGIN_AUTH_TIME_OLD);
}
END_TEST

START_TEST(prompt_login_accepts_auth_time_from_skew_before_the_request_on)
{
    ipsie_login_state_t *st = state(1);
    ipsie_login_policy_t pol = policy_default();
    long long edge;

    /* The sign-in started 45 s before the callback. */
    st->created = NOW - 45;
    edge = st->created - SKEW;
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(NOW)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(edge)), &pol),
                     IPSIE_LOGIN_OK);
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(edge - 1)), &pol),
                     IPSIE_LOGIN_AUTH_TIME_BEFORE);
}
END_TEST

START_TEST(prompt_login_and_max_age_each_apply)
{
    ipsie_login_state_t *st = state(1);
    ipsie_login_policy_t pol = policy_default();

    /* Recent enough for max_age, but from before the prompt=login request. */
    pol.max_age = 3600;
    st->created = NOW - 10;
    ck_assert_int_eq(
        complete(st, with_auth_time(claims_for(st), json_integer(NOW - 10 - SKEW - 1)), &pol),
        IPSIE_LOGIN_AUTH_TIME_BEFORE);
    /* New since the request, but the request is older than max_age allows. */
    pol.max_age = 0;
    st->created = NOW - 600;
    ck_assert_int_eq(complete(st, with_auth_time(claims_for(st), json_integer(NOW - 300)), &pol),
                     IPSIE_LOGIN_AUTH_TIME_OLD);
}
END_TEST

START_TEST(session_expiry_invalid_missing_or_past_refuses_the_login)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_policy_t required = policy_default();
    json_t *invalid = claims_for(st);
    json_t *missing = claims_for(st);
    json_t *past = claims_for(st);
    json_t *absent = claims_for(st);

    required.session.require_session_expiry = 1;
    json_object_set_new(invalid, "session_expiry", json_string("1700003600"));
    json_object_del(missing, "session_expiry");
    json_object_set_new(past, "session_expiry", json_integer(NOW + LEEWAY));
    json_object_del(absent, "session_expiry");
    ck_assert_int_eq(complete(st, invalid, &pol), IPSIE_LOGIN_SESSION_EXPIRY_INVALID);
    ck_assert_int_eq(complete(st, missing, &required), IPSIE_LOGIN_SESSION_EXPIRY_MISSING);
    ck_assert_int_eq(complete(st, past, &pol), IPSIE_LOGIN_SESSION_EXPIRY_PAST);
    /* Absent and not required: the local maximum is the ceiling. */
    ck_assert_int_eq(complete(st, absent, &pol), IPSIE_LOGIN_OK);
}
END_TEST

START_TEST(claims_the_session_cannot_keep_make_the_login_unusable)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    json_t *deep = claims_for(st);
    json_t *inner = json_array();
    json_t *ok = claims_for(st);
    json_t *ok_inner = json_array();
    int i;

    /* Nesting a JSON parser takes but the session's claims scanner (32 levels) does not: the
     * object and 32 arrays in it; 31 arrays still do. */
    for (i = 1; i < 32; i++) {
        inner = json_pack("[o]", inner);
    }
    for (i = 1; i < 31; i++) {
        ok_inner = json_pack("[o]", ok_inner);
    }
    json_object_set_new(deep, "deep", inner);
    json_object_set_new(ok, "deep", ok_inner);
    ck_assert_int_eq(complete(st, ok, &pol), IPSIE_LOGIN_OK);
    captured_log[0] = '\0';
    ck_assert_int_eq(complete(st, deep, &pol), IPSIE_LOGIN_UNUSABLE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE04003"));
}
END_TEST

START_TEST(claim_with_a_nul_character_is_refused_before_the_session)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;
    ipsie_token_response_t *t = apr_pcalloc(pool, sizeof(*t));
    const char *payload =
        apr_psprintf(pool,
                     "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\",\"exp\":%" APR_INT64_T_FMT
                     ",\"iat\":%" APR_INT64_T_FMT ","
                     "\"nonce\":\"%s\",\"x\":\"a\\u0000b\"}",
                     ISSUER, CLIENT, (apr_int64_t)(NOW + 300), (apr_int64_t)NOW, st->nonce);

    t->id_token = sign_raw(rsa_key, "RS256", header_text("RS256", "rsa1"), payload);
    t->access_token = "at";
    ipsie_login_complete(&out, st, t, ISSUER, std_jwks(), 0, &pol, NOW, pool);
    /* The JWS payload parser refuses it already: no session, and no keys to fetch. */
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_ID_TOKEN_REFUSED);
    ck_assert_ptr_null(out.session);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE05025"));
}
END_TEST

START_TEST(access_token_is_kept_only_when_some_location_passes_it_on)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    pol.keep_access_token = 1;
    out = complete_with(st, claims_for(st), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_str_eq(out.session->access_token, "at-SlAV32hkKG");
    pol.keep_access_token = 0;
    out = complete_with(st, claims_for(st), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_ptr_null(out.session->access_token);
}
END_TEST

START_TEST(refresh_token_is_kept_only_when_a_refresh_is_configured)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    pol.keep_refresh_token = 1;
    pol.keep_access_token = 0;
    out = complete_with(st, claims_for(st), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_str_eq(out.session->refresh_token, "rt-8xLOxBtZp8");
    ck_assert_ptr_null(out.session->access_token);
    ck_assert_int_eq(out.session->access_token_expiry, NOW + 3600);
}
END_TEST

START_TEST(access_token_type_is_taken_from_every_token_response)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_token_response_t *t = tokens(good_claims());
    ipsie_login_result_t out;

    pol.keep_access_token = 1;
    out = complete_with(st, claims_for(st), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_int_eq(out.session->access_token_dpop, 0);
    /* A refresh's response: token_type is case-insensitive (RFC 6749 5.1). */
    t->access_token = "at-2";
    t->token_type = "dpop";
    ipsie_login_keep_tokens(out.session, t, &pol, NOW + 10, pool);
    ck_assert_int_eq(out.session->access_token_dpop, 1);
    ck_assert_str_eq(out.session->access_token, "at-2");
    t->token_type = "Bearer";
    ipsie_login_keep_tokens(out.session, t, &pol, NOW + 20, pool);
    ck_assert_int_eq(out.session->access_token_dpop, 0);
}
END_TEST

/* ---- whether the provider set the ceiling ---- */

START_TEST(provider_set_ceiling_when_session_expiry_minus_leeway_is_the_ceiling)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out = complete_with(st, claims_for(st), &pol);

    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_int_eq(out.session->ceiling, NOW + 3600 - LEEWAY);
    ck_assert_int_eq(ipsie_login_provider_set_ceiling(out.session, &pol.session), 1);
}
END_TEST

START_TEST(provider_did_not_set_ceiling_when_the_local_maximum_was_shorter)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    ipsie_login_result_t out;

    pol.session.max_duration = 600;
    out = complete_with(st, claims_for(st), &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_int_eq(out.session->ceiling, NOW + 600);
    ck_assert_int_eq(out.session->session_expiry, NOW + 3600);
    ck_assert_int_eq(ipsie_login_provider_set_ceiling(out.session, &pol.session), 0);
}
END_TEST

START_TEST(provider_did_not_set_ceiling_without_session_expiry)
{
    ipsie_login_state_t *st = state(0);
    ipsie_login_policy_t pol = policy_default();
    json_t *c = claims_for(st);
    ipsie_login_result_t out;
    ipsie_session_t odd;
    ipsie_session_policy_t no_leeway = pol.session;

    json_object_del(c, "session_expiry");
    out = complete_with(st, c, &pol);
    ck_assert_int_eq(out.outcome, IPSIE_LOGIN_OK);
    ck_assert_int_eq(out.session->session_expiry, 0);
    ck_assert_int_eq(out.session->ceiling, NOW + MAX_DURATION);
    ck_assert_int_eq(ipsie_login_provider_set_ceiling(out.session, &pol.session), 0);
    /* Not even where an absent session_expiry (0) less the leeway equals the ceiling. */
    memset(&odd, 0, sizeof(odd));
    no_leeway.leeway = 0;
    ck_assert_int_eq(ipsie_login_provider_set_ceiling(&odd, &no_leeway), 0);
}
END_TEST

static Suite *login_suite(void)
{
    Suite *s = suite_create("ipsie_login");
    TCase *urls = tcase_create("urls");
    TCase *response = tcase_create("authorization response");
    TCase *done = tcase_create("completion");

    tcase_add_checked_fixture(urls, pool_setup, pool_teardown);
    tcase_add_test(urls, authorization_url_carries_every_parameter_encoded);
    tcase_add_test(urls, authorization_params_are_the_urls_query_and_carry_dpop_jkt_when_given);
    tcase_add_test(urls, authorization_url_asks_prompt_login_only_when_the_state_does);
    tcase_add_test(urls, authorization_url_sends_max_age_only_when_not_negative_zero_included);
    tcase_add_test(urls, authorization_url_encodes_the_login_hint_and_sends_none_without_one);
    tcase_add_test(urls, authorization_url_appends_the_extra_parameters_as_given);
    tcase_add_test(urls, authorization_url_continues_an_endpoint_query_with_an_ampersand);
    tcase_add_test(urls, logout_url_carries_hint_return_address_and_client_encoded);
    tcase_add_test(urls, logout_url_is_null_without_end_session_endpoint_or_id_token);
    tcase_add_test(urls, logout_url_carries_the_state_when_one_is_given);
    tcase_add_test(urls, logout_url_continues_an_endpoint_query_with_an_ampersand);
    suite_add_tcase(s, urls);

    tcase_add_checked_fixture(response, pool_setup, pool_teardown);
    tcase_add_test(response, response_with_the_issuers_iss_and_a_code_is_accepted);
    tcase_add_test(response, response_naming_another_issuer_is_iss_wrong);
    tcase_add_test(response,
                   response_iss_is_compared_with_the_metadata_spelling_of_a_slashed_issuer);
    tcase_add_test(response,
                   response_without_iss_is_accepted_when_the_provider_does_not_advertise_it);
    tcase_add_test(response, response_without_iss_is_iss_missing_when_the_provider_advertises_it);
    tcase_add_test(response,
                   response_without_iss_is_iss_missing_under_sl1_whatever_the_metadata_says);
    tcase_add_test(response, plain_endpoint_names_the_first_that_is_not_https);
    tcase_add_test(response, response_code_must_be_present_and_at_most_2048_characters);
    tcase_add_test(response, response_wrong_or_missing_iss_wins_over_a_missing_code);
    suite_add_tcase(s, response);

    tcase_add_unchecked_fixture(done, keys_setup, keys_teardown);
    tcase_add_checked_fixture(done, pool_setup, pool_teardown);
    tcase_add_test(done, good_id_token_completes_the_login_with_a_session);
    tcase_add_test(done, id_token_breaking_a_claim_rule_is_refused_without_asking_for_keys);
    tcase_add_test(done, id_token_from_another_issuer_is_refused);
    tcase_add_test(done, unknown_kid_asks_for_keys_once_then_is_refused);
    tcase_add_test(done, key_rotated_under_the_same_kid_asks_for_keys_once_then_is_refused);
    tcase_add_test(done, refetched_keys_holding_the_rotated_key_complete_the_login);
    tcase_add_test(done, alg_off_the_allow_list_is_refused_without_asking_for_keys);
    tcase_add_test(done, without_max_age_or_prompt_login_auth_time_is_not_needed);
    tcase_add_test(done, prompt_login_without_auth_time_is_taken_at_its_word);
    tcase_add_test(done, an_auth_time_no_sign_in_can_have_is_auth_time_missing);
    tcase_add_test(done, max_age_without_an_integer_auth_time_is_auth_time_missing);
    tcase_add_test(done, prompt_login_with_a_non_integer_auth_time_is_auth_time_missing);
    tcase_add_test(done, max_age_accepts_auth_time_up_to_max_age_plus_skew_ago);
    tcase_add_test(done, max_age_zero_still_allows_the_clock_skew);
    tcase_add_test(done, prompt_login_accepts_auth_time_from_skew_before_the_request_on);
    tcase_add_test(done, prompt_login_and_max_age_each_apply);
    tcase_add_test(done, session_expiry_invalid_missing_or_past_refuses_the_login);
    tcase_add_test(done, claims_the_session_cannot_keep_make_the_login_unusable);
    tcase_add_test(done, claim_with_a_nul_character_is_refused_before_the_session);
    tcase_add_test(done, access_token_is_kept_only_when_some_location_passes_it_on);
    tcase_add_test(done, refresh_token_is_kept_only_when_a_refresh_is_configured);
    tcase_add_test(done, access_token_type_is_taken_from_every_token_response);
    tcase_add_test(done, provider_set_ceiling_when_session_expiry_minus_leeway_is_the_ceiling);
    tcase_add_test(done, provider_did_not_set_ceiling_when_the_local_maximum_was_shorter);
    tcase_add_test(done, provider_did_not_set_ceiling_without_session_expiry);
    suite_add_tcase(s, done);
    return s;
}

int main(void)
{
    return run_suite(login_suite());
}
