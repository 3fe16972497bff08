/* Fuzz target: logout token validation (Back-Channel Logout 1.0 2.6) against a fixed JWKS of
 * two Ed25519 keys whose private halves this file derives, beside a foreign EC key.
 *
 * The input is used twice. As token text, it must never crash the validator, and a token it
 * accepts must obey every rule. As a list of choices, it picks a header (kid, typ, crit), the
 * claims (each valid, wrong, absent, or spelled by the fuzzer) and the expectations; the token
 * is built from them and signed, and the model below, which restates the rules on its own,
 * says what the validator must answer: the very status, and on success the very values. */
#include "fuzz_support.h"

#include <ctype.h>
#include <limits.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jwk.h"
#include "ipsie/ipsie_logout_token.h"
#include "ipsie/ipsie_util.h"

#define FUZZ_NOW 1700000000LL
#define ISS "https://op.example"
#define CLIENT "fuzz-client"
/* Written out here rather than taken from the header: the model states the rules itself. */
#define EVENT "http://schemas.openid.net/event/backchannel-logout"

/* A public EC key of no use to an EdDSA token: its kid names a key of another type. */
#define EC_JWK                                                                                     \
    "{\"kty\":\"EC\",\"x\":\"BT5p4bIxmoaboHxv2ucxQAitr7FTRc_eY__aSlh1_i0\",\"y\":\"f0qa3nhT4oh6"   \
    "PeFOtSxhcdajOlWefY6Ta8XmD5n_8Yk\",\"crv\":\"P-256\",\"kid\":\"fuzz-ec\",\"use\":\"sig\"}"

static apr_pool_t *global_pool;
static EVP_PKEY *signer;             /* kid fuzz-ed: signs every built token */
static ipsie_jwks_t *jwks_single;    /* fuzz-ed and fuzz-ec */
static ipsie_jwks_t *jwks_rotation;  /* fuzz-ed, fuzz-ed-2 and fuzz-ec */
static apr_array_header_t *algs_all; /* EdDSA among them, with none and HS256 (never taken) */
static apr_array_header_t *algs_no_eddsa;

/* Which key the kid leads to, and what the JWS check makes of it. */
typedef enum { KEY_SIGNER, KEY_UNKNOWN, KEY_OTHER_TYPE, KEY_OTHER } key_e;

/* The choices the input makes, read in order; past its end every choice is 0, which picks
 * the valid option everywhere. */
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t at;
    int nul; /* a string spelled so far holds a NUL (JSON's \u0000, which the parser refuses) */
} choices_t;

/* What the model knows of the built token. */
typedef struct {
    int expect_ok;
    int alg_allowed;
    int header_nul;
    int crit;
    int typ_ok;
    key_e key;
    int tampered;
    int payload_nul;
    int claims_ok;
    const char *sub; /* the values the validator must hand back */
    const char *sid;
    const char *jti;
    long long iat;
    long long exp;
} model_t;

static unsigned take(choices_t *in)
{
    return in->at < in->size ? in->data[in->at++] : 0;
}

static unsigned choose(choices_t *in, unsigned n)
{
    return take(in) % n;
}

static unsigned take_u16(choices_t *in)
{
    unsigned lo = take(in);

    return lo | take(in) << 8;
}

static long long take_offset(choices_t *in)
{
    return (int16_t)(uint16_t)take_u16(in);
}

/* A string the fuzzer spells: up to 63 bytes, or 250 to 265 around the length limits. Bytes
 * past ASCII become U+00E9 so that the text stays UTF-8; past the input's end, 'a'. */
static json_t *take_string(choices_t *in, const char **out, size_t *out_len, apr_pool_t *p)
{
    unsigned k = take(in);
    size_t n = k < 0xf0 ? k % 64 : 250 + (k - 0xf0);
    char *s = apr_palloc(p, 2 * n + 1);
    size_t len = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned b = in->at < in->size ? in->data[in->at++] : 'a';

        if (b >= 0x80) {
            s[len++] = (char)0xc3;
            s[len++] = (char)0xa9;
        }
        else {
            s[len++] = (char)b;
            in->nul |= b == 0;
        }
    }
    s[len] = '\0';
    *out = s;
    *out_len = len;
    return json_stringn(s, len);
}

