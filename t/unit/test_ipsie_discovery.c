/* Unit tests of src/ipsie_discovery.c: the issuer a discovery URL names and the discovery
 * document's checks. */
#include "test_support.h"
#include "ipsie/ipsie_discovery.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_http.h"

/* ---- issuer from the discovery URL ---------------------------------------------------- */

START_TEST(issuer_from_url_strips_the_well_known_suffix)
{
    ck_assert_str_eq(
        ipsie_provider_issuer_from_url("https://op.example/.well-known/openid-configuration", pool),
        "https://op.example");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example:8443/tenant/a/.well-known/openid-configuration", pool),
                     "https://op.example:8443/tenant/a");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example//.well-known/openid-configuration", pool),
                     "https://op.example/");
}
END_TEST

START_TEST(issuer_from_url_leaves_other_urls_alone)
{
    ck_assert_str_eq(ipsie_provider_issuer_from_url("https://op.example/meta.json", pool),
                     "https://op.example/meta.json");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example/.well-known/openid-configuration/x", pool),
                     "https://op.example/.well-known/openid-configuration/x");
    ck_assert_str_eq(ipsie_provider_issuer_from_url("/.well-known/openid-configuration", pool),
                     "/.well-known/openid-configuration");
    ck_assert_ptr_null(ipsie_provider_issuer_from_url(NULL, pool));
}
END_TEST

START_TEST(url_names_an_issuer_only_with_the_well_known_suffix)
{
    ck_assert_int_eq(
        ipsie_provider_url_names_issuer("https://op.example/.well-known/openid-configuration"), 1);
    ck_assert_int_eq(
        ipsie_provider_url_names_issuer("https://op.example/t/.well-known/openid-configuration"),
        1);
    ck_assert_int_eq(ipsie_provider_url_names_issuer("https://op.example/meta.json"), 0);
    ck_assert_int_eq(ipsie_provider_url_names_issuer(
                         "https://op.example/.well-known/openid-configuration/tenant"),
                     0);
    ck_assert_int_eq(ipsie_provider_url_names_issuer("/.well-known/openid-configuration"), 0);
    ck_assert_int_eq(ipsie_provider_url_names_issuer(NULL), 0);
}
END_TEST

#define META_URL "https://op.example/.well-known/openid-configuration"

START_TEST(issuer_derived_from_the_url_is_accepted_with_or_without_a_trailing_slash)
{
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://op.example", NULL, META_URL), 1);
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://op.example/", NULL, META_URL), 1);
    ck_assert_int_eq(
        ipsie_provider_issuer_accepted("https://op.example/t/", NULL,
                                       "https://op.example/t/.well-known/openid-configuration"),
        1);
    ck_assert_int_eq(
        ipsie_provider_issuer_accepted("https://op.example/t", NULL,
                                       "https://op.example/t/.well-known/openid-configuration"),
        1);
}
END_TEST

START_TEST(issuer_derived_from_the_url_accepts_nothing_else)
{
    static const char *const others[] = {"https://op.example//",
                                         "https://op.example/x",
                                         "https://op.example/.well-known/openid-configuration",
                                         "https://OP.example",
                                         "HTTPS://op.example",
                                         "http://op.example",
                                         "https://op.example:443",
                                         "https://op.exampl",
                                         "https://op.example.evil",
                                         "https://op.example.evil/",
                                         "https://op.example?",
                                         "https://op.example#",
                                         "https://op.example /",
                                         ""};
    size_t i;

    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        ck_assert_msg(ipsie_provider_issuer_accepted(others[i], NULL, META_URL) == 0,
                      "%s was accepted", others[i]);
    }
    ck_assert_int_eq(ipsie_provider_issuer_accepted(NULL, NULL, META_URL), 0);
    /* A URL that names no issuer accepts none, not even itself. */
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://op.example/meta.json", NULL,
                                                    "https://op.example/meta.json"),
                     0);
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://op.example", NULL, NULL), 0);
}
END_TEST

