/* Unit tests of src/ipsie_cookie.c. */
#include <stdlib.h>

#include "test_support.h"
#include "ipsie/ipsie_cookie.h"

#define NAME "ipsie_session"

/* A value of len characters that shows where each byte came from. */
static char *patterned_value(apr_size_t len)
{
    char *v = apr_palloc(pool, len + 1);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        v[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64];
    }
    v[len] = '\0';
    return v;
}

/* What a browser would send back after the glue set the pieces of a split. */
static apr_table_t *cookies_from_pieces(const apr_array_header_t *pieces)
{
    apr_table_t *t = apr_table_make(pool, 4);
    int i;

    if (pieces->nelts == 1) {
        apr_table_set(t, NAME, APR_ARRAY_IDX(pieces, 0, const char *));
        return t;
    }
    apr_table_set(t, NAME "_chunks", apr_itoa(pool, pieces->nelts));
    for (i = 0; i < pieces->nelts; i++) {
        apr_table_set(t, apr_psprintf(pool, NAME "_%d", i), APR_ARRAY_IDX(pieces, i, const char *));
    }
    return t;
}

START_TEST(find_agrees_with_parse_on_ordinary_and_hostile_headers)
{
    static const char *const headers[] = {
        "ipsie_session=abc",
        "a=1; ipsie_session=abc; b=2",
        "  ipsie_session =  abc  ;x=y",
        "ipsie_session_chunks=2; ipsie_session_0=a; ipsie_session_1=b",
        "ipsie_sessionx=no; xipsie_session=no",
        "IPSIE_SESSION=upper; ipsie_session=lower",
        "ipsie_session; ipsie_session=after-a-bare-name",
        "ipsie_session=; ipsie_session=second",
        ";;; ;ipsie_session=x=y=z;",
        "",
        "=; =x; ipsie_session",
        "ipsie_session=\"quoted\"",
    };
    size_t i;

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *table_value =
            apr_table_get(ipsie_cookie_parse(headers[i], pool), "ipsie_session");
        const char *found = ipsie_cookie_find(headers[i], "ipsie_session", pool);
        if (table_value == NULL) {
            ck_assert_msg(found == NULL, "header %zu: found %s", i, found);
        }
        else {
            ck_assert_msg(found != NULL && strcmp(found, table_value) == 0, "header %zu: %s vs %s",
                          i, found ? found : "(null)", table_value);
        }
    }
    ck_assert_ptr_null(ipsie_cookie_find(NULL, "ipsie_session", pool));
    ck_assert_ptr_null(ipsie_cookie_find("a=b", "", pool));
}
END_TEST

START_TEST(parse_reads_pairs_and_trims_blanks)
{
    apr_table_t *t = ipsie_cookie_parse(" a=1;b = 2 ;\tc=x=y;  d=  ", pool);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "2");
    ck_assert_str_eq(apr_table_get(t, "c"), "x=y");
    ck_assert_str_eq(apr_table_get(t, "d"), "");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 4);
}
END_TEST

START_TEST(parse_skips_pairs_without_equals_or_name)
{
    apr_table_t *t = ipsie_cookie_parse("novalue; =orphan; ;;; =; ok=1;  =  x", pool);
    ck_assert_str_eq(apr_table_get(t, "ok"), "1");
    ck_assert_ptr_null(apr_table_get(t, "novalue"));
    ck_assert_ptr_null(apr_table_get(t, ""));
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
}
END_TEST

START_TEST(parse_keeps_the_first_of_duplicated_names)
{
    apr_table_t *t = ipsie_cookie_parse("s=first; s=second; S=third", pool);
    ck_assert_str_eq(apr_table_get(t, "s"), "first");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
}
END_TEST

START_TEST(parse_keeps_quotes_verbatim)
{
    apr_table_t *t = ipsie_cookie_parse("q=\"abc\"; r=\"; s=\"x", pool);
    ck_assert_str_eq(apr_table_get(t, "q"), "\"abc\"");
    ck_assert_str_eq(apr_table_get(t, "r"), "\"");
    ck_assert_str_eq(apr_table_get(t, "s"), "\"x");
}
END_TEST

