/* UserInfo (OpenID Connect Core 5.3): the request with the access token and the reading of
 * its response. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_userinfo.h"
#include "ipsie/ipsie_util.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* 1 when the Content-Type names a JWT (OIDC Core 5.3.2: a signed or encrypted response). */
static int is_jwt_type(const char *content_type)
{
    return content_type != NULL && strncasecmp(content_type, "application/jwt", 15) == 0
           && (content_type[15] == '\0' || content_type[15] == ';' || content_type[15] == ' ');
}

ipsie_userinfo_outcome_e ipsie_userinfo_read(json_t **claims, const ipsie_http_response_t *resp,
                                             const char *sub, apr_pool_t *p)
{
    json_t *doc;
    json_t *v;
    json_error_t jerr;

    *claims = NULL;
    if (resp->status != 200) {
        const char *challenge =
            resp->headers != NULL ? apr_table_get(resp->headers, "WWW-Authenticate") : NULL;

        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08701: the UserInfo endpoint answered status %ld (%s)",
                  resp->status, ipsie_log_safe(challenge, p));
        return IPSIE_USERINFO_STATUS;
    }
    if (is_jwt_type(resp->content_type)) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE08702: the UserInfo endpoint answered with a signed or encrypted JWT "
                  "(application/jwt), which this version does not read: register the client "
                  "for plain JSON UserInfo responses (no userinfo_signed_response_alg), or set "
                  "IPSIEUserInfo Off");
        return IPSIE_USERINFO_SIGNED;
    }
    doc = resp->body != NULL && resp->body_len <= IPSIE_HTTP_MAX_BODY
              ? json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr)
              : NULL;
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08703: the UserInfo response is not a JSON object");
        return IPSIE_USERINFO_MALFORMED;
    }
    apr_pool_cleanup_register(p, doc, json_cleanup, apr_pool_cleanup_null);
    v = json_object_get(doc, "sub");
    if (!json_is_string(v)) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08704: the UserInfo response has no string sub");
        return IPSIE_USERINFO_MALFORMED;
    }
    /* OIDC Core 5.3.2: a response for another user (token substitution) is not used. */
    if (sub == NULL || strcmp(json_string_value(v), sub) != 0) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE08705: the UserInfo response is for sub=%s, not the ID token's sub=%s",
                  ipsie_log_safe(json_string_value(v), p), ipsie_log_safe(sub, p));
        return IPSIE_USERINFO_SUB_MISMATCH;
    }
    *claims = doc;
    return IPSIE_USERINFO_OK;
}

ipsie_userinfo_outcome_e ipsie_userinfo_fetch(json_t **claims, const ipsie_userinfo_request_t *req,
                                              const char *sub, const ipsie_http_opts_t *opts,
                                              apr_pool_t *p)
{
    const char *headers[3];
    ipsie_http_response_t resp;
    ipsie_userinfo_outcome_e outcome;
    apr_status_t rv;

    *claims = NULL;
    if (req->endpoint == NULL || req->access_token == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08706: UserInfo cannot be read: no %s",
                  req->endpoint == NULL ? "userinfo_endpoint" : "access token");
        return IPSIE_USERINFO_UNREACHABLE;
    }
    ipsie_metric_inc(IPSIE_M_PROVIDER_USERINFO);
    if (req->dpop != NULL) {
        rv = ipsie_dpop_resource_send(&resp, req->dpop, req->endpoint, NULL, req->access_token,
                                      req->now, opts, p);
    }
    else {
        headers[0] = "Accept: application/json";
        headers[1] = apr_pstrcat(p, "Authorization: Bearer ", req->access_token, NULL);
        headers[2] = NULL;
        rv = ipsie_http_send(&resp, req->endpoint, NULL, headers, NULL, NULL, opts, p);
    }
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08707: UserInfo request to %s failed",
                  ipsie_log_safe(req->endpoint, p));
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_USERINFO);
        return IPSIE_USERINFO_UNREACHABLE;
    }
    outcome = ipsie_userinfo_read(claims, &resp, sub, p);
    /* Another user's answer is the provider's answer, not its failure. */
    if (outcome != IPSIE_USERINFO_OK && outcome != IPSIE_USERINFO_SUB_MISMATCH) {
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_USERINFO);
    }
    return outcome;
}
