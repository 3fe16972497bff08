/* Logging in as rules on values: the authorization and end-session URLs, and the completion
 * of a login at the redirect URI. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_login.h"
#include "ipsie/ipsie_pkce.h"
#include "ipsie/ipsie_util.h"

/* Longest authorization code taken to the token endpoint. */
#define CODE_MAX_LEN 2048

/* url followed by '?' or, when it has a query already, '&'. */
static const char *query_start(const char *url)
{
    return strchr(url, '?') != NULL ? "&" : "?";
}

const char *ipsie_login_authorization_params(const ipsie_login_request_t *req,
                                             const ipsie_login_state_t *st, apr_pool_t *p)
{
    return apr_pstrcat(
        p, "response_type=code&client_id=", ipsie_url_encode(req->client_id, p),
        "&redirect_uri=", ipsie_url_encode(req->redirect_uri, p),
        "&scope=", ipsie_url_encode(req->scope, p), "&state=", st->state, "&nonce=", st->nonce,
        "&code_challenge=", ipsie_pkce_challenge_s256(st->code_verifier, p),
        "&code_challenge_method=S256", st->prompt_login ? "&prompt=login" : "",
        req->max_age >= 0 ? apr_psprintf(p, "&max_age=%" APR_INT64_T_FMT, (apr_int64_t)req->max_age)
                          : "",
        req->login_hint ? "&login_hint=" : "",
        req->login_hint ? ipsie_url_encode(req->login_hint, p) : "",
        req->dpop_jkt ? "&dpop_jkt=" : "", req->dpop_jkt ? ipsie_url_encode(req->dpop_jkt, p) : "",
        req->extra_params ? "&" : "", req->extra_params ? req->extra_params : "", NULL);
}

const char *ipsie_login_authorization_url(const ipsie_provider_t *op,
                                          const ipsie_login_request_t *req,
                                          const ipsie_login_state_t *st, apr_pool_t *p)
{
    return apr_pstrcat(p, op->authorization_endpoint, query_start(op->authorization_endpoint),
                       ipsie_login_authorization_params(req, st, p), NULL);
}

const char *ipsie_logout_url(const ipsie_provider_t *op, const char *id_token,
                             const char *post_logout_redirect_uri, const char *client_id,
                             const char *state, apr_pool_t *p)
{
    if (op == NULL || op->end_session_endpoint == NULL || id_token == NULL
        || post_logout_redirect_uri == NULL || client_id == NULL) {
        return NULL;
    }
    return apr_pstrcat(p, op->end_session_endpoint, query_start(op->end_session_endpoint),
                       "id_token_hint=", ipsie_url_encode(id_token, p),
                       "&post_logout_redirect_uri=", ipsie_url_encode(post_logout_redirect_uri, p),
                       "&client_id=", ipsie_url_encode(client_id, p), state ? "&state=" : "",
                       state ? ipsie_url_encode(state, p) : "", NULL);
}

ipsie_login_outcome_e ipsie_login_check_response(const char *code, const char *iss,
                                                 const ipsie_provider_t *op)
{
    return ipsie_login_check_response_iss(code, iss, op, 0);
}

const char *ipsie_provider_plain_endpoint(const ipsie_provider_t *op)
{
    const char *const names[] = {"issuer",
                                 "authorization_endpoint",
                                 "token_endpoint",
                                 "jwks_uri",
                                 "end_session_endpoint",
                                 "userinfo_endpoint",
                                 "pushed_authorization_request_endpoint"};
    const char *const urls[] = {op->issuer,      op->authorization_endpoint, op->token_endpoint,
                                op->jwks_uri,    op->end_session_endpoint,   op->userinfo_endpoint,
                                op->par_endpoint};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (urls[i] != NULL && strncasecmp(urls[i], "https://", 8) != 0) {
            return names[i];
        }
    }
    return NULL;
}

ipsie_login_outcome_e ipsie_login_check_response_iss(const char *code, const char *iss,
                                                     const ipsie_provider_t *op, int require_iss)
{
    /* RFC 9207: the response names its issuer; a mix-up attack names another. */
    if (iss != NULL && strcmp(iss, op->issuer) != 0) {
        return IPSIE_LOGIN_ISS_WRONG;
    }
    if (iss == NULL && (op->iss_parameter_supported || require_iss)) {
        return IPSIE_LOGIN_ISS_MISSING;
    }
    if (code == NULL || *code == '\0' || strlen(code) > CODE_MAX_LEN) {
        return IPSIE_LOGIN_NO_CODE;
    }
    return IPSIE_LOGIN_OK;
}

/* OIDC Core 3.1.2.1 and 3.1.3.7: with max_age the sign-in must be that recent, and after
 * prompt=login (at the ceiling) it must be new, not the provider's old session. */
