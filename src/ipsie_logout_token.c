/* Logout token validation (OpenID Connect Back-Channel Logout 1.0 section 2.6, RFC 8725): the
 * JWS, then the claim rules. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_jws.h"
#include "ipsie/ipsie_jwt.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_logout_token.h"
#include "ipsie_jwk_internal.h"

/* 1 when jti may key a replay record: 1 to IPSIE_LOGOUT_JTI_MAX_LEN printable ASCII
 * characters. */
static int jti_ok(const char *jti)
{
    apr_size_t n;

    if (jti == NULL || jti[0] == '\0') {
        return 0;
    }
    for (n = 0; jti[n] != '\0'; n++) {
        if (n == IPSIE_LOGOUT_JTI_MAX_LEN || (unsigned char)jti[n] < 0x20
            || (unsigned char)jti[n] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* An optional sub or sid: absent (*out NULL), or a name as an ID token's sub must be (they name
 * the sessions to end, in log lines and store keys); logged when not. */
static int opt_name_ok(const char **out, json_t *c, const char *name)
{
    if (ipsie_jose_opt_string(out, c, name) && (*out == NULL || ipsie_jwt_name_ok(*out))) {
        return 1;
    }
    ipsie_log(IPSIE_LOG_WARNING,
              "IPSIE05210: logout token refused: %s is empty, not a string, over %d "
              "characters or holds a control character",
              name, IPSIE_JWT_NAME_MAX_LEN);
    return 0;
}

apr_status_t ipsie_logout_token_validate(ipsie_logout_token_t **out, const char *jwt,
                                         const ipsie_jwks_t *jwks,
                                         const ipsie_logout_token_expect_t *expect, apr_pool_t *p)
{
    apr_status_t rv;
    json_t *c = NULL;
    json_t *v;
    ipsie_logout_token_t *t;
    const char *s = NULL;
    size_t aud_count = 0;
    long long skew;

    *out = NULL;
    if (expect == NULL || expect->issuer == NULL || expect->client_id == NULL
        || expect->max_age <= 0) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE05200: logout token refused: no issuer, client id or "
                                   "maximum age to check it against");
        rv = IPSIE_ERR_JWT_CLAIMS;
        goto leave;
    }
    rv = ipsie_jws_verify_typed(&c, jwt, jwks, expect->allowed_algs, IPSIE_LOGOUT_TOKEN_TYP, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = IPSIE_ERR_JWT_CLAIMS;
    skew = expect->clock_skew > 0 ? expect->clock_skew : 0;
    t = apr_pcalloc(p, sizeof(*t));

    if (!ipsie_jose_opt_string(&s, c, "iss") || s == NULL || strcmp(s, expect->issuer) != 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05201: logout token refused: iss is not the issuer %s",
                  expect->issuer);
        goto leave;
    }
    t->iss = apr_pstrdup(p, s);
    /* Back-Channel Logout 2.6 checks aud as OIDC Core does, which lets it name others too. */
    if (!ipsie_jwt_aud_ok(&aud_count, json_object_get(c, "aud"), expect->client_id,
                          expect->aud_single_string, 1)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05202: logout token refused: aud is not %s%s",
                  expect->aud_single_string ? "the single string " : "a string or array holding ",
                  expect->client_id);
        goto leave;
    }
    v = json_object_get(c, "iat");
    if (!json_is_integer(v)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05203: logout token refused: iat is missing or not "
                                     "an integer");
        goto leave;
    }
    t->iat = json_integer_value(v);
    if (t->iat > expect->now + skew) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05204: logout token refused: iat %lld is in the future (now %lld, "
                  "skew %lld)",
                  t->iat, expect->now, skew);
        goto leave;
    }
    /* The replay records of jti need only outlive max_age. */
    if (t->iat < expect->now - expect->max_age) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05205: logout token refused: iat %lld is older than %ld seconds "
                  "(now %lld)",
                  t->iat, expect->max_age, expect->now);
        goto leave;
    }
    v = json_object_get(c, "exp");
    if (v != NULL && !json_is_integer(v)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05206: logout token refused: exp is not an integer");
        goto leave;
    }
    t->exp = v != NULL ? json_integer_value(v) : 0;
    if (v != NULL && t->exp <= expect->now - skew) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05207: logout token refused: exp %lld is past (now %lld, skew %lld)",
                  t->exp, expect->now, skew);
        goto leave;
    }
    if (!ipsie_jose_opt_string(&s, c, "jti") || !jti_ok(s)) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05208: logout token refused: jti is missing, empty, not a string, over "
                  "%d characters or not printable ASCII",
                  IPSIE_LOGOUT_JTI_MAX_LEN);
        goto leave;
    }
    t->jti = apr_pstrdup(p, s);
    v = json_object_get(c, "events");
    if (!json_is_object(v) || !json_is_object(json_object_get(v, IPSIE_LOGOUT_EVENT))) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05209: logout token refused: events is not an object holding the "
                  "member " IPSIE_LOGOUT_EVENT " with an object value");
        goto leave;
    }
    if (!opt_name_ok(&t->sub, c, "sub") || !opt_name_ok(&t->sid, c, "sid")) {
        goto leave;
    }
    if (t->sub == NULL && t->sid == NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05211: logout token refused: it names neither sub "
                                     "nor sid");
        goto leave;
    }
    /* Back-Channel Logout 2.4: a nonce would let the token pass for an ID token. */
    if (json_object_get(c, "nonce") != NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05212: logout token refused: it holds a nonce");
        goto leave;
    }
    t->sub = t->sub != NULL ? apr_pstrdup(p, t->sub) : NULL;
    t->sid = t->sid != NULL ? apr_pstrdup(p, t->sid) : NULL;
    rv = APR_SUCCESS;
    *out = t;

leave:
    return rv;
}
