/* Unit tests of src/ipsie_claims.c: the strict scanner of a JSON object's members, array
 * element matching and the hiding of claims whose names collide. */
#include <stdlib.h>

#include <apr_tables.h>
#include <jansson.h>

#include "ipsie/ipsie_claims.h"
#include "ipsie/ipsie_error.h"
#include "test_support.h"

#define CLAIM(arr, i) (((const ipsie_claim_t *)(arr)->elts)[i])

/* text[0..len) in a malloc block of exactly len bytes and no terminator, so that a read past
 * len is visible to memory checkers; the claims are copies in the pool. */
static apr_status_t scan_len(apr_array_header_t **out, const char *text, apr_size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    apr_status_t rv;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    rv = ipsie_claims_scan(out, copy, len, pool);
    memset(copy, 'X', len);
    free(copy);
    return rv;
}

static apr_array_header_t *scan_ok(const char *text)
{
    apr_array_header_t *claims = NULL;

    ck_assert_msg(scan_len(&claims, text, strlen(text)) == APR_SUCCESS, "refused %s", text);
    ck_assert_ptr_nonnull(claims);
    return claims;
}

static void assert_refused_len(const char *text, apr_size_t len)
{
    apr_array_header_t *claims = (apr_array_header_t *)&claims;

    ck_assert_msg(scan_len(&claims, text, len) == IPSIE_ERR_MALFORMED, "accepted %s", text);
    ck_assert_ptr_null(claims);
}

static void assert_refused(const char *text)
{
    assert_refused_len(text, strlen(text));
}

static void assert_claim(const ipsie_claim_t *c, const char *name, const char *value,
                         ipsie_claim_kind_e kind, const char *json)
{
    ck_assert_str_eq(c->name, name);
    ck_assert_str_eq(c->value, value);
    ck_assert_int_eq(c->kind, kind);
    ck_assert_pstr_eq(c->json, json);
    ck_assert_int_eq(c->hidden, 0);
}

/* The single value of {"v": json}. */
static const ipsie_claim_t *only_value(const char *json)
{
    apr_array_header_t *claims = scan_ok(apr_pstrcat(pool, "{\"v\":", json, "}", NULL));

    ck_assert_int_eq(claims->nelts, 1);
    ck_assert_str_eq(CLAIM(claims, 0).name, "v");
    return &CLAIM(claims, 0);
}

static const char *string_value(const char *json)
{
    const ipsie_claim_t *c = only_value(json);

    ck_assert_int_eq(c->kind, IPSIE_CLAIM_STRING);
    return c->value;
}

/* A value refused wherever it stands: as a member's value and as an array element. */
static void assert_value_refused(const char *json)
{
    assert_refused(apr_pstrcat(pool, "{\"v\":", json, "}", NULL));
    assert_refused(apr_pstrcat(pool, "{\"v\":[1,", json, "]}", NULL));
}

/* ---- scan: values ---- */

START_TEST(scan_reads_every_kind_of_value)
{
    apr_array_header_t *claims =
        scan_ok("{\"s\":\"text\",\"n\":-12.5e+3,\"t\":true,\"f\":false,\"z\":null,"
                "\"a\":[\"x\",2],\"o\":{\"k\":[1,{\"m\":null}]}}");

    ck_assert_int_eq(claims->nelts, 7);
    assert_claim(&CLAIM(claims, 0), "s", "text", IPSIE_CLAIM_STRING, NULL);
    assert_claim(&CLAIM(claims, 1), "n", "-12.5e+3", IPSIE_CLAIM_NUMBER, NULL);
    assert_claim(&CLAIM(claims, 2), "t", "true", IPSIE_CLAIM_BOOLEAN, NULL);
    assert_claim(&CLAIM(claims, 3), "f", "false", IPSIE_CLAIM_BOOLEAN, NULL);
    assert_claim(&CLAIM(claims, 4), "z", "", IPSIE_CLAIM_NULL, NULL);
    assert_claim(&CLAIM(claims, 5), "a", "x,2", IPSIE_CLAIM_ARRAY, "[\"x\",2]");
    assert_claim(&CLAIM(claims, 6), "o", "{\"k\":[1,{\"m\":null}]}", IPSIE_CLAIM_OBJECT, NULL);
}
END_TEST

