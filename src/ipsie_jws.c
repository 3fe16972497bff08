/* JWS verification (RFC 7515, RFC 8725): a compact JWS checked against an allow-list of
 * algorithms and the provider's keys. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <cjose/cjose.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jws.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"
#include "ipsie_jwk_internal.h"

/* What each algorithm needs of its key: an ES alg names its curve (RFC 7518 3.4). */
static const alg_info_t supported_algs[] = {
    {"RS256", KEY_RSA},         {"RS384", KEY_RSA},     {"RS512", KEY_RSA},
    {"PS256", KEY_RSA},         {"PS384", KEY_RSA},     {"PS512", KEY_RSA},
    {"ES256", KEY_EC_P256},     {"ES384", KEY_EC_P384}, {"ES512", KEY_EC_P521},
    {"EdDSA", KEY_OKP_ED25519},
};

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static int alg_allowed(const char *alg, const apr_array_header_t *allowed_algs)
{
    int i;

    if (allowed_algs == NULL) {
        return 0;
    }
    for (i = 0; i < allowed_algs->nelts; i++) {
        const char *a = APR_ARRAY_IDX(allowed_algs, i, const char *);

        if (a != NULL && strcmp(a, alg) == 0) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t verify_ed25519(const ipsie_jwk_t *key, const char *input, apr_size_t input_len,
                                   const unsigned char *sig, apr_size_t sig_len)
{
    apr_status_t rv = IPSIE_ERR_JWT_SIGNATURE;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->ed25519) != 1) {
        rv = IPSIE_ERR_CRYPTO;
        goto leave;
    }
    ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len);
    if (ok == 1) {
        rv = APR_SUCCESS;
    }

leave:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

