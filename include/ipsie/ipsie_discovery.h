/* OpenID Provider metadata (Discovery 1.0): the issuer a discovery URL names, and the
 * document checked against it. */
#ifndef IPSIE_DISCOVERY_H
#define IPSIE_DISCOVERY_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    const char *end_session_endpoint; /* NULL when absent */
    const char *userinfo_endpoint;    /* NULL when absent */
    int iss_parameter_supported;      /* authorization_response_iss_parameter_supported */
    /* Pushed authorization requests (RFC 9126) and DPoP (RFC 9449). */
    const char *par_endpoint; /* pushed_authorization_request_endpoint, NULL when absent */
    int require_par;          /* require_pushed_authorization_requests */
    /* dpop_signing_alg_values_supported (const char *), NULL when absent or not an array of
     * strings */
    const apr_array_header_t *dpop_algs;
    /* token_endpoint_auth_signing_alg_values_supported (const char *): the algorithms of the
     * client assertions it takes; NULL when absent or not an array of strings */
    const apr_array_header_t *token_auth_algs;
} ipsie_provider_t;

/* The issuer a discovery URL names: the URL without "/.well-known/openid-configuration". */
const char *ipsie_provider_issuer_from_url(const char *metadata_url, apr_pool_t *p);

/* 1 when metadata_url ends in "/.well-known/openid-configuration", so that it names an issuer;
 * a provider published elsewhere needs IPSIEProviderIssuer. */
int ipsie_provider_url_names_issuer(const char *metadata_url);

/* 1 when issuer may be configured as IPSIEProviderIssuer: an absolute http(s) URL with a host,
 * no query, fragment, whitespace or control character. */
int ipsie_provider_issuer_valid(const char *issuer);

/* 1 when a provider fetched from metadata_url may call itself issuer: exactly configured when
 * that is not NULL (IPSIEProviderIssuer); else either spelling the URL names (Discovery 4: the
 * URL without "/.well-known/openid-configuration", with or without a trailing '/'). */
int ipsie_provider_issuer_accepted(const char *issuer, const char *configured,
                                   const char *metadata_url);

/* Parse and check a discovery document: JSON object, issuer equal to expected_issuer
 * (IPSIE_ERR_ISSUER_MISMATCH), the endpoints present as http(s) URLs (IPSIE_ERR_METADATA). */
apr_status_t ipsie_provider_parse(ipsie_provider_t **out, const char *json, apr_size_t len,
                                  const char *expected_issuer, apr_pool_t *p);

/* ipsie_provider_parse with the issuer checked by ipsie_provider_issuer_accepted(issuer,
 * configured_issuer, metadata_url); op->issuer is then the metadata's own spelling, the one
 * every later comparison uses. */
apr_status_t ipsie_provider_parse_for(ipsie_provider_t **out, const char *json, apr_size_t len,
                                      const char *configured_issuer, const char *metadata_url,
                                      apr_pool_t *p);

#endif
