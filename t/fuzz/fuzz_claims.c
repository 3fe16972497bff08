/* Fuzz target: the strict scanner that reads a session's claims from its ID token on every
 * request. Whatever jansson (the validator of the ID token) accepts as an object the session
 * can keep, the scanner must read alike: same names in the same order, same string values.
 * Array matching and the hiding of colliding names must hold up on whatever it accepts. */
#include "fuzz_support.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ipsie/ipsie_claims.h"

#define CLAIM(arr, i) (((const ipsie_claim_t *)(arr)->elts)[i])

/* Past this many claims the quadratic collision check is skipped, to keep runs fast. */
#define CHECKED_COLLISIONS_MAX 512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

/* Nesting depth of v, the value itself counted. */
static int depth_of(json_t *v)
{
    int deepest = 0, d;
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            d = depth_of(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            d = depth_of(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

static int kind_matches(ipsie_claim_kind_e kind, json_t *v)
{
    switch (kind) {
    case IPSIE_CLAIM_STRING:
        return json_is_string(v);
    case IPSIE_CLAIM_NUMBER:
        return json_is_number(v);
    case IPSIE_CLAIM_BOOLEAN:
        return json_is_boolean(v);
    case IPSIE_CLAIM_NULL:
        return json_is_null(v);
    case IPSIE_CLAIM_ARRAY:
        return json_is_array(v);
    case IPSIE_CLAIM_OBJECT:
        return json_is_object(v);
    }
    return 0;
}

/* What jansson makes of the input, compared with the scanner's claims (NULL: refused). */
static void check_against_jansson(const uint8_t *data, size_t size, apr_array_header_t *claims,
                                  apr_pool_t *p)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    const char *key;
    json_t *value;
    int i = 0;

    /* Past 32 levels the scanner refuses by design; jansson refuses \u0000 by default but
     * takes a raw NUL right after a number ("{\"a\":1\0}"), which RFC 8259 does not. */
    if (!json_is_object(doc) || depth_of(doc) > 32 || memchr(data, '\0', size) != NULL) {
        json_decref(doc);
        return;
    }
    FUZZ_ASSERT(claims != NULL, "an object jansson accepts within 32 levels is scanned");
    FUZZ_ASSERT(claims->nelts == (int)json_object_size(doc), "as many claims as jansson sees");
    json_object_foreach(doc, key, value)
    {
        const ipsie_claim_t *c = &CLAIM(claims, i);
        FUZZ_ASSERT(strcmp(c->name, key) == 0, "the same names in the same order");
        FUZZ_ASSERT(kind_matches(c->kind, value), "the same kind of value");
        if (json_is_string(value)) {
            FUZZ_ASSERT(strcmp(c->value, json_string_value(value)) == 0, "the same string value");
        }
        if (json_is_array(value)) {
            size_t k;
            json_t *element;
            json_array_foreach(value, k, element)
            {
                if (json_is_string(element)) {
                    FUZZ_ASSERT(ipsie_claims_array_holds(c->json, json_string_value(element), p),
                                "an array holds each of its string elements");
                }
            }
        }
        i++;
    }
    json_decref(doc);
}

/* As ipsie_claims.h says a name maps: letters and digits without case, the rest alike. */
static int same_mapped(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        int x = apr_isalnum(*a) ? apr_tolower(*a) : '-';
        int y = apr_isalnum(*b) ? apr_tolower(*b) : '-';
        if (x != y) {
            return 0;
        }
    }
    return *a == *b;
}

static int canonical(const char *name)
{
    return *name != '\0' && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

/* After hiding: no two visible names collide, a visible name in a group is canonical, and a
 * name that collides with none stays visible. */
static void check_collisions(apr_array_header_t *claims, apr_pool_t *p)
{
    const char *names = "unset";
    int hidden = ipsie_claims_hide_collisions(claims, &names, p);
    int counted = 0;
    int i, j;

    FUZZ_ASSERT(hidden >= 0 && hidden <= claims->nelts, "a count of claims is hidden");
    FUZZ_ASSERT((hidden == 0) == (names == NULL), "names listed exactly when some are hidden");
    for (i = 0; i < claims->nelts; i++) {
        counted += CLAIM(claims, i).hidden != 0;
    }
    FUZZ_ASSERT(counted == hidden, "the count is the number of claims marked hidden");
    if (claims->nelts > CHECKED_COLLISIONS_MAX) {
        return;
    }
    for (i = 0; i < claims->nelts; i++) {
        const ipsie_claim_t *a = &CLAIM(claims, i);
        int collides = 0;
        for (j = 0; j < claims->nelts; j++) {
            const ipsie_claim_t *b = &CLAIM(claims, j);
            if (j == i || !same_mapped(a->name, b->name)) {
                continue;
            }
            collides = 1;
            FUZZ_ASSERT(a->hidden || b->hidden, "two colliding names are never both passed on");
        }
        FUZZ_ASSERT(collides || !a->hidden, "a name that collides with none is passed on");
        FUZZ_ASSERT(!collides || a->hidden || canonical(a->name),
                    "a colliding name passed on is spelled as OpenID Connect spells claims");
    }
}

static void check_claims(apr_array_header_t *claims, apr_pool_t *p)
{
    int i;

    for (i = 0; i < claims->nelts; i++) {
        const ipsie_claim_t *c = &CLAIM(claims, i);
        FUZZ_ASSERT(c->name != NULL && c->value != NULL, "every claim has a name and a value");
        FUZZ_ASSERT((c->json != NULL) == (c->kind == IPSIE_CLAIM_ARRAY),
                    "arrays and only arrays keep their JSON");
        FUZZ_ASSERT(!c->hidden, "the scanner hides nothing");
        if (c->kind == IPSIE_CLAIM_NULL) {
            FUZZ_ASSERT(c->value[0] == '\0', "null reads as the empty value");
        }
        if (c->kind == IPSIE_CLAIM_ARRAY) {
            FUZZ_ASSERT(c->json[0] == '[', "an array's JSON is the array");
            FUZZ_ASSERT(strlen(c->value) <= strlen(c->json),
                        "joined values are never longer than the array");
            (void)ipsie_claims_array_holds(c->json, c->value, p);
            (void)ipsie_claims_array_holds(c->json, "admin", p);
            (void)ipsie_claims_array_holds(c->json, "", p);
        }
    }
    check_collisions(claims, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    apr_array_header_t *claims = (apr_array_header_t *)&claims;
    char *text = fuzz_cstr(data, size);

    if (ipsie_claims_scan(&claims, (const char *)data, size, p) != APR_SUCCESS) {
        FUZZ_ASSERT(claims == NULL, "a refused input leaves no claims");
    }
    check_against_jansson(data, size, claims, p);
    if (claims != NULL) {
        check_claims(claims, p);
    }
    /* The input read as an array's JSON, as a session's array claim would be. */
    (void)ipsie_claims_array_holds(text, "admin", p);
    (void)ipsie_claims_array_holds(text, text, p);
    free(text);
    apr_pool_destroy(p);
    return 0;
}