START_TEST(configured_issuer_is_the_only_one_accepted)
{
    ck_assert_int_eq(
        ipsie_provider_issuer_accepted("https://op.example/", "https://op.example/", META_URL), 1);
    ck_assert_int_eq(
        ipsie_provider_issuer_accepted("https://op.example", "https://op.example/", META_URL), 0);
    ck_assert_int_eq(
        ipsie_provider_issuer_accepted("https://op.example/", "https://op.example", META_URL), 0);
    /* Whatever the metadata URL: it may live anywhere. */
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://id.example/tenant-1",
                                                    "https://id.example/tenant-1",
                                                    "https://cdn.example/meta/tenant-1.json"),
                     1);
    ck_assert_int_eq(ipsie_provider_issuer_accepted("https://id.example/tenant-1",
                                                    "https://id.example/tenant-1", NULL),
                     1);
}
END_TEST

START_TEST(configured_issuer_must_be_an_absolute_http_url_without_query_or_fragment)
{
    static const char *const good[] = {"https://op.example", "https://op.example/",
                                       "http://127.0.0.1:8080/realms/a", "HTTPS://op.example/t/"};
    static const char *const bad[] = {"op.example",
                                      "/realms/a",
                                      "ftp://op.example",
                                      "https://",
                                      "https:///path",
                                      "https://op.example/?a=b",
                                      "https://op.example/#x",
                                      "https://op.example/a b",
                                      "https://op.example/\t",
                                      "https://op.example/\n",
                                      "",
                                      NULL};
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(ipsie_provider_issuer_valid(good[i]) == 1, "%s was refused", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ipsie_provider_issuer_valid(bad[i]) == 0, "%s was accepted",
                      bad[i] ? bad[i] : "NULL");
    }
}
END_TEST

/* ---- discovery documents -------------------------------------------------------------- */

#define ISS "https://op.example"

static apr_status_t parse_doc(ipsie_provider_t **op, const char *doc)
{
    return ipsie_provider_parse(op, doc, strlen(doc), ISS, pool);
}

/* A discovery document with one member replaced (or dropped when value is NULL). */
static const char *doc_with(const char *name, const char *value)
{
    static const char *names[] = {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"};
    static const char *values[] = {"\"" ISS "\"", "\"" ISS "/auth\"", "\"" ISS "/token\"",
                                   "\"" ISS "/jwks\""};
    const char *doc = "{\"response_types_supported\":[\"code\"]";
    int i, replaced = 0;

    for (i = 0; i < 4; i++) {
        if (strcmp(names[i], name) == 0) {
            replaced = 1;
            if (value == NULL) {
                continue;
            }
            doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, names[i], value);
        }
        else {
            doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, names[i], values[i]);
        }
    }
    if (!replaced && value != NULL) {
        doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, name, value);
    }
    return apr_pstrcat(pool, doc, "}", NULL);
}

START_TEST(discovery_good_document_yields_every_field)
{
    ipsie_provider_t *op = NULL;
    const char *doc = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
                      "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
                      "\"end_session_endpoint\":\"" ISS "/logout\","
                      "\"userinfo_endpoint\":\"" ISS "/me\","
                      "\"authorization_response_iss_parameter_supported\":true,"
                      "\"scopes_supported\":[\"openid\"],\"unknown\":{\"x\":1}}";

    ck_assert_int_eq(parse_doc(&op, doc), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(op->issuer, ISS);
    ck_assert_str_eq(op->authorization_endpoint, ISS "/auth");
    ck_assert_str_eq(op->token_endpoint, ISS "/token");
    ck_assert_str_eq(op->jwks_uri, ISS "/jwks");
    ck_assert_str_eq(op->end_session_endpoint, ISS "/logout");
    ck_assert_str_eq(op->userinfo_endpoint, ISS "/me");
    ck_assert_int_eq(op->iss_parameter_supported, 1);
}
END_TEST

START_TEST(discovery_optional_members_default_to_absent)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_null(op->end_session_endpoint);
    ck_assert_ptr_null(op->userinfo_endpoint);
    ck_assert_int_eq(op->iss_parameter_supported, 0);

    /* Only the JSON boolean true advertises the iss parameter. */
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "\"true\"")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "1")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "false")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
}
END_TEST

