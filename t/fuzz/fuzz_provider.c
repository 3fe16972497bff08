/* Fuzz target: OpenID Provider discovery metadata and token endpoint responses, both read
 * from the network. What they accept must hold what the rest of the module relies on. */
#include "fuzz_support.h"

#include <strings.h>

#include "ipsie/ipsie_discovery.h"
#include "ipsie/ipsie_token.h"

#define FUZZ_ISSUER "https://op.example"
#define FUZZ_METADATA_URL FUZZ_ISSUER "/.well-known/openid-configuration"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

/* An endpoint the module will call or redirect to: http(s), a host, no blank or control. */
static int endpoint_ok(const char *url)
{
    const char *c;

    if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) {
        return 0;
    }
    for (c = url; *c != '\0'; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *text = fuzz_cstr(data, size);
    ipsie_provider_t *op = NULL;
    ipsie_token_response_t *tr = NULL;
    const char *issuer;

    if (ipsie_provider_parse(&op, (const char *)data, size, FUZZ_ISSUER, p) == APR_SUCCESS) {
        FUZZ_ASSERT(op != NULL && strcmp(op->issuer, FUZZ_ISSUER) == 0,
                    "accepted metadata is for the expected issuer");
        FUZZ_ASSERT(op->authorization_endpoint != NULL && op->token_endpoint != NULL
                        && op->jwks_uri != NULL,
                    "accepted metadata has the three required endpoints");
        FUZZ_ASSERT(
            endpoint_ok(op->authorization_endpoint) && endpoint_ok(op->token_endpoint)
                && endpoint_ok(op->jwks_uri)
                && (op->end_session_endpoint == NULL || endpoint_ok(op->end_session_endpoint)),
            "every accepted endpoint is a clean http(s) URL");
    }
    else {
        FUZZ_ASSERT(op == NULL, "refused metadata leaves no output");
    }

    /* Parsed for its URL: either spelling of the issuer, kept as the metadata gives it. */
    op = NULL;
    if (ipsie_provider_parse_for(&op, (const char *)data, size, NULL, FUZZ_METADATA_URL, p)
        == APR_SUCCESS) {
        FUZZ_ASSERT(op != NULL
                        && (strcmp(op->issuer, FUZZ_ISSUER) == 0
                            || strcmp(op->issuer, FUZZ_ISSUER "/") == 0),
                    "metadata accepted for its URL names one of the two spellings");
    }
    else {
        FUZZ_ASSERT(op == NULL, "refused metadata leaves no output");
    }
    FUZZ_ASSERT(!ipsie_provider_issuer_accepted(text, NULL, FUZZ_METADATA_URL)
                    || strcmp(text, FUZZ_ISSUER) == 0 || strcmp(text, FUZZ_ISSUER "/") == 0,
                "a discovery URL accepts no issuer but its two spellings");
    FUZZ_ASSERT(!ipsie_provider_issuer_valid(text) || strpbrk(text, "?# \t\r\n") == NULL,
                "a valid configured issuer has no query, fragment or blank");

    if (ipsie_token_response_parse(&tr, (const char *)data, size, p) == APR_SUCCESS) {
        FUZZ_ASSERT(tr != NULL && tr->id_token != NULL && tr->id_token[0] != '\0'
                        && tr->access_token != NULL && tr->access_token[0] != '\0',
                    "an accepted token response has an ID token and an access token");
        FUZZ_ASSERT(tr->token_type != NULL && strcasecmp(tr->token_type, "Bearer") == 0,
                    "an accepted token response is of type Bearer");
        FUZZ_ASSERT(tr->expires_in >= 0, "expires_in is never negative");
    }
    else {
        FUZZ_ASSERT(tr == NULL, "a refused token response leaves no output");
    }

    issuer = ipsie_provider_issuer_from_url(text, p);
    FUZZ_ASSERT(issuer != NULL && strlen(issuer) <= strlen(text),
                "the issuer of a discovery URL is a prefix-sized string");

    free(text);
    apr_pool_destroy(p);
    return 0;
}
