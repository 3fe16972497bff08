/* Fuzz target: query and form parsing, percent-decoding, and the same-origin check that
 * guards every post-login redirect: what it accepts must stay on our origin. */
#include "fuzz_support.h"

#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

/* An accepted redirect is origin + "/" + the rest, with nothing a browser would rewrite; an
 * accepted absolute target names exactly our scheme, host (any case) and port. */
static void check_same_origin(const char *target, const char *host_prefix, long port, apr_pool_t *p)
{
    const char *origin = port == 443 ? host_prefix : apr_psprintf(p, "%s:%ld", host_prefix, port);
    const char *prefix = apr_pstrcat(p, origin, "/", NULL);
    const char *abs_url = NULL;
    const char *c;
    long target_port = 443;

    if (ipsie_url_same_origin(&abs_url, target, origin, p) != APR_SUCCESS) {
        FUZZ_ASSERT(abs_url == NULL, "a refused target leaves no URL");
        return;
    }
    FUZZ_ASSERT(abs_url != NULL && strncmp(abs_url, prefix, strlen(prefix)) == 0,
                "an accepted redirect starts with the origin and '/': no open redirect");
    for (c = abs_url; *c != '\0'; c++) {
        FUZZ_ASSERT((unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f && *c != '\\',
                    "an accepted redirect holds no blank, control, backslash or non-ASCII");
    }
    if (target[0] == '/') {
        FUZZ_ASSERT(target[1] != '/', "a scheme-relative target is never accepted");
        return;
    }
    FUZZ_ASSERT(strncasecmp(target, host_prefix, strlen(host_prefix)) == 0,
                "an accepted absolute target has our scheme and host");
    c = target + strlen(host_prefix);
    if (*c == ':') {
        for (target_port = 0, c++; *c >= '0' && *c <= '9'; c++) {
            target_port = target_port * 10 + (*c - '0');
        }
    }
    FUZZ_ASSERT(*c == '\0' || *c == '/' || *c == '?' || *c == '#',
                "an accepted absolute target's host ends where ours does");
    FUZZ_ASSERT(target_port == port, "an accepted absolute target has our port");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *s = fuzz_cstr(data, size);
    apr_table_t *form = NULL;
    char *decoded = NULL;
    char *again = NULL;
    const char *encoded;

    if (ipsie_form_parse(&form, s, p) == APR_SUCCESS) {
        const apr_array_header_t *arr = apr_table_elts(form);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        int i;

        FUZZ_ASSERT(form != NULL, "a parsed form yields a table");
        for (i = 0; i < arr->nelts; i++) {
            FUZZ_ASSERT(e[i].key[0] != '\0', "parameter names are non-empty");
            FUZZ_ASSERT(strcmp(apr_table_get(form, e[i].key), e[i].val) == 0,
                        "each name appears once");
        }
    }
    else {
        FUZZ_ASSERT(form == NULL, "a refused form leaves no table");
    }

    if (ipsie_url_decode(&decoded, s, 0, p) == APR_SUCCESS) {
        FUZZ_ASSERT(strlen(decoded) <= strlen(s), "decoding never grows the text");
    }
    (void)ipsie_url_decode(&decoded, s, 1, p);

    /* Encoding is lossless: decode(encode(s)) == s for any string. */
    encoded = ipsie_url_encode(s, p);
    FUZZ_ASSERT(ipsie_url_decode(&again, encoded, 0, p) == APR_SUCCESS && strcmp(again, s) == 0,
                "url_decode(url_encode(s)) == s");

    check_same_origin(s, "https://app.example", 443, p);
    check_same_origin(s, "https://app.example", 8443, p);

    free(s);
    apr_pool_destroy(p);
    return 0;
}