START_TEST(discovery_reads_the_par_endpoint_and_whether_par_is_required)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_null(op->par_endpoint);
    ck_assert_int_eq(op->require_par, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("pushed_authorization_request_endpoint", "\"" ISS "/par\"")),
        APR_SUCCESS);
    ck_assert_str_eq(op->par_endpoint, ISS "/par");
    ck_assert_int_eq(parse_doc(&op, doc_with("require_pushed_authorization_requests", "true")),
                     APR_SUCCESS);
    ck_assert_int_eq(op->require_par, 1);
    ck_assert_int_eq(parse_doc(&op, doc_with("require_pushed_authorization_requests", "\"true\"")),
                     APR_SUCCESS);
    ck_assert_int_eq(op->require_par, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("pushed_authorization_request_endpoint", "\"javascript:x\"")),
        IPSIE_ERR_METADATA);
}
END_TEST

START_TEST(discovery_reads_the_dpop_algs_as_a_list_of_strings_only)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_null(op->dpop_algs);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("dpop_signing_alg_values_supported", "[\"ES256\",\"EdDSA\"]")),
        APR_SUCCESS);
    ck_assert_int_eq(op->dpop_algs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(op->dpop_algs, 1, const char *), "EdDSA");
    ck_assert_int_eq(parse_doc(&op, doc_with("dpop_signing_alg_values_supported", "[]")),
                     APR_SUCCESS);
    ck_assert_int_eq(op->dpop_algs->nelts, 0);
    /* Another shape advertises nothing, and the metadata stays usable. */
    ck_assert_int_eq(parse_doc(&op, doc_with("dpop_signing_alg_values_supported", "\"ES256\"")),
                     APR_SUCCESS);
    ck_assert_ptr_null(op->dpop_algs);
    ck_assert_int_eq(parse_doc(&op, doc_with("dpop_signing_alg_values_supported", "[\"ES256\",1]")),
                     APR_SUCCESS);
    ck_assert_ptr_null(op->dpop_algs);
}
END_TEST

START_TEST(discovery_reads_the_token_auth_algs_as_a_list_of_strings_only)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_null(op->token_auth_algs);
    ck_assert_int_eq(parse_doc(&op, doc_with("token_endpoint_auth_signing_alg_values_supported",
                                             "[\"PS256\",\"ES256\"]")),
                     APR_SUCCESS);
    ck_assert_int_eq(op->token_auth_algs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(op->token_auth_algs, 0, const char *), "PS256");
    /* Another shape lists nothing, and the metadata stays usable. */
    ck_assert_int_eq(
        parse_doc(&op, doc_with("token_endpoint_auth_signing_alg_values_supported", "\"PS256\"")),
        APR_SUCCESS);
    ck_assert_ptr_null(op->token_auth_algs);
    ck_assert_int_eq(parse_doc(&op, doc_with("token_endpoint_auth_signing_alg_values_supported",
                                             "[\"PS256\",null]")),
                     APR_SUCCESS);
    ck_assert_ptr_null(op->token_auth_algs);
    ck_assert_int_eq(parse_doc(&op, doc_with("token_endpoint_auth_signing_alg_values_supported",
                                             "{\"PS256\":true}")),
                     APR_SUCCESS);
    ck_assert_ptr_null(op->token_auth_algs);
}
END_TEST

START_TEST(discovery_advertising_s256_logs_no_pkce_warning)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(
        parse_doc(&op, doc_with("code_challenge_methods_supported", "[\"plain\",\"S256\"]")),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08106"));
}
END_TEST

START_TEST(discovery_without_code_challenge_methods_warns_and_goes_on)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08106"));
    ck_assert_ptr_nonnull(strstr(captured_log, "code_challenge_methods_supported"));
    ck_assert_ptr_nonnull(strstr(captured_log, "S256"));
}
END_TEST

