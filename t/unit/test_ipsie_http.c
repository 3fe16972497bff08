/* Unit tests of src/ipsie_http.c: the HTTP client against a small real HTTP(S) server this
 * suite runs on 127.0.0.1 (GET, form POST, timeouts, TLS, what its log lines show of a URL),
 * and the Cache-Control max-age parser. */
#include <apr_base64.h>

#include "test_support.h"
#include "test_http_server.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_http.h"

/* ---- HTTP client against the loopback server ------------------------------------------ */

START_TEST(http_get_returns_status_body_and_content_type)
{
    ipsie_http_response_t resp;

    srv_json("/doc", 200, "{\"a\":1}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc?x=1"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"a\":1}");
    ck_assert_uint_eq(resp.body_len, 7);
    ck_assert_str_eq(resp.content_type, "application/json");
    ck_assert_int_eq(srv_hits("/doc"), 1);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /doc?x=1 HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nUser-Agent: mod_auth_ipsie\r\n"));
}
END_TEST

START_TEST(http_get_reports_404_as_a_status)
{
    ipsie_http_response_t resp;

    ck_assert_int_eq(ipsie_http_get(&resp, url("/nowhere"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(resp.body, "not found");
}
END_TEST

START_TEST(http_get_does_not_follow_redirects)
{
    ipsie_http_response_t resp;

    srv_set("/moved", 302, "Location: /doc\r\n", "", 0, 0);
    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/moved"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 302);
    ck_assert_int_eq(srv_hits("/doc"), 0);
}
END_TEST

START_TEST(http_get_accepts_a_body_of_exactly_the_limit)
{
    ipsie_http_response_t resp;
    char *big = malloc(IPSIE_HTTP_MAX_BODY);

    memset(big, 'x', IPSIE_HTTP_MAX_BODY);
    srv_set("/big", 200, NULL, big, IPSIE_HTTP_MAX_BODY, 1);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/big"), NULL, pool), APR_SUCCESS);
    ck_assert_uint_eq(resp.body_len, IPSIE_HTTP_MAX_BODY);
    ck_assert_int_eq(resp.body[IPSIE_HTTP_MAX_BODY], '\0');
}
END_TEST

START_TEST(http_get_refuses_an_oversized_body_announced_by_length)
{
    ipsie_http_response_t resp;
    char *big = malloc(IPSIE_HTTP_MAX_BODY + 1);

    memset(big, 'x', IPSIE_HTTP_MAX_BODY + 1);
    srv_set("/big", 200, NULL, big, IPSIE_HTTP_MAX_BODY + 1, 0);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/big"), NULL, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

START_TEST(http_get_aborts_an_oversized_body_without_length)
{
    ipsie_http_response_t resp;
    size_t n = IPSIE_HTTP_MAX_BODY * 4;
    char *big = malloc(n);

    memset(big, 'x', n);
    srv_set("/stream", 200, NULL, big, n, 1);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/stream"), NULL, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

START_TEST(http_get_connection_refused_is_a_transport_error)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/x");

    ck_assert_int_eq(ipsie_http_get(&resp, u, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
    ck_assert_ptr_nonnull(strstr(captured_log, u));
}
END_TEST

START_TEST(http_transport_error_log_masks_credentials_in_the_url)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/x?q=1");
    const char *with_user = apr_pstrcat(pool, "http://user:PASSWORD@", u + 7, NULL);

    ck_assert_int_eq(ipsie_http_get(&resp, with_user, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, apr_pstrcat(pool, "http://***@", u + 7, NULL)));
    ck_assert_ptr_null(strstr(captured_log, "PASSWORD"));
}
END_TEST

START_TEST(http_get_refuses_other_schemes)
{
    ipsie_http_response_t resp;

    ck_assert_int_eq(ipsie_http_get(&resp, "file:///etc/passwd", NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_int_eq(ipsie_http_get(&resp, "gopher://127.0.0.1/", NULL, pool), IPSIE_ERR_HTTP);
}
END_TEST

START_TEST(http_get_times_out_on_a_silent_peer)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {1, NULL, 0};
    int port;
    int fd = listen_loopback(&port); /* listens, never answers */

    ck_assert_int_eq(
        ipsie_http_get(&resp, apr_psprintf(pool, "http://127.0.0.1:%d/", port), &opts, pool),
        IPSIE_ERR_HTTP);
    close(fd);
}
END_TEST

START_TEST(http_post_form_encodes_basic_credentials)
{
    ipsie_http_response_t resp;
    const char *expected_pair = "my%20client%3A1:p%40ss%2Fw%2Bd%25";
    char *b64 = apr_palloc(pool, apr_base64_encode_len(strlen(expected_pair)));

    apr_base64_encode(b64, expected_pair, strlen(expected_pair));
    srv_json("/post", 200, "{}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), "a=1&b=2", "my client:1",
                                          "p@ss/w+d%", NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /post HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(
        srv.last_request, apr_pstrcat(pool, "\r\nAuthorization: Basic ", b64, "\r\n", NULL)));
    ck_assert_ptr_nonnull(
        strstr(srv.last_request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    ck_assert_str_eq(srv.last_body, "a=1&b=2");
}
END_TEST

START_TEST(http_get_returns_the_cache_control_header)
{
    ipsie_http_response_t resp;

    srv_set("/c", 200, "Cache-Control: max-age=42\r\n", "{}", 0, 0);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/c"), NULL, pool), APR_SUCCESS);
    ck_assert_str_eq(resp.cache_control, "max-age=42");
    srv_json("/d", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/d"), NULL, pool), APR_SUCCESS);
    ck_assert_ptr_null(resp.cache_control);
}
END_TEST

/* More request headers go out as given; every response header comes back. */
START_TEST(http_send_adds_request_headers_and_returns_response_headers)
{
    ipsie_http_response_t resp;
    const char *headers[] = {"Authorization: DPoP abc", "DPoP: eyJ.x.y", NULL};

    srv_set("/h", 401, "DPoP-Nonce: n-1\r\nWWW-Authenticate: DPoP error=\"use_dpop_nonce\"\r\n",
            "{}", 0, 0);
    ck_assert_int_eq(ipsie_http_send(&resp, url("/h"), NULL, headers, NULL, NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 401);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /h HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: DPoP abc\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nDPoP: eyJ.x.y\r\n"));
    ck_assert_str_eq(apr_table_get(resp.headers, "dpop-nonce"), "n-1");
    ck_assert_str_eq(apr_table_get(resp.headers, "WWW-Authenticate"),
                     "DPoP error=\"use_dpop_nonce\"");
}
END_TEST

/* A header that would be two (CR or LF inside), or is no header, is not sent: nothing is. */
START_TEST(http_send_refuses_a_header_that_is_not_one)
{
    ipsie_http_response_t resp;
    const char *split[] = {"DPoP: a\r\nX-Injected: 1", NULL};
    const char *bare[] = {"no colon", NULL};

    srv_json("/h2", 200, "{}");
    ck_assert_int_eq(ipsie_http_send(&resp, url("/h2"), NULL, split, NULL, NULL, NULL, pool),
                     APR_EINVAL);
    ck_assert_int_eq(ipsie_http_send(&resp, url("/h2"), NULL, bare, NULL, NULL, NULL, pool),
                     APR_EINVAL);
    ck_assert_int_eq(srv.requests, 0);
}
END_TEST

/* ---- form POSTs ----------------------------------------------------------------------- */

START_TEST(http_post_form_sends_the_form_verbatim_without_credentials)
{
    ipsie_http_response_t resp;
    const char *form = "grant_type=authorization_code&code=a%2Bb&x=";

    srv_json("/post", 200, "{\"ok\":1}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), form, NULL, NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"ok\":1}");
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /post HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(
        strstr(srv.last_request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    ck_assert_ptr_nonnull(
        strstr(srv.last_request,
               apr_psprintf(pool, "\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n", strlen(form))));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAccept: application/json\r\n"));
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nAuthorization:"));
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nExpect:"));
    ck_assert_str_eq(srv.last_body, form);
}
END_TEST

START_TEST(http_post_form_without_a_form_sends_an_empty_body)
{
    ipsie_http_response_t resp;

    srv_json("/post", 200, "{}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), NULL, NULL, NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /post HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nContent-Length: 0\r\n"));
    ck_assert_str_eq(srv.last_body, "");
}
END_TEST

START_TEST(http_post_form_with_a_user_and_no_password_sends_an_empty_password)
{
    ipsie_http_response_t resp;
    const char *pair = "client%201:";
    char *b64 = apr_palloc(pool, apr_base64_encode_len(strlen(pair)));

    apr_base64_encode(b64, pair, strlen(pair));
    srv_json("/post", 200, "{}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), "a=1", "client 1", NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(
        srv.last_request, apr_pstrcat(pool, "\r\nAuthorization: Basic ", b64, "\r\n", NULL)));
    ck_assert_str_eq(srv.last_body, "a=1");
}
END_TEST

START_TEST(http_post_form_returns_an_error_status_with_its_body)
{
    ipsie_http_response_t resp;

    srv_json("/post", 400, "{\"error\":\"invalid_grant\"}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), "a=1", "u", "p", NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.body, "{\"error\":\"invalid_grant\"}");
    ck_assert_str_eq(resp.content_type, "application/json");
}
END_TEST

START_TEST(http_post_form_refuses_an_oversized_answer)
{
    ipsie_http_response_t resp;
    size_t n = IPSIE_HTTP_MAX_BODY + 1;
    char *big = malloc(n);

    memset(big, 'x', n);
    srv_set("/post", 200, NULL, big, n, 1);
    free(big);
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), "a=1", NULL, NULL, NULL, pool),
                     IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------- */

/* A peer that completes the TCP handshake (the kernel does) and never answers. */
static const char *silent_url(int *fd)
{
    int port;

    *fd = listen_loopback(&port);
    return apr_psprintf(pool, "http://127.0.0.1:%d/", port);
}

START_TEST(http_get_gives_up_on_a_silent_peer_after_the_timeout)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {1, NULL, 0};
    int fd;
    const char *u = silent_url(&fd);
    apr_time_t start = apr_time_now();
    apr_interval_time_t took;

    ck_assert_int_eq(ipsie_http_get(&resp, u, &opts, pool), IPSIE_ERR_HTTP);
    took = apr_time_now() - start;
    close(fd);
    ck_assert_int_ge(took, apr_time_from_msec(900));
    ck_assert_int_lt(took, apr_time_from_sec(3));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
    ck_assert_int_eq(resp.status, 0);
    ck_assert_ptr_null(resp.body);
}
END_TEST

START_TEST(http_post_form_gives_up_on_a_silent_peer_after_the_timeout)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {1, NULL, 0};
    int fd;
    const char *u = silent_url(&fd);
    apr_time_t start = apr_time_now();
    apr_interval_time_t took;

    ck_assert_int_eq(ipsie_http_post_form(&resp, u, "a=1", "u", "p", &opts, pool), IPSIE_ERR_HTTP);
    took = apr_time_now() - start;
    close(fd);
    ck_assert_int_ge(took, apr_time_from_msec(900));
    ck_assert_int_lt(took, apr_time_from_sec(3));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
}
END_TEST

START_TEST(http_timeout_option_sets_how_long_a_silent_peer_is_waited_for)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {2, NULL, 0};
    int fd;
    const char *u = silent_url(&fd);
    apr_time_t start = apr_time_now();
    apr_interval_time_t took;

    /* A longer timeout waits longer: the option is the bound, not a fixed delay. */
    ck_assert_int_eq(ipsie_http_get(&resp, u, &opts, pool), IPSIE_ERR_HTTP);
    took = apr_time_now() - start;
    close(fd);
    ck_assert_int_ge(took, apr_time_from_msec(1900));
    ck_assert_int_lt(took, apr_time_from_sec(4));
}
END_TEST

/* ---- URLs in log lines ---------------------------------------------------------------- */

START_TEST(http_log_masks_a_user_without_a_password)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/x");
    const char *with_user = apr_pstrcat(pool, "http://SOMEUSER@", u + 7, NULL);

    ck_assert_int_eq(ipsie_http_get(&resp, with_user, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, apr_pstrcat(pool, "http://***@", u + 7, NULL)));
    ck_assert_ptr_null(strstr(captured_log, "SOMEUSER"));
}
END_TEST

START_TEST(http_log_keeps_an_at_sign_past_the_host)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/a@b?c=d@e#f@g");

    ck_assert_int_eq(ipsie_http_get(&resp, u, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, u));
    ck_assert_ptr_null(strstr(captured_log, "***"));
}
END_TEST

START_TEST(http_log_masks_credentials_on_every_failure)
{
    ipsie_http_response_t resp;
    size_t n = IPSIE_HTTP_MAX_BODY + 1;
    char *big = malloc(n);
    const char *with_user = apr_psprintf(pool, "http://user:PASSWORD@127.0.0.1:%d/big", srv.port);

    memset(big, 'x', n);
    srv_set("/big", 200, NULL, big, n, 0);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, with_user, NULL, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
    ck_assert_ptr_nonnull(
        strstr(captured_log, apr_psprintf(pool, "http://***@127.0.0.1:%d/big", srv.port)));
    ck_assert_ptr_null(strstr(captured_log, "PASSWORD"));
}
END_TEST

/* ---- HTTPS ---------------------------------------------------------------------------- */

START_TEST(https_refuses_a_certificate_no_trust_anchor_vouches_for)
{
    ipsie_http_response_t resp;

    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc"), NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_int_eq(srv_hits("/doc"), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
}
END_TEST

START_TEST(https_trusts_the_configured_ca_file)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {5, cert_file, 0};

    srv_json("/doc", 200, "{\"ok\":true}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc"), &opts, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"ok\":true}");
    ck_assert_int_eq(srv_hits("/doc"), 1);
}
END_TEST

START_TEST(https_checks_the_host_name_against_the_certificate)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {5, cert_file, 0};

    /* The certificate names 127.0.0.1 only, so "localhost" must not match it. */
    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, apr_psprintf(pool, "https://localhost:%d/doc", srv.port),
                                    &opts, pool),
                     IPSIE_ERR_HTTP);
    ck_assert_int_eq(srv_hits("/doc"), 0);
}
END_TEST

