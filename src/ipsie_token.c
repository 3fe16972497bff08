/* The token endpoint exchange (OIDC Core 3.1.3): a grant with the client's authentication and
 * DPoP, the authorization code request and the response. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_token.h"
#include "ipsie/ipsie_util.h"

/* An optional member: absent or null leaves *out NULL, a non-string is malformed. */
static apr_status_t get_opt_string(const char **out, json_t *doc, const char *name, apr_pool_t *p)
{
    json_t *v = json_object_get(doc, name);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v)) {
        return IPSIE_ERR_MALFORMED;
    }
    *out = apr_pstrdup(p, json_string_value(v));
    return APR_SUCCESS;
}

/* A token response; id_token_required: the code exchange's, where OIDC Core 3.1.3.3 asks for
 * one (another grant, a refresh, may go without). */
static apr_status_t parse_response(ipsie_token_response_t **out, const char *json, apr_size_t len,
                                   int id_token_required, apr_pool_t *p)
{
    json_t *doc = NULL;
    json_t *v;
    json_error_t jerr;
    ipsie_token_response_t *tr;
    const char *what = NULL;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (json == NULL) {
        return APR_EINVAL;
    }
    if (len > IPSIE_HTTP_MAX_BODY) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08200: token response is larger than %d bytes",
                  IPSIE_HTTP_MAX_BODY);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        what = "not a JSON object";
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    tr = apr_pcalloc(p, sizeof(*tr));
    if (get_opt_string(&tr->id_token, doc, "id_token", p) != APR_SUCCESS
        || (tr->id_token == NULL && id_token_required)
        || (tr->id_token != NULL && *tr->id_token == '\0')) {
        what = "no id_token string";
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (get_opt_string(&tr->access_token, doc, "access_token", p) != APR_SUCCESS
        || tr->access_token == NULL || *tr->access_token == '\0') {
        what = "no access_token string";
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (get_opt_string(&tr->token_type, doc, "token_type", p) != APR_SUCCESS
        || tr->token_type == NULL
        || (strcasecmp(tr->token_type, "Bearer") != 0 && strcasecmp(tr->token_type, "DPoP") != 0)) {
        what = "token_type is neither Bearer nor DPoP";
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    if (get_opt_string(&tr->refresh_token, doc, "refresh_token", p) != APR_SUCCESS
        || (tr->refresh_token != NULL && *tr->refresh_token == '\0')) {
        what = "refresh_token is not a non-empty string";
        rv = IPSIE_ERR_MALFORMED;
        goto leave;
    }
    v = json_object_get(doc, "expires_in");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            what = "expires_in is not a non-negative integer";
            rv = IPSIE_ERR_MALFORMED;
            goto leave;
        }
        tr->expires_in = json_integer_value(v);
    }
    *out = tr;

leave:
    if (what != NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08201: unusable token response: %s", what);
    }
    json_decref(doc);
    return rv;
}

apr_status_t ipsie_token_response_parse(ipsie_token_response_t **out, const char *json,
                                        apr_size_t len, apr_pool_t *p)
{
    return parse_response(out, json, len, 1, p);
}

/* RFC 9449 5: a DPoP token needs the proof's key, which only a request with a proof used; a
 * Bearer token after a proof is what a server without DPoP answers, refused when required. */
static apr_status_t check_binding(const ipsie_token_response_t *tr, int dpop_sent, int required)
{
    int bound = strcasecmp(tr->token_type, "DPoP") == 0;

    if (bound && !dpop_sent) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE06201: the token response is DPoP-bound, but the request carried no "
                  "DPoP proof");
        return IPSIE_ERR_MALFORMED;
    }
    if (!bound && dpop_sent && required) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE06202: the token response is not DPoP-bound (token_type Bearer), and "
                  "IPSIEDPoP required refuses it");
        return IPSIE_ERR_DPOP_UNBOUND;
    }
    if (!bound && dpop_sent) {
        ipsie_log(IPSIE_LOG_INFO, "IPSIE06203: the provider answered a DPoP proof with a Bearer "
                                  "token: used as a Bearer token");
    }
    return APR_SUCCESS;
}

apr_status_t ipsie_token_grant(ipsie_token_response_t **out, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *grant,
                               const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                               apr_pool_t *p)
{
    ipsie_http_response_t resp;
    apr_status_t rv;

    *out = NULL;
    if (op == NULL || op->token_endpoint == NULL || client == NULL || client->client_id == NULL
        || grant == NULL) {
        return APR_EINVAL;
    }
    ipsie_metric_inc(IPSIE_M_PROVIDER_TOKEN);
    rv = ipsie_client_post(&resp, op, client, op->token_endpoint, grant, copts, opts, p);
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08202: token request to %s failed", op->token_endpoint);
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_TOKEN);
        return rv;
    }
    if (resp.status != 200) {
        const char *code = ipsie_client_op_error(resp.body, resp.body_len, p);

        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08203: token endpoint %s answered status %ld, error %s",
                  op->token_endpoint, resp.status, code);
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_TOKEN);
        /* RFC 6749 5.2: a refusal is a 400 (401 for the client's authentication) with an
         * error code; a 429, a proxy's 403 or 404, a 5xx are an OP out of order. */
        return (resp.status == 400 || resp.status == 401) && strcmp(code, "-") != 0
                   ? IPSIE_ERR_OP_REFUSED
                   : IPSIE_ERR_HTTP_STATUS;
    }
    rv = parse_response(out, resp.body, resp.body_len, 0, p);
    if (rv == APR_SUCCESS) {
        rv = check_binding(*out, copts != NULL && copts->dpop != NULL,
                           copts != NULL && copts->dpop_required);
        if (rv != APR_SUCCESS) {
            *out = NULL;
        }
    }
    if (rv != APR_SUCCESS) {
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_TOKEN);
    }
    return rv;
}

apr_status_t ipsie_token_request(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *code,
                                 const char *redirect_uri, const char *code_verifier,
                                 const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                                 apr_pool_t *p)
{
    apr_status_t rv;

    *out = NULL;
    if (code == NULL || redirect_uri == NULL || code_verifier == NULL) {
        return APR_EINVAL;
    }
    rv = ipsie_token_grant(
        out, op, client,
        apr_pstrcat(p, "grant_type=authorization_code&code=", ipsie_url_encode(code, p),
                    "&redirect_uri=", ipsie_url_encode(redirect_uri, p),
                    "&code_verifier=", ipsie_url_encode(code_verifier, p), NULL),
        copts, opts, p);
    if (rv == APR_SUCCESS && (*out)->id_token == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08201: unusable token response: no id_token string");
        *out = NULL;
        rv = IPSIE_ERR_MALFORMED;
    }
    return rv;
}

apr_status_t ipsie_token_refresh(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *refresh_token,
                                 const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                                 apr_pool_t *p)
{
    *out = NULL;
    if (refresh_token == NULL) {
        return APR_EINVAL;
    }
    return ipsie_token_grant(out, op, client,
                             apr_pstrcat(p, "grant_type=refresh_token&refresh_token=",
                                         ipsie_url_encode(refresh_token, p), NULL),
                             copts, opts, p);
}
