/* Fuzz target: the place of the warning script in an HTML document that arrives in pieces.
 * Whatever the bytes and wherever they are cut, the pieces give the result the whole document
 * gives, the place lies in what was fed, and no more than IPSIE_INJECT_PENDING_MAX bytes are
 * ever held back; the response rules read any header values. */
#include "fuzz_support.h"

#include "ipsie/ipsie_inject.h"

#define MARKER "/app/redirect_uri?warning.js"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

/* Feed doc in pieces of at most step bytes; returns the result and sets *at, *end_ok. */
static ipsie_inject_e scan(apr_off_t *at, int *end_ok, const char *doc, size_t len, size_t step,
                           apr_pool_t *p)
{
    ipsie_inject_t *in = ipsie_inject_create(MARKER, p);
    ipsie_inject_e rv = IPSIE_INJECT_MORE;
    size_t fed = 0;

    while (fed < len && rv == IPSIE_INJECT_MORE) {
        size_t n = len - fed < step ? len - fed : step;
        apr_off_t pending;

        rv = ipsie_inject_feed(in, doc + fed, n);
        fed += n;
        pending = ipsie_inject_pending(in);
        FUZZ_ASSERT(pending == -1
                        || (pending >= 0 && (apr_off_t)fed - pending >= 0
                            && (apr_off_t)fed - pending <= IPSIE_INJECT_PENDING_MAX),
                    "at most IPSIE_INJECT_PENDING_MAX bytes are held back");
    }
    *at = rv == IPSIE_INJECT_HERE ? ipsie_inject_offset(in) : -1;
    FUZZ_ASSERT(*at < (apr_off_t)len, "the place lies within the document");
    if (rv == IPSIE_INJECT_HERE) {
        FUZZ_ASSERT(doc[*at] == '<', "the place is the start of an end tag");
    }
    *end_ok = ipsie_inject_end_ok(in);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    const char *doc = (const char *)data;
    apr_off_t at_whole, at;
    int end_whole, end;
    ipsie_inject_e whole = scan(&at_whole, &end_whole, doc, size, size > 0 ? size : 1, p);
    size_t step;
    char *s;

    for (step = 1; step <= 13; step += 4) {
        FUZZ_ASSERT(scan(&at, &end, doc, size, step, p) == whole && at == at_whole
                        && end == end_whole,
                    "the pieces give what the whole document gives");
    }
    s = fuzz_cstr(data, size);
    (void)ipsie_inject_response(s, s, s);
    (void)ipsie_inject_etag(s, p);
    free(s);
    apr_pool_destroy(p);
    return 0;
}
