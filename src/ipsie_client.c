/* The client at the provider's endpoints: its authentication and DPoP proofs with nonces. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_client.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

#define OP_ERROR_MAX 64

static int listed(const apr_array_header_t *list, const char *alg)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), alg) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *ipsie_client_assertion_alg(const ipsie_client_t *client,
                                       const apr_array_header_t *provider_algs)
{
    const char *alg = ipsie_signer_alg(client->signing_key);

    if (strcmp(alg, "RS256") == 0 && provider_algs != NULL && !listed(provider_algs, "RS256")
        && listed(provider_algs, "PS256")) {
        return "PS256";
    }
    return alg;
}

apr_status_t ipsie_client_assertion(const char **out, const ipsie_client_t *client,
                                    const char *audience, const apr_array_header_t *provider_algs,
                                    long long now, apr_pool_t *p)
{
    const char *jti = ipsie_random_token(24, p);
    json_t *header = NULL;
    json_t *claims = NULL;
    apr_status_t rv = IPSIE_ERR_CRYPTO;

    *out = NULL;
    if (client == NULL || client->client_id == NULL || client->signing_key == NULL
        || audience == NULL) {
        return APR_EINVAL;
    }
    header = json_pack("{s:s, s:s}", "typ", "JWT", "kid", ipsie_signer_kid(client->signing_key));
    /* OpenID Connect Core 9 and IPSIE SL1: aud the issuer, a single string. */
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client->client_id, "sub",
                       client->client_id, "aud", audience, "jti", jti ? jti : "", "iat",
                       (json_int_t)now, "exp", (json_int_t)(now + IPSIE_CLIENT_ASSERTION_LIFETIME));
    if (jti != NULL && header != NULL && claims != NULL) {
        rv = ipsie_signer_sign_as(out, client->signing_key,
                                  ipsie_client_assertion_alg(client, provider_algs), header, claims,
                                  p);
    }
    json_decref(header);
    json_decref(claims);
    return rv;
}

/* 1 when a form-urlencoded body has a parameter called name. */
static int form_has(const char *form, const char *name)
{
    apr_size_t n = strlen(name);
    const char *c = form;

    while (c != NULL && *c != '\0') {
        if (strncmp(c, name, n) == 0 && (c[n] == '=' || c[n] == '&' || c[n] == '\0')) {
            return 1;
        }
        c = strchr(c, '&');
        c = c ? c + 1 : NULL;
    }
    return 0;
}

/* The form with the client's authentication added, or its Basic credentials (one attempt). */
static apr_status_t authenticate(const char **form, const char **user, const char **pass,
                                 const ipsie_provider_t *op, const ipsie_client_t *client,
                                 long long now, apr_pool_t *p)
{
    const char *assertion;
    const char *id =
        form_has(*form, "client_id")
            ? ""
            : apr_pstrcat(p, "&client_id=", ipsie_url_encode(client->client_id, p), NULL);
    apr_status_t rv;

    *user = NULL;
    *pass = NULL;
    switch (client->auth_method) {
    case IPSIE_AUTH_PRIVATE_KEY_JWT:
        rv = ipsie_client_assertion(&assertion, client, op->issuer, op->token_auth_algs, now, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        *form =
            apr_pstrcat(p, *form, id,
                        "&client_assertion_type=", ipsie_url_encode(IPSIE_CLIENT_ASSERTION_TYPE, p),
                        "&client_assertion=", assertion, NULL);
        return APR_SUCCESS;
    case IPSIE_AUTH_CLIENT_SECRET_POST:
        if (client->client_secret == NULL) {
            return APR_EINVAL;
        }
        *form = apr_pstrcat(p, *form, id,
                            "&client_secret=", ipsie_url_encode(client->client_secret, p), NULL);
        return APR_SUCCESS;
    default:
        if (client->client_secret == NULL) {
            return APR_EINVAL;
        }
        *user = client->client_id;
        *pass = client->client_secret;
        return APR_SUCCESS;
    }
}

apr_status_t ipsie_client_post(ipsie_http_response_t *resp, const ipsie_provider_t *op,
                               const ipsie_client_t *client, const char *endpoint, const char *form,
                               const ipsie_client_opts_t *copts, const ipsie_http_opts_t *opts,
                               apr_pool_t *p)
{
    ipsie_dpop_t *dpop = copts != NULL ? copts->dpop : NULL;
    long long now = copts != NULL ? copts->now : apr_time_sec(apr_time_now());
    /* Every POST of the client goes with these headers; a DPoP proof joins them. */
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    const char *nonce = NULL;
    const char *proof;
    const char *body;
    const char *user;
    const char *pass;
    apr_status_t rv;
    int attempt;

    memset(resp, 0, sizeof(*resp));
    if (op == NULL || op->issuer == NULL || endpoint == NULL || client == NULL
        || client->client_id == NULL || form == NULL) {
        return APR_EINVAL;
    }
    if (dpop != NULL) {
        nonce = ipsie_dpop_nonce(dpop, endpoint, p);
    }
    for (attempt = 0;; attempt++) {
        /* An assertion's jti is single use: a retry carries a new one, as a new proof. */
        body = form;
        rv = authenticate(&body, &user, &pass, op, client, now, p);
        if (rv == APR_SUCCESS && dpop != NULL) {
            rv = ipsie_dpop_proof(&proof, dpop, "POST", endpoint, NULL, nonce, now, p);
            headers[1] = rv == APR_SUCCESS ? apr_pstrcat(p, "DPoP: ", proof, NULL) : NULL;
        }
        if (rv != APR_SUCCESS) {
            ipsie_log(IPSIE_LOG_ERROR,
                      "IPSIE06101: the client's authentication or DPoP proof for %s cannot be "
                      "made",
                      ipsie_log_safe(ipsie_dpop_htu(endpoint, p), p));
            return rv;
        }
        rv = ipsie_http_send(resp, endpoint, body, headers, user, pass, opts, p);
        if (rv != APR_SUCCESS || dpop == NULL || attempt > 0
            || !ipsie_dpop_retry_with_nonce(dpop, endpoint, resp, nonce, p)) {
            return rv;
        }
        /* The nonce just given, kept or not (an endpoint URL too long to keep one for). */
        nonce = apr_pstrdup(p, apr_table_get(resp->headers, "DPoP-Nonce"));
        ipsie_log(IPSIE_LOG_DEBUG, "IPSIE06102: %s asked for a DPoP nonce: sent again with it",
                  ipsie_log_safe(ipsie_dpop_htu(endpoint, p), p));
    }
}

const char *ipsie_client_op_error(const char *body, apr_size_t len, apr_pool_t *p)
{
    json_t *doc;
    json_t *v;
    const char *s;
    char *out;
    apr_size_t n = 0;

    if (body == NULL || len == 0 || len > IPSIE_HTTP_MAX_BODY) {
        return "-";
    }
    doc = json_loadb(body, len, 0, NULL);
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
