/* Unit tests of src/ipsie_client.c: client assertions (private_key_jwt), the client's
 * authentication on its POSTs, and DPoP proofs with the server's nonce, against a small real
 * HTTP server on 127.0.0.1. */
#include "test_support.h"
#include "test_http_server.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_client.h"
#include "ipsie/ipsie_error.h"

static ipsie_signer_t *client_key(void)
{
    ipsie_signer_t *key = NULL;

    ck_assert_int_eq(ipsie_signer_generate(&key, "ES256", "client-key-1", pool), APR_SUCCESS);
    return key;
}

static ipsie_client_t jwt_client(void)
{
    ipsie_client_t client = {"client:1", NULL, IPSIE_AUTH_PRIVATE_KEY_JWT, client_key()};

    return client;
}

static ipsie_provider_t *test_op(void)
{
    ipsie_provider_t *op = apr_pcalloc(pool, sizeof(*op));

    op->issuer = "https://op.example/tenant";
    op->authorization_endpoint = url("/auth");
    op->token_endpoint = url("/token");
    op->jwks_uri = url("/jwks");
    return op;
}

/* The claims of a JWS, verified with key's public JWK by the module's verifier. */
static json_t *verified(const char *jws, const ipsie_signer_t *key, json_t **header)
{
    json_t *claims = NULL;
    unsigned char *bytes;
    apr_size_t len;

    ck_assert_int_eq(ipsie_jws_verify(&claims, jws,
                                      jwks_of(json_pack("[o]", ipsie_signer_public_jwk(key, 1))),
                                      all_algs(), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_b64url_decode(&bytes, &len, jws, strcspn(jws, "."), pool), APR_SUCCESS);
    *header = json_loadb((const char *)bytes, len, 0, NULL);
    return claims;
}

static const char *claim_str(json_t *claims, const char *name)
{
    return json_string_value(json_object_get(claims, name));
}

static long long claim_int(json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);

    ck_assert_msg(json_is_integer(v), "%s is not an integer", name);
    return json_integer_value(v);
}

/* ---- assertions ----------------------------------------------------------------------- */

START_TEST(an_assertion_names_the_client_the_issuer_and_lives_60_seconds)
{
    ipsie_client_t client = jwt_client();
    const char *jws;
    json_t *header;
    json_t *claims;

    ck_assert_int_eq(
        ipsie_client_assertion(&jws, &client, "https://op.example/tenant", NULL, NOW, pool),
        APR_SUCCESS);
    claims = verified(jws, client.signing_key, &header);
    ck_assert_str_eq(json_string_value(json_object_get(header, "alg")), "ES256");
    ck_assert_str_eq(json_string_value(json_object_get(header, "kid")), "client-key-1");
    ck_assert_str_eq(claim_str(claims, "iss"), "client:1");
    ck_assert_str_eq(claim_str(claims, "sub"), "client:1");
    /* A single string, never an array (IPSIE SL1). */
    ck_assert(json_is_string(json_object_get(claims, "aud")));
    ck_assert_str_eq(claim_str(claims, "aud"), "https://op.example/tenant");
    ck_assert_int_eq(claim_int(claims, "iat"), NOW);
    ck_assert_int_eq(claim_int(claims, "exp"), NOW + 60);
    ck_assert_int_le(claim_int(claims, "exp") - claim_int(claims, "iat"), 60);
    ck_assert_uint_ge(strlen(claim_str(claims, "jti")), 32);
    ck_assert_int_eq(json_object_size(claims), 6);
    json_decref(header);
}
END_TEST

