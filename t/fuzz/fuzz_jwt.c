/* Fuzz target: JWS verification and ID token validation against a fixed JWKS (public keys
 * only; their private halves were never kept), so no input may ever verify. The input is also
 * parsed as a JWKS and used to check sample tokens, which drives key loading and selection;
 * a token forged without any key must not verify under whatever keys the input holds. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_id_token.h"
#include "ipsie/ipsie_jwk.h"
#include "ipsie/ipsie_jws.h"
#include "ipsie/ipsie_util.h"

#define FUZZ_NOW 1700000000LL

static const char fixed_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"n\":\"tgRCIiH6-88SkjDmggFX3wdgyJhGifKLJIr8Uak47db71AzF52XxUhk5a0EM79j"
    "KsmG7Cc5qfX0tMmSvWXKLFEc7QGKwrO5DngK_tcJf8djrmh4puB_INymRbp09cNdrlaoTl7-D004rrzFVr5S5Mo6"
    "SjtYqu2fOCU0alfZSNA6swbYW9t4dG-7J1DYqkDYTjq0ZGuUYV7zalVNR0lHafGzJMBTxG4gN5ZJgeW4sBM4DzAk"
    "Uqoru5xcpjyCVPH-0IPhlAlaBPFAoLd5TZ-m8Z4mh36_R2UuI0hxFsjKNFJpgxiv3Bg8PEJERshrr5xhA9w2XN94"
    "qRAPZ_XqG8I-tpQ\",\"e\":\"AQAB\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\",\"alg\":\"RS256\"}"
    ","
    "{\"kty\":\"EC\",\"x\":\"BT5p4bIxmoaboHxv2ucxQAitr7FTRc_eY__aSlh1_i0\",\"y\":\"f0qa3nhT4o"
    "h6PeFOtSxhcdajOlWefY6Ta8XmD5n_8Yk\",\"crv\":\"P-256\",\"kid\":\"fuzz-ec\",\"use\":\"sig"
    "\",\"alg\":\"ES256\"}"
    ","
    "{\"crv\":\"Ed25519\",\"x\":\"iPjCqarep1DYJqCdZOwW5GMfAMHVBhfMLcb7Od8oRwM\",\"kty\":\"OKP"
    "\",\"kid\":\"fuzz-ed\",\"use\":\"sig\",\"alg\":\"EdDSA\"}"
    "]}";

static apr_pool_t *global_pool;
static ipsie_jwks_t *jwks;
static apr_array_header_t *allowed_algs;
static apr_array_header_t *sample_tokens;
static const char *forged_token;

/* A token shaped like the real thing, with a signature of the right length that verifies
 * under no key. */
static const char *sample_token(const char *alg, const char *kid, apr_size_t sig_len)
{
    const char *header =
        kid ? apr_psprintf(global_pool, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid)
            : apr_psprintf(global_pool, "{\"alg\":\"%s\"}", alg);
    const char *payload = "{\"iss\":\"https://op.example\",\"aud\":\"fuzz-client\","
                          "\"sub\":\"alice\",\"exp\":1700000600,\"iat\":1700000000,"
                          "\"nonce\":\"n-0\"}";
    unsigned char *sig = apr_palloc(global_pool, sig_len);

    memset(sig, 0x5a, sig_len);
    return apr_pstrcat(
        global_pool,
        ipsie_b64url_encode((const unsigned char *)header, strlen(header), global_pool), ".",
        ipsie_b64url_encode((const unsigned char *)payload, strlen(payload), global_pool), ".",
        ipsie_b64url_encode(sig, sig_len, global_pool), NULL);
}

/* An RS256 token whose "signature" is the PKCS #1 v1.5 encoding of its own hash, made
 * without any key: it verifies only under a degenerate RSA key (e = 1), which no JWKS may
 * be allowed to install. */