/* n copies of ch. */
static const char *repeat(char ch, size_t n, apr_pool_t *p)
{
    char *s = apr_palloc(p, n + 1);

    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* The model's own rules for sub and sid (up to 255 bytes, no control character), jti (up to
 * 256 printable ASCII characters) and typ. */
static int model_string_ok(const char *s, size_t len, size_t max_len, int ascii_only)
{
    size_t i;

    if (len == 0 || len > max_len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];

        if (b < 0x20 || b == 0x7f || (ascii_only && b > 0x7f)) {
            return 0;
        }
    }
    return 1;
}

static int model_name_ok(const char *s, size_t len)
{
    return model_string_ok(s, len, 255, 0);
}

static int model_jti_ok(const char *s, size_t len)
{
    return model_string_ok(s, len, 256, 1);
}

static int model_typ_ok(const char *s, size_t len, apr_pool_t *p)
{
    char *lower = apr_pstrmemdup(p, s, len);
    size_t i;

    for (i = 0; i < len; i++) {
        lower[i] = (char)tolower((unsigned char)lower[i]);
    }
    if (strncmp(lower, "application/", 12) == 0) {
        lower += 12;
    }
    return strcmp(lower, "logout+jwt") == 0;
}

/* The header; rotation: the JWKS holds the second Ed25519 key too. */
static json_t *header_of(choices_t *in, model_t *m, int rotation, apr_pool_t *p)
{
    json_t *h = json_pack("{s:s}", "alg", "EdDSA");
    json_t *typ = NULL;
    const char *s;
    size_t len;

    switch (choose(in, 5)) {
    case 0:
        json_object_set_new(h, "kid", json_string("fuzz-ed"));
        m->key = KEY_SIGNER;
        break;
    case 1: /* without kid: the one Ed25519 key, but not one of two */
        m->key = rotation ? KEY_UNKNOWN : KEY_SIGNER;
        break;
    case 2:
        json_object_set_new(h, "kid", json_string("fuzz-ed-2"));
        m->key = rotation ? KEY_OTHER : KEY_UNKNOWN;
        break;
    case 3:
        json_object_set_new(h, "kid", json_string("fuzz-ec"));
        m->key = KEY_OTHER_TYPE;
        break;
    default:
        json_object_set_new(h, "kid", json_string("rotated"));
        m->key = KEY_UNKNOWN;
        break;
    }
    switch (choose(in, 10)) {
    case 0:
        typ = json_string("logout+jwt");
        break;
    case 1:
        typ = json_string("application/logout+jwt");
        break;
    case 2:
        typ = json_string("LOGOUT+JWT");
        break;
    case 3:
        typ = json_string("Application/Logout+Jwt");
        break;
    case 4: /* absent */
        break;
    case 5:
        typ = json_string("JWT");
        break;
    case 6:
        typ = json_string("at+jwt");
        break;
    case 7:
        typ = json_integer(1);
        break;
    case 8:
        typ = json_string("application/jwt");
        break;
    default:
        typ = take_string(in, &s, &len, p);
        break;
    }
    m->typ_ok = typ == NULL
                || (json_is_string(typ)
                    && model_typ_ok(json_string_value(typ), json_string_length(typ), p));
    if (typ != NULL) {
        json_object_set_new(h, "typ", typ);
    }
    m->crit = choose(in, 8) == 7;
    if (m->crit) {
        json_object_set_new(h, "crit", json_pack("[s]", "exp"));
    }
    m->header_nul = in->nul;
    in->nul = 0;
    return h;
}