START_TEST(discovery_without_s256_in_code_challenge_methods_warns_once_and_goes_on)
{
    ipsie_provider_t *op = NULL;
    const char *first;

    ck_assert_int_eq(
        parse_doc(&op, doc_with("code_challenge_methods_supported", "[\"plain\",\"s256\"]")),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    first = strstr(captured_log, "IPSIE08106");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "IPSIE08106"));

    captured_log[0] = '\0';
    ck_assert_int_eq(parse_doc(&op, doc_with("code_challenge_methods_supported", "[]")),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08106"));
}
END_TEST

START_TEST(discovery_code_challenge_methods_not_an_array_of_strings_warns_and_goes_on)
{
    static const char *bad[] = {"\"S256\"", "{\"S256\":true}", "256",         "true",
                                "null",     "[\"S256\",1]",    "[[\"S256\"]]"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        captured_log[0] = '\0';
        ck_assert_int_eq(parse_doc(&op, doc_with("code_challenge_methods_supported", bad[i])),
                         APR_SUCCESS);
        ck_assert_ptr_nonnull(op);
        ck_assert_msg(strstr(captured_log, "IPSIE08106") != NULL, "no warning for %s", bad[i]);
    }
}
END_TEST

START_TEST(discovery_rejects_what_is_not_a_json_object)
{
    static const char *bad[] = {"",
                                "not json",
                                "{\"issuer\":",
                                "[]",
                                "[{\"issuer\":\"" ISS "\"}]",
                                "\"" ISS "\"",
                                "null",
                                "42",
                                "{\"issuer\":\"" ISS "\"} trailing"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(parse_doc(&op, bad[i]), IPSIE_ERR_METADATA);
        ck_assert_ptr_null(op);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08103"));
}
END_TEST

START_TEST(discovery_rejects_another_issuer)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "/\"")), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://OP.example\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://evil.example\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://op.example.evil\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_null(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08105"));
    /* A configured issuer with a trailing slash does not accept one without. */
    ck_assert_int_eq(ipsie_provider_parse(&op, doc_with("issuer", "\"" ISS "\""),
                                          strlen(doc_with("issuer", "\"" ISS "\"")), ISS "/", pool),
                     IPSIE_ERR_ISSUER_MISMATCH);
}
END_TEST

/* The document of doc_with whose issuer is issuer, parsed for META_URL (configured NULL) or
 * for configured. */
static apr_status_t parse_for(ipsie_provider_t **op, const char *issuer, const char *configured,
                              const char *metadata_url)
{
    const char *doc = doc_with("issuer", apr_psprintf(pool, "\"%s\"", issuer));

    return ipsie_provider_parse_for(op, doc, strlen(doc), configured, metadata_url, pool);
}

START_TEST(discovery_for_a_url_accepts_either_spelling_and_keeps_the_metadatas)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_for(&op, ISS "/", NULL, META_URL), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, ISS "/");
    ck_assert_int_eq(parse_for(&op, ISS, NULL, META_URL), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, ISS);
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08105"));
}
END_TEST

START_TEST(discovery_for_a_url_refuses_another_issuer_naming_both_spellings)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_for(&op, ISS "//", NULL, META_URL), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_null(op);
    ck_assert_ptr_nonnull(
        strstr(captured_log, "IPSIE08105: provider metadata issuer 'https://op.example//' is not "
                             "the expected 'https://op.example' or 'https://op.example/'"));
    captured_log[0] = '\0';
    ck_assert_int_eq(parse_for(&op, ISS "/tenant", NULL, META_URL), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_for(&op, "https://evil.example/", NULL, META_URL),
                     IPSIE_ERR_ISSUER_MISMATCH);
    /* A URL that names no issuer takes none: IPSIEProviderIssuer must say it. */
    captured_log[0] = '\0';
    ck_assert_int_eq(parse_for(&op, ISS, NULL, ISS "/meta.json"), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIEProviderIssuer"));
}
END_TEST

START_TEST(discovery_for_a_configured_issuer_accepts_it_alone)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_for(&op, ISS "/", ISS "/", META_URL), APR_SUCCESS);
    ck_assert_str_eq(op->issuer, ISS "/");
    ck_assert_int_eq(parse_for(&op, ISS, ISS "/", META_URL), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "is not the expected 'https://op.example/'"));
    ck_assert_int_eq(
        parse_for(&op, "https://id.example/t1", "https://id.example/t1", ISS "/meta.json"),
        APR_SUCCESS);
    ck_assert_str_eq(op->issuer, "https://id.example/t1");
}
END_TEST