static const char *forged_rs256_token(void)
{
    static const unsigned char sha256_prefix[] = {
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
        0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    };
    const char *header = "{\"alg\":\"RS256\",\"kid\":\"fuzz-rsa\"}";
    const char *payload = "{\"iss\":\"https://op.example\",\"sub\":\"mallory\"}";
    const char *h64 =
        ipsie_b64url_encode((const unsigned char *)header, strlen(header), global_pool);
    const char *p64 =
        ipsie_b64url_encode((const unsigned char *)payload, strlen(payload), global_pool);
    const char *input = apr_pstrcat(global_pool, h64, ".", p64, NULL);
    unsigned char em[256];
    apr_size_t pad = sizeof(em) - 3 - sizeof(sha256_prefix) - 32;

    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, pad);
    em[2 + pad] = 0x00;
    memcpy(em + 3 + pad, sha256_prefix, sizeof(sha256_prefix));
    if (EVP_Digest(input, strlen(input), em + 3 + pad + sizeof(sha256_prefix), NULL, EVP_sha256(),
                   NULL)
        != 1) {
        abort();
    }
    return apr_pstrcat(global_pool, input, ".", ipsie_b64url_encode(em, sizeof(em), global_pool),
                       NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const algs[] = {"RS256", "PS256", "ES256", "EdDSA", "RS384", "RS512",
                                       "PS384", "PS512", "ES384", "ES512", "HS256", "none"};
    size_t i;

    fuzz_setup();
    if (apr_pool_create(&global_pool, NULL) != APR_SUCCESS) {
        abort();
    }
    if (ipsie_jwks_parse(&jwks, fixed_jwks, strlen(fixed_jwks), global_pool) != APR_SUCCESS
        || ipsie_jwks_count(jwks) != 3) {
        fprintf(stderr, "the fixed JWKS does not load its three keys\n");
        abort();
    }
    /* HS256 and none are listed to prove they are refused whatever the list says. */
    allowed_algs = apr_array_make(global_pool, 12, sizeof(const char *));
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        APR_ARRAY_PUSH(allowed_algs, const char *) = algs[i];
    }
    sample_tokens = apr_array_make(global_pool, 6, sizeof(const char *));
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("RS256", "fuzz-rsa", 256);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("PS256", NULL, 256);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("ES256", "fuzz-ec", 64);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("ES256", NULL, 64);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("EdDSA", "fuzz-ed", 64);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("RS256", "k1", 512);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("PS512", NULL, 256);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("ES384", "p384", 96);
    APR_ARRAY_PUSH(sample_tokens, const char *) = sample_token("ES512", NULL, 132);
    forged_token = forged_rs256_token();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *jwt = fuzz_cstr(data, size);
    ipsie_id_token_expect_t expect;
    ipsie_jwks_t *fuzz_jwks = NULL;
    json_t *claims = NULL;
    int i;

    FUZZ_ASSERT(ipsie_jws_verify(&claims, jwt, jwks, allowed_algs, p) != APR_SUCCESS,
                "no fuzz input verifies against the fixed JWKS");
    FUZZ_ASSERT(claims == NULL, "a refused JWS leaves no claims");

    memset(&expect, 0, sizeof(expect));
    expect.issuer = "https://op.example";
    expect.client_id = "fuzz-client";
    expect.nonce = "n-0";
    expect.allowed_algs = allowed_algs;
    expect.aud_single_string = (int)(size & 1);
    expect.clock_skew = 60;
    expect.now = FUZZ_NOW;
    FUZZ_ASSERT(ipsie_id_token_validate(&claims, jwt, jwks, &expect, p) != APR_SUCCESS,
                "no fuzz input validates as an ID token");
    FUZZ_ASSERT(claims == NULL, "a refused ID token leaves no claims");

    /* The input as a JWKS: whatever it holds, loading it and selecting from it must be safe. */
    if (ipsie_jwks_parse(&fuzz_jwks, (const char *)data, size, p) == APR_SUCCESS) {
        FUZZ_ASSERT(fuzz_jwks != NULL && ipsie_jwks_count(fuzz_jwks) >= 0,
                    "a parsed JWKS has a key count");
        for (i = 0; i < sample_tokens->nelts; i++) {
            (void)ipsie_jws_verify(&claims, APR_ARRAY_IDX(sample_tokens, i, const char *),
                                   fuzz_jwks, allowed_algs, p);
        }
        FUZZ_ASSERT(ipsie_jws_verify(&claims, forged_token, fuzz_jwks, allowed_algs, p)
                        != APR_SUCCESS,
                    "no JWKS makes a keyless forgery verify (RSA e = 1 must be refused)");
    }
    else {
        FUZZ_ASSERT(fuzz_jwks == NULL, "a refused JWKS leaves no output");
    }

    free(jwt);
    apr_pool_destroy(p);
    return 0;
}
