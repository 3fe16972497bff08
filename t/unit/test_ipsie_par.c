/* Unit tests of src/ipsie_par.c: pushed authorization requests against a small real HTTP
 * server on 127.0.0.1, and the short authorization URL. */
#include "test_support.h"
#include "test_http_server.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_par.h"
#include "ipsie/ipsie_util.h"

#define PARAMS "response_type=code&client_id=rp%201&state=s1&scope=openid"
#define REQUEST_URI "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c"

static ipsie_provider_t *test_op(void)
{
    ipsie_provider_t *op = apr_pcalloc(pool, sizeof(*op));

    op->issuer = base_url;
    op->authorization_endpoint = url("/auth");
    op->token_endpoint = url("/token");
    op->jwks_uri = url("/jwks");
    op->par_endpoint = url("/par");
    return op;
}

static ipsie_client_t client = {"rp 1", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};

START_TEST(par_is_used_when_asked_or_required_by_the_provider)
{
    ipsie_provider_t op;

    memset(&op, 0, sizeof(op));
    ck_assert_int_eq(ipsie_par_wanted(0, &op), 0);
    ck_assert_int_eq(ipsie_par_wanted(1, &op), 1);
    op.require_par = 1;
    ck_assert_int_eq(ipsie_par_wanted(0, &op), 1);
}
END_TEST