START_TEST(scan_keeps_document_order)
{
    apr_array_header_t *claims = scan_ok("{\"zeta\":1,\"alpha\":2,\"mid\":3,\"Alpha\":4}");

    ck_assert_int_eq(claims->nelts, 4);
    ck_assert_str_eq(CLAIM(claims, 0).name, "zeta");
    ck_assert_str_eq(CLAIM(claims, 1).name, "alpha");
    ck_assert_str_eq(CLAIM(claims, 2).name, "mid");
    ck_assert_str_eq(CLAIM(claims, 3).name, "Alpha");
    ck_assert_str_eq(CLAIM(claims, 3).value, "4");
}
END_TEST

START_TEST(scan_keeps_numbers_as_written)
{
    static const char *const numbers[] = {
        "0",
        "-0",
        "7",
        "-7",
        "0.5",
        "-0.0",
        "1e5",
        "1E5",
        "1e+05",
        "2.5E-3",
        "100",
        "1.10",
        "12345678901234567890123456789",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        const ipsie_claim_t *c = only_value(numbers[i]);
        ck_assert_int_eq(c->kind, IPSIE_CLAIM_NUMBER);
        ck_assert_str_eq(c->value, numbers[i]);
    }
}
END_TEST

START_TEST(scan_of_an_empty_object_gives_no_claims)
{
    ck_assert_int_eq(scan_ok("{}")->nelts, 0);
    ck_assert_int_eq(scan_ok(" { \n } ")->nelts, 0);
}
END_TEST

START_TEST(scan_reads_thousands_of_claims_in_order)
{
    apr_array_header_t *claims;
    char *text = "{";
    int i;

    for (i = 0; i < 3000; i++) {
        text = apr_psprintf(pool, "%s%s\"c%d\":%d", text, i ? "," : "", i, i);
    }
    claims = scan_ok(apr_pstrcat(pool, text, "}", NULL));
    ck_assert_int_eq(claims->nelts, 3000);
    for (i = 0; i < 3000; i++) {
        ck_assert_str_eq(CLAIM(claims, i).name, apr_psprintf(pool, "c%d", i));
        ck_assert_str_eq(CLAIM(claims, i).value, apr_psprintf(pool, "%d", i));
    }
}
END_TEST

/* ---- scan: escapes ---- */

START_TEST(scan_unescapes_the_two_character_escapes)
{
    ck_assert_str_eq(string_value("\"\\/\\b\\f\\n\\r\\t\\\"\\\\\""), "/\b\f\n\r\t\"\\");
    ck_assert_str_eq(string_value("\"a\\\\nb\""), "a\\nb");
    ck_assert_str_eq(string_value("\"\\\\\\\"\""), "\\\"");
}
END_TEST