START_TEST(parse_handles_empty_and_null_headers)
{
    ck_assert_int_eq(apr_table_elts(ipsie_cookie_parse("", pool))->nelts, 0);
    ck_assert_int_eq(apr_table_elts(ipsie_cookie_parse(NULL, pool))->nelts, 0);
    ck_assert_int_eq(apr_table_elts(ipsie_cookie_parse(";;;   ; ", pool))->nelts, 0);
    ck_assert_int_eq(apr_table_elts(ipsie_cookie_parse("=", pool))->nelts, 0);
}
END_TEST

START_TEST(parse_survives_ten_thousand_pairs)
{
    apr_size_t n = 10000, i;
    struct iovec *vec = apr_palloc(pool, sizeof(*vec) * n);
    apr_table_t *t;

    for (i = 0; i < n; i++) {
        char *pair = apr_psprintf(pool, "c%lu=v%lu; ", (unsigned long)i, (unsigned long)i);
        vec[i].iov_base = pair;
        vec[i].iov_len = strlen(pair);
    }
    t = ipsie_cookie_parse(apr_pstrcatv(pool, vec, n, NULL), pool);
    ck_assert_int_eq(apr_table_elts(t)->nelts, (int)n);
    ck_assert_str_eq(apr_table_get(t, "c9999"), "v9999");
}
END_TEST

START_TEST(parse_survives_ten_thousand_duplicates)
{
    apr_size_t n = 10000, i;
    struct iovec *vec = apr_palloc(pool, sizeof(*vec) * n);
    apr_table_t *t;

    for (i = 0; i < n; i++) {
        vec[i].iov_base = (void *)"dup=x;";
        vec[i].iov_len = 6;
    }
    t = ipsie_cookie_parse(apr_pstrcatv(pool, vec, n, NULL), pool);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
}
END_TEST

START_TEST(parse_keeps_very_long_values_whole)
{
    char *v = patterned_value(100000);
    apr_table_t *t = ipsie_cookie_parse(apr_pstrcat(pool, "a=1; big=", v, "; z=2", NULL), pool);
    ck_assert_str_eq(apr_table_get(t, "big"), v);
    ck_assert_str_eq(apr_table_get(t, "z"), "2");
}
END_TEST

START_TEST(short_value_is_not_chunked)
{
    apr_size_t chunk = 100;
    char *v = patterned_value(chunk - strlen(NAME "="));
    apr_array_header_t *pieces = ipsie_cookie_split(NAME, v, chunk, pool);

    ck_assert_int_eq(pieces->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(pieces, 0, const char *), v);
}
END_TEST

START_TEST(one_byte_over_the_chunk_size_splits_in_two)
{
    apr_size_t chunk = 100;
    char *v = patterned_value(chunk - strlen(NAME "=") + 1);
    apr_array_header_t *pieces = ipsie_cookie_split(NAME, v, chunk, pool);

    ck_assert_int_eq(pieces->nelts, 2);
}
END_TEST

START_TEST(split_and_join_round_trip_around_chunk_boundaries)
{
    apr_size_t chunk = 100;
    apr_size_t room = chunk - strlen(NAME "_0=");
    apr_size_t sizes[] = {0,
                          1,
                          chunk - 15,
                          chunk - 14,
                          chunk - 13,
                          room - 1,
                          room,
                          room + 1,
                          2 * room - 1,
                          2 * room,
                          2 * room + 1,
                          10 * room,
                          10 * room + 1,
                          31 * room,
                          32 * room - 40,
                          32 * room - 22};
    apr_size_t k;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        char *v = patterned_value(sizes[k]);
        apr_array_header_t *pieces = ipsie_cookie_split(NAME, v, chunk, pool);
        const char *joined;
        int i;

        ck_assert_msg(pieces != NULL, "size %lu not split", (unsigned long)sizes[k]);
        for (i = 0; pieces->nelts > 1 && i < pieces->nelts; i++) {
            const char *piece = APR_ARRAY_IDX(pieces, i, const char *);
            ck_assert_uint_le(strlen(apr_psprintf(pool, NAME "_%d=%s", i, piece)), chunk);
            ck_assert_uint_gt(strlen(piece), 0);
        }
        joined = ipsie_cookie_join(cookies_from_pieces(pieces), NAME, pool);
        ck_assert_msg(joined != NULL && strcmp(joined, v) == 0, "size %lu did not round trip",
                      (unsigned long)sizes[k]);
    }
}
END_TEST