static json_t *iss_of(choices_t *in, int *ok, apr_pool_t *p)
{
    const char *s;
    size_t len;
    json_t *v;

    *ok = 0;
    switch (choose(in, 5)) {
    case 0:
        *ok = 1;
        return json_string(ISS);
    case 1:
        return json_string(ISS "/");
    case 2:
        return NULL;
    case 3:
        return json_integer(1);
    default:
        v = take_string(in, &s, &len, p);
        *ok = len == strlen(ISS) && memcmp(s, ISS, len) == 0;
        return v;
    }
}

static json_t *aud_of(choices_t *in, int *ok, int single_string)
{
    *ok = 0;
    switch (choose(in, 8)) {
    case 0:
        *ok = 1;
        return json_string(CLIENT);
    case 1:
        return json_string("other-client");
    case 2:
        *ok = !single_string;
        return json_pack("[s]", CLIENT);
    case 3:
        *ok = !single_string;
        return json_pack("[ss]", "other-client", CLIENT);
    case 4:
        return json_pack("[s]", "other-client");
    case 5:
        return json_array();
    case 6:
        return NULL;
    default:
        return json_pack("[si]", CLIENT, 1);
    }
}

/* iat or exp: an integer near now or near a boundary, an extreme, or no integer at all (choice
 * 0 is now, or with absent_first absence). *value is the integer (0 for anything else),
 * *is_int whether it is one. */
static json_t *time_of(choices_t *in, long long boundary, int absent_first, long long *value,
                       int *is_int)
{
    long long v;

    *value = 0;
    *is_int = 1;
    switch ((choose(in, 8) + (absent_first ? 7 : 0)) % 8) {
    case 0:
        v = FUZZ_NOW + take_offset(in);
        break;
    case 1:
        v = boundary + (long long)choose(in, 3) - 1;
        break;
    case 2:
        v = LLONG_MIN;
        break;
    case 3:
        v = LLONG_MAX;
        break;
    case 4:
        *is_int = 0;
        return json_string("1700000000");
    case 5:
        *is_int = 0;
        return json_real((double)FUZZ_NOW);
    case 6:
        *is_int = 0;
        return json_null();
    default:
        *is_int = 0;
        return NULL;
    }
    *value = v;
    return json_integer(v);
}

static json_t *events_of(choices_t *in, int *ok)
{
    *ok = 0;
    switch (choose(in, 9)) {
    case 0:
        *ok = 1;
        return json_pack("{s:{}}", EVENT);
    case 1:
        *ok = 1;
        return json_pack("{s:{s:i}, s:{}}", EVENT, "n", 1, "urn:other-event");
    case 2:
        return NULL;
    case 3:
        return json_string(EVENT);
    case 4:
        return json_object();
    case 5:
        return json_pack("{s:s}", EVENT, "");
    case 6:
        return json_pack("{s:n}", EVENT);
    case 7:
        return json_pack("{s:{}}", "urn:other-event");
    default:
        return json_pack("[s]", EVENT);
    }
}

/* jti, sub or sid: valid, absent, no string, empty, at max_len or one past, or spelled by the
 * fuzzer. *value is its value when it is a string; *ok whether rule_ok holds of it, or when
 * absent, absent_ok. */
static json_t *string_claim_of(choices_t *in, const char *valid, size_t max_len,
                               int (*rule_ok)(const char *, size_t), int absent_ok,
                               const char **value, int *ok, apr_pool_t *p)
{
    size_t len;
    json_t *v;

    *ok = 0;
    *value = NULL;
    switch (choose(in, 6)) {
    case 0:
        *value = valid;
        break;
    case 1:
        *ok = absent_ok;
        return NULL;
    case 2:
        return json_integer(42);
    case 3:
        *value = "";
        break;
    case 4:
        *value = repeat('x', max_len + choose(in, 2), p);
        break;
    default:
        v = take_string(in, value, &len, p);
        *ok = rule_ok(*value, len);
        return v;
    }
    *ok = rule_ok(*value, strlen(*value));
    return json_string(*value);
}

