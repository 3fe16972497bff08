/* Pushed authorization requests (RFC 9126). */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_metrics.h"
#include "ipsie/ipsie_par.h"
#include "ipsie/ipsie_util.h"

int ipsie_par_wanted(int asked, const ipsie_provider_t *op)
{
    return asked || (op != NULL && op->require_par);
}

/* The request_uri of a 201 answer, or NULL. */
static const char *request_uri_of(const ipsie_http_response_t *resp, apr_pool_t *p)
{
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_is_object(doc) ? json_object_get(doc, "request_uri") : NULL;
    const char *uri = NULL;
    const char *c;

    if (json_is_string(v) && json_string_length(v) > 0
        && json_string_length(v) <= IPSIE_PAR_REQUEST_URI_MAX) {
        uri = apr_pstrdup(p, json_string_value(v));
        for (c = uri; *c; c++) {
            if (!apr_isgraph(*c)) {
                uri = NULL;
                break;
            }
        }
    }
    json_decref(doc);
    return uri;
}

apr_status_t ipsie_par_push(const char **request_uri, const ipsie_provider_t *op,
                            const ipsie_client_t *client, const char *params,
                            const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                            apr_pool_t *p)
{
    ipsie_http_response_t resp;
    apr_status_t rv;

    *request_uri = NULL;
    if (op == NULL || client == NULL || params == NULL) {
        return APR_EINVAL;
    }
    if (op->par_endpoint == NULL) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE06401: a pushed authorization request is wanted, but the provider's "
                  "metadata has no pushed_authorization_request_endpoint");
        return IPSIE_ERR_METADATA;
    }
    ipsie_metric_inc(IPSIE_M_PROVIDER_PAR);
    rv = ipsie_client_post(&resp, op, client, op->par_endpoint, params, copts, opts, p);
    if (rv != APR_SUCCESS) {
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_PAR);
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE06402: pushed authorization request to %s failed",
                  op->par_endpoint);
        return rv;
    }
    /* RFC 9126 2.2: 201 Created; a 200 is taken too, as some servers send it. */
    if (resp.status != 201 && resp.status != 200) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE06403: pushed authorization request endpoint %s answered status %ld, "
                  "error %s",
                  op->par_endpoint, resp.status,
                  ipsie_client_op_error(resp.body, resp.body_len, p));
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_PAR);
        return IPSIE_ERR_HTTP_STATUS;
    }
    *request_uri = request_uri_of(&resp, p);
    if (*request_uri == NULL) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE06404: pushed authorization request endpoint %s answered no usable "
                  "request_uri",
                  op->par_endpoint);
        ipsie_metric_inc(IPSIE_M_PROVIDER_FAILED_PAR);
        return IPSIE_ERR_MALFORMED;
    }
    return APR_SUCCESS;
}

const char *ipsie_par_authorization_url(const ipsie_provider_t *op, const char *client_id,
                                        const char *request_uri, apr_pool_t *p)
{
    return apr_pstrcat(p, op->authorization_endpoint,
                       strchr(op->authorization_endpoint, '?') ? "&" : "?",
                       "client_id=", ipsie_url_encode(client_id, p),
                       "&request_uri=", ipsie_url_encode(request_uri, p), NULL);
}
