/* Unit tests of src/ipsie_token.c: token endpoint responses, and the exchange against a small
 * real HTTP server this suite runs on 127.0.0.1. */
#include <apr_base64.h>

#include "test_support.h"
#include "test_http_server.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_token.h"

/* ---- token responses ------------------------------------------------------------------ */

static apr_status_t parse_tr(ipsie_token_response_t **tr, const char *json)
{
    return ipsie_token_response_parse(tr, json, strlen(json), pool);
}

START_TEST(token_response_good_yields_every_field)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"bearer\",\"refresh_token\":\"rt\","
                                   "\"expires_in\":3600,\"scope\":\"openid\"}"),
                     APR_SUCCESS);
    ck_assert_str_eq(tr->id_token, "a.b.c");
    ck_assert_str_eq(tr->access_token, "at");
    ck_assert_str_eq(tr->token_type, "bearer");
    ck_assert_str_eq(tr->refresh_token, "rt");
    ck_assert_int_eq(tr->expires_in, 3600);
}
END_TEST

START_TEST(token_response_optional_members_may_be_absent)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"Bearer\"}"),
                     APR_SUCCESS);
    ck_assert_ptr_null(tr->refresh_token);
    ck_assert_int_eq(tr->expires_in, 0);
    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"BEARER\",\"expires_in\":0}"),
                     APR_SUCCESS);
    ck_assert_int_eq(tr->expires_in, 0);
}
END_TEST

START_TEST(token_response_rejects_bad_documents)
{
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "\"a.b.c\"",
        "null",
        "[{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}]",
        "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":42,\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":null,\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":[\"at\"],\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"mac\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"DPoP\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer \"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":true}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":-1}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":\"3600\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":1.5}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"refresh_token\":7}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"refresh_token\":\"\"}",
        "{\"id_token\":\"a.b.c\",\"id_token\":\"x.y.z\",\"access_token\":\"at\","
        "\"token_type\":\"Bearer\"}",
    };
    ipsie_token_response_t *tr = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse_tr(&tr, bad[i]) == IPSIE_ERR_MALFORMED, "accepted: %s", bad[i]);
        ck_assert_ptr_null(tr);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08201"));
}
END_TEST

START_TEST(token_response_rejection_logs_no_token)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"SECRET-ID-TOKEN\",\"access_token\":"
                                   "\"SECRET-AT\",\"token_type\":\"mac\"}"),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "token_type"));
    ck_assert_ptr_null(strstr(captured_log, "SECRET"));
}
END_TEST

START_TEST(token_response_rejects_a_huge_body)
{
    ipsie_token_response_t *tr = NULL;
    size_t n = IPSIE_HTTP_MAX_BODY + 1;
    char *json = apr_palloc(pool, n + 1);

    memset(json, ' ', n);
    json[n] = '\0';
    ck_assert_int_eq(ipsie_token_response_parse(&tr, json, n, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(tr);
}
END_TEST

/* ---- token endpoint exchange ---------------------------------------------------------- */

#define GOOD_TOKENS "{\"id_token\":\"h.p.s\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}"

static ipsie_provider_t *test_op(void)
{
    ipsie_provider_t *op = apr_pcalloc(pool, sizeof(*op));

    op->issuer = base_url;
    op->authorization_endpoint = url("/auth");
    op->token_endpoint = url("/token");
    op->jwks_uri = url("/jwks");
    return op;
}

START_TEST(token_request_basic_sends_the_code_grant_and_a_basic_header)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client:1", "s3cr%t /+", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    const char *pair = "client%3A1:s3cr%25t%20%2F%2B";
    char *b64 = apr_palloc(pool, apr_base64_encode_len(strlen(pair)));

    apr_base64_encode(b64, pair, strlen(pair));
    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(ipsie_token_request(&tr, test_op(), &client, "c0de+/=",
                                         "https://rp.example/cb?x=1", "verifier-123", NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(tr->id_token, "h.p.s");
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /token HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(
        srv.last_request, apr_pstrcat(pool, "\r\nAuthorization: Basic ", b64, "\r\n", NULL)));
    ck_assert_str_eq(srv.last_body, "grant_type=authorization_code&code=c0de%2B%2F%3D"
                                    "&redirect_uri=https%3A%2F%2Frp.example%2Fcb%3Fx%3D1"
                                    "&code_verifier=verifier-123");
}
END_TEST

START_TEST(token_request_post_sends_credentials_in_the_body_only)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client:1", "s3cr%t", IPSIE_AUTH_CLIENT_SECRET_POST};

    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "abc", "https://rp/cb", "v", NULL, pool),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(tr);
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nAuthorization:"));
    ck_assert_str_eq(srv.last_body, "grant_type=authorization_code&code=abc"
                                    "&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=v"
                                    "&client_id=client%3A1&client_secret=s3cr%25t");
}
END_TEST