START_TEST(every_assertion_has_its_own_jti)
{
    ipsie_client_t client = jwt_client();
    const char *a;
    const char *b;
    json_t *ha;
    json_t *hb;

    ck_assert_int_eq(ipsie_client_assertion(&a, &client, "iss", NULL, NOW, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_client_assertion(&b, &client, "iss", NULL, NOW, pool), APR_SUCCESS);
    ck_assert_str_ne(claim_str(verified(a, client.signing_key, &ha), "jti"),
                     claim_str(verified(b, client.signing_key, &hb), "jti"));
    json_decref(ha);
    json_decref(hb);
}
END_TEST

START_TEST(an_assertion_needs_a_key_and_an_audience)
{
    ipsie_client_t client = jwt_client();
    const char *jws;

    ck_assert_int_eq(ipsie_client_assertion(&jws, &client, NULL, NULL, NOW, pool), APR_EINVAL);
    client.signing_key = NULL;
    ck_assert_int_eq(ipsie_client_assertion(&jws, &client, "iss", NULL, NOW, pool), APR_EINVAL);
    ck_assert_ptr_null(jws);
}
END_TEST

/* A private_key_jwt client whose key is a new RSA key signing rsa_alg. */
static ipsie_client_t rsa_client(const char *rsa_alg)
{
    ipsie_client_t client = jwt_client();
    ipsie_signer_t *key = NULL;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    const char *why = NULL;
    char *data;
    long len;

    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    ck_assert_int_eq(
        ipsie_signer_from_pem(&key, &why, data, (apr_size_t)len, rsa_alg, "rsa-1", pool),
        APR_SUCCESS);
    BIO_free(bio);
    EVP_PKEY_free(k);
    client.signing_key = key;
    return client;
}

/* The alg of an assertion signed for a provider that lists list (NULL: no list), checked by
 * the module's verifier with that alg. */
static const char *assertion_alg(const ipsie_client_t *client, const char *list)
{
    const char *jws;
    json_t *header;
    const char *alg;
    json_t *jwk = ipsie_signer_public_jwk(client->signing_key, 1);
    json_t *claims = NULL;
    unsigned char *bytes;
    apr_size_t len;

    ck_assert_int_eq(
        ipsie_client_assertion(&jws, client, "iss", list ? algs(list) : NULL, NOW, pool),
        APR_SUCCESS);
    ck_assert_int_eq(ipsie_b64url_decode(&bytes, &len, jws, strcspn(jws, "."), pool), APR_SUCCESS);
    header = json_loadb((const char *)bytes, len, 0, NULL);
    alg = apr_pstrdup(pool, json_string_value(json_object_get(header, "alg")));
    json_decref(header);
    /* Verified with that alg alone, with the key as ?jwks serves it: an RSA key signing RS256
     * names no alg there, since its assertions may be PS256. */
    if (strcmp(ipsie_signer_alg(client->signing_key), "RS256") == 0) {
        json_object_del(jwk, "alg");
    }
    ck_assert_int_eq(
        ipsie_jws_verify(&claims, jws, jwks_of(json_pack("[o]", jwk)), algs(alg), pool),
        APR_SUCCESS);
    /* claims is released with the pool. */
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "client:1");
    return alg;
}

START_TEST(an_rsa_key_signs_ps256_for_a_provider_that_lists_ps256_and_not_rs256)
{
    ipsie_client_t rs = rsa_client(NULL);
    ipsie_client_t ps = rsa_client("PS256");
    ipsie_client_t ec = jwt_client();

    ck_assert_str_eq(assertion_alg(&rs, NULL), "RS256");
    ck_assert_str_eq(assertion_alg(&rs, "RS256 PS256"), "RS256");
    ck_assert_str_eq(assertion_alg(&rs, "PS256 RS256"), "RS256");
    ck_assert_str_eq(assertion_alg(&rs, "PS256"), "PS256");
    ck_assert_str_eq(assertion_alg(&rs, "ES256 PS256 EdDSA"), "PS256");
    /* Neither listed, or nothing: the key's own alg, for the provider to judge. */
    ck_assert_str_eq(assertion_alg(&rs, "ES256"), "RS256");
    ck_assert_str_eq(assertion_alg(&rs, ""), "RS256");
    /* A key set to PS256 (IPSIEProfile sl1) stays PS256; EC and Ed25519 keys keep theirs. */
    ck_assert_str_eq(assertion_alg(&ps, "RS256"), "PS256");
    ck_assert_str_eq(assertion_alg(&ps, NULL), "PS256");
    ck_assert_str_eq(assertion_alg(&ec, "PS256"), "ES256");
    ck_assert_str_eq(ipsie_client_assertion_alg(&rs, algs("PS256")), "PS256");
}
END_TEST

/* ---- authenticated POSTs -------------------------------------------------------------- */

static apr_table_t *last_form(void)
{
    apr_table_t *form = NULL;

    ck_assert_int_eq(ipsie_form_parse(&form, srv.last_body, pool), APR_SUCCESS);
    return form;
}