static void set_if(json_t *obj, const char *name, json_t *v)
{
    if (v != NULL) {
        json_object_set_new(obj, name, v);
    }
}

static json_t *claims_of(choices_t *in, model_t *m, const ipsie_logout_token_expect_t *e,
                         apr_pool_t *p)
{
    json_t *c = json_object();
    int iss_ok, aud_ok, iat_int, exp_int, jti_ok, events_ok, sub_ok, sid_ok, nonce;
    json_t *exp;

    set_if(c, "iss", iss_of(in, &iss_ok, p));
    set_if(c, "aud", aud_of(in, &aud_ok, e->aud_single_string));
    set_if(c, "iat",
           time_of(in, choose(in, 2) ? e->now - e->max_age : e->now + e->clock_skew, 0, &m->iat,
                   &iat_int));
    exp = time_of(in, e->now - e->clock_skew, 1, &m->exp, &exp_int);
    set_if(c, "exp", exp);
    set_if(c, "jti",
           string_claim_of(in, "jti-4f1b-9c3e", 256, model_jti_ok, 0, &m->jti, &jti_ok, p));
    set_if(c, "events", events_of(in, &events_ok));
    set_if(c, "sub",
           string_claim_of(in, "248289761001", 255, model_name_ok, 1, &m->sub, &sub_ok, p));
    set_if(c, "sid",
           string_claim_of(in, "08a5019c-17e1-4977-8f42-65a12843ea02", 255, model_name_ok, 1,
                           &m->sid, &sid_ok, p));
    nonce = choose(in, 8) == 7;
    if (nonce) {
        json_object_set_new(c, "nonce", choose(in, 2) ? json_string("n-0") : json_null());
    }
    m->payload_nul = in->nul;
    m->claims_ok = iss_ok && aud_ok && iat_int && m->iat <= e->now + e->clock_skew
                   && m->iat >= e->now - e->max_age
                   && (exp == NULL || (exp_int && m->exp > e->now - e->clock_skew)) && jti_ok
                   && events_ok && sub_ok && sid_ok && (m->sub != NULL || m->sid != NULL) && !nonce;
    return c;
}

static const char *b64_json(json_t *j, apr_pool_t *p)
{
    char *text = json_dumps(j, JSON_COMPACT);
    const char *out;

    FUZZ_ASSERT(text != NULL, "the built JSON serialises");
    out = ipsie_b64url_encode((const unsigned char *)text, strlen(text), p);
    free(text);
    json_decref(j);
    return out;
}

/* header.claims signed by the signer; one bit of the signature flipped when tampered. */
static const char *signed_token(json_t *header, json_t *claims, int tampered, apr_pool_t *p)
{
    const char *input = apr_pstrcat(p, b64_json(header, p), ".", b64_json(claims, p), NULL);
    unsigned char sig[64];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    FUZZ_ASSERT(
        ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, signer) == 1
            && EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) == 1,
        "Ed25519 signs");
    EVP_MD_CTX_free(ctx);
    if (tampered) {
        sig[sig_len / 2] ^= 0x10;
    }
    return apr_pstrcat(p, input, ".", ipsie_b64url_encode(sig, sig_len, p), NULL);
}

/* The status the validator must answer, in the order the JWS and the claims are checked. */
static apr_status_t expected_status(const model_t *m)
{
    if (!m->expect_ok) {
        return IPSIE_ERR_JWT_CLAIMS;
    }
    if (m->header_nul) {
        return IPSIE_ERR_MALFORMED;
    }
    if (!m->alg_allowed) {
        return IPSIE_ERR_JWT_ALG;
    }
    if (m->crit) {
        return IPSIE_ERR_MALFORMED;
    }
    if (!m->typ_ok) {
        return IPSIE_ERR_JWT_CLAIMS;
    }
    switch (m->key) {
    case KEY_UNKNOWN:
        return IPSIE_ERR_JWT_KID;
    case KEY_OTHER_TYPE:
        return IPSIE_ERR_JWT_ALG;
    case KEY_OTHER:
        return IPSIE_ERR_JWT_SIGNATURE;
    default:
        break;
    }
    if (m->tampered) {
        return IPSIE_ERR_JWT_SIGNATURE;
    }
    if (m->payload_nul) {
        return IPSIE_ERR_MALFORMED;
    }
    return m->claims_ok ? APR_SUCCESS : IPSIE_ERR_JWT_CLAIMS;
}

