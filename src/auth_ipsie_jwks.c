/* ?jwks on the redirect URI: the module's public keys as a JWK Set (RFC 7517 5), for the
 * provider to register (private_key_jwt) or to look at (DPoP): the client's signing key and
 * the DPoP key, never a private part. */
#include <httpd.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <http_protocol.h>
#include <jansson.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_signer.h"

/* Public keys change only with the configuration (or a restart, for a generated DPoP key). */
#define JWKS_CACHE_CONTROL "public, max-age=300"

/* Add the public JWK of key to keys; 0 on failure. any_rsa_alg: an RSA key set to RS256 names
 * no alg, since the client's assertions are PS256 for a provider that takes only PS256
 * (ipsie_client_assertion_alg). */
static int add_key(json_t *keys, const ipsie_signer_t *key, int any_rsa_alg)
{
    json_t *jwk = ipsie_signer_public_jwk(key, 1);

    if (jwk != NULL && any_rsa_alg && strcmp(ipsie_signer_alg(key), "RS256") == 0) {
        json_object_del(jwk, "alg");
    }
    return jwk != NULL && json_array_append_new(keys, jwk) == 0;
}

int auth_ipsie_jwks(request_rec *r, const auth_ipsie_settings_t *cfg, apr_table_t *args)
{
    json_t *keys = json_array();
    json_t *doc = NULL;
    char *dumped = NULL;
    const char *body;
    int ok = keys != NULL;

    if (ok && cfg->client.signing_key != NULL) {
        ok = add_key(keys, cfg->client.signing_key, 1);
    }
    if (ok && cfg->dpop != NULL) {
        ok = add_key(keys, ipsie_dpop_key(cfg->dpop), 0);
    }
    doc = ok ? json_pack("{s:O}", "keys", keys) : NULL;
    dumped = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(keys);
    json_decref(doc);
    if (dumped == NULL) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    body = apr_pstrcat(r->pool, dumped, "\n", NULL);
    free(dumped);
    return auth_ipsie_send_cached(r, HTTP_OK, "application/json", body, JWKS_CACHE_CONTROL);
}