START_TEST(split_refuses_values_needing_more_than_32_chunks)
{
    apr_size_t chunk = 100;
    apr_size_t room = chunk - strlen(NAME "_0=");

    /* Ten one-digit chunks and twenty-two two-digit ones hold 32 * room - 22 bytes. */
    ck_assert_ptr_null(ipsie_cookie_split(NAME, patterned_value(32 * room - 21), chunk, pool));
    ck_assert_ptr_null(ipsie_cookie_split(NAME, patterned_value(40 * chunk), chunk, pool));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE01201"));
}
END_TEST

START_TEST(split_refuses_a_chunk_size_smaller_than_the_name)
{
    ck_assert_ptr_null(ipsie_cookie_split(NAME, patterned_value(50), 10, pool));
}
END_TEST

START_TEST(join_reads_an_unchunked_cookie)
{
    apr_table_t *t = ipsie_cookie_parse(NAME "=whole", pool);
    ck_assert_str_eq(ipsie_cookie_join(t, NAME, pool), "whole");
    ck_assert_ptr_null(ipsie_cookie_join(t, "other", pool));
}
END_TEST

START_TEST(join_prefers_chunks_over_a_stale_whole_cookie)
{
    apr_table_t *t =
        ipsie_cookie_parse(NAME "=stale; " NAME "_chunks=2; " NAME "_0=ab; " NAME "_1=cd", pool);
    ck_assert_str_eq(ipsie_cookie_join(t, NAME, pool), "abcd");
}
END_TEST

START_TEST(join_refuses_a_missing_or_empty_chunk)
{
    apr_table_t *t = ipsie_cookie_parse(NAME "_chunks=3; " NAME "_0=a; " NAME "_2=c", pool);
    ck_assert_ptr_null(ipsie_cookie_join(t, NAME, pool));
    t = ipsie_cookie_parse(NAME "_chunks=2; " NAME "_0=a; " NAME "_1=", pool);
    ck_assert_ptr_null(ipsie_cookie_join(t, NAME, pool));
}
END_TEST

START_TEST(join_refuses_bad_chunk_counts)
{
    static const char *bad[] = {"0",  "33", "99", "100", "-1",  "+2", "x",
                                "2x", " 2", "2 ", "0x2", "1.0", "",   "4294967297"};
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_table_t *t = apr_table_make(pool, 4);
        int k;
        apr_table_set(t, NAME "_chunks", bad[i]);
        for (k = 0; k < 40; k++) {
            apr_table_set(t, apr_psprintf(pool, NAME "_%d", k), "piece");
        }
        ck_assert_msg(ipsie_cookie_join(t, NAME, pool) == NULL, "count \"%s\" accepted", bad[i]);
    }
}
END_TEST

START_TEST(join_accepts_exactly_32_chunks)
{
    apr_table_t *t = apr_table_make(pool, 40);
    int k;

    apr_table_set(t, NAME "_chunks", "32");
    for (k = 0; k < 32; k++) {
        apr_table_set(t, apr_psprintf(pool, NAME "_%d", k), "x");
    }
    ck_assert_str_eq(ipsie_cookie_join(t, NAME, pool), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}
END_TEST

/* The Cookie header text a browser sends back for the pieces of a split. */
static const char *header_from_pieces(const apr_array_header_t *pieces)
{
    const char *h;
    int i;

    if (pieces->nelts == 1) {
        return apr_pstrcat(pool, NAME "=", APR_ARRAY_IDX(pieces, 0, const char *), NULL);
    }
    h = apr_psprintf(pool, NAME "_chunks=%d", pieces->nelts);
    for (i = 0; i < pieces->nelts; i++) {
        h = apr_psprintf(pool, "%s; " NAME "_%d=%s", h, i, APR_ARRAY_IDX(pieces, i, const char *));
    }
    return h;
}

START_TEST(split_size_of_one_piece_is_name_equals_value)
{
    apr_size_t sizes[] = {0, 1, 50, 100 - strlen(NAME "=")};
    apr_size_t k;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        char *v = patterned_value(sizes[k]);
        apr_array_header_t *pieces = ipsie_cookie_split(NAME, v, 100, pool);

        ck_assert_int_eq(pieces->nelts, 1);
        ck_assert_uint_eq(ipsie_cookie_split_size(NAME, pieces), strlen(NAME "=") + sizes[k]);
    }
}
END_TEST

