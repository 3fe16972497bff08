/* Unit tests of src/ipsie_dpop.c: proof contents, when DPoP is used, the nonces kept per
 * endpoint, WWW-Authenticate challenges, the retry decision, and resource requests against a
 * small real HTTP server on 127.0.0.1. */
#include "test_support.h"
#include "test_http_server.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_dpop.h"
#include "ipsie/ipsie_error.h"

static ipsie_dpop_t *dpop_with(const char *alg)
{
    ipsie_signer_t *key = NULL;
    ipsie_dpop_t *d = NULL;

    ck_assert_int_eq(ipsie_signer_generate(&key, alg, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_dpop_create(&d, key, pool), APR_SUCCESS);
    return d;
}

/* The header and claims of a proof, after checking that its own jwk verifies it as a
 * dpop+jwt with the module's verifier. */
static json_t *proof_claims(const char *proof, json_t **header)
{
    unsigned char *bytes;
    apr_size_t len;
    json_t *jwk;
    json_t *claims = NULL;

    ck_assert_int_eq(ipsie_b64url_decode(&bytes, &len, proof, strcspn(proof, "."), pool),
                     APR_SUCCESS);
    *header = json_loadb((const char *)bytes, len, 0, NULL);
    ck_assert_ptr_nonnull(*header);
    jwk = json_deep_copy(json_object_get(*header, "jwk"));
    ck_assert_ptr_nonnull(jwk);
    ck_assert_int_eq(ipsie_jws_verify_typed(&claims, proof, jwks_of(json_pack("[o]", jwk)),
                                            all_algs(), "dpop+jwt", pool),
                     APR_SUCCESS);
    return claims;
}

static const char *claim_str(json_t *claims, const char *name)
{
    return json_string_value(json_object_get(claims, name));
}

/* ---- proofs --------------------------------------------------------------------------- */

START_TEST(a_token_endpoint_proof_has_typ_jwk_htm_htu_iat_and_jti)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    const char *proof;
    json_t *header;
    json_t *claims;
    json_t *jwk;

    ck_assert_int_eq(ipsie_dpop_proof(&proof, d, "POST", "https://op.example/token?x=1#frag", NULL,
                                      NULL, NOW, pool),
                     APR_SUCCESS);
    claims = proof_claims(proof, &header);
    ck_assert_str_eq(json_string_value(json_object_get(header, "typ")), "dpop+jwt");
    ck_assert_str_eq(json_string_value(json_object_get(header, "alg")), "ES256");
    jwk = ipsie_signer_public_jwk(ipsie_dpop_key(d), 0);
    ck_assert(json_equal(json_object_get(header, "jwk"), jwk));
    ck_assert_ptr_null(json_object_get(json_object_get(header, "jwk"), "d"));
    json_decref(jwk);
    ck_assert_str_eq(claim_str(claims, "htm"), "POST");
    ck_assert_str_eq(claim_str(claims, "htu"), "https://op.example/token");
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "iat")), NOW);
    ck_assert_uint_ge(strlen(claim_str(claims, "jti")), 32);
    ck_assert_ptr_null(json_object_get(claims, "ath"));
    ck_assert_ptr_null(json_object_get(claims, "nonce"));
    json_decref(header);
}
END_TEST

