/* Fuzz target: what a provider's answer tells DPoP: a DPoP-Nonce header's value, a
 * WWW-Authenticate challenge asking for a nonce, and the decision to send a request again with
 * it. A nonce kept is exactly the one given, and only a usable one; a challenge asking for a
 * nonce is a DPoP challenge, and still is with a comma after it. An input "nonce\nanswer" gives
 * the DPoP-Nonce header and the answer (body and WWW-Authenticate) apart. */
#include "fuzz_support.h"

#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_dpop.h"
#include "ipsie/ipsie_http.h"
#include "ipsie/ipsie_signer.h"

static ipsie_dpop_t *dpop;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static apr_pool_t *keep;
    ipsie_signer_t *key = NULL;

    fuzz_setup();
    if (apr_pool_create(&keep, NULL) != APR_SUCCESS
        || ipsie_signer_generate(&key, "ES256", NULL, keep) != APR_SUCCESS
        || ipsie_dpop_create(&dpop, key, keep) != APR_SUCCESS) {
        abort();
    }
    return 0;
}

static void check_nonce(const char *s, apr_pool_t *p)
{
    const char *c;
    const char *kept;
    const char *url = "https://op.example/token";

    if (ipsie_dpop_nonce_valid(s)) {
        FUZZ_ASSERT(strlen(s) >= 1 && strlen(s) <= IPSIE_DPOP_NONCE_MAX,
                    "a usable nonce has 1 to 512 characters");
        for (c = s; *c; c++) {
            FUZZ_ASSERT(*c > 0x20 && *c < 0x7f && *c != '"' && *c != '\\',
                        "a usable nonce holds NQCHARs alone");
        }
    }
    ipsie_dpop_nonce_keep(dpop, "https://op.example/token?x", "before");
    ipsie_dpop_nonce_keep(dpop, url, s);
    kept = ipsie_dpop_nonce(dpop, url, p);
    FUZZ_ASSERT(kept != NULL, "an endpoint keeps a nonce once it had one");
    FUZZ_ASSERT(strcmp(kept, ipsie_dpop_nonce_valid(s) ? s : "before") == 0,
                "the nonce kept is the usable one given, else the one before");
}

static void check_challenge(const char *s, apr_pool_t *p)
{
    if (!ipsie_dpop_challenge_wants_nonce(s)) {
        return;
    }
    FUZZ_ASSERT(strcasestr(s, "dpop") != NULL, "only a DPoP challenge asks for a nonce");
    FUZZ_ASSERT(ipsie_dpop_challenge_wants_nonce(apr_pstrcat(p, s, ",", NULL)),
                "a comma after a challenge changes nothing");
}

/* An answer whose DPoP-Nonce is nonce and whose body and WWW-Authenticate are rest. */
static void check_retry(const char *nonce, const char *rest, long status, apr_pool_t *p)
{
    ipsie_http_response_t resp;
    const char *url = "https://op.example/userinfo";
    int again;

    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.body = rest;
    resp.body_len = strlen(rest);
    resp.headers = apr_table_make(p, 2);
    apr_table_set(resp.headers, "DPoP-Nonce", nonce);
    apr_table_set(resp.headers, "WWW-Authenticate", rest);
    again = ipsie_dpop_retry_with_nonce(dpop, url, &resp, NULL, p);
    if (again) {
        const char *kept = ipsie_dpop_nonce(dpop, url, p);

        FUZZ_ASSERT(ipsie_dpop_nonce_valid(nonce), "a retry needs a usable nonce");
        FUZZ_ASSERT(kept != NULL && strcmp(kept, nonce) == 0, "a retry uses the nonce given");
        FUZZ_ASSERT(strstr(rest, "use_dpop_nonce") != NULL || strstr(rest, "\\") != NULL,
                    "a retry is asked for by name");
        FUZZ_ASSERT(status != 401 || strcasestr(rest, "dpop") != NULL,
                    "a resource asks for a retry with a DPoP challenge");
        FUZZ_ASSERT(!ipsie_dpop_retry_with_nonce(dpop, url, &resp, kept, p),
                    "the same nonce twice is no reason to retry");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *s = fuzz_cstr(data, size);
    /* "nonce\nanswer": a nonce and an answer that differ; without a newline, one string is both. */
    const char *nl = strchr(s, '\n');
    const char *nonce = nl ? apr_pstrmemdup(p, s, (apr_size_t)(nl - s)) : s;
    const char *rest = nl ? nl + 1 : s;

    check_nonce(s, p);
    check_challenge(s, p);
    check_retry(nonce, rest, 400, p);
    check_retry(nonce, rest, 401, p);
    free(s);
    apr_pool_destroy(p);
    return 0;
}
