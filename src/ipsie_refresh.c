/* Refreshing a session's tokens as rules on values: when an access token is due, and what a
 * refresh answer may change in the session (never the ceiling later, but by re-validation at
 * the ceiling). */
#include <errno.h>
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_id_token.h"
#include "ipsie/ipsie_refresh.h"

int ipsie_refresh_due(const ipsie_session_t *s, long long before, long long now)
{
    return before >= 0 && s->refresh_token != NULL && s->access_token_expiry > 0
           && now >= s->access_token_expiry - before;
}

/* 1 when a and b are both NULL or the same string. */
static int same_or_both_absent(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The session's auth_time as an integer into *t: 1, or 0 when it has none; -1 when it has one
 * that is not a positive integer. */
static int session_auth_time(long long *t, const ipsie_session_t *s)
{
    const char *text = ipsie_session_claim(s, "auth_time");
    char *end = NULL;

    if (text == NULL) {
        return 0;
    }
    errno = 0;
    *t = apr_strtoi64(text, &end, 10);
    return *text != '\0' && end != NULL && *end == '\0' && errno == 0 && *t > 0 ? 1 : -1;
}

/* OIDC Core 12.2: the refreshed ID token is about the same user, from the same provider
 * session, authenticated no earlier. */
static ipsie_refresh_outcome_e same_user(const ipsie_session_t *s, const json_t *claims, int renew)
{
    const json_t *iss = json_object_get(claims, "iss");
    const json_t *sub = json_object_get(claims, "sub");
    const json_t *sid = json_object_get(claims, "sid");
    const json_t *auth_time = json_object_get(claims, "auth_time");
    const char *new_sid = json_string_value(sid);
    long long old_auth_time = 0;
    int had;

    if (!json_is_string(iss) || strcmp(json_string_value(iss), s->iss) != 0 || !json_is_string(sub)
        || strcmp(json_string_value(sub), s->sub) != 0 || (sid != NULL && !json_is_string(sid))) {
        return IPSIE_REFRESH_OTHER_USER;
    }
    /* A session renewed keeps the sid its revocation entries and indexes name. */
    if (renew ? !same_or_both_absent(new_sid, s->sid)
              : new_sid != NULL && s->sid != NULL && strcmp(new_sid, s->sid) != 0) {
        return IPSIE_REFRESH_OTHER_USER;
    }
    had = session_auth_time(&old_auth_time, s);
    if (had != 0
        && (had < 0 || !json_is_integer(auth_time)
            || (long long)json_integer_value(auth_time) < old_auth_time)) {
        return IPSIE_REFRESH_AUTH_TIME_EARLIER;
    }
    return IPSIE_REFRESH_OK;
}

ipsie_refresh_outcome_e ipsie_refresh_decide(long long *ceiling, long long *session_expiry,
                                             const ipsie_session_t *s, const json_t *claims,
                                             int renew, const ipsie_session_policy_t *policy,
                                             long long now)
{
    ipsie_refresh_outcome_e outcome;
    long long new_ceiling;
    long long new_expiry;

    *ceiling = s->ceiling;
    *session_expiry = s->session_expiry;
    if (claims == NULL) {
        return renew ? IPSIE_REFRESH_NO_ID_TOKEN : IPSIE_REFRESH_OK;
    }
    outcome = same_user(s, claims, renew);
    if (outcome != IPSIE_REFRESH_OK || !renew) {
        return outcome;
    }
    /* The login's own rule: a positive integer below 10^10, later than now + leeway; the new
     * ceiling min(session_expiry - leeway, now + max_duration). Without one nothing renews. */
    if (ipsie_session_ceiling(&new_ceiling, &new_expiry, claims, policy, now) != APR_SUCCESS
        || new_expiry == 0) {
        return IPSIE_REFRESH_NOT_LATER;
    }
    *ceiling = new_ceiling;
    *session_expiry = new_expiry;
    return IPSIE_REFRESH_RENEWED;
}

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* The nonce of the session's first ID token, or NULL when it had none. */
static const char *first_nonce(const ipsie_session_t *s, apr_pool_t *p)
{
    const char *payload;
    apr_size_t len;
    json_t *doc;
    json_t *nonce;

    if (ipsie_session_id_token_payload(&payload, &len, s, p) != APR_SUCCESS) {
        return NULL;
    }
    doc = json_loadb(payload, len, 0, NULL);
    if (doc == NULL) {
        return NULL;
    }
    apr_pool_cleanup_register(p, doc, json_cleanup, apr_pool_cleanup_null);
    nonce = json_object_get(doc, "nonce");
    return json_is_string(nonce) ? json_string_value(nonce) : NULL;
}

void ipsie_refresh_apply(ipsie_refresh_result_t *out, ipsie_session_t *s,
                         const ipsie_token_response_t *tokens, int renew, const char *issuer,
                         const ipsie_jwks_t *jwks, int keys_refetched,
                         const ipsie_login_policy_t *policy, long long now, apr_pool_t *p)
{
    ipsie_id_token_expect_t expect;
    json_t *claims = NULL;
    long long ceiling;
    long long session_expiry;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    out->old_ceiling = s->ceiling;
    if (tokens->id_token != NULL) {
        ipsie_login_id_token_expect(&expect, issuer, policy, now);
        expect.nonce = first_nonce(s, p);
        expect.nonce_optional = 1;
        rv = ipsie_id_token_validate(&claims, tokens->id_token, jwks, &expect, p);
        if (rv != APR_SUCCESS) {
            out->outcome =
                (rv == IPSIE_ERR_JWT_KID || rv == IPSIE_ERR_JWT_SIGNATURE) && !keys_refetched
                    ? IPSIE_REFRESH_KEYS_NEEDED
                    : IPSIE_REFRESH_ID_TOKEN_REFUSED;
            return;
        }
    }
    out->outcome =
        ipsie_refresh_decide(&ceiling, &session_expiry, s, claims, renew, &policy->session, now);
    if (out->outcome == IPSIE_REFRESH_RENEWED
        && ipsie_session_renew(s, tokens->id_token, ceiling, session_expiry, p) != APR_SUCCESS) {
        out->outcome = IPSIE_REFRESH_ID_TOKEN_REFUSED;
    }
    if (out->outcome == IPSIE_REFRESH_OK || out->outcome == IPSIE_REFRESH_RENEWED) {
        ipsie_login_keep_tokens(s, tokens, policy, now, p);
    }
}
