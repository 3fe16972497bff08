/* JSON Web Keys (RFC 7517): the provider's key set, loaded into the keys this module verifies
 * signatures with, and the choice among them for one token. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <cjose/cjose.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jwk.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"
#include "ipsie_jwk_internal.h"

/* A JWKS larger than this is not a key set but an attack or a mistake. */
#define IPSIE_JWKS_MAX_LEN (256 * 1024)
#define IPSIE_JWKS_MAX_KEYS 100
/* RFC 7518 3.3: RSA keys of at least 2048 bits. */
#define IPSIE_RSA_MIN_BITS 2048

struct ipsie_jwks_t {
    apr_array_header_t *keys; /* ipsie_jwk_t * */
};

static apr_status_t cjwk_cleanup(void *data)
{
    cjose_jwk_release(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* A value from a token is logged only when it cannot forge a log line. */
const char *ipsie_jose_loggable(const char *s)
{
    const char *c;

    if (s == NULL) {
        return "(none)";
    }
    if (strlen(s) > 64) {
        return "(too long to log)";
    }
    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_' && *c != '.') {
            return "(unprintable)";
        }
    }
    return s;
}

/* Optional string member: absent is fine (NULL), any other type is an error. */
int ipsie_jose_opt_string(const char **out, json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    *out = NULL;
    if (v == NULL) {
        return 1;
    }
    if (!json_is_string(v)) {
        return 0;
    }
    *out = json_string_value(v);
    return 1;
}

/* Length in bytes of a strictly base64url-encoded member, or 0 when absent or invalid. */
static apr_size_t b64_member_len(unsigned char **bytes, json_t *obj, const char *name,
                                 apr_pool_t *p)
{
    json_t *v = json_object_get(obj, name);
    unsigned char *buf = NULL;
    apr_size_t len = 0;

    if (!json_is_string(v)) {
        return 0;
    }
    if (ipsie_b64url_decode(&buf, &len, json_string_value(v), json_string_length(v), p)
        != APR_SUCCESS) {
        return 0;
    }
    if (bytes != NULL) {
        *bytes = buf;
    }
    return len;
}

static const char *load_rsa(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    cjose_err err;
    size_t bits;
    unsigned char *e = NULL;
    apr_size_t e_len;

    e_len = b64_member_len(&e, jv, "e", p);
    if (b64_member_len(NULL, jv, "n", p) == 0 || e_len == 0) {
        return "RSA key without a valid n and e";
    }
    /* With e = 1 the "signature" of any message is its own padded hash: anyone could sign.
     * A public exponent is odd and at least 3; no real one is wider than 64 bits. */
    while (e_len > 1 && e[0] == 0) {
        e++;
        e_len--;
    }
    if ((e[e_len - 1] & 1) == 0 || (e_len == 1 && e[0] < 3) || e_len > 8) {
        return "RSA key with an even, trivial or oversized public exponent";
    }
    key->cjwk = cjose_jwk_import_json((cjose_header_t *)jv, &err);
    if (key->cjwk == NULL) {
        ERR_clear_error();
        return "RSA key refused by the JWK parser";
    }
    apr_pool_cleanup_register(p, key->cjwk, cjwk_cleanup, apr_pool_cleanup_null);
    if (cjose_jwk_get_kty(key->cjwk, &err) != CJOSE_JWK_KTY_RSA) {
        return "RSA key parsed as another type";
    }
    bits = cjose_jwk_get_keysize(key->cjwk, &err);
    if (bits < IPSIE_RSA_MIN_BITS) {
        return "RSA key shorter than 2048 bits";
    }
    key->type = KEY_RSA;
    key->sig_len = (bits + 7) / 8;
    return NULL;
}

/* The NIST curves of RFC 7518 3.4, each with its coordinate size and the key type it makes. */
static const struct {
    const char *crv;
    apr_size_t coordinate_len;
    key_type_e type;
} ec_curves[] = {
    {"P-256", 32, KEY_EC_P256},
    {"P-384", 48, KEY_EC_P384},
    {"P-521", 66, KEY_EC_P521},
};