START_TEST(token_request_private_key_jwt_is_not_implemented_yet)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", NULL, IPSIE_AUTH_PRIVATE_KEY_JWT};

    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "abc", "https://rp/cb", "v", NULL, pool),
        APR_ENOTIMPL);
    ck_assert_int_eq(srv_hits("/token"), 0);
}
END_TEST

START_TEST(token_request_error_status_logs_only_a_sanitised_error_code)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "TOPSECRET", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    char expected[6 + 64 + 2];

    srv_json("/token", 400,
             "{\"error\":\"invalid_grant<script>\\r\\nIPSIE1 "
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "\",\"error_description\":\"DESCRIPTION\"}");
    ck_assert_int_eq(ipsie_token_request(&tr, test_op(), &client, "THECODE", "https://rp/cb",
                                         "VERIFIER", NULL, pool),
                     IPSIE_ERR_OP_REFUSED);
    ck_assert_ptr_null(tr);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08203"));
    ck_assert_ptr_nonnull(strstr(captured_log, "status 400"));
    /* 64 characters at most: the code, then what is left of the padding. */
    memset(expected, 'a', sizeof(expected));
    memcpy(expected, "error invalid_grantscriptIPSIE1", 31);
    memcpy(expected + 6 + 64, "\n", 2);
    ck_assert_ptr_nonnull(strstr(captured_log, expected));
    ck_assert_ptr_null(strstr(captured_log, "<"));
    ck_assert_ptr_null(strstr(captured_log, "DESCRIPTION"));
    ck_assert_ptr_null(strstr(captured_log, "TOPSECRET"));
    ck_assert_ptr_null(strstr(captured_log, "THECODE"));
    ck_assert_ptr_null(strstr(captured_log, "VERIFIER"));
}
END_TEST

START_TEST(token_request_error_status_without_json_is_still_an_error)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};

    srv_set("/token", 502, NULL, "<html>bad gateway</html>", 0, 0);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "c", "https://rp/cb", "v", NULL, pool),
        IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_nonnull(strstr(captured_log, "status 502, error -"));
}
END_TEST

START_TEST(token_request_unusable_200_body_is_malformed)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};

    srv_json("/token", 200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}");
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "c", "https://rp/cb", "v", NULL, pool),
        IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(tr);
}
END_TEST

START_TEST(token_request_unreachable_op_is_a_transport_error)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    ipsie_provider_t *op = test_op();

    op->token_endpoint = refused_url("/token");
    ck_assert_int_eq(ipsie_token_request(&tr, op, &client, "c", "https://rp/cb", "v", NULL, pool),
                     IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08202"));
}
END_TEST

START_TEST(token_request_without_an_id_token_is_malformed)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};

    srv_json("/token", 200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}");
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "c", "https://rp/cb", "v", NULL, pool),
        IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(tr);
    ck_assert_ptr_nonnull(strstr(captured_log, "no id_token"));
}
END_TEST