static apr_status_t verify_cjose(const ipsie_jwk_t *key, const char *jwt, apr_size_t len)
{
    apr_status_t rv = IPSIE_ERR_JWT_SIGNATURE;
    cjose_err err;
    cjose_jws_t *jws = cjose_jws_import(jwt, len, &err);

    if (jws == NULL) {
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (cjose_jws_verify(jws, key->cjwk, &err)) {
        rv = APR_SUCCESS;
    }

leave:
    cjose_jws_release(jws);
    ERR_clear_error();
    return rv;
}

/* 1 when the header's typ value names the media type want (RFC 7515 4.1.9: case-insensitive,
 * "application/" may be left out). */
static int typ_is(const char *value, const char *want)
{
    if (strncasecmp(value, "application/", 12) == 0) {
        value += 12;
    }
    return strcasecmp(value, want) == 0;
}

apr_status_t ipsie_jws_verify(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                              const apr_array_header_t *allowed_algs, apr_pool_t *p)
{
    return ipsie_jws_verify_typed(claims, jwt, jwks, allowed_algs, NULL, p);
}

apr_status_t ipsie_jws_verify_typed(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                                    const apr_array_header_t *allowed_algs, const char *typ,
                                    apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    json_t *header = NULL;
    json_t *payload = NULL;
    const char *dots[4] = {NULL, NULL, NULL, NULL};
    const char *part[3];
    apr_size_t part_len[3];
    unsigned char *bytes[3];
    apr_size_t bytes_len[3];
    const char *alg = NULL;
    const char *kid = NULL;
    const char *header_typ = NULL;
    const alg_info_t *info = NULL;
    apr_array_header_t *keys = NULL;
    apr_size_t len;
    apr_size_t i;
    int ndots = 0;

    *claims = NULL;
    if (jwt == NULL) {
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    len = strnlen(jwt, IPSIE_JWT_MAX_LEN + 1);
    if (len > IPSIE_JWT_MAX_LEN) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05010: JWS refused: over %d bytes", IPSIE_JWT_MAX_LEN);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }
    for (i = 0; i < len; i++) {
        if (jwt[i] == '.') {
            if (ndots < 4) {
                dots[ndots] = jwt + i;
            }
            ndots++;
        }
    }
    if (ndots == 4) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05011: JWS refused: an encrypted JWT (JWE) is not "
                                     "accepted");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (ndots != 2) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05012: JWS refused: %d parts instead of 3", ndots + 1);
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    part[0] = jwt;
    part_len[0] = (apr_size_t)(dots[0] - jwt);
    part[1] = dots[0] + 1;
    part_len[1] = (apr_size_t)(dots[1] - part[1]);
    part[2] = dots[1] + 1;
    part_len[2] = (apr_size_t)(jwt + len - part[2]);
    for (i = 0; i < 3; i++) {
        if (ipsie_b64url_decode(&bytes[i], &bytes_len[i], part[i], part_len[i], p) != APR_SUCCESS) {
            ipsie_log(IPSIE_LOG_WARNING,
                      "IPSIE05013: JWS refused: the %s is not strict "
                      "base64url",
                      i == 0   ? "header"
                      : i == 1 ? "payload"
                               : "signature");
            rv = IPSIE_ERR_MALFORMED;
            goto leave;
        }
    }

    header = json_loadb((const char *)bytes[0], bytes_len[0], JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(header)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05014: JWS refused: the header is not a JSON object");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (!ipsie_jose_opt_string(&alg, header, "alg") || alg == NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05015: JWS refused: the header has no string alg");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    /* RFC 8725 3.1/3.2: never unsigned, never HMAC keyed with a public key. */
    if (strcasecmp(alg, "none") == 0 || strncasecmp(alg, "HS", 2) == 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05016: JWS refused: alg %s is never accepted",
                  ipsie_jose_loggable(alg));
        rv = IPSIE_ERR_JWT_ALG;
        goto leave;
    }
    if (!alg_allowed(alg, allowed_algs)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05017: JWS refused: alg %s is not on the allow-list",
                  ipsie_jose_loggable(alg));
        rv = IPSIE_ERR_JWT_ALG;
        goto leave;
    }
    for (i = 0; i < sizeof(supported_algs) / sizeof(supported_algs[0]); i++) {
        if (strcmp(supported_algs[i].name, alg) == 0) {
            info = &supported_algs[i];
        }
    }
    if (info == NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05018: JWS refused: alg %s is not supported",
                  ipsie_jose_loggable(alg));
        rv = IPSIE_ERR_JWT_ALG;
        goto leave;
    }
    /* RFC 7515 4.1.11: we implement no extension, so any crit must be refused. */
    if (json_object_get(header, "crit") != NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05019: JWS refused: crit header extensions are not "
                                     "understood");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    /* A token of another type (an ID token offered as a logout token) costs no key lookup. */
    if (typ != NULL
        && (!ipsie_jose_opt_string(&header_typ, header, "typ")
            || (header_typ != NULL && !typ_is(header_typ, typ)))) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05026: JWS refused: typ %s is not %s",
                  header_typ != NULL ? ipsie_log_safe(header_typ, p) : "(not a string)", typ);
        rv = IPSIE_ERR_JWT_CLAIMS;
        goto leave;
    }
    if (!ipsie_jose_opt_string(&kid, header, "kid")) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05020: JWS refused: kid is not a string");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }

    rv = ipsie_jwks_select(&keys, jwks, kid, info, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    /* A kid shared by the keys of a rotation: either may be it. */
    rv = IPSIE_ERR_JWT_SIGNATURE;
    for (i = 0; rv != APR_SUCCESS && i < (apr_size_t)keys->nelts; i++) {
        const ipsie_jwk_t *key = APR_ARRAY_IDX(keys, i, const ipsie_jwk_t *);

        if (bytes_len[2] != key->sig_len) {
            rv = IPSIE_ERR_JWT_SIGNATURE;
        }
        else if (key->type == KEY_OKP_ED25519) {
            rv = verify_ed25519(key, jwt, (apr_size_t)(dots[1] - jwt), bytes[2], bytes_len[2]);
        }
        else {
            rv = verify_cjose(key, jwt, len);
        }
    }
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05024: JWS refused: the %s signature does not verify with the key %s", alg,
                  ipsie_jose_loggable(kid));
        rv = IPSIE_ERR_JWT_SIGNATURE;
        goto leave;
    }

    payload = json_loadb((const char *)bytes[1], bytes_len[1], JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(payload)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05025: JWS refused: the payload is not a JSON "
                                     "object");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    apr_pool_cleanup_register(p, payload, json_cleanup, apr_pool_cleanup_null);
    *claims = payload;
    payload = NULL;

leave:
    json_decref(header);
    json_decref(payload);
    return rv;
}
