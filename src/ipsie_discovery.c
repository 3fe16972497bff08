/* OpenID Provider metadata (Discovery 1.0): the issuer a discovery URL names, and the
 * document checked against it. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ipsie/ipsie_discovery.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_http.h"
#include "ipsie/ipsie_log.h"

#define WELL_KNOWN_SUFFIX "/.well-known/openid-configuration"

const char *ipsie_provider_issuer_from_url(const char *metadata_url, apr_pool_t *p)
{
    apr_size_t n, sn = sizeof(WELL_KNOWN_SUFFIX) - 1;

    if (metadata_url == NULL) {
        return NULL;
    }
    n = strlen(metadata_url);
    if (n > sn && strcmp(metadata_url + n - sn, WELL_KNOWN_SUFFIX) == 0) {
        return apr_pstrndup(p, metadata_url, n - sn);
    }
    return apr_pstrdup(p, metadata_url);
}

/* An absolute http(s) URL with a host and no whitespace or control characters. */
static int is_http_url(const char *s)
{
    const char *rest;
    const char *c;

    if (strncasecmp(s, "https://", 8) == 0) {
        rest = s + 8;
    }
    else if (strncasecmp(s, "http://", 7) == 0) {
        rest = s + 7;
    }
    else {
        return 0;
    }
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#') {
        return 0;
    }
    for (c = s; *c; c++) {
        if (!apr_isgraph(*c)) {
            return 0;
        }
    }
    return 1;
}

int ipsie_provider_url_names_issuer(const char *metadata_url)
{
    apr_size_t n, sn = sizeof(WELL_KNOWN_SUFFIX) - 1;

    if (metadata_url == NULL) {
        return 0;
    }
    n = strlen(metadata_url);
    return n > sn && strcmp(metadata_url + n - sn, WELL_KNOWN_SUFFIX) == 0;
}

int ipsie_provider_issuer_valid(const char *issuer)
{
    /* OpenID Connect Discovery 3: a URL with no query or fragment. */
    return issuer != NULL && is_http_url(issuer) && strpbrk(issuer, "?#") == NULL;
}

int ipsie_provider_issuer_accepted(const char *issuer, const char *configured,
                                   const char *metadata_url)
{
    apr_size_t n, base_len;

    if (issuer == NULL) {
        return 0;
    }
    if (configured != NULL) {
        return strcmp(issuer, configured) == 0;
    }
    if (!ipsie_provider_url_names_issuer(metadata_url)) {
        return 0;
    }
    /* Discovery 4: "https://op.example" and "https://op.example/" both publish their
     * metadata at https://op.example/.well-known/openid-configuration. */
    base_len = strlen(metadata_url) - (sizeof(WELL_KNOWN_SUFFIX) - 1);
    n = strlen(issuer);
    return (n == base_len || (n == base_len + 1 && issuer[base_len] == '/'))
           && strncmp(issuer, metadata_url, base_len) == 0;
}

/* A member that must be an http(s) URL string; absent is fine only when optional. */
static apr_status_t get_url_member(const char **out, json_t *doc, const char *name, int required,
                                   apr_pool_t *p)
{
    json_t *v = json_object_get(doc, name);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08100: provider metadata lacks %s", name);
            return IPSIE_ERR_METADATA;
        }
        return APR_SUCCESS;
    }
    if (!json_is_string(v) || !is_http_url(json_string_value(v))) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08101: provider metadata %s is not an http(s) URL", name);
        return IPSIE_ERR_METADATA;
    }
    *out = apr_pstrdup(p, json_string_value(v));
    return APR_SUCCESS;
}

/* A member that is a JSON array of strings, as an array of const char *; NULL when absent or
 * of another shape (a list that cannot be read advertises nothing). */
static const apr_array_header_t *string_array(json_t *doc, const char *name, apr_pool_t *p)
{
    json_t *v = json_object_get(doc, name);
    json_t *m;
    apr_array_header_t *out;
    size_t i;

    if (!json_is_array(v)) {
        return NULL;
    }
    out = apr_array_make(p, (int)json_array_size(v) + 1, sizeof(const char *));
    json_array_foreach(v, i, m)
    {
        if (!json_is_string(m)) {
            return NULL;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, json_string_value(m));
    }
    return out;
}

/* Why the metadata fails to advertise PKCE S256, the only method the module sends, or NULL
 * when it does (RFC 8414 code_challenge_methods_supported: a JSON array of strings). */