/* What any accepted token holds, whatever it was built from. */
static void assert_obeys_rules(const ipsie_logout_token_t *t, const ipsie_logout_token_expect_t *e)
{
    FUZZ_ASSERT(t != NULL && t->iss != NULL && strcmp(t->iss, e->issuer) == 0,
                "an accepted token comes from the issuer");
    FUZZ_ASSERT(t->jti != NULL && model_jti_ok(t->jti, strlen(t->jti)),
                "an accepted token has a printable jti");
    FUZZ_ASSERT(t->sub != NULL || t->sid != NULL, "an accepted token names sub or sid");
    FUZZ_ASSERT(t->sub == NULL || model_name_ok(t->sub, strlen(t->sub)), "sub is a name");
    FUZZ_ASSERT(t->sid == NULL || model_name_ok(t->sid, strlen(t->sid)), "sid is a name");
    FUZZ_ASSERT(t->iat <= e->now + e->clock_skew && t->iat >= e->now - e->max_age,
                "iat is within the skew and the maximum age");
    FUZZ_ASSERT(t->exp == 0 || t->exp > e->now - e->clock_skew, "exp is not past");
}

static void fuzz_text(const uint8_t *data, size_t size, apr_pool_t *p)
{
    char *jwt = fuzz_cstr(data, size);
    ipsie_logout_token_t *t = NULL;
    ipsie_logout_token_expect_t e;

    memset(&e, 0, sizeof(e));
    e.issuer = ISS;
    e.client_id = CLIENT;
    e.allowed_algs = algs_all;
    e.aud_single_string = (int)(size & 1);
    e.clock_skew = 60;
    e.max_age = 300;
    e.now = FUZZ_NOW;
    if (ipsie_logout_token_validate(&t, jwt, (size & 2) ? jwks_rotation : jwks_single, &e, p)
        == APR_SUCCESS) {
        assert_obeys_rules(t, &e);
    }
    else {
        FUZZ_ASSERT(t == NULL, "a refused token leaves no output");
    }
    free(jwt);
}

static void fuzz_model(const uint8_t *data, size_t size, apr_pool_t *p)
{
    choices_t in = {data, size, 0, 0};
    model_t m;
    ipsie_logout_token_expect_t e;
    ipsie_logout_token_t *t = NULL;
    const ipsie_jwks_t *jwks;
    const char *jwt;
    json_t *header;
    apr_status_t rv;
    apr_status_t want;
    int rotation;

    memset(&m, 0, sizeof(m));
    memset(&e, 0, sizeof(e));
    e.issuer = ISS;
    e.client_id = CLIENT;
    e.clock_skew = (long)choose(&in, 121);
    e.max_age = choose(&in, 32) == 31 ? 0 : 1 + (long)(take_u16(&in) % 900);
    e.aud_single_string = (int)choose(&in, 2);
    e.now = FUZZ_NOW;
    m.expect_ok = e.max_age > 0;
    m.alg_allowed = choose(&in, 8) != 7;
    e.allowed_algs = m.alg_allowed ? algs_all : algs_no_eddsa;
    rotation = (int)choose(&in, 2);
    jwks = rotation ? jwks_rotation : jwks_single;
    header = header_of(&in, &m, rotation, p);
    m.tampered = choose(&in, 16) == 15;
    jwt = signed_token(header, claims_of(&in, &m, &e, p), m.tampered, p);

    rv = ipsie_logout_token_validate(&t, jwt, jwks, &e, p);
    want = expected_status(&m);
    if (rv != want) {
        /* Offsets from IPSIE_ERR_BASE; -1 for success. */
        fprintf(stderr, "status %d, the model says %d\n",
                rv == APR_SUCCESS ? -1 : rv - IPSIE_ERR_BASE,
                want == APR_SUCCESS ? -1 : want - IPSIE_ERR_BASE);
    }
    FUZZ_ASSERT(rv == want, "the validator answers what the model says");
    if (rv != APR_SUCCESS) {
        FUZZ_ASSERT(t == NULL, "a refused token leaves no output");
        return;
    }
    assert_obeys_rules(t, &e);
    FUZZ_ASSERT(fuzz_same_str(t->sub, m.sub) && fuzz_same_str(t->sid, m.sid)
                    && fuzz_same_str(t->jti, m.jti),
                "sub, sid and jti are the token's");
    FUZZ_ASSERT(t->iat == m.iat && t->exp == m.exp, "iat and exp are the token's");
}