START_TEST(private_key_jwt_sends_the_assertion_and_client_id_in_the_body)
{
    ipsie_client_t client = jwt_client();
    ipsie_client_opts_t copts = {NULL, 0, NOW};
    ipsie_http_response_t resp;
    apr_table_t *form;
    json_t *header;
    json_t *claims;

    srv_json("/token", 200, "{}");
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x",
                                       &copts, NULL, pool),
                     APR_SUCCESS);
    form = last_form();
    ck_assert_str_eq(apr_table_get(form, "grant_type"), "x");
    ck_assert_str_eq(apr_table_get(form, "client_id"), "client:1");
    ck_assert_str_eq(apr_table_get(form, "client_assertion_type"),
                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    ck_assert_ptr_null(apr_table_get(form, "client_secret"));
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nAuthorization:"));
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nDPoP:"));
    claims = verified(apr_table_get(form, "client_assertion"), client.signing_key, &header);
    ck_assert_str_eq(claim_str(claims, "aud"), "https://op.example/tenant");
    ck_assert_int_eq(claim_int(claims, "iat"), NOW);
    json_decref(header);
}
END_TEST

START_TEST(a_form_that_names_the_client_gets_no_second_client_id)
{
    ipsie_client_t client = jwt_client();
    ipsie_client_t post = {"c2", "s3cr3t", IPSIE_AUTH_CLIENT_SECRET_POST, NULL};
    ipsie_http_response_t resp;

    srv_json("/par", 201, "{}");
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/par"),
                                       "response_type=code&client_id=client%3A1", NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(srv.last_body, "response_type=code&client_id=client%3A1&client_"
                                                "assertion_type="));
    ck_assert_ptr_null(strstr(strstr(srv.last_body, "client_id=") + 1, "client_id="));
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &post, url("/par"), "client_id=c2&x=1",
                                       NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(srv.last_body, "client_id=c2&x=1&client_secret=s3cr3t");
    ck_assert_int_eq(
        ipsie_client_post(&resp, test_op(), &post, url("/par"), "x=1", NULL, NULL, pool),
        APR_SUCCESS);
    ck_assert_str_eq(srv.last_body, "x=1&client_id=c2&client_secret=s3cr3t");
}
END_TEST

START_TEST(a_client_without_what_its_method_needs_sends_nothing)
{
    ipsie_client_t basic = {"c", NULL, IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};
    ipsie_client_t post = {"c", NULL, IPSIE_AUTH_CLIENT_SECRET_POST, NULL};
    ipsie_client_t jwt = {"c", NULL, IPSIE_AUTH_PRIVATE_KEY_JWT, NULL};
    ipsie_http_response_t resp;

    srv_json("/token", 200, "{}");
    ck_assert_int_eq(
        ipsie_client_post(&resp, test_op(), &basic, url("/token"), "a=b", NULL, NULL, pool),
        APR_EINVAL);
    ck_assert_int_eq(
        ipsie_client_post(&resp, test_op(), &post, url("/token"), "a=b", NULL, NULL, pool),
        APR_EINVAL);
    ck_assert_int_eq(
        ipsie_client_post(&resp, test_op(), &jwt, url("/token"), "a=b", NULL, NULL, pool),
        APR_EINVAL);
    ck_assert_int_eq(srv_hits("/token"), 0);
}
END_TEST

/* ---- DPoP and the server's nonce ------------------------------------------------------ */