START_TEST(split_size_of_several_pieces_is_the_length_of_their_cookie_header)
{
    apr_size_t chunk = 100;
    apr_size_t room = chunk - strlen(NAME "_0=");
    apr_size_t sizes[] = {chunk - strlen(NAME "=") + 1,
                          2 * room,
                          2 * room + 1,
                          9 * room,
                          9 * room + 1,
                          10 * room + 1,
                          31 * room,
                          32 * room - 22};
    apr_size_t k;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        char *v = patterned_value(sizes[k]);
        apr_array_header_t *pieces = ipsie_cookie_split(NAME, v, chunk, pool);
        const char *header;

        ck_assert_msg(pieces != NULL && pieces->nelts > 1, "size %lu not split",
                      (unsigned long)sizes[k]);
        header = header_from_pieces(pieces);
        /* The header is what the browser sends: it reads back as the value. */
        ck_assert_str_eq(ipsie_cookie_join(ipsie_cookie_parse(header, pool), NAME, pool), v);
        ck_assert_msg(ipsie_cookie_split_size(NAME, pieces) == strlen(header),
                      "size %lu in %d pieces: %lu, header has %lu", (unsigned long)sizes[k],
                      pieces->nelts, (unsigned long)ipsie_cookie_split_size(NAME, pieces),
                      (unsigned long)strlen(header));
    }
}
END_TEST

static Suite *cookie_suite(void)
{
    Suite *s = suite_create("ipsie_cookie");
    TCase *parse = tcase_create("parse");
    TCase *chunks = tcase_create("chunks");

    tcase_add_checked_fixture(parse, pool_setup, pool_teardown);
    tcase_add_test(parse, parse_reads_pairs_and_trims_blanks);
    tcase_add_test(parse, find_agrees_with_parse_on_ordinary_and_hostile_headers);
    tcase_add_test(parse, parse_skips_pairs_without_equals_or_name);
    tcase_add_test(parse, parse_keeps_the_first_of_duplicated_names);
    tcase_add_test(parse, parse_keeps_quotes_verbatim);
    tcase_add_test(parse, parse_handles_empty_and_null_headers);
    tcase_add_test(parse, parse_survives_ten_thousand_pairs);
    tcase_add_test(parse, parse_survives_ten_thousand_duplicates);
    tcase_add_test(parse, parse_keeps_very_long_values_whole);
    suite_add_tcase(s, parse);

    tcase_add_checked_fixture(chunks, pool_setup, pool_teardown);
    tcase_add_test(chunks, short_value_is_not_chunked);
    tcase_add_test(chunks, one_byte_over_the_chunk_size_splits_in_two);
    tcase_add_test(chunks, split_and_join_round_trip_around_chunk_boundaries);
    tcase_add_test(chunks, split_refuses_values_needing_more_than_32_chunks);
    tcase_add_test(chunks, split_refuses_a_chunk_size_smaller_than_the_name);
    tcase_add_test(chunks, join_reads_an_unchunked_cookie);
    tcase_add_test(chunks, join_prefers_chunks_over_a_stale_whole_cookie);
    tcase_add_test(chunks, join_refuses_a_missing_or_empty_chunk);
    tcase_add_test(chunks, join_refuses_bad_chunk_counts);
    tcase_add_test(chunks, join_accepts_exactly_32_chunks);
    tcase_add_test(chunks, split_size_of_one_piece_is_name_equals_value);
    tcase_add_test(chunks, split_size_of_several_pieces_is_the_length_of_their_cookie_header);
    suite_add_tcase(s, chunks);
    return s;
}

int main(void)
{
    return run_suite(cookie_suite());
}
