/* "Require claim name:value": grants when the session's claim is the value or, for an array
 * claim, when one of its elements is. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_log.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_log.h"

APLOG_USE_MODULE(auth_ipsie);

static authz_status check_claim(request_rec *r, const char *require_args,
                                const void *parsed_require_args)
{
    const ipsie_session_t *s;
    const char *args = require_args;
    const char *word;

    if (r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }
    s = auth_ipsie_request_session(r);
    if (s == NULL) {
        return AUTHZ_DENIED;
    }
    while (*(word = ap_getword_conf(r->pool, &args)) != '\0') {
        const char *colon = strchr(word, ':');
        if (colon != NULL
            && ipsie_session_claim_holds(
                s, apr_pstrmemdup(r->pool, word, (apr_size_t)(colon - word)), colon + 1, r->pool)) {
            return AUTHZ_GRANTED;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "IPSIE14001: Require claim %s denied for sub=%s",
                  require_args, ipsie_log_safe(s->sub, r->pool));
    return AUTHZ_DENIED;
}

static const char *parse_claim_require(cmd_parms *cmd, const char *require_line,
                                       const void **parsed_require_line)
{
    const char *args = require_line;
    const char *word;
    int count = 0;

    while (*(word = ap_getword_conf(cmd->temp_pool, &args)) != '\0') {
        const char *colon = strchr(word, ':');
        if (colon == NULL || colon == word) {
            return apr_psprintf(cmd->pool,
                                "Require claim: '%s' is not of the form "
                                "name:value (e.g. Require claim groups:admin)",
                                word);
        }
        count++;
    }
    if (count == 0) {
        return "Require claim needs at least one name:value (e.g. Require claim groups:admin)";
    }
    return NULL;
}

const authz_provider auth_ipsie_authz_claim_provider = {
    &check_claim,
    &parse_claim_require,
};
