/* Unit tests of UserInfo (OpenID Connect Core 5.3): the request with the access token, and the
 * response read as JSON whose sub must be the ID token's. */
#include <apr_strings.h>

#include "ipsie/ipsie_userinfo.h"
#include "test_http_server.h"

#define SUB "248289761001"

static ipsie_http_response_t response(long status, const char *content_type, const char *body)
{
    ipsie_http_response_t resp;

    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.content_type = content_type;
    resp.body = body;
    resp.body_len = body != NULL ? strlen(body) : 0;
    resp.headers = apr_table_make(pool, 2);
    return resp;
}

static ipsie_userinfo_outcome_e read_body(json_t **claims, const char *content_type,
                                          const char *body)
{
    ipsie_http_response_t resp = response(200, content_type, body);

    return ipsie_userinfo_read(claims, &resp, SUB, pool);
}

START_TEST(json_with_the_id_token_sub_is_read_whole)
{
    json_t *claims = NULL;

    ck_assert_int_eq(read_body(&claims, "application/json; charset=utf-8",
                               "{\"sub\":\"" SUB "\",\"department\":\"R&D\",\"groups\":[\"a\"]}"),
                     IPSIE_USERINFO_OK);
    ck_assert_ptr_nonnull(claims);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "department")), "R&D");
    ck_assert_int_eq(json_array_size(json_object_get(claims, "groups")), 1);
    ck_assert_str_eq(captured_log, "");
}
END_TEST

START_TEST(a_response_for_another_sub_is_refused)
{
    static const char *const bodies[] = {
        "{\"sub\":\"someone-else\",\"email\":\"x@example.com\"}",
        "{\"sub\":\"" SUB " \"}",
        "{\"sub\":\"248289761001\\u0000\"}",
        "{\"sub\":\"" SUB "x\"}",
        "{\"sub\":\"\"}",
    };
    json_t *claims = (json_t *)1;
    apr_size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        ipsie_userinfo_outcome_e out = read_body(&claims, "application/json", bodies[i]);

        /* jansson refuses the NUL: malformed, not a match either way. */
        ck_assert_msg(out == IPSIE_USERINFO_SUB_MISMATCH || out == IPSIE_USERINFO_MALFORMED,
                      "%s read as %d", bodies[i], out);
        ck_assert_ptr_null(claims);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08705"));
}
END_TEST

START_TEST(without_an_id_token_sub_nothing_matches)
{
    ipsie_http_response_t resp = response(200, "application/json", "{\"sub\":\"" SUB "\"}");
    json_t *claims = NULL;

    ck_assert_int_eq(ipsie_userinfo_read(&claims, &resp, NULL, pool), IPSIE_USERINFO_SUB_MISMATCH);
    ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(a_response_without_a_string_sub_or_not_an_object_is_malformed)
{
    static const char *const bodies[] = {
        "{\"email\":\"x@example.com\"}",
        "{\"sub\":248289761001}",
        "{\"sub\":null}",
        "{\"sub\":[\"" SUB "\"]}",
        "[{\"sub\":\"" SUB "\"}]",
        "\"" SUB "\"",
        "{\"sub\":\"" SUB "\",\"sub\":\"other\"}",
        "{\"sub\":\"" SUB "\"",
        "<html>sign in</html>",
        "",
    };
    json_t *claims = (json_t *)1;
    apr_size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        ck_assert_msg(read_body(&claims, "application/json", bodies[i]) == IPSIE_USERINFO_MALFORMED,
                      "%s", bodies[i]);
        ck_assert_ptr_null(claims);
    }
    ck_assert_int_eq(read_body(&claims, NULL, NULL), IPSIE_USERINFO_MALFORMED);
}
END_TEST

START_TEST(a_signed_response_is_refused_with_a_clear_line)
{
    json_t *claims = (json_t *)1;

    ck_assert_int_eq(read_body(&claims, "application/jwt", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
                     IPSIE_USERINFO_SIGNED);
    ck_assert_int_eq(read_body(&claims, "Application/JWT; charset=utf-8", "a.b.c"),
                     IPSIE_USERINFO_SIGNED);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08702"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIEUserInfo Off"));
    /* application/jwt-like names are not JWTs. */
    ck_assert_int_eq(read_body(&claims, "application/jwtx", "{\"sub\":\"" SUB "\"}"),
                     IPSIE_USERINFO_OK);
}
END_TEST

START_TEST(a_status_other_than_200_is_refused_and_logged_with_its_challenge)
{
    ipsie_http_response_t resp = response(401, "application/json", "{\"sub\":\"" SUB "\"}");
    json_t *claims = (json_t *)1;

    apr_table_set(resp.headers, "WWW-Authenticate", "Bearer realm=\"op\", error=\"invalid_token\"");
    ck_assert_int_eq(ipsie_userinfo_read(&claims, &resp, SUB, pool), IPSIE_USERINFO_STATUS);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08701"));
    ck_assert_ptr_nonnull(strstr(captured_log, "status 401"));
    ck_assert_ptr_nonnull(strstr(captured_log, "invalid_token"));
}
END_TEST

/* ---- the request ---------------------------------------------------------------------- */