static const char *s256_not_advertised(json_t *doc)
{
    json_t *v = json_object_get(doc, "code_challenge_methods_supported");
    json_t *m;
    size_t i;
    int found = 0;

    if (v == NULL || json_is_null(v)) {
        return "the member is absent";
    }
    if (!json_is_array(v)) {
        return "the member is not an array of strings";
    }
    json_array_foreach(v, i, m)
    {
        if (!json_is_string(m)) {
            return "the member is not an array of strings";
        }
        if (strcmp(json_string_value(m), "S256") == 0) {
            found = 1;
        }
    }
    return found ? NULL : "S256 is not listed";
}

apr_status_t ipsie_provider_parse(ipsie_provider_t **out, const char *json, apr_size_t len,
                                  const char *expected_issuer, apr_pool_t *p)
{
    if (expected_issuer == NULL) {
        *out = NULL;
        return APR_EINVAL;
    }
    return ipsie_provider_parse_for(out, json, len, expected_issuer, NULL, p);
}

/* What the metadata's issuer was expected to be, for the log. */
static const char *expected_text(const char *configured, const char *metadata_url, apr_pool_t *p)
{
    const char *base;

    if (configured != NULL) {
        return apr_psprintf(p, "'%s'", ipsie_log_safe(configured, p));
    }
    if (!ipsie_provider_url_names_issuer(metadata_url)) {
        return "an issuer the metadata URL names (set IPSIEProviderIssuer)";
    }
    base = ipsie_log_safe(ipsie_provider_issuer_from_url(metadata_url, p), p);
    return apr_psprintf(p, "'%s' or '%s/'", base, base);
}

apr_status_t ipsie_provider_parse_for(ipsie_provider_t **out, const char *json, apr_size_t len,
                                      const char *configured_issuer, const char *metadata_url,
                                      apr_pool_t *p)
{
    json_t *doc = NULL;
    json_t *v;
    json_error_t jerr;
    ipsie_provider_t *op;
    const char *why;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (json == NULL || (configured_issuer == NULL && metadata_url == NULL)) {
        return APR_EINVAL;
    }
    if (len > IPSIE_HTTP_MAX_BODY) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08102: provider metadata is larger than %d bytes",
                  IPSIE_HTTP_MAX_BODY);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08103: provider metadata is not a JSON object");
        rv = IPSIE_ERR_METADATA;
        goto leave;
    }
    v = json_object_get(doc, "issuer");
    if (!json_is_string(v)) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08104: provider metadata lacks a string issuer");
        rv = IPSIE_ERR_METADATA;
        goto leave;
    }
    /* Discovery 1.0 section 4.3: exactly the issuer the metadata was fetched for. */
    if (!ipsie_provider_issuer_accepted(json_string_value(v), configured_issuer, metadata_url)) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE08105: provider metadata issuer '%s' is not the expected %s",
                  ipsie_log_safe(json_string_value(v), p),
                  expected_text(configured_issuer, metadata_url, p));
        rv = IPSIE_ERR_ISSUER_MISMATCH;
        goto leave;
    }

    op = apr_pcalloc(p, sizeof(*op));
    /* From here on the issuer is compared exactly as the metadata spells it. */
    op->issuer = apr_pstrdup(p, json_string_value(v));
    rv = get_url_member(&op->authorization_endpoint, doc, "authorization_endpoint", 1, p);
    if (rv == APR_SUCCESS) {
        rv = get_url_member(&op->token_endpoint, doc, "token_endpoint", 1, p);
    }
    if (rv == APR_SUCCESS) {
        rv = get_url_member(&op->jwks_uri, doc, "jwks_uri", 1, p);
    }
    if (rv == APR_SUCCESS) {
        rv = get_url_member(&op->end_session_endpoint, doc, "end_session_endpoint", 0, p);
    }
    if (rv == APR_SUCCESS) {
        rv = get_url_member(&op->userinfo_endpoint, doc, "userinfo_endpoint", 0, p);
    }
    if (rv == APR_SUCCESS) {
        rv = get_url_member(&op->par_endpoint, doc, "pushed_authorization_request_endpoint", 0, p);
    }
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    op->iss_parameter_supported =
        json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported"));
    op->require_par = json_is_true(json_object_get(doc, "require_pushed_authorization_requests"));
    op->dpop_algs = string_array(doc, "dpop_signing_alg_values_supported", p);
    op->token_auth_algs = string_array(doc, "token_endpoint_auth_signing_alg_values_supported", p);
    /* PKCE S256 is always sent; a provider that does not say so may still support it. */
    why = s256_not_advertised(doc);
    if (why != NULL) {
        ipsie_log(IPSIE_LOG_WARNING,
                  "IPSIE08106: provider metadata does not advertise PKCE S256 in "
                  "code_challenge_methods_supported (%s); the module sends "
                  "code_challenge_method=S256 anyway",
                  why);
    }
    *out = op;

leave:
    json_decref(doc);
    return rv;
}