START_TEST(discovery_for_nothing_to_compare_with_is_an_error)
{
    ipsie_provider_t *op = (ipsie_provider_t *)1;
    const char *doc = doc_with("issuer", "\"" ISS "\"");

    ck_assert_int_eq(ipsie_provider_parse_for(&op, doc, strlen(doc), NULL, NULL, pool), APR_EINVAL);
    ck_assert_ptr_null(op);
    op = (ipsie_provider_t *)1;
    ck_assert_int_eq(ipsie_provider_parse(&op, doc, strlen(doc), NULL, pool), APR_EINVAL);
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(discovery_issuer_mismatch_log_is_sanitised)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://x\\r\\nIPSIE99999 fake\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "https://x??IPSIE99999 fake"));
    ck_assert_ptr_null(strstr(captured_log, "\nIPSIE99999"));
}
END_TEST

START_TEST(discovery_rejects_missing_or_non_string_issuer)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", NULL)), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "42")), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "[\"" ISS "\"]")), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "null")), IPSIE_ERR_METADATA);
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(discovery_rejects_a_missing_required_endpoint)
{
    static const char *required[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < 3; i++) {
        captured_log[0] = '\0';
        ck_assert_int_eq(parse_doc(&op, doc_with(required[i], NULL)), IPSIE_ERR_METADATA);
        ck_assert_ptr_null(op);
        ck_assert_ptr_nonnull(strstr(captured_log, required[i]));
    }
}
END_TEST

START_TEST(discovery_rejects_endpoints_that_are_not_http_urls)
{
    static const char *bad[] = {"\"javascript:alert(1)\"",
                                "\"/token\"",
                                "\"ftp://op.example/t\"",
                                "\"https://\"",
                                "\"https:///path\"",
                                "\"https://op.example/a b\"",
                                "\"https://op.example/\\u0001\"",
                                "\"\"",
                                "42",
                                "true",
                                "[\"" ISS "/token\"]",
                                "{}",
                                "\"data:text/html,x\""};
    static const char *names[] = {"authorization_endpoint", "token_endpoint", "jwks_uri",
                                  "end_session_endpoint", "userinfo_endpoint"};
    ipsie_provider_t *op = NULL;
    size_t i, j;

    for (j = 0; j < 5; j++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ck_assert_msg(parse_doc(&op, doc_with(names[j], bad[i])) == IPSIE_ERR_METADATA,
                          "%s = %s accepted", names[j], bad[i]);
            ck_assert_ptr_null(op);
        }
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08101"));
}
END_TEST

START_TEST(discovery_accepts_http_and_mixed_case_scheme)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("token_endpoint", "\"HTTPS://op.example/t?x=1\"")),
                     APR_SUCCESS);
    ck_assert_str_eq(op->token_endpoint, "HTTPS://op.example/t?x=1");
    ck_assert_int_eq(parse_doc(&op, doc_with("jwks_uri", "\"http://127.0.0.1:8080/jwks\"")),
                     APR_SUCCESS);
    ck_assert_str_eq(op->jwks_uri, "http://127.0.0.1:8080/jwks");
}
END_TEST

