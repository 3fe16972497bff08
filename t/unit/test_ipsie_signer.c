/* Unit tests of src/ipsie_signer.c: keys from PEM (and the ones refused), generated keys, the
 * public JWK and its RFC 7638 thumbprint, and signatures checked by the module's own verifier
 * (src/ipsie_jws.c) and by OpenSSL. */
#include <unistd.h>

#include <openssl/x509.h>

#include "test_support.h"
#include "test_jose_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_signer.h"

/* ---- PEM texts of test keys ----------------------------------------------------------- */

static const char *pem_of(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

/* The traditional forms: BEGIN RSA PRIVATE KEY, BEGIN EC PRIVATE KEY. */
static const char *traditional_pem_of(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    ck_assert_int_eq(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

static const char *encrypted_pem_of(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_256_cbc(), NULL, 0, NULL,
                                                   (void *)"passphrase"),
                     1);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

static const char *public_pem_of(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, k), 1);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

static ipsie_signer_t *signer_of(EVP_PKEY *k, const char *rsa_alg, const char *kid)
{
    ipsie_signer_t *s = NULL;
    const char *pem = pem_of(k);
    const char *why = "unset";

    ck_assert_int_eq(ipsie_signer_from_pem(&s, &why, pem, strlen(pem), rsa_alg, kid, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Why pem is refused (and that it is). */
static const char *refusal(const char *pem)
{
    ipsie_signer_t *s = (ipsie_signer_t *)1;
    const char *why = NULL;

    ck_assert_int_eq(ipsie_signer_from_pem(&s, &why, pem, strlen(pem), NULL, NULL, pool),
                     IPSIE_ERR_CRYPTO);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(why);
    return why;
}

/* A temporary file holding text; removed by the caller. */
static const char *temp_file(const char *text, size_t len)
{
    char *path = apr_pstrdup(pool, "/tmp/ipsie_signer_XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* ---- loading keys --------------------------------------------------------------------- */

START_TEST(each_supported_key_type_signs_its_alg)
{
    ck_assert_str_eq(ipsie_signer_alg(signer_of(rsa_key, NULL, NULL)), "RS256");
    ck_assert_str_eq(ipsie_signer_alg(signer_of(rsa_key, "RS256", NULL)), "RS256");
    ck_assert_str_eq(ipsie_signer_alg(signer_of(rsa_key, "PS256", NULL)), "PS256");
    /* rsa_alg concerns RSA keys alone. */
    ck_assert_str_eq(ipsie_signer_alg(signer_of(ec_key, "PS256", NULL)), "ES256");
    ck_assert_str_eq(ipsie_signer_alg(signer_of(ed_key, "PS256", NULL)), "EdDSA");
}
END_TEST

START_TEST(traditional_pem_forms_load_too)
{
    ipsie_signer_t *s = NULL;
    const char *why;
    const char *rsa = traditional_pem_of(rsa_key);
    const char *ec = traditional_pem_of(ec_key);

    ck_assert_ptr_nonnull(strstr(rsa, "BEGIN RSA PRIVATE KEY"));
    ck_assert_int_eq(ipsie_signer_from_pem(&s, &why, rsa, strlen(rsa), NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(ipsie_signer_alg(s), "RS256");
    ck_assert_ptr_nonnull(strstr(ec, "BEGIN EC PRIVATE KEY"));
    ck_assert_int_eq(ipsie_signer_from_pem(&s, &why, ec, strlen(ec), NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(ipsie_signer_alg(s), "ES256");
}
END_TEST

START_TEST(a_short_rsa_key_is_refused_saying_2048_bits)
{
    ck_assert_ptr_nonnull(strstr(refusal(pem_of(rsa_small)), "at least 2048 bits"));
}
END_TEST

START_TEST(an_ec_key_on_another_curve_is_refused_saying_p256)
{
    const char *why = refusal(pem_of(ec384_key));

    ck_assert_ptr_nonnull(strstr(why, "secp384r1"));
    ck_assert_ptr_nonnull(strstr(why, "only P-256"));
}
END_TEST

START_TEST(ed448_and_x25519_keys_are_refused)
{
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");

    ck_assert_ptr_nonnull(strstr(refusal(pem_of(ed448)), "ED448"));
    ck_assert_ptr_nonnull(strstr(refusal(pem_of(x25519)), "X25519"));
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(x25519);
}
END_TEST

START_TEST(an_encrypted_key_is_refused_saying_so)
{
    ck_assert_ptr_nonnull(strstr(refusal(encrypted_pem_of(ec_key)), "encrypted"));
}
END_TEST

START_TEST(a_public_key_or_garbage_is_refused)
{
    ck_assert_ptr_nonnull(strstr(refusal(public_pem_of(ec_key)), "not a private key"));
    ck_assert_ptr_nonnull(strstr(refusal("hello"), "no PEM private key"));
    ck_assert_ptr_nonnull(strstr(refusal("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                         "-----END PRIVATE KEY-----\n"),
                                 "no PEM private key"));
}
END_TEST

START_TEST(a_file_loads_and_a_missing_or_huge_one_is_refused)
{
    const char *pem = pem_of(ed_key);
    const char *path = temp_file(pem, strlen(pem));
    char *huge = apr_palloc(pool, IPSIE_SIGNER_PEM_MAX + 2);
    ipsie_signer_t *s = NULL;
    const char *why = NULL;

    ck_assert_int_eq(ipsie_signer_load(&s, &why, path, NULL, "k1", pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_signer_kid(s), "k1");
    unlink(path);
    ck_assert_int_ne(ipsie_signer_load(&s, &why, path, NULL, NULL, pool), APR_SUCCESS);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(why, "the file cannot be read");

    memset(huge, 'A', IPSIE_SIGNER_PEM_MAX + 1);
    path = temp_file(huge, IPSIE_SIGNER_PEM_MAX + 1);
    ck_assert_int_eq(ipsie_signer_load(&s, &why, path, NULL, NULL, pool), IPSIE_ERR_CRYPTO);
    ck_assert_ptr_nonnull(strstr(why, "larger than"));
    unlink(path);
    path = temp_file("", 0);
    ck_assert_int_eq(ipsie_signer_load(&s, &why, path, NULL, NULL, pool), IPSIE_ERR_CRYPTO);
    unlink(path);
}
END_TEST

/* ---- the public JWK and the thumbprint ------------------------------------------------ */

/* RFC 8037 appendix A: an Ed25519 key and its RFC 7638 thumbprint (A.3). */
START_TEST(thumbprint_of_the_rfc8037_key_is_the_rfc_value)
{
    unsigned char *d = NULL;
    apr_size_t d_len = 0;
    EVP_PKEY *k;
    ipsie_signer_t *s;
    json_t *jwk;

    ck_assert_int_eq(
        ipsie_b64url_decode(&d, &d_len, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", 43, pool),
        APR_SUCCESS);
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, d_len);
    ck_assert_ptr_nonnull(k);
    s = signer_of(k, NULL, NULL);
    EVP_PKEY_free(k);
    ck_assert_str_eq(ipsie_signer_thumbprint(s), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    ck_assert_str_eq(ipsie_signer_kid(s), ipsie_signer_thumbprint(s));
    jwk = ipsie_signer_public_jwk(s, 0);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "x")),
                     "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    ck_assert_int_eq(json_object_size(jwk), 3);
    json_decref(jwk);
}
END_TEST

/* The thumbprint of a JWK computed here, independently: SHA-256 of the members RFC 7638 names,
 * sorted, compact. */
static const char *thumbprint_of(json_t *jwk, const char *const *members)
{
    json_t *sub = json_object();
    unsigned char digest[32];
    const char *text;
    int i;

    for (i = 0; members[i] != NULL; i++) {
        json_object_set(sub, members[i], json_object_get(jwk, members[i]));
    }
    text = json_text(json_incref(sub));
    json_decref(sub);
    ck_assert_int_eq(EVP_Q_digest(NULL, "SHA256", NULL, text, strlen(text), digest, NULL), 1);
    return b64(digest, sizeof(digest));
}

START_TEST(thumbprints_of_rsa_and_ec_keys_follow_rfc7638)
{
    static const char *const rsa_members[] = {"e", "kty", "n", NULL};
    static const char *const ec_members[] = {"crv", "kty", "x", "y", NULL};
    ipsie_signer_t *rsa = signer_of(rsa_key, NULL, NULL);
    ipsie_signer_t *ec = signer_of(ec_key, NULL, NULL);
    json_t *jwk;

    jwk = ipsie_signer_public_jwk(rsa, 1);
    ck_assert_str_eq(ipsie_signer_thumbprint(rsa), thumbprint_of(jwk, rsa_members));
    json_decref(jwk);
    jwk = ipsie_signer_public_jwk(ec, 1);
    ck_assert_str_eq(ipsie_signer_thumbprint(ec), thumbprint_of(jwk, ec_members));
    json_decref(jwk);
}
END_TEST

START_TEST(the_public_jwk_is_the_keys_own_and_never_carries_a_private_part)
{
    EVP_PKEY *keys[] = {rsa_key, ec_key, ed_key};
    static const char *const private_members[] = {"d",  "p", "q",   "dp", "dq",
                                                  "qi", "k", "oth", NULL};
    size_t i;
    int m;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ipsie_signer_t *s = signer_of(keys[i], NULL, "kid-1");
        json_t *jwk = ipsie_signer_public_jwk(s, 1);
        json_t *expected = jwk_of(keys[i], "kid-1", ipsie_signer_alg(s));

        /* jwk_of builds the JWK from the key's own numbers. */
        ck_assert_msg(json_equal(jwk, expected), "%s", json_text(json_incref(jwk)));
        for (m = 0; private_members[m] != NULL; m++) {
            ck_assert_ptr_null(json_object_get(jwk, private_members[m]));
        }
        json_decref(jwk);
        json_decref(expected);
    }
}
END_TEST

START_TEST(the_public_jwk_loads_as_a_key_set_member)
{
    ipsie_signer_t *s = signer_of(ec_key, NULL, NULL);
    ipsie_jwks_t *jwks = jwks_of(json_pack("[o]", ipsie_signer_public_jwk(s, 1)));

    ck_assert_int_eq(ipsie_jwks_count(jwks), 1);
}
END_TEST

/* ---- signatures ----------------------------------------------------------------------- */

/* Sign a small claim set with s and verify it with the module's verifier and s's public JWK. */
static json_t *signed_and_verified(const ipsie_signer_t *s, const char **jws)
{
    json_t *payload = json_pack("{s:s, s:I}", "iss", "me", "iat", (json_int_t)NOW);
    json_t *header = json_pack("{s:s, s:s}", "typ", "JWT", "kid", ipsie_signer_kid(s));
    ipsie_jwks_t *jwks = jwks_of(json_pack("[o]", ipsie_signer_public_jwk(s, 1)));
    json_t *claims = NULL;

    ck_assert_int_eq(ipsie_signer_sign(jws, s, header, payload, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jws_verify(&claims, *jws, jwks, all_algs(), pool), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), "me");
    /* The caller's header is left as it was. */
    ck_assert_ptr_null(json_object_get(header, "alg"));
    json_decref(payload);
    json_decref(header);
    return claims;
}

START_TEST(every_alg_signs_what_the_modules_verifier_accepts)
{
    const char *jws;

    signed_and_verified(signer_of(rsa_key, "RS256", NULL), &jws);
    signed_and_verified(signer_of(rsa_key, "PS256", NULL), &jws);
    signed_and_verified(signer_of(ec_key, NULL, NULL), &jws);
    signed_and_verified(signer_of(ed_key, NULL, NULL), &jws);
}
END_TEST

/* The header of a compact JWS, parsed. */
static json_t *header_of(const char *jws)
{
    unsigned char *bytes;
    apr_size_t len;

    ck_assert_int_eq(ipsie_b64url_decode(&bytes, &len, jws, strcspn(jws, "."), pool), APR_SUCCESS);
    return json_loadb((const char *)bytes, len, 0, NULL);
}

START_TEST(the_header_names_the_signers_alg_whatever_the_caller_gave)
{
    ipsie_signer_t *s = signer_of(ec_key, NULL, NULL);
    json_t *header = json_pack("{s:s}", "alg", "none");
    json_t *payload = json_object();
    json_t *h;
    const char *jws;

    ck_assert_int_eq(ipsie_signer_sign(&jws, s, header, payload, pool), APR_SUCCESS);
    h = header_of(jws);
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), "ES256");
    ck_assert_str_eq(json_string_value(json_object_get(header, "alg")), "none");
    json_decref(h);
    ck_assert_int_eq(ipsie_signer_sign(&jws, s, NULL, payload, pool), APR_SUCCESS);
    h = header_of(jws);
    ck_assert_int_eq(json_object_size(h), 1);
    json_decref(h);
    json_decref(header);
    json_decref(payload);
}
END_TEST

/* Verify jws with OpenSSL alone: pub, alg's padding, and for ES256 R || S made DER. */
static int openssl_verifies(EVP_PKEY *pub, const char *alg, const char *jws)
{
    const char *dot = strrchr(jws, '.');
    unsigned char *sig;
    apr_size_t sig_len;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int der_len;
    int ok;

    ck_assert_int_eq(ipsie_b64url_decode(&sig, &sig_len, dot + 1, strlen(dot + 1), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(
        EVP_DigestVerifyInit(ctx, &pctx, strcmp(alg, "EdDSA") ? EVP_sha256() : NULL, NULL, pub), 1);
    if (strcmp(alg, "PS256") == 0) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    if (strcmp(alg, "ES256") == 0) {
        ECDSA_SIG *es = ECDSA_SIG_new();

        ck_assert_int_eq(sig_len, 64);
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        ok = EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)jws,
                              (size_t)(dot - jws));
        OPENSSL_free(der);
    }
    else {
        ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jws, (size_t)(dot - jws));
    }
    EVP_MD_CTX_free(ctx);
    return ok == 1;
}

START_TEST(an_rsa_key_signs_the_other_rsa_alg_when_asked_and_no_other_key_does)
{
    ipsie_signer_t *rs = signer_of(rsa_key, "RS256", NULL);
    json_t *payload = json_pack("{s:s}", "sub", "x");
    json_t *h;
    const char *jws = "unset";
    int i;
    static const char *const as[] = {"PS256", "RS256", NULL};

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(ipsie_signer_sign_as(&jws, rs, as[i], NULL, payload, pool), APR_SUCCESS);
        h = header_of(jws);
        ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), as[i] ? as[i] : "RS256");
        json_decref(h);
        ck_assert_int_eq(ipsie_jws_verify(&h, jws,
                                          jwks_of(json_pack("[o]", ipsie_signer_public_jwk(rs, 0))),
                                          algs(as[i] ? as[i] : "RS256"), pool),
                         APR_SUCCESS); /* the claims are released with the pool */
    }
    /* The signer itself is left as it was. */
    ck_assert_str_eq(ipsie_signer_alg(rs), "RS256");
    jws = "unset";
    ck_assert_int_eq(ipsie_signer_sign_as(&jws, rs, "ES256", NULL, payload, pool), APR_EINVAL);
    ck_assert_ptr_null(jws);
    ck_assert_int_eq(
        ipsie_signer_sign_as(&jws, signer_of(ec_key, NULL, NULL), "PS256", NULL, payload, pool),
        APR_EINVAL);
    ck_assert_int_eq(
        ipsie_signer_sign_as(&jws, signer_of(ed_key, NULL, NULL), "RS256", NULL, payload, pool),
        APR_EINVAL);
    ck_assert_int_eq(
        ipsie_signer_sign_as(&jws, signer_of(ec_key, NULL, NULL), "ES256", NULL, payload, pool),
        APR_SUCCESS);
    json_decref(payload);
}
END_TEST

START_TEST(openssl_verifies_every_alg_and_es256_is_r_s_of_64_bytes)
{
    static const struct {
        const char *rsa_alg;
        const char *alg;
    } cases[] = {{"RS256", "RS256"}, {"PS256", "PS256"}, {NULL, "ES256"}, {NULL, "EdDSA"}};
    EVP_PKEY *keys[] = {rsa_key, rsa_key, ec_key, ed_key};
    json_t *payload = json_pack("{s:s}", "x", "y");
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ipsie_signer_t *s = signer_of(keys[i], cases[i].rsa_alg, NULL);
        const char *jws;

        ck_assert_int_eq(ipsie_signer_sign(&jws, s, NULL, payload, pool), APR_SUCCESS);
        ck_assert_msg(openssl_verifies(keys[i], cases[i].alg, jws), "%s", cases[i].alg);
        /* PS256 and RS256 are not each other. */
        if (i < 2) {
            ck_assert(!openssl_verifies(keys[i], cases[1 - i].alg, jws));
        }
    }
    json_decref(payload);
}
END_TEST

START_TEST(a_signature_by_another_key_does_not_verify)
{
    ipsie_signer_t *s = signer_of(rsa_other, NULL, "rsa1");
    json_t *header = json_pack("{s:s}", "kid", "rsa1");
    json_t *payload = json_object();
    json_t *claims = NULL;
    const char *jws;

    ck_assert_int_eq(ipsie_signer_sign(&jws, s, header, payload, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jws_verify(&claims, jws, std_jwks(), all_algs(), pool),
                     IPSIE_ERR_JWT_SIGNATURE);
    json_decref(header);
    json_decref(payload);
}
END_TEST

/* ---- generated keys ------------------------------------------------------------------- */

START_TEST(generated_keys_sign_es256_or_eddsa_and_differ)
{
    ipsie_signer_t *a = NULL;
    ipsie_signer_t *b = NULL;
    const char *jws;

    ck_assert_int_eq(ipsie_signer_generate(&a, "ES256", NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(ipsie_signer_generate(&b, "ES256", NULL, pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_signer_alg(a), "ES256");
    ck_assert_str_ne(ipsie_signer_thumbprint(a), ipsie_signer_thumbprint(b));
    signed_and_verified(a, &jws);
    ck_assert_int_eq(ipsie_signer_generate(&b, "EdDSA", "dpop", pool), APR_SUCCESS);
    ck_assert_str_eq(ipsie_signer_alg(b), "EdDSA");
    ck_assert_str_eq(ipsie_signer_kid(b), "dpop");
    signed_and_verified(b, &jws);
    ck_assert_int_eq(ipsie_signer_generate(&b, "RS256", NULL, pool), APR_EINVAL);
    ck_assert_ptr_null(b);
}
END_TEST

static Suite *signer_suite(void)
{
    Suite *s = suite_create("ipsie_signer");
    TCase *load = tcase_create("load");
    TCase *jwk = tcase_create("jwk");
    TCase *sign = tcase_create("sign");

    tcase_add_unchecked_fixture(load, keys_setup, keys_teardown);
    tcase_add_checked_fixture(load, pool_setup, pool_teardown);
    tcase_set_timeout(load, 60);
    tcase_add_test(load, each_supported_key_type_signs_its_alg);
    tcase_add_test(load, traditional_pem_forms_load_too);
    tcase_add_test(load, a_short_rsa_key_is_refused_saying_2048_bits);
    tcase_add_test(load, an_ec_key_on_another_curve_is_refused_saying_p256);
    tcase_add_test(load, ed448_and_x25519_keys_are_refused);
    tcase_add_test(load, an_encrypted_key_is_refused_saying_so);
    tcase_add_test(load, a_public_key_or_garbage_is_refused);
    tcase_add_test(load, a_file_loads_and_a_missing_or_huge_one_is_refused);
    suite_add_tcase(s, load);

    tcase_add_unchecked_fixture(jwk, keys_setup, keys_teardown);
    tcase_add_checked_fixture(jwk, pool_setup, pool_teardown);
    tcase_set_timeout(jwk, 60);
    tcase_add_test(jwk, thumbprint_of_the_rfc8037_key_is_the_rfc_value);
    tcase_add_test(jwk, thumbprints_of_rsa_and_ec_keys_follow_rfc7638);
    tcase_add_test(jwk, the_public_jwk_is_the_keys_own_and_never_carries_a_private_part);
    tcase_add_test(jwk, the_public_jwk_loads_as_a_key_set_member);
    suite_add_tcase(s, jwk);

    tcase_add_unchecked_fixture(sign, keys_setup, keys_teardown);
    tcase_add_checked_fixture(sign, pool_setup, pool_teardown);
    tcase_set_timeout(sign, 60);
    tcase_add_test(sign, every_alg_signs_what_the_modules_verifier_accepts);
    tcase_add_test(sign, the_header_names_the_signers_alg_whatever_the_caller_gave);
    tcase_add_test(sign, openssl_verifies_every_alg_and_es256_is_r_s_of_64_bytes);
    tcase_add_test(sign, an_rsa_key_signs_the_other_rsa_alg_when_asked_and_no_other_key_does);
    tcase_add_test(sign, a_signature_by_another_key_does_not_verify);
    tcase_add_test(sign, generated_keys_sign_es256_or_eddsa_and_differ);
    suite_add_tcase(s, sign);
    return s;
}

int main(void)
{
    return run_suite(signer_suite());
}