START_TEST(the_parameters_are_pushed_with_the_clients_authentication)
{
    const char *request_uri = NULL;

    srv_json("/par", 201, "{\"request_uri\":\"" REQUEST_URI "\",\"expires_in\":60}");
    ck_assert_int_eq(ipsie_par_push(&request_uri, test_op(), &client, PARAMS, NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(request_uri, REQUEST_URI);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /par HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: Basic "));
    ck_assert_str_eq(srv.last_body, PARAMS);
}
END_TEST

START_TEST(a_pushed_request_with_dpop_carries_a_proof_for_the_par_endpoint)
{
    const char *request_uri = NULL;
    ipsie_signer_t *key = NULL;
    ipsie_client_opts_t copts = {NULL, 0, 1700000000};

    ck_assert_int_eq(ipsie_signer_generate(&key, "ES256", NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_dpop_create(&copts.dpop, key, pool), APR_SUCCESS);
    srv_set_once("/par", 400, "Content-Type: application/json\r\nDPoP-Nonce: par-n\r\n",
                 "{\"error\":\"use_dpop_nonce\"}");
    srv_json("/par", 201, "{\"request_uri\":\"" REQUEST_URI "\"}");
    ck_assert_int_eq(ipsie_par_push(&request_uri, test_op(), &client, PARAMS, &copts, NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(request_uri, REQUEST_URI);
    ck_assert_int_eq(srv_hits("/par"), 2);
    ck_assert_ptr_nonnull(strcasestr(srv.last_request, "\r\nDPoP: "));
    ck_assert_str_eq(ipsie_dpop_nonce(copts.dpop, url("/par"), pool), "par-n");
}
END_TEST

START_TEST(a_provider_without_a_par_endpoint_is_a_metadata_error)
{
    const char *request_uri = "x";
    ipsie_provider_t *op = test_op();

    op->par_endpoint = NULL;
    ck_assert_int_eq(ipsie_par_push(&request_uri, op, &client, PARAMS, NULL, NULL, pool),
                     IPSIE_ERR_METADATA);
    ck_assert_ptr_null(request_uri);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06401"));
    ck_assert_int_eq(srv.requests, 0);
}
END_TEST

START_TEST(a_refused_push_logs_the_providers_error_code_only)
{
    const char *request_uri = NULL;

    srv_json("/par", 401, "{\"error\":\"invalid_client\",\"error_description\":\"SECRET-DESC\"}");
    ck_assert_int_eq(ipsie_par_push(&request_uri, test_op(), &client, PARAMS, NULL, NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06403"));
    ck_assert_ptr_nonnull(strstr(captured_log, "status 401, error invalid_client"));
    ck_assert_ptr_null(strstr(captured_log, "SECRET-DESC"));
    ck_assert_ptr_null(strstr(captured_log, "secret"));
}
END_TEST

START_TEST(an_unreachable_par_endpoint_is_a_transport_error)
{
    const char *request_uri = NULL;
    ipsie_provider_t *op = test_op();

    op->par_endpoint = refused_url("/par");
    ck_assert_int_eq(ipsie_par_push(&request_uri, op, &client, PARAMS, NULL, NULL, pool),
                     IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06402"));
}
END_TEST

START_TEST(an_answer_without_a_usable_request_uri_is_malformed)
{
    static const char *const bad[] = {
        "{}",
        "{\"request_uri\":7}",
        "{\"request_uri\":\"\"}",
        "{\"request_uri\":\"urn:a b\"}",
        "{\"request_uri\":\"urn:a\\r\\nb\"}",
        "not json",
        "{\"request_uri\":\"urn:a\",\"request_uri\":\"urn:b\"}",
    };
    const char *request_uri = NULL;
    char *huge = apr_palloc(pool, IPSIE_PAR_REQUEST_URI_MAX + 40);
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        srv_json("/par", 201, bad[i]);
        ck_assert_msg(ipsie_par_push(&request_uri, test_op(), &client, PARAMS, NULL, NULL, pool)
                          == IPSIE_ERR_MALFORMED,
                      "accepted %s", bad[i]);
        ck_assert_ptr_null(request_uri);
    }
    strcpy(huge, "{\"request_uri\":\"");
    memset(huge + 16, 'a', IPSIE_PAR_REQUEST_URI_MAX + 1);
    strcpy(huge + 16 + IPSIE_PAR_REQUEST_URI_MAX + 1, "\"}");
    srv_json("/par", 201, huge);
    ck_assert_int_eq(ipsie_par_push(&request_uri, test_op(), &client, PARAMS, NULL, NULL, pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06404"));
}
END_TEST

START_TEST(the_browser_carries_client_id_and_request_uri_alone)
{
    ipsie_provider_t *op = test_op();
    apr_table_t *q;
    const char *url_;

    url_ = ipsie_par_authorization_url(op, "rp 1", REQUEST_URI, pool);
    ck_assert_str_eq(url_, apr_pstrcat(pool, base_url, "/auth?client_id=rp%201&request_uri=",
                                       ipsie_url_encode(REQUEST_URI, pool), NULL));
    op->authorization_endpoint = url("/auth?tenant=a");
    url_ = ipsie_par_authorization_url(op, "rp", "urn:x", pool);
    ck_assert_int_eq(ipsie_form_parse(&q, strchr(url_, '?') + 1, pool), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(q, "tenant"), "a");
    ck_assert_str_eq(apr_table_get(q, "request_uri"), "urn:x");
    ck_assert_int_eq(apr_table_elts(q)->nelts, 3);
}
END_TEST

static Suite *par_suite(void)
{
    Suite *s = suite_create("ipsie_par");
    TCase *push = tcase_create("push");

    tcase_add_checked_fixture(push, server_setup, server_teardown);
    tcase_set_timeout(push, 30);
    tcase_add_test(push, par_is_used_when_asked_or_required_by_the_provider);
    tcase_add_test(push, the_parameters_are_pushed_with_the_clients_authentication);
    tcase_add_test(push, a_pushed_request_with_dpop_carries_a_proof_for_the_par_endpoint);
    tcase_add_test(push, a_provider_without_a_par_endpoint_is_a_metadata_error);
    tcase_add_test(push, a_refused_push_logs_the_providers_error_code_only);
    tcase_add_test(push, an_unreachable_par_endpoint_is_a_transport_error);
    tcase_add_test(push, an_answer_without_a_usable_request_uri_is_malformed);
    tcase_add_test(push, the_browser_carries_client_id_and_request_uri_alone);
    suite_add_tcase(s, push);
    return s;
}

int main(void)
{
    return run_suite(par_suite());
}
