/* Fuzz target: Cookie header parsing. ipsie_cookie_find (the fast path read on every request)
 * must agree with the parsed table for every name, and chunked values must join back whole. */
#include "fuzz_support.h"

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_cookie.h"

static const char *const fixed_names[] = {
    "ipsie_session",
    "ipsie_session_chunks",
    "ipsie_session_0",
    "IPSIE_SESSION",
    "ipsie_state_abc",
    "a",
    "A",
    "_chunks",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

static void check_find_agrees(const char *header, apr_table_t *cookies, const char *name,
                              apr_pool_t *p)
{
    const char *found = ipsie_cookie_find(header, name, p);
    const char *parsed = apr_table_get(cookies, name);

    FUZZ_ASSERT(fuzz_same_str(found, parsed), "ipsie_cookie_find agrees with the parsed table");
}

/* Chunk value (already a parsed cookie value, free of ';'), write the cookies back as a
 * header, parse it and join: the value must come back unchanged. */
static void check_split_join(const char *value, apr_size_t chunk_size, apr_pool_t *p)
{
    static const char name[] = "ipsie_session";
    apr_array_header_t *pieces;
    const char *header;
    const char *joined;
    int i;

    /* Blanks inside a value are legal but trimmed at a piece's edge; real values are base64url. */
    if (strpbrk(value, " \t") != NULL) {
        return;
    }
    pieces = ipsie_cookie_split(name, value, chunk_size, p);
    if (pieces == NULL) {
        return;
    }
    FUZZ_ASSERT(pieces->nelts >= 1 && pieces->nelts <= IPSIE_COOKIE_MAX_CHUNKS,
                "a split has 1..IPSIE_COOKIE_MAX_CHUNKS pieces");
    if (pieces->nelts == 1) {
        header = apr_pstrcat(p, name, "=", APR_ARRAY_IDX(pieces, 0, const char *), NULL);
    }
    else {
        header = apr_psprintf(p, "%s_chunks=%d", name, pieces->nelts);
        for (i = 0; i < pieces->nelts; i++) {
            const char *pair =
                apr_psprintf(p, "%s_%d=%s", name, i, APR_ARRAY_IDX(pieces, i, const char *));
            FUZZ_ASSERT(strlen(pair) <= chunk_size, "each chunk cookie fits in chunk_size");
            header = apr_pstrcat(p, header, "; ", pair, NULL);
        }
    }
    joined = ipsie_cookie_join(ipsie_cookie_parse(header, p), name, p);
    FUZZ_ASSERT(joined != NULL && strcmp(joined, value) == 0, "join(split(v)) == v");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    char *header = fuzz_cstr(data, size);
    apr_table_t *cookies = ipsie_cookie_parse(header, p);
    const apr_array_header_t *arr = apr_table_elts(cookies);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *joined;
    size_t i;
    int j;

    FUZZ_ASSERT(cookies != NULL, "parsing never fails");
    for (j = 0; j < arr->nelts; j++) {
        FUZZ_ASSERT(e[j].key[0] != '\0' && strpbrk(e[j].key, "=;") == NULL,
                    "a parsed name is non-empty, without '=' or ';'");
        FUZZ_ASSERT(strchr(e[j].val, ';') == NULL, "a parsed value holds no ';'");
        check_find_agrees(header, cookies, e[j].key, p);
    }
    for (i = 0; i < sizeof(fixed_names) / sizeof(fixed_names[0]); i++) {
        check_find_agrees(header, cookies, fixed_names[i], p);
        joined = ipsie_cookie_join(cookies, fixed_names[i], p);
        if (joined != NULL
            && apr_table_get(cookies, apr_pstrcat(p, fixed_names[i], "_chunks", NULL)) == NULL) {
            FUZZ_ASSERT(strcmp(joined, apr_table_get(cookies, fixed_names[i])) == 0,
                        "an unchunked join is the cookie itself");
        }
    }
    if (arr->nelts > 0) {
        (void)ipsie_cookie_join(cookies, e[0].key, p);
        check_split_join(e[0].val, 16 + size % 200, p);
        check_split_join(e[arr->nelts - 1].val, 4000, p);
    }

    free(header);
    apr_pool_destroy(p);
    return 0;
}