START_TEST(discovery_rejects_duplicate_members)
{
    ipsie_provider_t *op = NULL;
    const char *doc = "{\"issuer\":\"" ISS "\",\"issuer\":\"https://evil.example\","
                      "\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS
                      "/t\",\"jwks_uri\":\"" ISS "/j\"}";

    ck_assert_int_eq(parse_doc(&op, doc), IPSIE_ERR_METADATA);
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(discovery_rejects_a_huge_document)
{
    ipsie_provider_t *op = NULL;
    size_t n = IPSIE_HTTP_MAX_BODY + 100;
    char *doc = apr_palloc(pool, n + 1);
    const char *head = doc_with("issuer", "\"" ISS "\"");
    size_t hl = strlen(head);

    /* A valid document padded with whitespace past the limit. */
    memcpy(doc, head, hl);
    memset(doc + hl, ' ', n - hl);
    doc[n] = '\0';
    ck_assert_int_eq(ipsie_provider_parse(&op, doc, n, ISS, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(op);
    ck_assert_int_eq(ipsie_provider_parse(&op, doc, IPSIE_HTTP_MAX_BODY, ISS, pool), APR_SUCCESS);
}
END_TEST

START_TEST(discovery_survives_deep_nesting)
{
    ipsie_provider_t *op = NULL;
    size_t depth = 100000, i;
    char *doc = apr_palloc(pool, depth * 2 + 1);

    for (i = 0; i < depth; i++) {
        doc[i] = '[';
        doc[depth * 2 - 1 - i] = ']';
    }
    doc[depth * 2] = '\0';
    ck_assert_int_eq(parse_doc(&op, doc), IPSIE_ERR_METADATA);
}
END_TEST

static Suite *discovery_suite(void)
{
    Suite *s = suite_create("ipsie_discovery");
    TCase *parse = tcase_create("parse");

    tcase_add_checked_fixture(parse, pool_setup, pool_teardown);
    tcase_add_test(parse, issuer_from_url_strips_the_well_known_suffix);
    tcase_add_test(parse, issuer_from_url_leaves_other_urls_alone);
    tcase_add_test(parse, url_names_an_issuer_only_with_the_well_known_suffix);
    tcase_add_test(parse, issuer_derived_from_the_url_is_accepted_with_or_without_a_trailing_slash);
    tcase_add_test(parse, issuer_derived_from_the_url_accepts_nothing_else);
    tcase_add_test(parse, configured_issuer_is_the_only_one_accepted);
    tcase_add_test(parse, configured_issuer_must_be_an_absolute_http_url_without_query_or_fragment);
    tcase_add_test(parse, discovery_good_document_yields_every_field);
    tcase_add_test(parse, discovery_optional_members_default_to_absent);
    tcase_add_test(parse, discovery_reads_the_par_endpoint_and_whether_par_is_required);
    tcase_add_test(parse, discovery_reads_the_dpop_algs_as_a_list_of_strings_only);
    tcase_add_test(parse, discovery_reads_the_token_auth_algs_as_a_list_of_strings_only);
    tcase_add_test(parse, discovery_advertising_s256_logs_no_pkce_warning);
    tcase_add_test(parse, discovery_without_code_challenge_methods_warns_and_goes_on);
    tcase_add_test(parse, discovery_without_s256_in_code_challenge_methods_warns_once_and_goes_on);
    tcase_add_test(parse,
                   discovery_code_challenge_methods_not_an_array_of_strings_warns_and_goes_on);
    tcase_add_test(parse, discovery_rejects_what_is_not_a_json_object);
    tcase_add_test(parse, discovery_rejects_another_issuer);
    tcase_add_test(parse, discovery_for_a_url_accepts_either_spelling_and_keeps_the_metadatas);
    tcase_add_test(parse, discovery_for_a_url_refuses_another_issuer_naming_both_spellings);
    tcase_add_test(parse, discovery_for_a_configured_issuer_accepts_it_alone);
    tcase_add_test(parse, discovery_for_nothing_to_compare_with_is_an_error);
    tcase_add_test(parse, discovery_issuer_mismatch_log_is_sanitised);
    tcase_add_test(parse, discovery_rejects_missing_or_non_string_issuer);
    tcase_add_test(parse, discovery_rejects_a_missing_required_endpoint);
    tcase_add_test(parse, discovery_rejects_endpoints_that_are_not_http_urls);
    tcase_add_test(parse, discovery_accepts_http_and_mixed_case_scheme);
    tcase_add_test(parse, discovery_rejects_duplicate_members);
    tcase_add_test(parse, discovery_rejects_a_huge_document);
    tcase_add_test(parse, discovery_survives_deep_nesting);
    suite_add_tcase(s, parse);
    return s;
}

int main(void)
{
    return run_suite(discovery_suite());
}