static ipsie_dpop_t *dpop(void)
{
    ipsie_signer_t *key = NULL;
    ipsie_dpop_t *d = NULL;

    ck_assert_int_eq(ipsie_signer_generate(&key, "EdDSA", NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_dpop_create(&d, key, pool), APR_SUCCESS);
    return d;
}

/* The claims of the DPoP proof in a request head, verified with its own jwk. */
static json_t *proof_of(const char *request, json_t **header)
{
    const char *h = strcasestr(request, "\r\nDPoP: ");
    const char *proof;
    unsigned char *bytes;
    apr_size_t len;
    json_t *claims = NULL;

    ck_assert_ptr_nonnull(h);
    proof = apr_pstrndup(pool, h + 8, strcspn(h + 8, "\r\n"));
    ck_assert_int_eq(ipsie_b64url_decode(&bytes, &len, proof, strcspn(proof, "."), pool),
                     APR_SUCCESS);
    *header = json_loadb((const char *)bytes, len, 0, NULL);
    ck_assert_int_eq(ipsie_jws_verify_typed(
                         &claims, proof, jwks_of(json_pack("[O]", json_object_get(*header, "jwk"))),
                         all_algs(), "dpop+jwt", pool),
                     APR_SUCCESS);
    return claims;
}

#define USE_NONCE "{\"error\":\"use_dpop_nonce\",\"error_description\":\"nonce required\"}"

START_TEST(a_use_dpop_nonce_answer_is_retried_once_with_the_nonce_and_a_new_assertion)
{
    ipsie_client_t client = jwt_client();
    ipsie_client_opts_t copts = {dpop(), 0, NOW};
    ipsie_http_response_t resp;
    apr_table_t *first;
    apr_table_t *second;
    json_t *h1, *h2, *a1, *a2;
    json_t *p1, *p2;

    srv_set_once("/token", 400, "Content-Type: application/json\r\nDPoP-Nonce: srv-nonce-1\r\n",
                 USE_NONCE);
    srv_json("/token", 200, "{\"ok\":true}");
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x",
                                       &copts, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(srv_hits("/token"), 2);
    ck_assert_int_eq(ipsie_form_parse(&first, srv.prev_body, pool), APR_SUCCESS);
    second = last_form();
    p1 = proof_of(srv.prev_request, &h1);
    p2 = proof_of(srv.last_request, &h2);
    ck_assert_ptr_null(json_object_get(p1, "nonce"));
    ck_assert_str_eq(claim_str(p2, "nonce"), "srv-nonce-1");
    ck_assert_str_eq(claim_str(p2, "htm"), "POST");
    ck_assert_str_eq(claim_str(p2, "htu"), url("/token"));
    ck_assert_ptr_null(json_object_get(p2, "ath"));
    ck_assert_str_ne(claim_str(p1, "jti"), claim_str(p2, "jti"));
    json_decref(h1);
    json_decref(h2);
    /* A client assertion is single use: the retry carries a new one. */
    ck_assert_str_ne(
        claim_str(verified(apr_table_get(first, "client_assertion"), client.signing_key, &a1),
                  "jti"),
        claim_str(verified(apr_table_get(second, "client_assertion"), client.signing_key, &a2),
                  "jti"));
    json_decref(a1);
    json_decref(a2);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06102"));

    /* The nonce is kept: the next request carries it at once. */
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=y",
                                       &copts, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(srv_hits("/token"), 3);
    ck_assert_str_eq(claim_str(proof_of(srv.last_request, &h1), "nonce"), "srv-nonce-1");
    json_decref(h1);
}
END_TEST

START_TEST(a_server_that_asks_again_gets_no_third_request)
{
    ipsie_client_t client = {"c", "s", IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};
    ipsie_client_opts_t copts = {dpop(), 0, NOW};
    ipsie_http_response_t resp;

    srv_set("/token", 400, "Content-Type: application/json\r\nDPoP-Nonce: n\r\n", USE_NONCE, 0, 0);
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x",
                                       &copts, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_int_eq(srv_hits("/token"), 2);
}
END_TEST

START_TEST(use_dpop_nonce_without_a_nonce_or_without_dpop_is_not_retried)
{
    ipsie_client_t client = {"c", "s", IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};
    ipsie_client_opts_t copts = {dpop(), 0, NOW};
    ipsie_http_response_t resp;

    srv_json("/token", 400, USE_NONCE);
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x",
                                       &copts, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(srv_hits("/token"), 1);
    srv_set("/token", 400, "Content-Type: application/json\r\nDPoP-Nonce: n\r\n", USE_NONCE, 0, 0);
    ck_assert_int_eq(ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x",
                                       NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(srv_hits("/token"), 2);
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nDPoP:"));
}
END_TEST

START_TEST(an_endpoint_too_long_to_keep_a_nonce_for_is_retried_with_the_nonce_given)
{
    ipsie_client_t client = {"c", "s", IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};
    ipsie_client_opts_t copts = {dpop(), 0, NOW};
    ipsie_http_response_t resp;
    char *path = apr_palloc(pool, 1011);
    json_t *h;

    /* Past the 1024 characters of an endpoint whose nonce is kept. */
    path[0] = '/';
    memset(path + 1, 't', 1009);
    path[1010] = '\0';
    srv_set_once(path, 400, "Content-Type: application/json\r\nDPoP-Nonce: long-1\r\n", USE_NONCE);
    srv_json(path, 200, "{\"ok\":true}");
    ck_assert_int_gt(strlen(url(path)), 1024);
    ck_assert_int_eq(
        ipsie_client_post(&resp, test_op(), &client, url(path), "grant_type=x", &copts, NULL, pool),
        APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(srv_hits(path), 2);
    ck_assert_str_eq(claim_str(proof_of(srv.last_request, &h), "nonce"), "long-1");
    json_decref(h);
    ck_assert_ptr_null(ipsie_dpop_nonce(copts.dpop, url(path), pool));
}
END_TEST

START_TEST(a_hostile_nonce_answer_is_not_retried)
{
    ipsie_client_t client = {"c", "s", IPSIE_AUTH_CLIENT_SECRET_BASIC, NULL};
    ipsie_client_opts_t copts = {dpop(), 0, NOW};
    ipsie_http_response_t resp;
    char *huge = apr_palloc(pool, 40000);
    const char *heads[3];
    const char *bodies[] = {USE_NONCE, "{\"error\":\"use_dpop_nonce\"", "[\"use_dpop_nonce\"]",
                            "{\"error\":[\"use_dpop_nonce\"]}", "use_dpop_nonce"};
    int hits = 0;
    size_t i;
    size_t j;

    /* A nonce that is not one (a quote, over 512 characters, a huge header) ... */
    memset(huge, 'n', 39999);
    huge[39999] = '\0';
    heads[0] = "Content-Type: application/json\r\nDPoP-Nonce: a\"b\r\n";
    heads[1] = apr_pstrcat(pool, "Content-Type: application/json\r\nDPoP-Nonce: ",
                           apr_pstrndup(pool, huge, IPSIE_DPOP_NONCE_MAX + 1), "\r\n", NULL);
    heads[2] =
        apr_pstrcat(pool, "Content-Type: application/json\r\nDPoP-Nonce: ", huge, "\r\n", NULL);
    for (i = 0; i < 3; i++) {
        srv_set("/token", 400, heads[i], USE_NONCE, 0, 0);
        ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x", &copts, NULL,
                          pool);
        ck_assert_int_eq(srv_hits("/token"), ++hits);
    }
    /* ... and a good nonce with a body that does not ask for it in the JSON way. */
    for (j = 1; j < sizeof(bodies) / sizeof(bodies[0]); j++) {
        srv_set("/token", 400, "Content-Type: application/json\r\nDPoP-Nonce: fine\r\n", bodies[j],
                0, 0);
        ipsie_client_post(&resp, test_op(), &client, url("/token"), "grant_type=x", &copts, NULL,
                          pool);
        ck_assert_int_eq(srv_hits("/token"), ++hits);
    }
    ck_assert_ptr_null(strstr(captured_log, huge + 39000));
}
END_TEST

START_TEST(the_providers_error_code_is_reduced_for_a_log_line)
{
    ck_assert_str_eq(ipsie_client_op_error("{\"error\":\"invalid_client\"}", 26, pool),
                     "invalid_client");
    ck_assert_str_eq(ipsie_client_op_error("{\"error\":\"a b<c>\\r\\n\"}", 22, pool), "abc");
    ck_assert_str_eq(ipsie_client_op_error("{\"error\":7}", 11, pool), "-");
    ck_assert_str_eq(ipsie_client_op_error("<html>", 6, pool), "-");
    ck_assert_str_eq(ipsie_client_op_error(NULL, 0, pool), "-");
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("ipsie_client");
    TCase *assertion = tcase_create("assertion");
    TCase *post = tcase_create("post");

    tcase_add_checked_fixture(assertion, pool_setup, pool_teardown);
    tcase_add_test(assertion, an_assertion_names_the_client_the_issuer_and_lives_60_seconds);
    tcase_add_test(assertion, every_assertion_has_its_own_jti);
    tcase_add_test(assertion, an_assertion_needs_a_key_and_an_audience);
    tcase_add_test(assertion, an_rsa_key_signs_ps256_for_a_provider_that_lists_ps256_and_not_rs256);
    tcase_add_test(assertion, the_providers_error_code_is_reduced_for_a_log_line);
    suite_add_tcase(s, assertion);

    tcase_add_checked_fixture(post, server_setup, server_teardown);
    tcase_set_timeout(post, 30);
    tcase_add_test(post, private_key_jwt_sends_the_assertion_and_client_id_in_the_body);
    tcase_add_test(post, a_form_that_names_the_client_gets_no_second_client_id);
    tcase_add_test(post, a_client_without_what_its_method_needs_sends_nothing);
    tcase_add_test(post,
                   a_use_dpop_nonce_answer_is_retried_once_with_the_nonce_and_a_new_assertion);
    tcase_add_test(post, a_server_that_asks_again_gets_no_third_request);
    tcase_add_test(post, use_dpop_nonce_without_a_nonce_or_without_dpop_is_not_retried);
    tcase_add_test(post, an_endpoint_too_long_to_keep_a_nonce_for_is_retried_with_the_nonce_given);
    tcase_add_test(post, a_hostile_nonce_answer_is_not_retried);
    suite_add_tcase(s, post);
    return s;
}

int main(void)
{
    return run_suite(client_suite());
}