static const char *load_ec(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    cjose_err err;
    const char *crv = NULL;
    apr_size_t i, n = sizeof(ec_curves) / sizeof(ec_curves[0]);

    if (!ipsie_jose_opt_string(&crv, jv, "crv") || crv == NULL) {
        return "EC key without a crv";
    }
    for (i = 0; i < n; i++) {
        if (strcmp(crv, ec_curves[i].crv) == 0) {
            break;
        }
    }
    if (i == n) {
        return "EC key not on curve P-256, P-384 or P-521";
    }
    /* The JWK parser is lenient about coordinate lengths; each curve has exactly one. */
    if (b64_member_len(NULL, jv, "x", p) != ec_curves[i].coordinate_len
        || b64_member_len(NULL, jv, "y", p) != ec_curves[i].coordinate_len) {
        return apr_psprintf(p, "EC key without valid %" APR_SIZE_T_FMT "-byte x and y for %s",
                            ec_curves[i].coordinate_len, ec_curves[i].crv);
    }
    key->cjwk = cjose_jwk_import_json((cjose_header_t *)jv, &err);
    if (key->cjwk == NULL) {
        ERR_clear_error();
        return "EC key refused by the JWK parser (point not on the curve?)";
    }
    apr_pool_cleanup_register(p, key->cjwk, cjwk_cleanup, apr_pool_cleanup_null);
    if (cjose_jwk_get_kty(key->cjwk, &err) != CJOSE_JWK_KTY_EC) {
        return "EC key parsed as another type";
    }
    key->type = ec_curves[i].type;
    /* R || S, each as long as a coordinate (RFC 7518 3.4). */
    key->sig_len = 2 * ec_curves[i].coordinate_len;
    return NULL;
}

/* cjose 0.6 knows no OKP keys: Ed25519 public keys are loaded with OpenSSL directly. */
static const char *load_okp(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    const char *crv = NULL;
    unsigned char *x = NULL;

    if (!ipsie_jose_opt_string(&crv, jv, "crv") || crv == NULL || strcmp(crv, "Ed25519") != 0) {
        return "OKP key not on curve Ed25519";
    }
    if (b64_member_len(&x, jv, "x", p) != 32) {
        return "Ed25519 key without a valid 32-byte x";
    }
    key->ed25519 = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
    if (key->ed25519 == NULL) {
        ERR_clear_error();
        return "Ed25519 key refused by OpenSSL";
    }
    apr_pool_cleanup_register(p, key->ed25519, pkey_cleanup, apr_pool_cleanup_null);
    key->type = KEY_OKP_ED25519;
    key->sig_len = 64;
    return NULL;
}

/* NULL when jv is a usable signature key (filled into key), else why it is skipped. */
static const char *load_key(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    const char *kty = NULL;
    json_t *ops;

    if (!json_is_object(jv)) {
        return "not a JSON object";
    }
    if (!ipsie_jose_opt_string(&kty, jv, "kty") || kty == NULL) {
        return "no kty";
    }
    if (!ipsie_jose_opt_string(&key->kid, jv, "kid") || !ipsie_jose_opt_string(&key->alg, jv, "alg")
        || !ipsie_jose_opt_string(&key->use, jv, "use")) {
        return "kid, alg or use is not a string";
    }
    if (key->use != NULL && strcmp(key->use, "sig") != 0) {
        return "not a signature key";
    }
    ops = json_object_get(jv, "key_ops");
    if (ops != NULL) {
        size_t i;
        json_t *op;
        int verify = 0;

        json_array_foreach(ops, i, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) {
                verify = 1;
            }
        }
        if (!verify) {
            return "key_ops does not allow verify";
        }
    }
    if (json_object_get(jv, "d") != NULL) {
        /* A published private key is compromised: never trust it. */
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05005: JWKS key %s carries private key material; "
                  "skipped",
                  ipsie_jose_loggable(key->kid));
        return "private key material";
    }
    if (strcmp(kty, "RSA") == 0) {
        return load_rsa(key, jv, p);
    }
    if (strcmp(kty, "EC") == 0) {
        return load_ec(key, jv, p);
    }
    if (strcmp(kty, "OKP") == 0) {
        return load_okp(key, jv, p);
    }
    return "unsupported kty";
}