static ipsie_login_outcome_e check_auth_time(const char **detail, const json_t *claims,
                                             const ipsie_login_state_t *st,
                                             const ipsie_login_policy_t *policy, long long now)
{
    const json_t *auth_time = json_object_get(claims, "auth_time");
    long long t;

    *detail = policy->max_age >= 0 ? "IPSIEMaxAge" : "prompt=login";
    if (policy->max_age < 0 && !st->prompt_login) {
        return IPSIE_LOGIN_OK;
    }
    /* After prompt=login alone a provider that states no auth_time is taken at its word. */
    if (auth_time == NULL && policy->max_age < 0) {
        return IPSIE_LOGIN_OK;
    }
    if (!json_is_integer(auth_time)) {
        return IPSIE_LOGIN_AUTH_TIME_MISSING;
    }
    t = (long long)json_integer_value(auth_time);
    /* A time that no sign-in can have (before 1970, after now) proves nothing; and keeps the
     * arithmetic below from overflowing. */
    if (t <= 0 || t > now + policy->clock_skew) {
        return IPSIE_LOGIN_AUTH_TIME_MISSING;
    }
    if (policy->max_age >= 0 && now - t > policy->max_age + policy->clock_skew) {
        return IPSIE_LOGIN_AUTH_TIME_OLD;
    }
    if (st->prompt_login && t < st->created - policy->clock_skew) {
        return IPSIE_LOGIN_AUTH_TIME_BEFORE;
    }
    return IPSIE_LOGIN_OK;
}

static ipsie_login_outcome_e session_outcome(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return IPSIE_LOGIN_OK;
    case IPSIE_ERR_SESSION_EXPIRY_INVALID:
        return IPSIE_LOGIN_SESSION_EXPIRY_INVALID;
    case IPSIE_ERR_SESSION_EXPIRY_MISSING:
        return IPSIE_LOGIN_SESSION_EXPIRY_MISSING;
    case IPSIE_ERR_SESSION_EXPIRY_PAST:
        return IPSIE_LOGIN_SESSION_EXPIRY_PAST;
    default:
        return IPSIE_LOGIN_UNUSABLE;
    }
}

void ipsie_login_id_token_expect(ipsie_id_token_expect_t *expect, const char *issuer,
                                 const ipsie_login_policy_t *policy, long long now)
{
    memset(expect, 0, sizeof(*expect));
    expect->issuer = issuer;
    expect->client_id = policy->client_id;
    expect->allowed_algs = policy->signing_algs;
    expect->aud_single_string = policy->aud_single_string;
    expect->clock_skew = policy->clock_skew;
    expect->now = now;
}

void ipsie_login_complete(ipsie_login_result_t *out, const ipsie_login_state_t *st,
                          const ipsie_token_response_t *tokens, const char *issuer,
                          const ipsie_jwks_t *jwks, int keys_refetched,
                          const ipsie_login_policy_t *policy, long long now, apr_pool_t *p)
{
    ipsie_id_token_expect_t expect;
    json_t *claims = NULL;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    ipsie_login_id_token_expect(&expect, issuer, policy, now);
    expect.nonce = st->nonce;
    rv = ipsie_id_token_validate(&claims, tokens->id_token, jwks, &expect, p);
    if (rv != APR_SUCCESS) {
        /* Keys fetched after the token was signed may verify it; keys fetched for it, not. */
        out->outcome = (rv == IPSIE_ERR_JWT_KID || rv == IPSIE_ERR_JWT_SIGNATURE) && !keys_refetched
                           ? IPSIE_LOGIN_KEYS_NEEDED
                           : IPSIE_LOGIN_ID_TOKEN_REFUSED;
        return;
    }
    out->outcome = check_auth_time(&out->detail, claims, st, policy, now);
    if (out->outcome != IPSIE_LOGIN_OK) {
        return;
    }
    out->outcome = session_outcome(ipsie_session_create(&out->session, claims, tokens->id_token,
                                                        NULL, NULL, &policy->session, now, p));
    if (out->outcome == IPSIE_LOGIN_OK) {
        ipsie_login_keep_tokens(out->session, tokens, policy, now, p);
    }
}

void ipsie_login_keep_tokens(ipsie_session_t *s, const ipsie_token_response_t *tokens,
                             const ipsie_login_policy_t *policy, long long now, apr_pool_t *p)
{
    ipsie_session_tokens_t kept;

    /* Only what something uses is kept: the session travels with every request. */
    kept.access_token = tokens->access_token;
    kept.expires_in = tokens->expires_in;
    kept.dpop = tokens->token_type != NULL && strcasecmp(tokens->token_type, "DPoP") == 0;
    kept.refresh_token = tokens->refresh_token;
    kept.keep_access_token = policy->keep_access_token;
    kept.keep_refresh_token = policy->keep_refresh_token;
    ipsie_session_set_tokens(s, &kept, now, p);
}

int ipsie_login_provider_set_ceiling(const ipsie_session_t *s, const ipsie_session_policy_t *policy)
{
    return s->session_expiry > 0 && s->ceiling == s->session_expiry - policy->leeway;
}