/* An Ed25519 key from a fixed seed, so that every run signs alike. */
static EVP_PKEY *ed25519_key(const char *label)
{
    unsigned char seed[32];
    EVP_PKEY *k;

    if (EVP_Digest(label, strlen(label), seed, NULL, EVP_sha256(), NULL) != 1) {
        abort();
    }
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    if (k == NULL) {
        abort();
    }
    return k;
}

static const char *ed25519_jwk(EVP_PKEY *k, const char *kid)
{
    unsigned char pub[32];
    size_t pub_len = sizeof(pub);

    if (EVP_PKEY_get_raw_public_key(k, pub, &pub_len) != 1) {
        abort();
    }
    return apr_psprintf(global_pool,
                        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"%s\","
                        "\"use\":\"sig\"}",
                        ipsie_b64url_encode(pub, pub_len, global_pool), kid);
}

static ipsie_jwks_t *jwks_from(const char *keys, int count)
{
    const char *doc = apr_pstrcat(global_pool, "{\"keys\":[", keys, "]}", NULL);
    ipsie_jwks_t *jwks = NULL;

    if (ipsie_jwks_parse(&jwks, doc, strlen(doc), global_pool) != APR_SUCCESS
        || ipsie_jwks_count(jwks) != count) {
        fprintf(stderr, "a fixed JWKS does not load its %d keys\n", count);
        abort();
    }
    return jwks;
}

static apr_array_header_t *alg_list(const char *const *names, size_t n)
{
    apr_array_header_t *a = apr_array_make(global_pool, (int)n, sizeof(const char *));
    size_t i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = names[i];
    }
    return a;
}

static void release_keys(void)
{
    EVP_PKEY_free(signer);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const all[] = {"RS256", "ES256", "EdDSA", "HS256", "none"};
    static const char *const no_eddsa[] = {"RS256", "ES256"};
    EVP_PKEY *other;
    const char *signer_jwk;
    const char *other_jwk;

    fuzz_setup();
    if (apr_pool_create(&global_pool, NULL) != APR_SUCCESS) {
        abort();
    }
    signer = ed25519_key("mod_auth_ipsie fuzz logout token signer");
    atexit(release_keys);
    other = ed25519_key("mod_auth_ipsie fuzz logout token previous key");
    signer_jwk = ed25519_jwk(signer, "fuzz-ed");
    other_jwk = ed25519_jwk(other, "fuzz-ed-2");
    EVP_PKEY_free(other);
    jwks_single = jwks_from(apr_pstrcat(global_pool, signer_jwk, ",", EC_JWK, NULL), 2);
    jwks_rotation =
        jwks_from(apr_pstrcat(global_pool, signer_jwk, ",", other_jwk, ",", EC_JWK, NULL), 3);
    algs_all = alg_list(all, sizeof(all) / sizeof(all[0]));
    algs_no_eddsa = alg_list(no_eddsa, sizeof(no_eddsa) / sizeof(no_eddsa[0]));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();

    fuzz_text(data, size, p);
    fuzz_model(data, size, p);
    apr_pool_destroy(p);
    return 0;
}
