/* Unit tests of src/ipsie_inject.c: where the warning script goes in a document that arrives
 * in pieces, and which responses are rewritten. */
#include <stdlib.h>

#include "test_support.h"
#include "ipsie/ipsie_inject.h"

#define MARKER "/app/redirect_uri?warning.js"
#define TAG "<SCRIPT>"

/* What a filter does with the scanner: feed the document in pieces of the given sizes (the
 * last repeated), pass on what may be passed, hold back what ipsie_inject_pending asks, and
 * put TAG at the place, or at the end when the document allows. Returns the rewritten document,
 * or the document as it was when the scanner says to leave it alone; *result is the last
 * result. Fails the test when more than IPSIE_INJECT_PENDING_MAX bytes are held back. */
static char *rewrite(ipsie_inject_e *result, const char *doc, const apr_size_t *sizes,
                     size_t nsizes)
{
    ipsie_inject_t *in = ipsie_inject_create(MARKER, pool);
    apr_size_t len = strlen(doc);
    char *out = apr_pcalloc(pool, len + sizeof(TAG) + 1);
    apr_size_t out_len = 0;
    apr_size_t passed = 0; /* bytes of doc passed on */
    apr_size_t fed = 0;
    size_t piece = 0;
    ipsie_inject_e rv = IPSIE_INJECT_MORE;

    while (fed < len) {
        apr_size_t n = sizes[piece < nsizes ? piece : nsizes - 1];
        apr_off_t pending;

        piece++;
        if (n > len - fed) {
            n = len - fed;
        }
        rv = ipsie_inject_feed(in, doc + fed, n);
        fed += n;
        if (rv == IPSIE_INJECT_HERE) {
            apr_size_t at = (apr_size_t)ipsie_inject_offset(in);

            ck_assert_uint_ge(at, passed);
            memcpy(out + out_len, doc + passed, at - passed);
            out_len += at - passed;
            memcpy(out + out_len, TAG, sizeof(TAG) - 1);
            out_len += sizeof(TAG) - 1;
            memcpy(out + out_len, doc + at, len - at);
            *result = rv;
            return out;
        }
        if (rv != IPSIE_INJECT_MORE) {
            *result = rv;
            return apr_pstrdup(pool, doc);
        }
        pending = ipsie_inject_pending(in);
        if (pending < 0) {
            pending = (apr_off_t)fed;
        }
        ck_assert_int_le((apr_off_t)fed - pending, IPSIE_INJECT_PENDING_MAX);
        ck_assert_uint_ge((apr_size_t)pending, passed);
        memcpy(out + out_len, doc + passed, (apr_size_t)pending - passed);
        out_len += (apr_size_t)pending - passed;
        passed = (apr_size_t)pending;
    }
    memcpy(out + out_len, doc + passed, len - passed);
    out_len += len - passed;
    if (ipsie_inject_end_ok(in)) {
        memcpy(out + out_len, TAG, sizeof(TAG) - 1);
    }
    *result = rv;
    return out;
}

/* The document rewritten from one piece. */
static char *rewrite_whole(ipsie_inject_e *result, const char *doc)
{
    apr_size_t all = strlen(doc) > 0 ? strlen(doc) : 1;

    return rewrite(result, doc, &all, 1);
}

/* The same document, rewritten from every split into two pieces and from single bytes, comes
 * out as from one piece. */
static void check_every_split(const char *doc, const char *expected, ipsie_inject_e expect)
{
    ipsie_inject_e rv;
    apr_size_t one = 1;
    apr_size_t i;

    ck_assert_str_eq(rewrite_whole(&rv, doc), expected);
    ck_assert_int_eq(rv, expect);
    ck_assert_str_eq(rewrite(&rv, doc, &one, 1), expected);
    ck_assert_int_eq(rv, expect);
    for (i = 1; i < strlen(doc); i++) {
        apr_size_t sizes[2] = {i, strlen(doc)};

        ck_assert_msg(strcmp(rewrite(&rv, doc, sizes, 2), expected) == 0, "split at %zu of %s",
                      (size_t)i, doc);
        ck_assert_int_eq(rv, expect);
    }
}

