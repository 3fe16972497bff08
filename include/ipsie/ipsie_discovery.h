/* OpenID Provider metadata (Discovery 1.0): the issuer a discovery URL names, and the
 * document checked against it. */
#ifndef IPSIE_DISCOVERY_H
#define IPSIE_DISCOVERY_H

#include <apr_pools.h>

typedef struct {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    const char *end_session_endpoint; /* NULL when absent */
    const char *userinfo_endpoint;    /* NULL when absent */
    int iss_parameter_supported;      /* authorization_response_iss_parameter_supported */
} ipsie_provider_t;

/* The issuer a discovery URL names: the URL without "/.well-known/openid-configuration". */
const char *ipsie_provider_issuer_from_url(const char *metadata_url, apr_pool_t *p);

/* Parse and check a discovery document: JSON object, issuer equal to expected_issuer
 * (IPSIE_ERR_ISSUER_MISMATCH), the endpoints present as http(s) URLs (IPSIE_ERR_METADATA). */
apr_status_t ipsie_provider_parse(ipsie_provider_t **out, const char *json, apr_size_t len,
                                  const char *expected_issuer, apr_pool_t *p);

#endif
