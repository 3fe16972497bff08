/* The token endpoint exchange (OIDC Core 3.1.3): the authorization code request and its
 * response. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_token.h"
#include "ipsie/ipsie_util.h"

#define OP_ERROR_MAX 64

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
        || tr->token_type == NULL || strcasecmp(tr->token_type, "Bearer") != 0) {
        what = "token_type is not Bearer";
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

/* The OP's "error" code reduced to [A-Za-z0-9_.-], at most OP_ERROR_MAX characters. */
static const char *op_error_code(const char *body, apr_size_t len, apr_pool_t *p)
{
    json_t *doc;
    json_t *v;
    json_error_t jerr;
    const char *s;
    char *out;
    apr_size_t n = 0;

    if (body == NULL || len == 0 || len > IPSIE_HTTP_MAX_BODY) {
        return "-";
    }
    doc = json_loadb(body, len, 0, &jerr);
    v = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
    if (!json_is_string(v)) {
        json_decref(doc);
        return "-";
    }
    out = apr_palloc(p, OP_ERROR_MAX + 1);
    for (s = json_string_value(v); *s && n < OP_ERROR_MAX; s++) {
        if (apr_isalnum(*s) || *s == '_' || *s == '.' || *s == '-') {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    json_decref(doc);
    return n ? out : "-";
}

apr_status_t ipsie_token_grant(ipsie_token_response_t **out, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *grant,
                               const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    ipsie_http_response_t resp;
    const char *headers[4];
    int n = 0;
    const char *form = grant;
    const char *user = NULL;
    const char *pass = NULL;
    apr_status_t rv;

    *out = NULL;
    if (op == NULL || op->token_endpoint == NULL || client == NULL || client->client_id == NULL
        || grant == NULL) {
        return APR_EINVAL;
    }
    if (client->auth_method == IPSIE_AUTH_PRIVATE_KEY_JWT) {
        return APR_ENOTIMPL;
    }
    if (client->client_secret == NULL) {
        return APR_EINVAL;
    }
    if (client->auth_method == IPSIE_AUTH_CLIENT_SECRET_POST) {
        form = apr_pstrcat(p, grant, "&client_id=", ipsie_url_encode(client->client_id, p),
                           "&client_secret=", ipsie_url_encode(client->client_secret, p), NULL);
    }
    else {
        user = client->client_id;
        pass = client->client_secret;
    }

    /* Every request to the token endpoint goes with these headers: a DPoP proof (RFC 9449
     * 5) joins them here. */
    headers[n++] = "Accept: application/json";
    headers[n] = NULL;
    ipsie_metric_inc(IPSIE_M_PROVIDER_TOKEN);
    rv = ipsie_http_send(&resp, op->token_endpoint, form, headers, user, pass, opts, p);
    if (rv != APR_SUCCESS) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08202: token request to %s failed", op->token_endpoint);
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_TOKEN);
        return rv;
    }
    if (resp.status != 200) {
        const char *code = op_error_code(resp.body, resp.body_len, p);

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
    if (rv != APR_SUCCESS) {
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_TOKEN);
    }
    return rv;
}

apr_status_t ipsie_token_request(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *code,
                                 const char *redirect_uri, const char *code_verifier,
                                 const ipsie_http_opts_t *opts, apr_pool_t *p)
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
        opts, p);
    if (rv == APR_SUCCESS && (*out)->id_token == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08201: unusable token response: no id_token string");
        *out = NULL;
        rv = IPSIE_ERR_MALFORMED;
    }
    return rv;
}

apr_status_t ipsie_token_refresh(ipsie_token_response_t **out, const ipsie_provider_t *op,
                                 const ipsie_client_t *client, const char *refresh_token,
                                 const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    *out = NULL;
    if (refresh_token == NULL) {
        return APR_EINVAL;
    }
    return ipsie_token_grant(out, op, client,
                             apr_pstrcat(p, "grant_type=refresh_token&refresh_token=",
                                         ipsie_url_encode(refresh_token, p), NULL),
                             opts, p);
}