START_TEST(goes_before_the_head_end_tag)
{
    check_every_split("<!DOCTYPE html><html><head><title>t</title></head><body>x</body></html>",
                      "<!DOCTYPE html><html><head><title>t</title>" TAG
                      "</head><body>x</body></html>",
                      IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(end_tags_match_without_regard_to_case_and_with_spaces_or_a_slash)
{
    check_every_split("<HTML><HEAD></HEAD >", "<HTML><HEAD>" TAG "</HEAD >", IPSIE_INJECT_HERE);
    check_every_split("<head></Head\n>", "<head>" TAG "</Head\n>", IPSIE_INJECT_HERE);
    check_every_split("<head></head/>", "<head>" TAG "</head/>", IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(goes_before_the_body_end_tag_when_the_head_is_not_closed)
{
    check_every_split("<html><head><title>t</title><body><p>x</p></body></html>",
                      "<html><head><title>t</title><body><p>x</p>" TAG "</body></html>",
                      IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(goes_at_the_end_of_a_fragment_that_ends_in_text)
{
    check_every_split("<p>hello</p>\n", "<p>hello</p>\n" TAG, IPSIE_INJECT_MORE);
    check_every_split("plain text", "plain text" TAG, IPSIE_INJECT_MORE);
    check_every_split("", TAG, IPSIE_INJECT_MORE);
}
END_TEST

START_TEST(not_at_the_end_of_a_document_cut_inside_markup)
{
    const char *const cut[] = {
        "<p>x</p><div class=\"a",      /* in an attribute */
        "<p>x</p><div",                /* in a tag name */
        "<p>x</p><!-- not closed",     /* in a comment */
        "<script>var a = 1;",          /* in a script */
        "<style>p { color: red }",     /* in a style */
        "<p>x</p></bo",                /* in an end tag */
        "<plaintext>all text </head>", /* after <plaintext> nothing is markup */
    };
    size_t i;

    for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        check_every_split(cut[i], cut[i], IPSIE_INJECT_MORE);
    }
}
END_TEST

START_TEST(end_tags_in_comments_scripts_and_raw_text_are_text)
{
    check_every_split("<head><!-- </head> --></head>", "<head><!-- </head> -->" TAG "</head>",
                      IPSIE_INJECT_HERE);
    check_every_split("<head><script>document.write('</head>')</script></head>",
                      "<head><script>document.write('</head>')</script>" TAG "</head>",
                      IPSIE_INJECT_HERE);
    check_every_split("<head><SCRIPT type=x>a</scriptx></body></SCRIPT ></head>",
                      "<head><SCRIPT type=x>a</scriptx></body></SCRIPT >" TAG "</head>",
                      IPSIE_INJECT_HERE);
    check_every_split("<head><style>/* </head> */</style></head>",
                      "<head><style>/* </head> */</style>" TAG "</head>", IPSIE_INJECT_HERE);
    check_every_split("<head><title></head></title></head>",
                      "<head><title></head></title>" TAG "</head>", IPSIE_INJECT_HERE);
    check_every_split("<body><textarea></body></textarea></body>",
                      "<body><textarea></body></textarea>" TAG "</body>", IPSIE_INJECT_HERE);
    check_every_split("<head><noscript></head></noscript></head>",
                      "<head><noscript></head></noscript>" TAG "</head>", IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(end_tags_in_attributes_doctype_and_processing_instructions_are_not_markup)
{
    check_every_split("<head><meta content=\"</head>\" name='</body>'></head>",
                      "<head><meta content=\"</head>\" name='</body>'>" TAG "</head>",
                      IPSIE_INJECT_HERE);
    check_every_split("<!DOCTYPE html \"</head>\"><?xml </body> ?><head></head>",
                      "<!DOCTYPE html \"</head>\"><?xml </body> ?><head>" TAG "</head>",
                      IPSIE_INJECT_HERE);
    /* A quote that does not start a value does not open one. */
    check_every_split("<head><a b\"c></head>", "<head><a b\"c>" TAG "</head>", IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(comments_end_as_browsers_end_them)
{
    check_every_split("<head><!--></head>", "<head><!-->" TAG "</head>", IPSIE_INJECT_HERE);
    check_every_split("<head><!---></head>", "<head><!--->" TAG "</head>", IPSIE_INJECT_HERE);
    check_every_split("<head><!-- a --!></head>", "<head><!-- a --!>" TAG "</head>",
                      IPSIE_INJECT_HERE);
    check_every_split("<head><!-- a -- > </head> --></head>",
                      "<head><!-- a -- > </head> -->" TAG "</head>", IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(names_that_begin_like_head_or_body_are_other_elements)
{
    check_every_split("<header></header></headx></bodyx><p></p></head>",
                      "<header></header></headx></bodyx><p></p>" TAG "</head>", IPSIE_INJECT_HERE);
    check_every_split("a < b c <<</head>", "a < b c <<" TAG "</head>", IPSIE_INJECT_HERE);
    /* "</" and a space open a bogus comment, as in a browser: it runs to the next '>'. */
    check_every_split("</ c </head></body>", "</ c </head>" TAG "</body>", IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(a_document_carrying_the_marker_is_left_alone)
{
    const char *doc = "<head><script src=\"" MARKER "=1\" defer></script></head>";
    const char *later = "<head></head><script src=\"" MARKER "\"></script>";

    check_every_split(doc, doc, IPSIE_INJECT_PRESENT);
    /* Only what comes before the place counts: the script guards against running twice. */
    check_every_split(later, "<head>" TAG "</head><script src=\"" MARKER "\"></script>",
                      IPSIE_INJECT_HERE);
    /* The marker after a false start ("/app/r/app/redirect_uri...") is still found. */
    check_every_split("<p>/app/r/app/redirect_uri?warning.js</p></head>",
                      "<p>/app/r/app/redirect_uri?warning.js</p></head>", IPSIE_INJECT_PRESENT);
}
END_TEST

START_TEST(utf16_and_utf32_documents_are_left_alone)
{
    static const char bom_le[] = "\xFF\xFE<\0h\0";
    static const char bom_be[] = "\xFE\xFF\0<\0h";
    static const char nul_first[] = "\0<\0h";
    ipsie_inject_t *in;

    in = ipsie_inject_create(MARKER, pool);
    ck_assert_int_eq(ipsie_inject_feed(in, bom_le, 1), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_feed(in, bom_le + 1, sizeof(bom_le) - 2), IPSIE_INJECT_UNSAFE);
    ck_assert_int_eq(ipsie_inject_feed(in, "</head>", 7), IPSIE_INJECT_UNSAFE);
    ck_assert(!ipsie_inject_end_ok(in));
    in = ipsie_inject_create(MARKER, pool);
    ck_assert_int_eq(ipsie_inject_feed(in, bom_be, sizeof(bom_be) - 1), IPSIE_INJECT_UNSAFE);
    in = ipsie_inject_create(MARKER, pool);
    ck_assert_int_eq(ipsie_inject_feed(in, nul_first, sizeof(nul_first) - 1), IPSIE_INJECT_UNSAFE);
    /* A UTF-8 byte order mark is ASCII-compatible. */
    check_every_split("\xEF\xBB\xBF<head></head>", "\xEF\xBB\xBF<head>" TAG "</head>",
                      IPSIE_INJECT_HERE);
}
END_TEST

START_TEST(the_offset_counts_from_the_start_of_the_document)
{
    ipsie_inject_t *in = ipsie_inject_create(MARKER, pool);

    ck_assert_int_eq(ipsie_inject_feed(in, "<head><title>abc</title><", 25), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_pending(in), 24);
    ck_assert_int_eq(ipsie_inject_feed(in, "/he", 3), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_pending(in), 24);
    ck_assert_int_eq(ipsie_inject_feed(in, "ad", 2), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_feed(in, ">", 1), IPSIE_INJECT_HERE);
    ck_assert_int_eq(ipsie_inject_offset(in), 24);
    ck_assert_int_eq(ipsie_inject_pending(in), -1);
    /* Final: more input changes nothing. */
    ck_assert_int_eq(ipsie_inject_feed(in, "</body>", 7), IPSIE_INJECT_HERE);
    ck_assert_int_eq(ipsie_inject_offset(in), 24);
}
END_TEST

START_TEST(a_long_end_tag_name_is_not_held_back)
{
    ipsie_inject_t *in = ipsie_inject_create(MARKER, pool);

    ck_assert_int_eq(ipsie_inject_feed(in, "x</heade", 8), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_pending(in), -1);
    ck_assert_int_eq(ipsie_inject_feed(in, "r>", 2), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_pending(in), -1);
}
END_TEST

START_TEST(a_megabyte_of_text_passes_through_and_takes_the_tag_at_its_end)
{
    apr_size_t n = 1024 * 1024;
    char *doc = apr_palloc(pool, n + 1);
    ipsie_inject_t *in = ipsie_inject_create(MARKER, pool);

    memset(doc, 'a', n);
    doc[n] = '\0';
    ck_assert_int_eq(ipsie_inject_feed(in, doc, n), IPSIE_INJECT_MORE);
    ck_assert_int_eq(ipsie_inject_pending(in), -1);
    ck_assert(ipsie_inject_end_ok(in));
}
END_TEST

START_TEST(random_documents_come_out_the_same_whatever_the_pieces)
{
    /* Bytes of markup, mixed at random: whatever the split, the same result, and never more
     * than IPSIE_INJECT_PENDING_MAX bytes held back (checked inside rewrite). */
    static const char *const parts[] = {
        "<", "</", ">", "head",   "body",     "<!--",     "-->",     "\"",
        "'", "=",  " ", "script", "</script", "<script>", "</head>", "</body>",
        "x", "!",  "-", "/",      "<!",       "?",        "style",   MARKER};
    unsigned int seed = 12345;
    int round;

    for (round = 0; round < 300; round++) {
        char doc[400] = "";
        ipsie_inject_e whole_rv, rv;
        char *whole;
        apr_size_t sizes[3];
        int k;

        while (strlen(doc) < 300) {
            strcat(doc, parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))]);
        }
        whole = rewrite_whole(&whole_rv, doc);
        for (k = 0; k < 5; k++) {
            sizes[0] = 1 + rand_r(&seed) % 9;
            sizes[1] = 1 + rand_r(&seed) % 3;
            sizes[2] = 1 + rand_r(&seed) % 17;
            ck_assert_str_eq(rewrite(&rv, doc, sizes, 3), whole);
            ck_assert_int_eq(rv, whole_rv);
        }
    }
}
END_TEST

START_TEST(html_responses_are_rewritten)
{
    ck_assert_int_eq(ipsie_inject_response("text/html", NULL, NULL), IPSIE_INJECT_RESPONSE_OK);
    ck_assert_int_eq(ipsie_inject_response("text/html; charset=utf-8", "", "private, max-age=0"),
                     IPSIE_INJECT_RESPONSE_OK);
    ck_assert_int_eq(ipsie_inject_response("TEXT/HTML;charset=ISO-8859-1", " identity ", NULL),
                     IPSIE_INJECT_RESPONSE_OK);
    ck_assert_int_eq(
        ipsie_inject_response("text/html ; charset=\"windows-1252\"", "IDENTITY", "no-transformer"),
        IPSIE_INJECT_RESPONSE_OK);
}
END_TEST

START_TEST(other_types_are_not)
{
    const char *const types[] = {NULL,
                                 "",
                                 "text/plain",
                                 "text/htmlx",
                                 "text/htm",
                                 "application/xhtml+xml",
                                 "application/json",
                                 "text/html-sandboxed",
                                 "image/svg+xml"};
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        ck_assert_int_eq(ipsie_inject_response(types[i], NULL, NULL),
                         IPSIE_INJECT_RESPONSE_NOT_HTML);
    }
}
END_TEST

START_TEST(wide_charsets_compressed_bodies_and_no_transform_are_left_alone)
{
    ck_assert_int_eq(ipsie_inject_response("text/html; charset=UTF-16LE", NULL, NULL),
                     IPSIE_INJECT_RESPONSE_CHARSET);
    ck_assert_int_eq(ipsie_inject_response("text/html;foo=bar; charset=\"utf-32\"", NULL, NULL),
                     IPSIE_INJECT_RESPONSE_CHARSET);
    ck_assert_int_eq(ipsie_inject_response("text/html", "gzip", NULL),
                     IPSIE_INJECT_RESPONSE_ENCODED);
    ck_assert_int_eq(ipsie_inject_response("text/html", "br", NULL), IPSIE_INJECT_RESPONSE_ENCODED);
    ck_assert_int_eq(ipsie_inject_response("text/html", "identity, gzip", NULL),
                     IPSIE_INJECT_RESPONSE_ENCODED);
    ck_assert_int_eq(ipsie_inject_response("text/html", NULL, "public, No-Transform"),
                     IPSIE_INJECT_RESPONSE_NO_TRANSFORM);
    ck_assert_int_eq(ipsie_inject_response("text/html", NULL, "no-transform , max-age=5"),
                     IPSIE_INJECT_RESPONSE_NO_TRANSFORM);
}
END_TEST

START_TEST(a_strong_etag_becomes_weak)
{
    ck_assert_str_eq(ipsie_inject_etag("\"abc\"", pool), "W/\"abc\"");
    ck_assert_str_eq(ipsie_inject_etag("W/\"abc\"", pool), "W/\"abc\"");
    ck_assert_ptr_null(ipsie_inject_etag(NULL, pool));
}
END_TEST

static Suite *inject_suite(void)
{
    Suite *s = suite_create("ipsie_inject");
    TCase *place = tcase_create("place");
    TCase *response = tcase_create("response");

    tcase_add_checked_fixture(place, pool_setup, pool_teardown);
    tcase_set_timeout(place, 30);
    tcase_add_test(place, goes_before_the_head_end_tag);
    tcase_add_test(place, end_tags_match_without_regard_to_case_and_with_spaces_or_a_slash);
    tcase_add_test(place, goes_before_the_body_end_tag_when_the_head_is_not_closed);
    tcase_add_test(place, goes_at_the_end_of_a_fragment_that_ends_in_text);
    tcase_add_test(place, not_at_the_end_of_a_document_cut_inside_markup);
    tcase_add_test(place, end_tags_in_comments_scripts_and_raw_text_are_text);
    tcase_add_test(place,
                   end_tags_in_attributes_doctype_and_processing_instructions_are_not_markup);
    tcase_add_test(place, comments_end_as_browsers_end_them);
    tcase_add_test(place, names_that_begin_like_head_or_body_are_other_elements);
    tcase_add_test(place, a_document_carrying_the_marker_is_left_alone);
    tcase_add_test(place, utf16_and_utf32_documents_are_left_alone);
    tcase_add_test(place, the_offset_counts_from_the_start_of_the_document);
    tcase_add_test(place, a_long_end_tag_name_is_not_held_back);
    tcase_add_test(place, a_megabyte_of_text_passes_through_and_takes_the_tag_at_its_end);
    tcase_add_test(place, random_documents_come_out_the_same_whatever_the_pieces);
    suite_add_tcase(s, place);
    tcase_add_checked_fixture(response, pool_setup, pool_teardown);
    tcase_add_test(response, html_responses_are_rewritten);
    tcase_add_test(response, other_types_are_not);
    tcase_add_test(response, wide_charsets_compressed_bodies_and_no_transform_are_left_alone);
    tcase_add_test(response, a_strong_etag_becomes_weak);
    suite_add_tcase(s, response);
    return s;
}

int main(void)
{
    return run_suite(inject_suite());
}