static ipsie_userinfo_request_t request_to(const char *path)
{
    ipsie_userinfo_request_t req;

    req.endpoint = url(path);
    req.access_token = "at-SlAV32hkKG";
    req.dpop_proof = NULL;
    return req;
}

START_TEST(fetch_sends_a_get_with_the_bearer_token)
{
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = NULL;

    srv_json("/me", 200, "{\"sub\":\"" SUB "\",\"department\":\"R&D\"}");
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool), IPSIE_USERINFO_OK);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /me HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: Bearer at-SlAV32hkKG\r\n"));
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nDPoP:"));
    ck_assert_str_eq(json_string_value(json_object_get(claims, "department")), "R&D");
    /* The token is never logged. */
    ck_assert_ptr_null(strstr(captured_log, "SlAV32hkKG"));
}
END_TEST

START_TEST(fetch_with_a_dpop_proof_sends_the_dpop_scheme_and_header)
{
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = NULL;

    req.dpop_proof = "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln";
    srv_json("/me", 200, "{\"sub\":\"" SUB "\"}");
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool), IPSIE_USERINFO_OK);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: DPoP at-SlAV32hkKG\r\n"));
    ck_assert_ptr_nonnull(
        strstr(srv.last_request, "\r\nDPoP: eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln\r\n"));
}
END_TEST

START_TEST(fetch_of_an_unreachable_endpoint_is_unreachable)
{
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = (json_t *)1;

    req.endpoint = refused_url("/me");
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool),
                     IPSIE_USERINFO_UNREACHABLE);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08707"));
}
END_TEST

START_TEST(fetch_without_an_endpoint_or_a_token_asks_nothing)
{
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = (json_t *)1;

    srv_json("/me", 200, "{\"sub\":\"" SUB "\"}");
    req.endpoint = NULL;
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool),
                     IPSIE_USERINFO_UNREACHABLE);
    req = request_to("/me");
    req.access_token = NULL;
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool),
                     IPSIE_USERINFO_UNREACHABLE);
    ck_assert_ptr_null(claims);
    ck_assert_int_eq(srv_hits("/me"), 0);
}
END_TEST

START_TEST(fetch_of_an_error_answer_is_a_status_failure)
{
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = (json_t *)1;

    srv_set("/me", 401, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "", 0, 0);
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool), IPSIE_USERINFO_STATUS);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(captured_log, "invalid_token"));
}
END_TEST

START_TEST(an_oversized_response_is_refused_unread)
{
    apr_size_t n = IPSIE_HTTP_MAX_BODY + 1;
    char *big = apr_palloc(pool, n + 1);
    ipsie_http_response_t resp;
    ipsie_userinfo_request_t req = request_to("/me");
    json_t *claims = (json_t *)1;

    /* A JSON object of the right user, one byte past the limit. */
    memset(big, ' ', n);
    memcpy(big, "{\"sub\":\"" SUB "\"", 9 + strlen(SUB));
    big[n - 1] = '}';
    big[n] = '\0';
    resp = response(200, "application/json", big);
    ck_assert_int_eq(ipsie_userinfo_read(&claims, &resp, SUB, pool), IPSIE_USERINFO_MALFORMED);
    ck_assert_ptr_null(claims);
    srv_set("/me", 200, "Content-Type: application/json\r\n", big, n, 0);
    ck_assert_int_eq(ipsie_userinfo_fetch(&claims, &req, SUB, NULL, pool),
                     IPSIE_USERINFO_UNREACHABLE);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

static Suite *userinfo_suite(void)
{
    Suite *s = suite_create("ipsie_userinfo");
    TCase *read = tcase_create("read");
    TCase *fetch = tcase_create("fetch");

    tcase_add_checked_fixture(read, pool_setup, pool_teardown);
    tcase_add_test(read, json_with_the_id_token_sub_is_read_whole);
    tcase_add_test(read, a_response_for_another_sub_is_refused);
    tcase_add_test(read, without_an_id_token_sub_nothing_matches);
    tcase_add_test(read, a_response_without_a_string_sub_or_not_an_object_is_malformed);
    tcase_add_test(read, a_signed_response_is_refused_with_a_clear_line);
    tcase_add_test(read, a_status_other_than_200_is_refused_and_logged_with_its_challenge);
    suite_add_tcase(s, read);

    tcase_add_checked_fixture(fetch, server_setup, server_teardown);
    tcase_set_timeout(fetch, 30);
    tcase_add_test(fetch, fetch_sends_a_get_with_the_bearer_token);
    tcase_add_test(fetch, fetch_with_a_dpop_proof_sends_the_dpop_scheme_and_header);
    tcase_add_test(fetch, fetch_of_an_unreachable_endpoint_is_unreachable);
    tcase_add_test(fetch, fetch_without_an_endpoint_or_a_token_asks_nothing);
    tcase_add_test(fetch, fetch_of_an_error_answer_is_a_status_failure);
    tcase_add_test(fetch, an_oversized_response_is_refused_unread);
    suite_add_tcase(s, fetch);
    return s;
}

int main(void)
{
    return run_suite(userinfo_suite());
}