START_TEST(every_proof_has_its_own_jti)
{
    ipsie_dpop_t *d = dpop_with("EdDSA");
    const char *a;
    const char *b;
    json_t *ha;
    json_t *hb;

    ck_assert_int_eq(ipsie_dpop_proof(&a, d, "POST", "https://op/token", NULL, NULL, NOW, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_dpop_proof(&b, d, "POST", "https://op/token", NULL, NULL, NOW, pool),
                     APR_SUCCESS);
    ck_assert_str_ne(claim_str(proof_claims(a, &ha), "jti"),
                     claim_str(proof_claims(b, &hb), "jti"));
    ck_assert_str_eq(json_string_value(json_object_get(ha, "alg")), "EdDSA");
    json_decref(ha);
    json_decref(hb);
}
END_TEST

/* RFC 9449 7.1: the ath of its example access token. */
START_TEST(a_resource_proof_carries_ath_and_the_nonce)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    const char *proof;
    json_t *header;
    json_t *claims;

    ck_assert_int_eq(ipsie_dpop_proof(&proof, d, "GET", "https://rs.example/userinfo",
                                      "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", "n-1", NOW,
                                      pool),
                     APR_SUCCESS);
    claims = proof_claims(proof, &header);
    ck_assert_str_eq(claim_str(claims, "htm"), "GET");
    ck_assert_str_eq(claim_str(claims, "ath"), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    ck_assert_str_eq(claim_str(claims, "nonce"), "n-1");
    json_decref(header);
}
END_TEST

START_TEST(only_es256_and_eddsa_keys_make_proofs)
{
    ipsie_signer_t *rsa = NULL;
    ipsie_dpop_t *d = (ipsie_dpop_t *)1;
    const char *pem;
    const char *why;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;

    PEM_write_bio_PrivateKey(bio, rsa_key, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(bio, &data);
    pem = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    ck_assert_int_eq(ipsie_signer_from_pem(&rsa, &why, pem, strlen(pem), NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_dpop_create(&d, rsa, pool), APR_EINVAL);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(ipsie_dpop_create(&d, NULL, pool), APR_EINVAL);
}
END_TEST

START_TEST(dpop_is_used_when_required_or_when_the_provider_lists_the_keys_alg)
{
    ipsie_provider_t op;
    apr_array_header_t *listed = apr_array_make(pool, 2, sizeof(const char *));

    memset(&op, 0, sizeof(op));
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_OFF, &op, "ES256"), 0);
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_AUTO, &op, "ES256"), 0);
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_REQUIRED, &op, "ES256"), 1);
    op.dpop_algs = listed;
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_AUTO, &op, "ES256"), 0);
    APR_ARRAY_PUSH(listed, const char *) = "EdDSA";
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_AUTO, &op, "ES256"), 0);
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_AUTO, &op, "EdDSA"), 1);
    APR_ARRAY_PUSH(listed, const char *) = "ES256";
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_AUTO, &op, "ES256"), 1);
    ck_assert_int_eq(ipsie_dpop_wanted(IPSIE_DPOP_OFF, &op, "ES256"), 0);
}
END_TEST

/* ---- nonces --------------------------------------------------------------------------- */

START_TEST(a_nonce_is_kept_per_endpoint_without_query)
{
    ipsie_dpop_t *d = dpop_with("ES256");

    ck_assert_ptr_null(ipsie_dpop_nonce(d, "https://op/token", pool));
    ipsie_dpop_nonce_keep(d, "https://op/token?a=b", "n1");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/token", pool), "n1");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/token#x", pool), "n1");
    ck_assert_ptr_null(ipsie_dpop_nonce(d, "https://op/par", pool));
    ck_assert_ptr_null(ipsie_dpop_nonce(d, "https://op/tok", pool));
    ipsie_dpop_nonce_keep(d, "https://op/par", "p1");
    ipsie_dpop_nonce_keep(d, "https://op/token", "n2");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/token", pool), "n2");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/par", pool), "p1");
    /* An unusable nonce changes nothing. */
    ipsie_dpop_nonce_keep(d, "https://op/token", "bad nonce");
    ipsie_dpop_nonce_keep(d, "https://op/token", "");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/token", pool), "n2");
}
END_TEST

START_TEST(the_endpoint_kept_longest_ago_gives_way)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    int i;

    for (i = 0; i < IPSIE_DPOP_ENDPOINTS; i++) {
        ipsie_dpop_nonce_keep(d, apr_psprintf(pool, "https://op/e%d", i), "n");
    }
    /* e0 is renewed: e1 is now the oldest. */
    ipsie_dpop_nonce_keep(d, "https://op/e0", "m");
    ipsie_dpop_nonce_keep(d, "https://op/new", "x");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/e0", pool), "m");
    ck_assert_ptr_null(ipsie_dpop_nonce(d, "https://op/e1", pool));
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/e2", pool), "n");
    ck_assert_str_eq(ipsie_dpop_nonce(d, "https://op/new", pool), "x");
}
END_TEST