START_TEST(scan_decodes_u_escapes_to_utf8)
{
    ck_assert_str_eq(string_value("\"\\u0041\\u007f\""), "A\x7f");
    ck_assert_str_eq(string_value("\"caf\\u00e9\""), "caf\xc3\xa9");
    ck_assert_str_eq(string_value("\"caf\\u00E9\""), "caf\xc3\xa9");
    ck_assert_str_eq(string_value("\"\\u20ac5\""), "\xe2\x82\xac"
                                                   "5");
    ck_assert_str_eq(string_value("\"\\u0001\\u001f\""), "\x01\x1f");
    ck_assert_str_eq(string_value("\"\\u07ff\\u0800\\uffff\""), "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
}
END_TEST

START_TEST(scan_joins_a_surrogate_pair_into_four_utf8_bytes)
{
    ck_assert_str_eq(string_value("\"\\ud83d\\ude00\""), "\xf0\x9f\x98\x80");
    ck_assert_str_eq(string_value("\"x\\uD83D\\uDE00y\""), "x\xf0\x9f\x98\x80y");
    ck_assert_str_eq(string_value("\"\\ud800\\udc00\""), "\xf0\x90\x80\x80");
    ck_assert_str_eq(string_value("\"\\udbff\\udfff\""), "\xf4\x8f\xbf\xbf");
}
END_TEST

START_TEST(scan_unescapes_member_names_too)
{
    apr_array_header_t *claims = scan_ok("{\"n\\u00e9\\/x\":1,\"a\\\"b\":2}");

    ck_assert_str_eq(CLAIM(claims, 0).name, "n\xc3\xa9/x");
    ck_assert_str_eq(CLAIM(claims, 1).name, "a\"b");
}
END_TEST

START_TEST(scan_keeps_raw_utf8_as_written)
{
    ck_assert_str_eq(string_value("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
                     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}
END_TEST

START_TEST(scan_refuses_an_escaped_nul)
{
    assert_value_refused("\"\\u0000\"");
    assert_value_refused("\"alice\\u0000admin\"");
    assert_refused("{\"a\\u0000b\":1}");
    assert_refused("{\"v\":{\"\\u0000\":1}}");
}
END_TEST

START_TEST(scan_refuses_lone_surrogates)
{
    static const char *const bad[] = {
        "\"\\ud800\"",         "\"\\udbff\"",        "\"\\udc00\"",        "\"\\udfff\"",
        "\"\\ud800x\"",        "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\udc00\\ud800\"",
        "\"\\ud800\\n\"",      "\"\\ud83d\\ude0\"",  "\"\\ud83d\\\"",      "\"\\ud83d\\u\"",
        "\"a\\ude00\\ud83d\"", "\"\\ud83d\\uzzzz\"",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_value_refused(bad[i]);
    }
    assert_refused("{\"\\ud800\":1}");
}
END_TEST

START_TEST(scan_refuses_bad_and_unknown_escapes)
{
    static const char *const bad[] = {
        "\"\\x41\"", "\"\\u12G4\"", "\"\\u123\"", "\"\\u\"", "\"\\'\"",     "\"\\U0041\"",
        "\"\\a\"",   "\"\\0\"",     "\"\\ \"",    "\"\\\"",  "\"\\u-123\"", "\"\\u 123\"",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_value_refused(bad[i]);
    }
    /* An escape cut short by the end of the input. */
    assert_refused("{\"v\":\"\\");
    assert_refused("{\"v\":\"\\u00");
    assert_refused("{\"v\":\"\\ud83d\\ude0");
}
END_TEST

START_TEST(scan_refuses_raw_control_characters_in_strings)
{
    char value[] = "\"a?b\"";
    char name[] = "{\"a?b\":1}";
    char raw_nul[] = "{\"v\":\"a\0b\"}";
    int ch;

    for (ch = 0x01; ch < 0x20; ch++) {
        value[2] = (char)ch;
        name[3] = (char)ch;
        assert_value_refused(value);
        assert_refused(name);
    }
    assert_refused_len(raw_nul, sizeof(raw_nul) - 1);
    /* DEL is no control character to JSON. */
    value[2] = 0x7f;
    ck_assert_str_eq(string_value(value), "a\x7f"
                                          "b");
}
END_TEST

START_TEST(scan_refuses_an_unterminated_string)
{
    assert_refused("{\"v\":\"abc");
    assert_refused("{\"v\":\"abc\\\"}");
    assert_refused("{\"v");
    assert_refused("{\"");
    assert_refused("{\"v\":[\"a}");
}
END_TEST

/* ---- scan: structure ---- */

START_TEST(scan_refuses_malformed_members)
{
    static const char *const bad[] = {
        "{\"a\":1,}",
        "{,}",
        "{,\"a\":1}",
        "{\"a\":1,,\"b\":2}",
        "{\"a\" 1}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\"::1}",
        "{\"a\":1 \"b\":2}",
        "{'a':1}",
        "{a:1}",
        "{1:1}",
        "{\"a\":1",
        "{\"a\":1,",
        "{",
        "{\"a\":[1,]}",
        "{\"a\":[,1]}",
        "{\"a\":[1 2]}",
        "{\"a\":{\"b\"}}",
        "{\"a\":{\"b\":1,}}",
        "{\"a\":[1}",
        "{\"a\":{]}",
        "{\"a\":{\"b\":1]}",
        "{\"a\":[1,2}",
        "{\"a\":tru}",
        "{\"a\":True}",
        "{\"a\":nul}",
        "{\"a\":truex}",
        "{\"a\":fals}",
        "{\"a\":nulll}",
        "{\"a\":'x'}",
        "{\"a\":undefined}",
        "{\"a\":[\"x\":1]}",
        "{\"a\":1}{",
        "{\"a\":\"x\"\"y\"}",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(bad[i]);
    }
}
END_TEST

START_TEST(scan_refuses_numbers_json_does_not_allow)
{
    static const char *const bad[] = {
        "01",    "-01", "00",       "-",         "1.",    "1.e5",  "1e",
        "1e+",   "1E-", ".5",       "-.5",       "+1",    "--1",   "0x10",
        "1_000", "NaN", "Infinity", "-Infinity", "1.5.2", "1e5e5", "- 1",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_value_refused(bad[i]);
    }
}
END_TEST

START_TEST(scan_refuses_a_top_level_that_is_not_an_object)
{
    static const char *const bad[] = {
        "[]", "[{\"a\":1}]", "\"s\"", "1", "true", "null", "   ", "}", "x{}",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(bad[i]);
    }
}
END_TEST

START_TEST(scan_refuses_trailing_text)
{
    static const char *const bad[] = {
        "{} {}", "{}x", "{\"a\":1}}", "{\"a\":1},", "{} \n 1", "{}]", "{}\f",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(bad[i]);
    }
    /* A NUL after the object is text too, where the length includes it. */
    assert_refused_len("{}\0", 3);
}
END_TEST

START_TEST(scan_refuses_empty_and_null_input)
{
    apr_array_header_t *claims = (apr_array_header_t *)&claims;

    assert_refused_len("", 0);
    ck_assert_int_eq(ipsie_claims_scan(&claims, NULL, 0, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(claims);
    claims = (apr_array_header_t *)&claims;
    ck_assert_int_eq(ipsie_claims_scan(&claims, NULL, 10, pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(scan_reads_only_the_given_length)
{
    static const char text[] = "{\"a\":1}";

    assert_refused_len(text, sizeof(text) - 2);
    assert_refused_len(text, 1);
    ck_assert_int_eq(scan_ok(text)->nelts, 1);
}
END_TEST

/* {"v":[[...]]}: depth containers in all, the object itself counted. */
static const char *nested_arrays(int depth)
{
    char *text = apr_palloc(pool, (apr_size_t)depth * 2 + 8);
    char *d = text;
    int i;

    memcpy(d, "{\"v\":", 5);
    d += 5;
    for (i = 1; i < depth; i++) {
        *d++ = '[';
    }
    for (i = 1; i < depth; i++) {
        *d++ = ']';
    }
    *d++ = '}';
    *d = '\0';
    return text;
}

/* {"v":{"v":...{}...}}: depth objects in all. */
static const char *nested_objects(int depth)
{
    const char *text = "{}";
    int i;

    for (i = 1; i < depth; i++) {
        text = apr_pstrcat(pool, "{\"v\":", text, "}", NULL);
    }
    return text;
}

START_TEST(scan_accepts_nesting_of_32_and_refuses_33)
{
    ck_assert_int_eq(scan_ok(nested_arrays(32))->nelts, 1);
    assert_refused(nested_arrays(33));
    ck_assert_int_eq(scan_ok(nested_objects(32))->nelts, 1);
    assert_refused(nested_objects(33));
    /* Far deeper input is refused without exhausting the stack. */
    assert_refused(nested_arrays(200000));
}
END_TEST

START_TEST(scan_tolerates_whitespace_wherever_json_allows_it)
{
    apr_array_header_t *claims =
        scan_ok(" \t\r\n{ \t\r\n\"a\" \n: \r[ 1 ,\t\"b\" ,\n[ ] ] , \"c\"\t:\t{ \"d\" : null } ,"
                "\"e\" : \"x y\" \n}\r\n\t ");

    ck_assert_int_eq(claims->nelts, 3);
    assert_claim(&CLAIM(claims, 0), "a", "1,b,[ ]", IPSIE_CLAIM_ARRAY, "[ 1 ,\t\"b\" ,\n[ ] ]");
    assert_claim(&CLAIM(claims, 1), "c", "{ \"d\" : null }", IPSIE_CLAIM_OBJECT, NULL);
    assert_claim(&CLAIM(claims, 2), "e", "x y", IPSIE_CLAIM_STRING, NULL);
}
END_TEST

START_TEST(scan_refuses_whitespace_json_does_not_know)
{
    assert_refused("\f{}");
    assert_refused("{\v\"a\":1}");
    assert_refused("{\"a\":\f1}");
    assert_refused("{\"a\":[1,\xc2\xa0"
                   "2]}");
}
END_TEST

/* ---- arrays ---- */

START_TEST(array_value_joins_elements_of_mixed_kinds)
{
    const ipsie_claim_t *c = only_value("[\"a\",1,-2.5e3,true,false,null,\"x,y\",\"caf\\u00e9\"]");

    ck_assert_int_eq(c->kind, IPSIE_CLAIM_ARRAY);
    ck_assert_str_eq(c->value, "a,1,-2.5e3,true,false,,x,y,caf\xc3\xa9");
    ck_assert_str_eq(c->json, "[\"a\",1,-2.5e3,true,false,null,\"x,y\",\"caf\\u00e9\"]");
}
END_TEST

START_TEST(array_value_keeps_nested_elements_as_their_json)
{
    const ipsie_claim_t *c = only_value("[[1,\"2\"],{\"k\":\"v\"},\"z\",[]]");

    ck_assert_str_eq(c->value, "[1,\"2\"],{\"k\":\"v\"},z,[]");
    ck_assert_str_eq(c->json, "[[1,\"2\"],{\"k\":\"v\"},\"z\",[]]");
}
END_TEST

START_TEST(empty_array_is_an_empty_value_with_its_json)
{
    const ipsie_claim_t *c = only_value("[]");

    ck_assert_int_eq(c->kind, IPSIE_CLAIM_ARRAY);
    ck_assert_str_eq(c->value, "");
    ck_assert_str_eq(c->json, "[]");
    c = only_value("[ \n ]");
    ck_assert_str_eq(c->value, "");
    ck_assert_str_eq(c->json, "[ \n ]");
}
END_TEST

START_TEST(only_arrays_keep_their_json)
{
    apr_array_header_t *claims =
        scan_ok("{\"s\":\"[1]\",\"n\":1,\"b\":true,\"z\":null,\"o\":{\"a\":[1]},\"a\":[1]}");
    int i;

    for (i = 0; i < claims->nelts; i++) {
        if (CLAIM(claims, i).kind == IPSIE_CLAIM_ARRAY) {
            ck_assert_str_eq(CLAIM(claims, i).json, "[1]");
        }
        else {
            ck_assert_ptr_null(CLAIM(claims, i).json);
        }
    }
    ck_assert_int_eq(CLAIM(claims, 5).kind, IPSIE_CLAIM_ARRAY);
}
END_TEST

START_TEST(array_holds_matches_whole_elements_only)
{
    const char *json = only_value("[\"staff\",\"a,admin\",\"caf\\u00e9\",\"\"]")->json;

    ck_assert_int_eq(ipsie_claims_array_holds(json, "staff", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "a,admin", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "caf\xc3\xa9", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "admin", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "a", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "Staff", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "staff ", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "caf\\u00e9", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "\"staff\"", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[]", "", pool), 0);
}
END_TEST

START_TEST(array_holds_matches_numbers_and_booleans_by_their_text)
{
    const char *json = "[7, -1.50, 1e3, true, false]";

    ck_assert_int_eq(ipsie_claims_array_holds(json, "7", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "-1.50", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "1e3", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "true", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "false", pool), 1);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "-1.5", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "1000", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds(json, "1", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[\"7\"]", "7", pool), 1);
}
END_TEST

START_TEST(array_holds_never_matches_nested_elements)
{
    ck_assert_int_eq(ipsie_claims_array_holds("[[\"admin\"]]", "admin", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[[\"admin\"]]", "[\"admin\"]", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[{\"admin\":1}]", "admin", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[{\"a\":1}]", "{\"a\":1}", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[[],{}]", "", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[[\"admin\"],\"admin\"]", "admin", pool), 1);
}
END_TEST

START_TEST(array_holds_is_0_for_malformed_array_json)
{
    static const char *const bad[] = {
        "",
        "[",
        "[\"admin\"",
        "[\"admin\",]",
        "[,\"admin\"]",
        "{\"admin\":1}",
        "\"admin\"",
        "[\"admin\"] x",
        "[\"admin\"]]",
        " [\"admin\"]",
        "[\"admin\" \"x\"]",
        "[\"adm\\u0000in\",\"admin\"]",
        "[\"\\ud800\",\"admin\"]",
        "[\"admin\",01]",
        "[\"admin\",tru]",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ipsie_claims_array_holds(bad[i], "admin", pool) == 0, "matched in %s",
                      bad[i]);
    }
    ck_assert_int_eq(ipsie_claims_array_holds(NULL, "admin", pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[\"admin\"]", NULL, pool), 0);
    ck_assert_int_eq(ipsie_claims_array_holds("[\"admin\"]", "admin", pool), 1);
}
END_TEST

/* ---- hide_collisions ---- */

static const char *hidden_names(const apr_array_header_t *claims)
{
    const char *list = "";
    int i;

    for (i = 0; i < claims->nelts; i++) {
        if (CLAIM(claims, i).hidden) {
            list = apr_pstrcat(pool, list, "[", CLAIM(claims, i).name, "]", NULL);
        }
    }
    return list;
}

START_TEST(collisions_leave_only_the_canonical_name)
{
    apr_array_header_t *claims = scan_ok("{\"a-b\":1,\"a_b\":2,\"A_B\":3,\"c\":4}");
    const char *names = NULL;

    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, &names, pool), 2);
    ck_assert_str_eq(hidden_names(claims), "[a-b][A_B]");
    ck_assert_str_eq(names, "a-b A_B");
}
END_TEST

START_TEST(collisions_without_a_canonical_name_hide_the_whole_group)
{
    apr_array_header_t *claims = scan_ok("{\"x.y\":1,\"X-Y\":2,\"z\":3}");
    const char *names = NULL;

    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, &names, pool), 2);
    ck_assert_str_eq(hidden_names(claims), "[x.y][X-Y]");
    ck_assert_str_eq(names, "x.y X-Y");
}
END_TEST

START_TEST(collision_with_the_real_claim_keeps_the_real_one_in_either_order)
{
    apr_array_header_t *before = scan_ok("{\"session-expiry\":1,\"session_expiry\":2}");
    apr_array_header_t *after = scan_ok("{\"session_expiry\":2,\"Session-Expiry\":1}");
    const char *names = NULL;

    ck_assert_int_eq(ipsie_claims_hide_collisions(before, &names, pool), 1);
    ck_assert_str_eq(hidden_names(before), "[session-expiry]");
    ck_assert_str_eq(names, "session-expiry");
    ck_assert_int_eq(ipsie_claims_hide_collisions(after, &names, pool), 1);
    ck_assert_str_eq(hidden_names(after), "[Session-Expiry]");
    ck_assert_str_eq(names, "Session-Expiry");
}
END_TEST

START_TEST(names_collide_by_letters_without_case_and_digits_exactly)
{
    apr_array_header_t *claims = scan_ok("{\"Email\":1,\"email\":2,\"EMAIL\":3,\"a1\":4,\"a2\":5,"
                                         "\"ab\":6,\"a_b\":7,\"a__b\":8,\"a-\":9,\"a\":10}");
    const char *names = NULL;

    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, &names, pool), 2);
    ck_assert_str_eq(hidden_names(claims), "[Email][EMAIL]");
}
END_TEST

START_TEST(non_ascii_bytes_map_like_any_other_character)
{
    /* U+00E9 is two bytes, each mapped like '_': "caf__" is the name it collides with. */
    apr_array_header_t *claims = scan_ok("{\"caf\\u00e9\":1,\"caf__\":2,\"caf_\":3}");

    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, NULL, pool), 1);
    ck_assert_str_eq(hidden_names(claims), "[caf\xc3\xa9]");
}
END_TEST

START_TEST(no_collision_hides_nothing_and_lists_no_names)
{
    apr_array_header_t *claims = scan_ok("{\"sub\":\"a\",\"iss\":\"b\",\"Sub2\":1,\"x-y-z\":2}");
    apr_array_header_t *one = scan_ok("{\"A-B\":1}");
    apr_array_header_t *none = scan_ok("{}");
    const char *names = "unset";

    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, &names, pool), 0);
    ck_assert_ptr_null(names);
    ck_assert_str_eq(hidden_names(claims), "");
    names = "unset";
    ck_assert_int_eq(ipsie_claims_hide_collisions(one, &names, pool), 0);
    ck_assert_ptr_null(names);
    ck_assert_str_eq(hidden_names(one), "");
    names = "unset";
    ck_assert_int_eq(ipsie_claims_hide_collisions(none, &names, pool), 0);
    ck_assert_ptr_null(names);
    ck_assert_int_eq(ipsie_claims_hide_collisions(claims, NULL, pool), 0);
}
END_TEST

START_TEST(collisions_among_256_claims_are_all_found)
{
    apr_array_header_t *distinct, *paired;
    const char *d = "{", *pr = "{";
    const char *names = NULL;
    int i;

    for (i = 0; i < 256; i++) {
        d = apr_psprintf(pool, "%s%s\"claim_%d\":%d", d, i ? "," : "", i, i);
        /* 128 pairs, the upper-case spelling first. */
        pr = apr_psprintf(pool, "%s%s\"%s%d\":%d", pr, i ? "," : "", i % 2 ? "g" : "G", i / 2, i);
    }
    distinct = scan_ok(apr_pstrcat(pool, d, "}", NULL));
    paired = scan_ok(apr_pstrcat(pool, pr, "}", NULL));
    ck_assert_int_eq(distinct->nelts, 256);
    ck_assert_int_eq(ipsie_claims_hide_collisions(distinct, &names, pool), 0);
    ck_assert_ptr_null(names);
    ck_assert_int_eq(paired->nelts, 256);
    ck_assert_int_eq(ipsie_claims_hide_collisions(paired, &names, pool), 128);
    for (i = 0; i < 256; i++) {
        ck_assert_int_eq(CLAIM(paired, i).hidden, i % 2 == 0);
    }
    ck_assert_ptr_nonnull(strstr(names, "G0 G1 G2 "));
    ck_assert_ptr_nonnull(strstr(names, " G127"));
    ck_assert_ptr_null(strstr(names, "g"));
}
END_TEST

/* ---- against jansson ---- */

static apr_uint32_t prng_state;

static apr_uint32_t prng_next(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 17;
    prng_state ^= prng_state << 5;
    return prng_state;
}

static char *put_utf8(char *d, apr_uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    }
    else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* A random code point other than NUL and the surrogates, most often one JSON escapes. */
static apr_uint32_t random_code_point(void)
{
    static const char special[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f";
    apr_uint32_t cp;

    switch (prng_next() % 6) {
    case 0:
        return (apr_uint32_t)(unsigned char)special[prng_next() % (sizeof(special) - 1)];
    case 1:
        return 0x20 + prng_next() % 0x60;
    case 2:
        return 0x80 + prng_next() % 0x780;
    case 3:
        cp = 0x800 + prng_next() % 0xF800;
        return cp >= 0xD800 && cp <= 0xDFFF ? cp - 0x1000 : cp;
    case 4:
        return 0x10000 + prng_next() % 0x100000;
    default:
        return 1 + prng_next() % 0x1f;
    }
}

static const char *random_utf8(apr_size_t max_chars)
{
    apr_size_t n = prng_next() % (max_chars + 1), i;
    char *text = apr_palloc(pool, n * 4 + 1);
    char *d = text;

    for (i = 0; i < n; i++) {
        d = put_utf8(d, random_code_point());
    }
    *d = '\0';
    return text;
}

/* A random value of any kind; strings most often. */
static json_t *random_value(int depth)
{
    json_t *v;
    int i, n;

    switch (prng_next() % (depth < 3 ? 9 : 7)) {
    case 0:
    case 1:
    case 2:
        return json_string(random_utf8(12));
    case 3:
        return json_integer((json_int_t)(apr_int32_t)prng_next() * (json_int_t)prng_next());
    case 4:
        return json_real((double)(apr_int32_t)prng_next() / 1024.0);
    case 5:
        return json_boolean(prng_next() & 1);
    case 6:
        return json_null();
    case 7:
        v = json_array();
        n = (int)(prng_next() % 5);
        for (i = 0; i < n; i++) {
            json_array_append_new(v, random_value(depth + 1));
        }
        return v;
    default:
        v = json_object();
        n = (int)(prng_next() % 4);
        for (i = 0; i < n; i++) {
            json_object_set_new(v, random_utf8(4), random_value(depth + 1));
        }
        return v;
    }
}

START_TEST(scanner_agrees_with_jansson_on_names_and_string_values)
{
    static const size_t flags[] = {
        0,
        JSON_COMPACT,
        JSON_ENSURE_ASCII,
        JSON_ENSURE_ASCII | JSON_COMPACT | JSON_ESCAPE_SLASH,
        JSON_INDENT(2) | JSON_ESCAPE_SLASH,
        JSON_INDENT(4) | JSON_ENSURE_ASCII,
    };
    int object, strings = 0;

    prng_state = 0x5eed1e55u;
    for (object = 0; object < 400; object++) {
        json_t *doc = json_object();
        size_t f;
        int i, members = (int)(prng_next() % 12);

        for (i = 0; i < members; i++) {
            json_object_set_new(doc, apr_psprintf(pool, "%s%d", random_utf8(6), i),
                                random_value(1));
        }
        for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
            char *text = json_dumps(doc, flags[f]);
            apr_array_header_t *claims;
            const char *key;
            json_t *value;

            ck_assert_ptr_nonnull(text);
            claims = scan_ok(text);
            ck_assert_int_eq(claims->nelts, (int)json_object_size(doc));
            i = 0;
            json_object_foreach(doc, key, value)
            {
                const ipsie_claim_t *c = &CLAIM(claims, i);
                ck_assert_str_eq(c->name, key);
                ck_assert_int_eq(c->kind == IPSIE_CLAIM_STRING, json_is_string(value));
                ck_assert_int_eq(c->kind == IPSIE_CLAIM_ARRAY, json_is_array(value));
                ck_assert_int_eq(c->kind == IPSIE_CLAIM_OBJECT, json_is_object(value));
                if (json_is_string(value)) {
                    ck_assert_str_eq(c->value, json_string_value(value));
                    strings++;
                }
                else if (json_is_integer(value)) {
                    ck_assert_str_eq(c->value,
                                     apr_psprintf(pool, "%" APR_INT64_T_FMT,
                                                  (apr_int64_t)json_integer_value(value)));
                }
                else if (json_is_array(value) && json_array_size(value) > 0
                         && json_is_string(json_array_get(value, 0))) {
                    /* The first element's value, whatever escapes it was written with. */
                    ck_assert_int_eq(
                        ipsie_claims_array_holds(c->json,
                                                 json_string_value(json_array_get(value, 0)), pool),
                        1);
                }
                i++;
            }
            free(text);
        }
        json_decref(doc);
    }
    /* The generator did produce strings to compare. */
    ck_assert_int_gt(strings, 1000);
}
END_TEST

static Suite *claims_suite(void)
{
    Suite *s = suite_create("ipsie_claims");
    TCase *scan = tcase_create("scan");
    TCase *refuse = tcase_create("refuse");
    TCase *arrays = tcase_create("arrays");
    TCase *hide = tcase_create("hide_collisions");
    TCase *jansson = tcase_create("jansson");

    tcase_add_checked_fixture(scan, pool_setup, pool_teardown);
    tcase_add_test(scan, scan_reads_every_kind_of_value);
    tcase_add_test(scan, scan_keeps_document_order);
    tcase_add_test(scan, scan_keeps_numbers_as_written);
    tcase_add_test(scan, scan_of_an_empty_object_gives_no_claims);
    tcase_add_test(scan, scan_reads_thousands_of_claims_in_order);
    tcase_add_test(scan, scan_unescapes_the_two_character_escapes);
    tcase_add_test(scan, scan_decodes_u_escapes_to_utf8);
    tcase_add_test(scan, scan_joins_a_surrogate_pair_into_four_utf8_bytes);
    tcase_add_test(scan, scan_unescapes_member_names_too);
    tcase_add_test(scan, scan_keeps_raw_utf8_as_written);
    tcase_add_test(scan, scan_tolerates_whitespace_wherever_json_allows_it);
    tcase_add_test(scan, scan_accepts_nesting_of_32_and_refuses_33);
    suite_add_tcase(s, scan);

    tcase_add_checked_fixture(refuse, pool_setup, pool_teardown);
    tcase_add_test(refuse, scan_refuses_an_escaped_nul);
    tcase_add_test(refuse, scan_refuses_lone_surrogates);
    tcase_add_test(refuse, scan_refuses_bad_and_unknown_escapes);
    tcase_add_test(refuse, scan_refuses_raw_control_characters_in_strings);
    tcase_add_test(refuse, scan_refuses_an_unterminated_string);
    tcase_add_test(refuse, scan_refuses_malformed_members);
    tcase_add_test(refuse, scan_refuses_numbers_json_does_not_allow);
    tcase_add_test(refuse, scan_refuses_a_top_level_that_is_not_an_object);
    tcase_add_test(refuse, scan_refuses_trailing_text);
    tcase_add_test(refuse, scan_refuses_empty_and_null_input);
    tcase_add_test(refuse, scan_reads_only_the_given_length);
    tcase_add_test(refuse, scan_refuses_whitespace_json_does_not_know);
    suite_add_tcase(s, refuse);

    tcase_add_checked_fixture(arrays, pool_setup, pool_teardown);
    tcase_add_test(arrays, array_value_joins_elements_of_mixed_kinds);
    tcase_add_test(arrays, array_value_keeps_nested_elements_as_their_json);
    tcase_add_test(arrays, empty_array_is_an_empty_value_with_its_json);
    tcase_add_test(arrays, only_arrays_keep_their_json);
    tcase_add_test(arrays, array_holds_matches_whole_elements_only);
    tcase_add_test(arrays, array_holds_matches_numbers_and_booleans_by_their_text);
    tcase_add_test(arrays, array_holds_never_matches_nested_elements);
    tcase_add_test(arrays, array_holds_is_0_for_malformed_array_json);
    suite_add_tcase(s, arrays);

    tcase_add_checked_fixture(hide, pool_setup, pool_teardown);
    tcase_add_test(hide, collisions_leave_only_the_canonical_name);
    tcase_add_test(hide, collisions_without_a_canonical_name_hide_the_whole_group);
    tcase_add_test(hide, collision_with_the_real_claim_keeps_the_real_one_in_either_order);
    tcase_add_test(hide, names_collide_by_letters_without_case_and_digits_exactly);
    tcase_add_test(hide, non_ascii_bytes_map_like_any_other_character);
    tcase_add_test(hide, no_collision_hides_nothing_and_lists_no_names);
    tcase_add_test(hide, collisions_among_256_claims_are_all_found);
    suite_add_tcase(s, hide);

    tcase_add_checked_fixture(jansson, pool_setup, pool_teardown);
    tcase_set_timeout(jansson, 60);
    tcase_add_test(jansson, scanner_agrees_with_jansson_on_names_and_string_values);
    suite_add_tcase(s, jansson);
    return s;
}

int main(void)
{
    return run_suite(claims_suite());
}