apr_status_t ipsie_jwks_parse(ipsie_jwks_t **out, const char *json, apr_size_t len, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    json_t *doc = NULL;
    json_t *keys;
    json_t *jv;
    json_error_t jerr;
    ipsie_jwks_t *jwks;
    size_t i;

    *out = NULL;
    if (json == NULL) {
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (len > IPSIE_JWKS_MAX_LEN) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05001: JWKS refused: %" APR_SIZE_T_FMT " bytes, over the limit of %d", len,
                  IPSIE_JWKS_MAX_LEN);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05002: JWKS refused: not a JSON object with a "
                                     "\"keys\" array");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (json_array_size(keys) > IPSIE_JWKS_MAX_KEYS) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05003: JWKS refused: %zu keys, over the limit "
                  "of %d",
                  json_array_size(keys), IPSIE_JWKS_MAX_KEYS);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }

    jwks = apr_pcalloc(p, sizeof(*jwks));
    jwks->keys = apr_array_make(p, (int)json_array_size(keys) + 1, sizeof(ipsie_jwk_t *));
    json_array_foreach(keys, i, jv)
    {
        ipsie_jwk_t *key = apr_pcalloc(p, sizeof(*key));
        const char *why = load_key(key, jv, p);

        if (why != NULL) {
            ipsie_log(IPSIE_LOG_DEBUG, "IPSIE05004: JWKS key #%zu skipped: %s", i, why);
            continue;
        }
        /* The strings live in doc, which is released below. */
        key->kid = key->kid ? apr_pstrdup(p, key->kid) : NULL;
        key->alg = key->alg ? apr_pstrdup(p, key->alg) : NULL;
        key->use = key->use ? apr_pstrdup(p, key->use) : NULL;
        APR_ARRAY_PUSH(jwks->keys, ipsie_jwk_t *) = key;
    }
    *out = jwks;

leave:
    json_decref(doc);
    return rv;
}

int ipsie_jwks_count(const ipsie_jwks_t *jwks)
{
    return jwks == NULL ? 0 : jwks->keys->nelts;
}

static int key_fits(const ipsie_jwk_t *key, const alg_info_t *alg)
{
    return key->type == alg->type && (key->alg == NULL || strcmp(key->alg, alg->name) == 0);
}

apr_status_t ipsie_jwks_select(apr_array_header_t **out, const ipsie_jwks_t *jwks, const char *kid,
                               const alg_info_t *alg, apr_pool_t *p)
{
    apr_array_header_t *found = apr_array_make(p, 2, sizeof(const ipsie_jwk_t *));
    int with_kid = 0;
    int i;

    *out = NULL;
    for (i = 0; jwks != NULL && i < jwks->keys->nelts; i++) {
        const ipsie_jwk_t *key = APR_ARRAY_IDX(jwks->keys, i, const ipsie_jwk_t *);

        if (kid != NULL) {
            if (key->kid == NULL || strcmp(key->kid, kid) != 0) {
                continue;
            }
            with_kid++;
        }
        if (key_fits(key, alg)) {
            APR_ARRAY_PUSH(found, const ipsie_jwk_t *) = key;
        }
    }
    if (kid != NULL && with_kid == 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05021: JWS refused: no key in the JWKS for kid %s",
                  ipsie_jose_loggable(kid));
        return IPSIE_ERR_JWT_KID;
    }
    if (kid != NULL && found->nelts == 0) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05022: JWS refused: the key for kid %s does not "
                  "fit alg %s",
                  ipsie_jose_loggable(kid), alg->name);
        return IPSIE_ERR_JWT_ALG;
    }
    if (kid == NULL && found->nelts != 1) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05023: JWS refused: %d keys fit alg %s for a token without kid; "
                  "exactly one is needed",
                  found->nelts, alg->name);
        return IPSIE_ERR_JWT_KID;
    }
    *out = found;
    return APR_SUCCESS;
}