START_TEST(a_nonce_is_1_to_512_nqchars)
{
    char *long_nonce = apr_palloc(pool, IPSIE_DPOP_NONCE_MAX + 2);

    ck_assert(ipsie_dpop_nonce_valid("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
    ck_assert(ipsie_dpop_nonce_valid("!#[]~"));
    ck_assert(!ipsie_dpop_nonce_valid(""));
    ck_assert(!ipsie_dpop_nonce_valid(NULL));
    ck_assert(!ipsie_dpop_nonce_valid("a b"));
    ck_assert(!ipsie_dpop_nonce_valid("a\"b"));
    ck_assert(!ipsie_dpop_nonce_valid("a\\b"));
    ck_assert(!ipsie_dpop_nonce_valid("a\r\nb"));
    ck_assert(!ipsie_dpop_nonce_valid("caf\xc3\xa9"));
    memset(long_nonce, 'a', IPSIE_DPOP_NONCE_MAX);
    long_nonce[IPSIE_DPOP_NONCE_MAX] = '\0';
    ck_assert(ipsie_dpop_nonce_valid(long_nonce));
    long_nonce[IPSIE_DPOP_NONCE_MAX] = 'a';
    long_nonce[IPSIE_DPOP_NONCE_MAX + 1] = '\0';
    ck_assert(!ipsie_dpop_nonce_valid(long_nonce));
}
END_TEST

START_TEST(challenges_asking_for_a_nonce_are_recognised)
{
    static const char *const yes[] = {
        "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in "
        "DPoP proof\"",
        "DPoP error=use_dpop_nonce",
        "dpop   error = \"use_dpop_nonce\"",
        "Bearer realm=\"x\", DPoP algs=\"ES256 EdDSA\", error=\"use_dpop_nonce\"",
        "Basic abc==, DPoP error=\"use_dpop_nonce\"",
        "DPoP algs=\"ES256\",error=\"use_dpop_nonce\",,",
        "DPoP ERROR=\"use_dpop_nonce\"",
        "DPoP error=\"use_dpop\\_nonce\"",
    };
    static const char *const no[] = {
        "",
        "DPoP",
        "DPoP error=\"invalid_token\"",
        "Bearer error=\"use_dpop_nonce\"",
        "Bearer error=\"use_dpop_nonce\", DPoP algs=\"ES256\"",
        "DPoP error=\"USE_DPOP_NONCE\"",
        "DPoP error=\"use_dpop_nonce",
        "DPoP error=\"use_dpop_nonce\" junk",
        "=DPoP error=\"use_dpop_nonce\"",
        "DPoP error=\"use_dpop_nonce\"\r\nX: y",
        "DPoP error=use_dpop_nonce;",
        "DPoP error_description=\"use_dpop_nonce\"",
    };
    char *huge;
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        ck_assert_msg(ipsie_dpop_challenge_wants_nonce(yes[i]), "not recognised: %s", yes[i]);
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        ck_assert_msg(!ipsie_dpop_challenge_wants_nonce(no[i]), "recognised: %s", no[i]);
    }
    ck_assert(!ipsie_dpop_challenge_wants_nonce(NULL));
    /* A value past 8192 characters is not read, whatever it ends with. */
    huge = apr_palloc(pool, 9000);
    memset(huge, ' ', 9000);
    strcpy(huge + 9000 - sizeof("DPoP error=\"use_dpop_nonce\""), "DPoP error=\"use_dpop_nonce\"");
    ck_assert(!ipsie_dpop_challenge_wants_nonce(huge));
    ck_assert(ipsie_dpop_challenge_wants_nonce(huge + 9000 - 8192 - 1));
}
END_TEST

static ipsie_http_response_t answer(long status, const char *body, const char *nonce,
                                    const char *www)
{
    ipsie_http_response_t r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.body = body;
    r.body_len = strlen(body);
    r.headers = apr_table_make(pool, 2);
    if (nonce != NULL) {
        apr_table_set(r.headers, "DPoP-Nonce", nonce);
    }
    if (www != NULL) {
        apr_table_add(r.headers, "WWW-Authenticate", "Bearer realm=\"x\"");
        apr_table_add(r.headers, "WWW-Authenticate", www);
    }
    return r;
}

START_TEST(a_retry_is_wanted_once_when_the_server_asks_and_gives_a_new_nonce)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    const char *url = "https://op/token";
    const char *ask = "{\"error\":\"use_dpop_nonce\",\"error_description\":\"x\"}";
    ipsie_http_response_t r;

    /* The authorization server's way: 400 with the error in the body. */
    r = answer(400, ask, "n1", NULL);
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, NULL, pool), 1);
    ck_assert_str_eq(ipsie_dpop_nonce(d, url, pool), "n1");
    /* The same nonce again: asking for it again is not answered. */
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, "n1", pool), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06302"));
    /* No nonce given, an unusable one, or another error: no retry. */
    r = answer(400, ask, NULL, NULL);
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, NULL, pool), 0);
    r = answer(400, ask, "bad\"nonce", NULL);
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, NULL, pool), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE06301"));
    r = answer(400, "{\"error\":\"invalid_grant\"}", "n2", NULL);
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, NULL, pool), 0);
    /* ... though a new nonce is kept from any answer. */
    ck_assert_str_eq(ipsie_dpop_nonce(d, url, pool), "n2");
    r = answer(200, "{}", "n3", NULL);
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, url, &r, "n2", pool), 0);
    ck_assert_str_eq(ipsie_dpop_nonce(d, url, pool), "n3");
    /* A resource's way: 401 with a DPoP challenge; a 401 body is not read. */
    r = answer(401, "", "r1", "DPoP error=\"use_dpop_nonce\"");
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, "https://op/me", &r, NULL, pool), 1);
    r = answer(401, ask, "r2", "DPoP error=\"invalid_token\"");
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, "https://op/me", &r, "r1", pool), 0);
    r = answer(400, "", "r3", "DPoP error=\"use_dpop_nonce\"");
    ck_assert_int_eq(ipsie_dpop_retry_with_nonce(d, "https://op/me", &r, "r2", pool), 0);
}
END_TEST

