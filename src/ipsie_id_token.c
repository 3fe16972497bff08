/* ID token validation (OIDC Core 3.1.3.7): the JWS, then the claim rules. */
#include <string.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_id_token.h"
#include "ipsie/ipsie_jws.h"
#include "ipsie/ipsie_jwt.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"
#include "ipsie_jwk_internal.h"

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
    /* RFC 8725 3.11: an access token, logout token or SET is never taken for an ID token. */
    rv = ipsie_jws_verify_typed(&c, jwt, jwks, expect->allowed_algs, IPSIE_ID_TOKEN_TYP, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = IPSIE_ERR_JWT_CLAIMS;
    skew = expect->clock_skew > 0 ? expect->clock_skew : 0;

    if (!ipsie_jose_opt_string(&s, c, "iss") || s == NULL || strcmp(s, expect->issuer) != 0) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05040: ID token refused: iss is not the issuer %s",
                  expect->issuer);
        goto leave;
    }
    if (!ipsie_jwt_aud_ok(&aud_count, json_object_get(c, "aud"), expect->client_id,
                          expect->aud_single_string, 0)) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05041: ID token refused: aud is not %s%s",
                  expect->aud_single_string ? "the single string " : "only ", expect->client_id);
        goto leave;
    }
    if (!ipsie_jose_opt_string(&s, c, "azp") || (s != NULL && strcmp(s, expect->client_id) != 0)
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
    if (!ipsie_jose_opt_string(&s, c, "sub") || !ipsie_jwt_name_ok(s)) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE05047: ID token refused: sub is missing, empty, not "
                  "a string, over %d characters or holds a control character",
                  IPSIE_JWT_NAME_MAX_LEN);
        goto leave;
    }
    v = json_object_get(c, "nonce");
    if (expect->nonce == NULL && v != NULL) {
        ipsie_log(IPSIE_LOG_WARNING, "IPSIE05049: ID token refused: nonce present although "
                                     "none was sent");
        goto leave;
    }
    if (expect->nonce != NULL && (v != NULL || !expect->nonce_optional)
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