/* ---- Cache-Control -------------------------------------------------------------------- */

START_TEST(http_max_age_reads_cache_control)
{
    ck_assert_int_eq(ipsie_http_max_age(NULL), -1);
    ck_assert_int_eq(ipsie_http_max_age(""), -1);
    ck_assert_int_eq(ipsie_http_max_age("public"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=300"), 300);
    ck_assert_int_eq(ipsie_http_max_age("public, max-age=300, must-revalidate"), 300);
    ck_assert_int_eq(ipsie_http_max_age("Max-Age=\"60\""), 60);
    ck_assert_int_eq(ipsie_http_max_age("private, no-cache=\"x, y\", max-age=7"), 0);
    ck_assert_int_eq(ipsie_http_max_age("s-maxage=10"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=300, no-store"), 0);
    ck_assert_int_eq(ipsie_http_max_age("NO-CACHE"), 0);
    ck_assert_int_eq(ipsie_http_max_age("max-age=-5"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=12abc"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age="), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=99999999999999999999999"), 1000000000LL);
    ck_assert_int_eq(ipsie_http_max_age(",,, ,max-age=5,"), 5);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("ipsie_http");
    TCase *http = tcase_create("http");
    TCase *tls = tcase_create("tls");
    TCase *max_age = tcase_create("max_age");

    tcase_add_checked_fixture(http, server_setup, server_teardown);
    tcase_set_timeout(http, 30);
    tcase_add_test(http, http_get_returns_status_body_and_content_type);
    tcase_add_test(http, http_get_reports_404_as_a_status);
    tcase_add_test(http, http_get_does_not_follow_redirects);
    tcase_add_test(http, http_get_accepts_a_body_of_exactly_the_limit);
    tcase_add_test(http, http_get_refuses_an_oversized_body_announced_by_length);
    tcase_add_test(http, http_get_aborts_an_oversized_body_without_length);
    tcase_add_test(http, http_get_connection_refused_is_a_transport_error);
    tcase_add_test(http, http_transport_error_log_masks_credentials_in_the_url);
    tcase_add_test(http, http_get_refuses_other_schemes);
    tcase_add_test(http, http_get_times_out_on_a_silent_peer);
    tcase_add_test(http, http_post_form_encodes_basic_credentials);
    tcase_add_test(http, http_get_returns_the_cache_control_header);
    tcase_add_test(http, http_send_adds_request_headers_and_returns_response_headers);
    tcase_add_test(http, http_send_refuses_a_header_that_is_not_one);
    tcase_add_test(http, http_post_form_sends_the_form_verbatim_without_credentials);
    tcase_add_test(http, http_post_form_without_a_form_sends_an_empty_body);
    tcase_add_test(http, http_post_form_with_a_user_and_no_password_sends_an_empty_password);
    tcase_add_test(http, http_post_form_returns_an_error_status_with_its_body);
    tcase_add_test(http, http_post_form_refuses_an_oversized_answer);
    tcase_add_test(http, http_get_gives_up_on_a_silent_peer_after_the_timeout);
    tcase_add_test(http, http_post_form_gives_up_on_a_silent_peer_after_the_timeout);
    tcase_add_test(http, http_timeout_option_sets_how_long_a_silent_peer_is_waited_for);
    tcase_add_test(http, http_log_masks_a_user_without_a_password);
    tcase_add_test(http, http_log_keeps_an_at_sign_past_the_host);
    tcase_add_test(http, http_log_masks_credentials_on_every_failure);
    suite_add_tcase(s, http);

    tcase_add_checked_fixture(tls, tls_server_setup, server_teardown);
    tcase_set_timeout(tls, 30);
    tcase_add_test(tls, https_refuses_a_certificate_no_trust_anchor_vouches_for);
    tcase_add_test(tls, https_trusts_the_configured_ca_file);
    tcase_add_test(tls, https_checks_the_host_name_against_the_certificate);
    suite_add_tcase(s, tls);

    tcase_add_checked_fixture(max_age, pool_setup, pool_teardown);
    tcase_add_test(max_age, http_max_age_reads_cache_control);
    suite_add_tcase(s, max_age);
    return s;
}

int main(void)
{
    return run_suite(http_suite());
}
