/* JWS verification against a JWKS and ID token validation (OIDC Core 3.1.3.7, RFC 8725). */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <cjose/cjose.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jwt.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

/* A JWKS larger than this is not a key set but an attack or a mistake. */
#define IPSIE_JWKS_MAX_LEN (256 * 1024)
#define IPSIE_JWKS_MAX_KEYS 100
/* RFC 7518 3.3: RSA keys of at least 2048 bits. */
#define IPSIE_RSA_MIN_BITS 2048
/* OIDC Core 2: sub is at most 255 ASCII characters. */
#define IPSIE_SUB_MAX_LEN 255

typedef enum { KEY_RSA, KEY_EC_P256, KEY_OKP_ED25519 } key_type_e;

typedef struct {
    const char *kid; /* NULL when the JWK has none */
    const char *alg; /* NULL when the JWK has none */
    const char *use; /* NULL when the JWK has none */
    key_type_e type;
    apr_size_t sig_len; /* exact signature length this key produces */
    cjose_jwk_t *cjwk;  /* RSA and EC keys */
    EVP_PKEY *ed25519;  /* OKP Ed25519 keys */
} ipsie_jwk_t;

struct ipsie_jwks_t {
    apr_array_header_t *keys; /* ipsie_jwk_t * */
};

typedef struct {
    const char *name;
    key_type_e type;
} alg_info_t;

static const alg_info_t supported_algs[] = {
    {"RS256", KEY_RSA},
    {"PS256", KEY_RSA},
    {"ES256", KEY_EC_P256},
    {"EdDSA", KEY_OKP_ED25519},
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

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* A value from a token is logged only when it cannot forge a log line. */
static const char *loggable(const char *s)
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
static int opt_string(const char **out, json_t *obj, const char *name)
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

static const char *load_ec(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    cjose_err err;
    const char *crv = NULL;

    if (!opt_string(&crv, jv, "crv") || crv == NULL || strcmp(crv, "P-256") != 0) {
        return "EC key not on curve P-256";
    }
    /* The JWK parser is lenient about coordinate lengths; P-256 needs exactly 32 bytes. */
    if (b64_member_len(NULL, jv, "x", p) != 32 || b64_member_len(NULL, jv, "y", p) != 32) {
        return "EC key without valid 32-byte x and y";
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
    key->type = KEY_EC_P256;
    key->sig_len = 64;
    return NULL;
}

/* cjose 0.6 knows no OKP keys: Ed25519 public keys are loaded with OpenSSL directly. */
static const char *load_okp(ipsie_jwk_t *key, json_t *jv, apr_pool_t *p)
{
    const char *crv = NULL;
    unsigned char *x = NULL;

    if (!opt_string(&crv, jv, "crv") || crv == NULL || strcmp(crv, "Ed25519") != 0) {
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
    if (!opt_string(&kty, jv, "kty") || kty == NULL) {
        return "no kty";
    }
    if (!opt_string(&key->kid, jv, "kid") || !opt_string(&key->alg, jv, "alg")
        || !opt_string(&key->use, jv, "use")) {
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
                  loggable(key->kid));
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

static int key_fits(const ipsie_jwk_t *key, const alg_info_t *alg)
{
    return key->type == alg->type && (key->alg == NULL || strcmp(key->alg, alg->name) == 0);
}

/* The keys that may verify the token: those with its kid that fit its alg (a rotation may
 * publish two under one kid), or, when it has no kid, the one key that fits (OIDC Core 10.1:
 * a set of several keys names them). IPSIE_ERR_JWT_KID when there is none: fresher keys may
 * have it. */
static apr_status_t select_keys(apr_array_header_t **out, const ipsie_jwks_t *jwks, const char *kid,
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
                  loggable(kid));
        return IPSIE_ERR_JWT_KID;
    }
    if (kid != NULL && found->nelts == 0) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05022: JWS refused: the key for kid %s does not "
                  "fit alg %s",
                  loggable(kid), alg->name);
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

apr_status_t ipsie_jws_verify(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                              const apr_array_header_t *allowed_algs, apr_pool_t *p)
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
    if (!opt_string(&alg, header, "alg") || alg == NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05015: JWS refused: the header has no string alg");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    /* RFC 8725 3.1/3.2: never unsigned, never HMAC keyed with a public key. */
    if (strcasecmp(alg, "none") == 0 || strncasecmp(alg, "HS", 2) == 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05016: JWS refused: alg %s is never accepted",
                  loggable(alg));
        rv = IPSIE_ERR_JWT_ALG;
        goto leave;
    }
    if (!alg_allowed(alg, allowed_algs)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05017: JWS refused: alg %s is not on the allow-list",
                  loggable(alg));
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
                  loggable(alg));
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
    if (!opt_string(&kid, header, "kid")) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05020: JWS refused: kid is not a string");
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }

    rv = select_keys(&keys, jwks, kid, info, p);
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
                  loggable(kid));
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