START_TEST(refresh_sends_the_refresh_token_grant_with_the_client_authentication)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_POST};

    srv_json("/token", 200,
             "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\",\"expires_in\":60,"
             "\"refresh_token\":\"rt-2\"}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, test_op(), &client, "rt/1+=", NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(srv.last_body, "grant_type=refresh_token&refresh_token=rt%2F1%2B%3D"
                                    "&client_id=client&client_secret=secret");
    ck_assert_ptr_nonnull(strcasestr(srv.last_request, "\r\nAccept: application/json\r\n"));
    /* OIDC Core 12.2: an ID token may come back, or not. */
    ck_assert_ptr_null(tr->id_token);
    ck_assert_str_eq(tr->access_token, "at-2");
    ck_assert_str_eq(tr->refresh_token, "rt-2");
    ck_assert_int_eq(tr->expires_in, 60);
    ck_assert_ptr_null(strstr(captured_log, "rt/1"));
    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(ipsie_token_refresh(&tr, test_op(), &client, "rt", NULL, pool), APR_SUCCESS);
    ck_assert_str_eq(tr->id_token, "h.p.s");
    ck_assert_int_eq(ipsie_token_refresh(&tr, test_op(), &client, NULL, NULL, pool), APR_EINVAL);
}
END_TEST

START_TEST(refresh_refused_by_the_op_is_told_apart_from_an_op_out_of_order)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    ipsie_provider_t *op = test_op();

    srv_json("/token", 400, "{\"error\":\"invalid_grant\"}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool), IPSIE_ERR_OP_REFUSED);
    ck_assert_ptr_nonnull(strstr(captured_log, "error invalid_grant"));
    srv_json("/token", 401, "{\"error\":\"invalid_client\"}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool), IPSIE_ERR_OP_REFUSED);
    srv_json("/token", 503, "{\"error\":\"temporarily_unavailable\"}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    /* Not a refusal: a rate limit, a proxy's page, a 400 without an error code. */
    srv_json("/token", 429, "{\"error\":\"slow_down\"}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    srv_set("/token", 403, NULL, "<html>forbidden</html>", 0, 0);
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    srv_set("/token", 400, NULL, "<html>bad request</html>", 0, 0);
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    srv_json("/token", 400, "{\"error\":42}");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    op->token_endpoint = refused_url("/token");
    ck_assert_int_eq(ipsie_token_refresh(&tr, op, &client, "rt", NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_null(tr);
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("ipsie_token");
    TCase *parse = tcase_create("parse");
    TCase *token = tcase_create("token_request");

    tcase_add_checked_fixture(parse, pool_setup, pool_teardown);
    tcase_add_test(parse, token_response_good_yields_every_field);
    tcase_add_test(parse, token_response_optional_members_may_be_absent);
    tcase_add_test(parse, token_response_rejects_bad_documents);
    tcase_add_test(parse, token_response_rejection_logs_no_token);
    tcase_add_test(parse, token_response_rejects_a_huge_body);
    suite_add_tcase(s, parse);

    tcase_add_checked_fixture(token, server_setup, server_teardown);
    tcase_set_timeout(token, 30);
    tcase_add_test(token, token_request_basic_sends_the_code_grant_and_a_basic_header);
    tcase_add_test(token, token_request_post_sends_credentials_in_the_body_only);
    tcase_add_test(token, token_request_private_key_jwt_is_not_implemented_yet);
    tcase_add_test(token, token_request_error_status_logs_only_a_sanitised_error_code);
    tcase_add_test(token, token_request_error_status_without_json_is_still_an_error);
    tcase_add_test(token, token_request_unusable_200_body_is_malformed);
    tcase_add_test(token, token_request_unreachable_op_is_a_transport_error);
    tcase_add_test(token, token_request_without_an_id_token_is_malformed);
    tcase_add_test(token, refresh_sends_the_refresh_token_grant_with_the_client_authentication);
    tcase_add_test(token, refresh_refused_by_the_op_is_told_apart_from_an_op_out_of_order);
    suite_add_tcase(s, token);
    return s;
}

int main(void)
{
    return run_suite(token_suite());
}