/* ---- resource requests ---------------------------------------------------------------- */

/* The DPoP header of a request head, or NULL. */
static const char *dpop_header(const char *request)
{
    const char *h = strcasestr(request, "\r\nDPoP: ");

    return h ? apr_pstrndup(pool, h + 8, strcspn(h + 8, "\r\n")) : NULL;
}

START_TEST(a_resource_request_retries_once_with_the_nonce_of_its_401)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    ipsie_http_response_t resp;
    json_t *h1, *h2;
    json_t *first, *second;

    srv_set_once("/userinfo", 401,
                 "WWW-Authenticate: DPoP error=\"use_dpop_nonce\"\r\nDPoP-Nonce: srv-n1\r\n", "");
    srv_json("/userinfo", 200, "{\"sub\":\"alice\"}");
    ck_assert_int_eq(ipsie_dpop_resource_send(&resp, d, url("/userinfo?schema=openid"), NULL,
                                              "the-token", NOW, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(srv_hits("/userinfo"), 2);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /userinfo?schema=openid HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: DPoP the-token\r\n"));
    first = proof_claims(dpop_header(srv.prev_request), &h1);
    second = proof_claims(dpop_header(srv.last_request), &h2);
    ck_assert_ptr_null(json_object_get(first, "nonce"));
    ck_assert_str_eq(claim_str(second, "nonce"), "srv-n1");
    ck_assert_str_eq(claim_str(second, "htu"), url("/userinfo"));
    ck_assert_str_eq(claim_str(second, "htm"), "GET");
    ck_assert_str_eq(claim_str(second, "ath"), claim_str(first, "ath"));
    ck_assert_str_ne(claim_str(second, "jti"), claim_str(first, "jti"));
    /* Kept for the next request, which needs no retry. */
    ck_assert_str_eq(ipsie_dpop_nonce(d, url("/userinfo"), pool), "srv-n1");
    ck_assert_int_eq(
        ipsie_dpop_resource_send(&resp, d, url("/userinfo"), "a=b", "the-token", NOW, NULL, pool),
        APR_SUCCESS);
    ck_assert_int_eq(srv_hits("/userinfo"), 3);
    ck_assert_str_eq(claim_str(proof_claims(dpop_header(srv.last_request), &h1), "nonce"),
                     "srv-n1");
    ck_assert_str_eq(claim_str(proof_claims(dpop_header(srv.last_request), &h2), "htm"), "POST");
    json_decref(h1);
    json_decref(h2);
}
END_TEST

START_TEST(a_resource_that_asks_twice_gets_its_second_401)
{
    ipsie_dpop_t *d = dpop_with("ES256");
    ipsie_http_response_t resp;

    srv_set("/userinfo", 401,
            "WWW-Authenticate: DPoP error=\"use_dpop_nonce\"\r\nDPoP-Nonce: x\r\n", "", 0, 0);
    ck_assert_int_eq(
        ipsie_dpop_resource_send(&resp, d, url("/userinfo"), NULL, "t", NOW, NULL, pool),
        APR_SUCCESS);
    ck_assert_int_eq(resp.status, 401);
    ck_assert_int_eq(srv_hits("/userinfo"), 2);
}
END_TEST

START_TEST(a_bearer_token_goes_without_a_proof)
{
    ipsie_http_response_t resp;

    srv_json("/userinfo", 200, "{}");
    ck_assert_int_eq(
        ipsie_dpop_resource_send(&resp, NULL, url("/userinfo"), NULL, "tok", NOW, NULL, pool),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nAuthorization: Bearer tok\r\n"));
    ck_assert_ptr_null(dpop_header(srv.last_request));
}
END_TEST

static Suite *dpop_suite(void)
{
    Suite *s = suite_create("ipsie_dpop");
    TCase *proof = tcase_create("proof");
    TCase *nonce = tcase_create("nonce");
    TCase *resource = tcase_create("resource");

    tcase_add_unchecked_fixture(proof, keys_setup, keys_teardown);
    tcase_add_checked_fixture(proof, pool_setup, pool_teardown);
    tcase_set_timeout(proof, 60);
    tcase_add_test(proof, a_token_endpoint_proof_has_typ_jwk_htm_htu_iat_and_jti);
    tcase_add_test(proof, every_proof_has_its_own_jti);
    tcase_add_test(proof, a_resource_proof_carries_ath_and_the_nonce);
    tcase_add_test(proof, only_es256_and_eddsa_keys_make_proofs);
    tcase_add_test(proof, dpop_is_used_when_required_or_when_the_provider_lists_the_keys_alg);
    suite_add_tcase(s, proof);

    tcase_add_checked_fixture(nonce, pool_setup, pool_teardown);
    tcase_add_test(nonce, a_nonce_is_kept_per_endpoint_without_query);
    tcase_add_test(nonce, the_endpoint_kept_longest_ago_gives_way);
    tcase_add_test(nonce, a_nonce_is_1_to_512_nqchars);
    tcase_add_test(nonce, challenges_asking_for_a_nonce_are_recognised);
    tcase_add_test(nonce, a_retry_is_wanted_once_when_the_server_asks_and_gives_a_new_nonce);
    suite_add_tcase(s, nonce);

    tcase_add_checked_fixture(resource, server_setup, server_teardown);
    tcase_set_timeout(resource, 30);
    tcase_add_test(resource, a_resource_request_retries_once_with_the_nonce_of_its_401);
    tcase_add_test(resource, a_resource_that_asks_twice_gets_its_second_401);
    tcase_add_test(resource, a_bearer_token_goes_without_a_proof);
    suite_add_tcase(s, resource);
    return s;
}

int main(void)
{
    return run_suite(dpop_suite());
}