static int has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* 1 when aud names the client and nothing else (string, or array of only client_id). */
static int aud_ok(json_t *aud, const ipsie_id_token_expect_t *expect, size_t *count)
{
    size_t i;
    json_t *v;

    *count = 0;
    if (json_is_string(aud)) {
        *count = 1;
        return strcmp(json_string_value(aud), expect->client_id) == 0;
    }
    if (!json_is_array(aud) || expect->aud_single_string || json_array_size(aud) == 0) {
        return 0;
    }
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v) || strcmp(json_string_value(v), expect->client_id) != 0) {
            return 0;
        }
    }
    *count = json_array_size(aud);
    return 1;
}

apr_status_t ipsie_id_token_validate(json_t **claims, const char *jwt, const ipsie_jwks_t *jwks,
                                     const ipsie_id_token_expect_t *expect, apr_pool_t *p)
{
    apr_status_t rv;
    json_t *c = NULL;
    json_t *v;
    const char *s = NULL;
    size_t aud_count = 0;
    long long skew;

    *claims = NULL;
    if (expect == NULL || expect->issuer == NULL || expect->client_id == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE05051: ID token refused: no issuer or client id to "
                                   "check it against");
        rv = IPSIE_ERR_JWT_CLAIMS;
        goto leave;
    }
    rv = ipsie_jws_verify(&c, jwt, jwks, expect->allowed_algs, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = IPSIE_ERR_JWT_CLAIMS;
    skew = expect->clock_skew > 0 ? expect->clock_skew : 0;

    if (!opt_string(&s, c, "iss") || s == NULL || strcmp(s, expect->issuer) != 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05040: ID token refused: iss is not the issuer %s",
                  expect->issuer);
        goto leave;
    }
    if (!aud_ok(json_object_get(c, "aud"), expect, &aud_count)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05041: ID token refused: aud is not %s%s",
                  expect->aud_single_string ? "the single string " : "only ", expect->client_id);
        goto leave;
    }
    if (!opt_string(&s, c, "azp") || (s != NULL && strcmp(s, expect->client_id) != 0)
        || (s == NULL && aud_count > 1)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05042: ID token refused: azp is not the client id");
        goto leave;
    }
    v = json_object_get(c, "exp");
    if (!json_is_integer(v)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05043: ID token refused: exp is missing or not an "
                                     "integer");
        goto leave;
    }
    if (json_integer_value(v) <= expect->now - skew) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05044: ID token refused: exp %" JSON_INTEGER_FORMAT
                  " is past (now %lld, skew %lld)",
                  json_integer_value(v), expect->now, skew);
        goto leave;
    }
    v = json_object_get(c, "iat");
    if (!json_is_integer(v)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05045: ID token refused: iat is missing or not an "
                                     "integer");
        goto leave;
    }
    if (json_integer_value(v) > expect->now + skew) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05046: ID token refused: iat %" JSON_INTEGER_FORMAT
                  " is in the future (now %lld, skew %lld)",
                  json_integer_value(v), expect->now, skew);
        goto leave;
    }
    v = json_object_get(c, "nbf");
    if (v != NULL && (!json_is_integer(v) || json_integer_value(v) > expect->now + skew)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05050: ID token refused: nbf is not an integer or "
                                     "is in the future");
        goto leave;
    }
    /* sub names the user in logs and REMOTE_USER: a control character could forge either. */
    if (!opt_string(&s, c, "sub") || s == NULL || s[0] == '\0' || strlen(s) > IPSIE_SUB_MAX_LEN
        || has_control(s)) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05047: ID token refused: sub is missing, empty, not "
                  "a string, over %d characters or holds a control character",
                  IPSIE_SUB_MAX_LEN);
        goto leave;
    }
    v = json_object_get(c, "nonce");
    if (expect->nonce == NULL && v != NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05049: ID token refused: nonce present although "
                                     "none was sent");
        goto leave;
    }
    if (expect->nonce != NULL
        && (!json_is_string(v) || !ipsie_ct_streq(json_string_value(v), expect->nonce))) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05048: ID token refused: nonce is missing or does "
                                     "not match");
        goto leave;
    }
    rv = APR_SUCCESS;
    *claims = c;

leave:
    return rv;
}
