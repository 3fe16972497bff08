/* Unit tests of src/ipsie_util.c. */
#include <stdlib.h>

#include "test_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_util.h"

#define ORIGIN "https://host"

static apr_status_t decode(const char *in, unsigned char **out, apr_size_t *len)
{
    return ipsie_b64url_decode(out, len, in, strlen(in), pool);
}

START_TEST(b64url_encodes_rfc4648_vectors_without_padding)
{
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"", 0, pool), "");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"f", 1, pool), "Zg");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"fo", 2, pool), "Zm8");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"foo", 3, pool), "Zm9v");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"foob", 4, pool), "Zm9vYg");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"fooba", 5, pool), "Zm9vYmE");
    ck_assert_str_eq(ipsie_b64url_encode((const unsigned char *)"foobar", 6, pool), "Zm9vYmFy");
}
END_TEST

START_TEST(b64url_uses_url_alphabet_for_62_and_63)
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    ck_assert_str_eq(ipsie_b64url_encode(bytes, sizeof(bytes), pool), "-_-_");
}
END_TEST

START_TEST(b64url_round_trips_every_byte_value_and_length)
{
    unsigned char data[300];
    apr_size_t n, i;

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char)(i * 7 + 3);
    }
    for (n = 0; n <= sizeof(data); n++) {
        unsigned char *out;
        apr_size_t len;
        char *text = ipsie_b64url_encode(data, n, pool);
        ck_assert_int_eq(decode(text, &out, &len), APR_SUCCESS);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(memcmp(out, data, n), 0);
        ck_assert_int_eq(out[len], '\0');
    }
}
END_TEST

START_TEST(b64url_decode_rejects_padding_whitespace_and_foreign_characters)
{
    static const char *bad[] = {
        "Zg==", "Zm8=", "Zm9v\n", " Zm9v", "Zm 9v", "Zm+v", "Zm/v", "Zm9v\t", "Zm.v", "Zm9\x80",
    };
    unsigned char *out;
    apr_size_t len, i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(decode(bad[i], &out, &len) == IPSIE_ERR_MALFORMED, "accepted %s", bad[i]);
        ck_assert_ptr_null(out);
    }
}
END_TEST

START_TEST(b64url_decode_rejects_impossible_lengths)
{
    unsigned char *out;
    apr_size_t len;

    ck_assert_int_eq(decode("Z", &out, &len), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(decode("Zm9vY", &out, &len), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_b64url_decode(&out, &len, NULL, 0, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(b64url_decode_rejects_embedded_nul_within_length)
{
    unsigned char *out;
    apr_size_t len;

    ck_assert_int_eq(ipsie_b64url_decode(&out, &len, "Zm\0v", 4, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(b64url_decode_rejects_non_canonical_trailing_bits)
{
    unsigned char *out;
    apr_size_t len;

    /* "Zg" is canonical for "f"; "Zh" carries the same byte with a stray low bit. */
    ck_assert_int_eq(decode("Zg", &out, &len), APR_SUCCESS);
    ck_assert_int_eq(decode("Zh", &out, &len), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(decode("Zm8", &out, &len), APR_SUCCESS);
    ck_assert_int_eq(decode("Zm9", &out, &len), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(b64url_decode_accepts_empty_input)
{
    unsigned char *out;
    apr_size_t len = 99;

    ck_assert_int_eq(decode("", &out, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq((char *)out, "");
}
END_TEST

START_TEST(random_token_of_32_bytes_is_43_distinct_characters)
{
    char *a = ipsie_random_token(32, pool);
    char *b = ipsie_random_token(32, pool);
    unsigned char *raw;
    apr_size_t len;

    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(decode(a, &raw, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 32);
}
END_TEST

START_TEST(random_bytes_fills_the_buffer)
{
    unsigned char buf[64];
    unsigned char zero[64];
    memset(buf, 0, sizeof(buf));
    memset(zero, 0, sizeof(zero));
    ck_assert_int_eq(ipsie_random_bytes(buf, sizeof(buf)), APR_SUCCESS);
    ck_assert_int_ne(memcmp(buf, zero, sizeof(buf)), 0);
}
END_TEST

START_TEST(ct_streq_matches_only_identical_strings)
{
    ck_assert_int_eq(ipsie_ct_streq("abc", "abc"), 1);
    ck_assert_int_eq(ipsie_ct_streq("", ""), 1);
    ck_assert_int_eq(ipsie_ct_streq("abc", "abd"), 0);
    ck_assert_int_eq(ipsie_ct_streq("abc", "ab"), 0);
    ck_assert_int_eq(ipsie_ct_streq("ab", "abc"), 0);
    ck_assert_int_eq(ipsie_ct_streq("", "a"), 0);
    ck_assert_int_eq(ipsie_ct_streq("ABC", "abc"), 0);
}
END_TEST

START_TEST(ct_streq_null_equals_nothing)
{
    ck_assert_int_eq(ipsie_ct_streq(NULL, NULL), 0);
    ck_assert_int_eq(ipsie_ct_streq(NULL, ""), 0);
    ck_assert_int_eq(ipsie_ct_streq("", NULL), 0);
}
END_TEST

START_TEST(has_control_finds_c0_controls_and_del_only)
{
    ck_assert_int_eq(ipsie_has_control(""), 0);
    ck_assert_int_eq(ipsie_has_control("al ice ~!"), 0);
    ck_assert_int_eq(ipsie_has_control("\xc3\xa9\xc2\x80\xff"), 0);
    ck_assert_int_eq(ipsie_has_control("a\nb"), 1);
    ck_assert_int_eq(ipsie_has_control("\x01"), 1);
    ck_assert_int_eq(ipsie_has_control("ab\x1f"), 1);
    ck_assert_int_eq(ipsie_has_control("\tab"), 1);
    ck_assert_int_eq(ipsie_has_control("ab\x7f"), 1);
}
END_TEST

START_TEST(url_encode_keeps_only_unreserved_characters)
{
    ck_assert_str_eq(ipsie_url_encode("aZ09-._~", pool), "aZ09-._~");
    ck_assert_str_eq(ipsie_url_encode("https://h/p?a=b&c=d e+f", pool),
                     "https%3A%2F%2Fh%2Fp%3Fa%3Db%26c%3Dd%20e%2Bf");
    ck_assert_str_eq(ipsie_url_encode("\xc3\xa9", pool), "%C3%A9");
    ck_assert_str_eq(ipsie_url_encode("", pool), "");
}
END_TEST

START_TEST(url_decode_reverses_encode)
{
    const char *s = "a b/c?d=e&f+g%h\xc3\xa9~";
    char *out;
    ck_assert_int_eq(ipsie_url_decode(&out, ipsie_url_encode(s, pool), 0, pool), APR_SUCCESS);
    ck_assert_str_eq(out, s);
}
END_TEST

START_TEST(url_decode_turns_plus_into_space_only_in_form_mode)
{
    char *out;
    ck_assert_int_eq(ipsie_url_decode(&out, "a+b%2B", 1, pool), APR_SUCCESS);
    ck_assert_str_eq(out, "a b+");
    ck_assert_int_eq(ipsie_url_decode(&out, "a+b%2b", 0, pool), APR_SUCCESS);
    ck_assert_str_eq(out, "a+b+");
}
END_TEST

START_TEST(url_decode_rejects_bad_escapes_and_nul)
{
    static const char *bad[] = {"%", "%4", "a%zz", "%g0", "%0", "x%00y", "%%41"};
    apr_size_t i;
    char *out;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ipsie_url_decode(&out, bad[i], 1, pool) == IPSIE_ERR_MALFORMED, "accepted %s",
                      bad[i]);
        ck_assert_ptr_null(out);
    }
    ck_assert_int_eq(ipsie_url_decode(&out, NULL, 1, pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(form_parse_reads_pairs_and_decodes_them)
{
    apr_table_t *t;
    ck_assert_int_eq(ipsie_form_parse(&t, "code=a%2Fb&state=x+y&flag&empty=&=nameless", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "code"), "a/b");
    ck_assert_str_eq(apr_table_get(t, "state"), "x y");
    ck_assert_str_eq(apr_table_get(t, "flag"), "");
    ck_assert_str_eq(apr_table_get(t, "empty"), "");
    ck_assert_ptr_null(apr_table_get(t, ""));
    ck_assert_int_eq(apr_table_elts(t)->nelts, 4);
}
END_TEST

START_TEST(form_parse_keeps_the_first_of_repeated_names)
{
    apr_table_t *t;
    ck_assert_int_eq(ipsie_form_parse(&t, "state=first&state=second&st%61te=third", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "state"), "first");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
}
END_TEST

START_TEST(form_parse_tolerates_empty_pairs_and_input)
{
    apr_table_t *t;
    ck_assert_int_eq(ipsie_form_parse(&t, "&&a=1&&", pool), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
    ck_assert_int_eq(ipsie_form_parse(&t, "", pool), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(ipsie_form_parse(&t, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
}
END_TEST

START_TEST(form_parse_fails_on_bad_escape_or_nul_anywhere)
{
    apr_table_t *t;
    ck_assert_int_eq(ipsie_form_parse(&t, "a=1&b=%zz", pool), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(ipsie_form_parse(&t, "a=1&b%00=2", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_form_parse(&t, "a=%00", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_form_parse(&t, "a=%4", pool), IPSIE_ERR_MALFORMED);
}
END_TEST

static const char *open_redirects[] = {
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil",
    "\\/evil.com",
    "https://evil.com",
    "https://evil.com/",
    "https://host.evil.com/",
    "https://evilhost/",
    "https://hos/",
    "https://host:444/",
    "https://host:/",
    "https://host:0/",
    "https://host:99999/",
    "https://host:443x/",
    "javascript:alert(1)",
    "JavaScript://host/%0aalert(1)",
    "data:text/html,<script>",
    "http://host/",
    "ftp://host/",
    "https:/host/x",
    "https:host/x",
    "/%0d%0aSet-Cookie:%20a=b",
    "/%0D%0ASet-Cookie",
    "/x%00",
    "/x%7f",
    "/x%",
    "/x%2",
    "/x%zz",
    "/\t/evil.com",
    "/\r\nSet-Cookie: a=b",
    "/a\nb",
    "https://ho\tst/",
    " /x",
    "/x y",
    "/caf\xc3\xa9",
    "https://host@evil.com/",
    "https://user:pw@host/",
    "https://@host/",
    "https://host:443@evil.com/",
    "https://evil.com#@host",
    "https://evil.com?@host",
    "https://evil.com\\@host",
    "https://evil.com%2f@host/",
    "https://[::1]/",
    "https://",
    "https:///x",
    "evil.com",
    "x/y",
    "?a=b",
    "#frag",
    ".",
    "",
};

START_TEST(same_origin_rejects_open_redirect_attempts)
{
    const char *abs;
    apr_size_t i;

    for (i = 0; i < sizeof(open_redirects) / sizeof(open_redirects[0]); i++) {
        apr_status_t rv = ipsie_url_same_origin(&abs, open_redirects[i], ORIGIN, pool);
        ck_assert_msg(rv == IPSIE_ERR_NOT_SAME_ORIGIN, "accepted \"%s\"", open_redirects[i]);
        ck_assert_ptr_null(abs);
    }
}
END_TEST

START_TEST(same_origin_rejects_null_target)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, NULL, ORIGIN, pool), IPSIE_ERR_NOT_SAME_ORIGIN);
}
END_TEST

START_TEST(same_origin_sees_only_up_to_the_first_nul)
{
    /* C strings end at NUL: what follows it can never reach the Location header. */
    const char target[] = "/ok\0https://evil.com";
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, target, ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/ok");
}
END_TEST

START_TEST(same_origin_makes_absolute_paths_absolute)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/a/b?x=1#f", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/a/b?x=1#f");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/a%20b?u=https%3A%2F%2Fevil", ORIGIN, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/a%20b?u=https%3A%2F%2Fevil");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/users/@me", ORIGIN, pool), APR_SUCCESS);
}
END_TEST

START_TEST(same_origin_accepts_exact_origin_urls)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host/x", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/x");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host?q=1", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/?q=1");
}
END_TEST

START_TEST(same_origin_treats_default_port_and_explicit_443_alike)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host:443/x", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/x");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host/x", "https://host:443", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host:443/x");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "http://host:80/", "http://host", pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "https://host:444/", "https://host:443", pool),
                     IPSIE_ERR_NOT_SAME_ORIGIN);
}
END_TEST

START_TEST(same_origin_compares_scheme_and_host_case_insensitively)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "HTTPS://HoSt/Path", ORIGIN, pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "https://host/Path");
}
END_TEST

START_TEST(same_origin_honours_non_default_ports_and_ip_literals)
{
    const char *abs;
    ck_assert_int_eq(
        ipsie_url_same_origin(&abs, "http://127.0.0.1:8080/x", "http://127.0.0.1:8080", pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        ipsie_url_same_origin(&abs, "http://127.0.0.1/x", "http://127.0.0.1:8080", pool),
        IPSIE_ERR_NOT_SAME_ORIGIN);
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "http://[::1]:8080/x", "http://[::1]:8080", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(abs, "http://[::1]:8080/x");
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/y", "http://[::1]:8080/", pool), APR_SUCCESS);
    ck_assert_str_eq(abs, "http://[::1]:8080/y");
}
END_TEST

START_TEST(same_origin_refuses_a_malformed_origin)
{
    const char *abs;
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/", NULL, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/", "host", pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/", "https://host/app", pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_url_same_origin(&abs, "/", "https://u@host", pool), IPSIE_ERR_MALFORMED);
}
END_TEST

START_TEST(same_origin_path_of_a_path_target_is_the_target)
{
    static const char *paths[] = {"/",          "/a/b?x=1#f", "/a%20b?u=https%3A%2F%2Fevil",
                                  "/users/@me", "/?",         "/#"};
    apr_size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *path = NULL;

        ck_assert_int_eq(ipsie_url_same_origin_path(&path, paths[i], ORIGIN, pool), APR_SUCCESS);
        ck_assert_str_eq(path, paths[i]);
        ck_assert_int_eq(ipsie_url_same_origin_path(&path, paths[i], ORIGIN "/", pool),
                         APR_SUCCESS);
        ck_assert_str_eq(path, paths[i]);
    }
}
END_TEST

START_TEST(same_origin_path_of_a_same_origin_url_is_its_path_query_and_fragment)
{
    static const struct {
        const char *target, *origin, *path;
    } cases[] = {
        {"https://host/x", ORIGIN, "/x"},
        {"https://host", ORIGIN, "/"},
        {"https://host/", ORIGIN "/", "/"},
        {"https://host?q=1", ORIGIN, "/?q=1"},
        {"https://host#f", ORIGIN, "/#f"},
        {"https://host/a/b?x=1#f", ORIGIN, "/a/b?x=1#f"},
        {"HTTPS://HoSt/Path", ORIGIN, "/Path"},
        {"https://host:443/x", ORIGIN, "/x"},
        {"https://host/x", "https://host:443", "/x"},
        {"https://host:443/x", "https://host:443/", "/x"},
        {"http://host:80/y", "http://host", "/y"},
        {"http://host/y", "http://host:80", "/y"},
        {"http://127.0.0.1:8080/x?y", "http://127.0.0.1:8080", "/x?y"},
        {"http://[::1]:8080/x", "http://[::1]:8080", "/x"},
        {"/y", "http://[::1]:8080/", "/y"},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = NULL;
        apr_status_t rv = ipsie_url_same_origin_path(&path, cases[i].target, cases[i].origin, pool);

        ck_assert_msg(rv == APR_SUCCESS && path != NULL && strcmp(path, cases[i].path) == 0,
                      "%s against %s: %d %s", cases[i].target, cases[i].origin, rv,
                      path ? path : "(null)");
    }
}
END_TEST

START_TEST(same_origin_path_refuses_what_same_origin_refuses)
{
    const char *path;
    apr_size_t i;

    for (i = 0; i < sizeof(open_redirects) / sizeof(open_redirects[0]); i++) {
        apr_status_t rv = ipsie_url_same_origin_path(&path, open_redirects[i], ORIGIN, pool);
        ck_assert_msg(rv == IPSIE_ERR_NOT_SAME_ORIGIN, "accepted \"%s\"", open_redirects[i]);
        ck_assert_ptr_null(path);
    }
    ck_assert_int_eq(ipsie_url_same_origin_path(&path, NULL, ORIGIN, pool),
                     IPSIE_ERR_NOT_SAME_ORIGIN);
    ck_assert_int_eq(ipsie_url_same_origin_path(&path, "https://host:8443/x", ORIGIN, pool),
                     IPSIE_ERR_NOT_SAME_ORIGIN);
    ck_assert_int_eq(
        ipsie_url_same_origin_path(&path, "http://127.0.0.1/x", "http://127.0.0.1:8080", pool),
        IPSIE_ERR_NOT_SAME_ORIGIN);
    ck_assert_int_eq(ipsie_url_same_origin_path(&path, "/", NULL, pool), IPSIE_ERR_MALFORMED);
    ck_assert_int_eq(ipsie_url_same_origin_path(&path, "/", "https://host/app", pool),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(path);
}
END_TEST

/* ---- header names and browsers ---- */

START_TEST(name_prefix_ignores_case)
{
    ck_assert_int_eq(ipsie_name_has_prefix_loose("OIDC-Claim-Email", "oidc-claim-"), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidc-claim-email", "OIDC-CLAIM-"), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("OIDC-Claim-Email", "oidc-claim-email"), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("OIDC-Clain-Email", "oidc-claim-"), 0);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("X-OIDC-Claim", "oidc-"), 0);
}
END_TEST

START_TEST(name_prefix_takes_dash_and_underscore_alike)
{
    ck_assert_int_eq(ipsie_name_has_prefix_loose("OIDC_Claim_email", "oidc-claim-"), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidc-claim-email", "OIDC_CLAIM_"), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidc_claim-email", "oidc-claim_"), 1);
    /* Only those two are alike: no other punctuation stands in for them. */
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidc.claim.email", "oidc-claim-"), 0);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidcXclaim", "oidc-claim"), 0);
}
END_TEST

START_TEST(name_shorter_than_the_prefix_does_not_have_it)
{
    ck_assert_int_eq(ipsie_name_has_prefix_loose("OIDC-Claim", "oidc-claim-"), 0);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("oidc", "oidc-claim-"), 0);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("", "oidc-"), 0);
}
END_TEST

START_TEST(every_name_has_the_empty_prefix)
{
    ck_assert_int_eq(ipsie_name_has_prefix_loose("Anything", ""), 1);
    ck_assert_int_eq(ipsie_name_has_prefix_loose("", ""), 1);
}
END_TEST

START_TEST(request_without_any_of_the_headers_is_a_browser)
{
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, NULL), 1);
}
END_TEST

START_TEST(xmlhttprequest_in_any_case_is_not_a_browser)
{
    ck_assert_int_eq(ipsie_is_browser("XMLHttpRequest", NULL, NULL), 0);
    ck_assert_int_eq(ipsie_is_browser("xmlhttprequest", NULL, NULL), 0);
    ck_assert_int_eq(ipsie_is_browser("XMLHTTPREQUEST", "navigate", "text/html"), 0);
    /* Another X-Requested-With (an app's name) says nothing. */
    ck_assert_int_eq(ipsie_is_browser("com.example.app", NULL, NULL), 1);
}
END_TEST

START_TEST(sec_fetch_mode_navigate_in_any_case_is_a_browser_others_not)
{
    ck_assert_int_eq(ipsie_is_browser(NULL, "navigate", NULL), 1);
    ck_assert_int_eq(ipsie_is_browser(NULL, "NAVIGATE", NULL), 1);
    ck_assert_int_eq(ipsie_is_browser(NULL, "cors", NULL), 0);
    ck_assert_int_eq(ipsie_is_browser(NULL, "no-cors", NULL), 0);
    ck_assert_int_eq(ipsie_is_browser(NULL, "same-origin", "text/html"), 0);
}
END_TEST

START_TEST(accept_admitting_html_or_any_type_is_a_browser_json_not)
{
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, "application/json"), 0);
    ck_assert_int_eq(ipsie_is_browser(NULL, "navigate", "application/json"), 0);
    ck_assert_int_eq(
        ipsie_is_browser(NULL, NULL,
                         "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        1);
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, "*/*"), 1);
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, "application/json, */*;q=0.1"), 1);
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, "TEXT/HTML"), 1);
    ck_assert_int_eq(ipsie_is_browser(NULL, NULL, "application/json, Text/Html;q=0.5"), 1);
}
END_TEST

/* ---- guessable secrets --------------------------------------------------------------- */

START_TEST(random_secrets_are_not_guessable)
{
    ck_assert_ptr_null(ipsie_secret_weakness("u8J2nV0pX4rQ7sL1wE6tY9bH3mK5cD2fG8aZ0vN4xR7q", 12));
    ck_assert_ptr_null(ipsie_secret_weakness("correct horse battery staple and a long tail", 12));
    ck_assert_ptr_null(ipsie_secret_weakness("6f1c2a9be0d34c7788aa51e2", 6));
}
END_TEST

START_TEST(placeholders_of_documentation_are_guessable)
{
    static const char *const guessable[] = {
        "at least 32 characters, e.g. from: openssl rand -base64 48",
        "replace with the output of: openssl rand -base64 48",
        "change-me: the secret registered at the provider",
        "CHANGEME-CHANGEME-CHANGEME-CHANGEME-1",
        "the secret registered at the provider",
        "my-placeholder-value-for-now-0123456789",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(guessable) / sizeof(guessable[0]); i++) {
        const char *why = ipsie_secret_weakness(guessable[i], 6);
        ck_assert_msg(why != NULL && strstr(why, "placeholder") != NULL, "%s", guessable[i]);
    }
}
END_TEST

START_TEST(repetition_and_few_characters_are_guessable)
{
    ck_assert_str_eq(ipsie_secret_weakness("abcdefgh00000000ijklmnopqrstuvwxyz0123", 12),
                     "it repeats one character 8 times in a row");
    ck_assert_str_eq(ipsie_secret_weakness("abcabcabcabcabcabcabcabcabcabcabcabc", 3),
                     "it is a short pattern repeated");
    ck_assert_str_eq(ipsie_secret_weakness("aabbccaabbccddaabbccaabbccddaabbccdd", 12),
                     "it has too few different characters");
    /* Seven the same is fine; a pattern of 7 is not short. */
    ck_assert_ptr_null(ipsie_secret_weakness("xaaaaaaax-7f3Kq9Lm2Zp8Rt4Vw1Ny6Bc5", 12));
    ck_assert_ptr_null(ipsie_secret_weakness("abcdefgabcdefgabcdefg", 7));
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("ipsie_util");
    TCase *b64 = tcase_create("base64url");
    TCase *rnd = tcase_create("random and compare");
    TCase *url = tcase_create("url and form");
    TCase *org = tcase_create("same origin");
    TCase *req = tcase_create("header names and browsers");

    tcase_add_checked_fixture(b64, pool_setup, pool_teardown);
    tcase_add_test(b64, b64url_encodes_rfc4648_vectors_without_padding);
    tcase_add_test(b64, b64url_uses_url_alphabet_for_62_and_63);
    tcase_add_test(b64, b64url_round_trips_every_byte_value_and_length);
    tcase_add_test(b64, b64url_decode_rejects_padding_whitespace_and_foreign_characters);
    tcase_add_test(b64, b64url_decode_rejects_impossible_lengths);
    tcase_add_test(b64, b64url_decode_rejects_embedded_nul_within_length);
    tcase_add_test(b64, b64url_decode_rejects_non_canonical_trailing_bits);
    tcase_add_test(b64, b64url_decode_accepts_empty_input);
    suite_add_tcase(s, b64);

    tcase_add_checked_fixture(rnd, pool_setup, pool_teardown);
    tcase_add_test(rnd, random_token_of_32_bytes_is_43_distinct_characters);
    tcase_add_test(rnd, random_bytes_fills_the_buffer);
    tcase_add_test(rnd, ct_streq_matches_only_identical_strings);
    tcase_add_test(rnd, ct_streq_null_equals_nothing);
    tcase_add_test(rnd, has_control_finds_c0_controls_and_del_only);
    suite_add_tcase(s, rnd);

    tcase_add_checked_fixture(url, pool_setup, pool_teardown);
    tcase_add_test(url, url_encode_keeps_only_unreserved_characters);
    tcase_add_test(url, url_decode_reverses_encode);
    tcase_add_test(url, url_decode_turns_plus_into_space_only_in_form_mode);
    tcase_add_test(url, url_decode_rejects_bad_escapes_and_nul);
    tcase_add_test(url, form_parse_reads_pairs_and_decodes_them);
    tcase_add_test(url, form_parse_keeps_the_first_of_repeated_names);
    tcase_add_test(url, form_parse_tolerates_empty_pairs_and_input);
    tcase_add_test(url, form_parse_fails_on_bad_escape_or_nul_anywhere);
    suite_add_tcase(s, url);

    tcase_add_checked_fixture(org, pool_setup, pool_teardown);
    tcase_add_test(org, same_origin_rejects_open_redirect_attempts);
    tcase_add_test(org, same_origin_rejects_null_target);
    tcase_add_test(org, same_origin_sees_only_up_to_the_first_nul);
    tcase_add_test(org, same_origin_makes_absolute_paths_absolute);
    tcase_add_test(org, same_origin_accepts_exact_origin_urls);
    tcase_add_test(org, same_origin_treats_default_port_and_explicit_443_alike);
    tcase_add_test(org, same_origin_compares_scheme_and_host_case_insensitively);
    tcase_add_test(org, same_origin_honours_non_default_ports_and_ip_literals);
    tcase_add_test(org, same_origin_refuses_a_malformed_origin);
    tcase_add_test(org, same_origin_path_of_a_path_target_is_the_target);
    tcase_add_test(org, same_origin_path_of_a_same_origin_url_is_its_path_query_and_fragment);
    tcase_add_test(org, same_origin_path_refuses_what_same_origin_refuses);
    suite_add_tcase(s, org);

    tcase_add_checked_fixture(req, pool_setup, pool_teardown);
    tcase_add_test(req, name_prefix_ignores_case);
    tcase_add_test(req, name_prefix_takes_dash_and_underscore_alike);
    tcase_add_test(req, name_shorter_than_the_prefix_does_not_have_it);
    tcase_add_test(req, every_name_has_the_empty_prefix);
    tcase_add_test(req, request_without_any_of_the_headers_is_a_browser);
    tcase_add_test(req, xmlhttprequest_in_any_case_is_not_a_browser);
    tcase_add_test(req, sec_fetch_mode_navigate_in_any_case_is_a_browser_others_not);
    tcase_add_test(req, accept_admitting_html_or_any_type_is_a_browser_json_not);
    tcase_add_test(req, random_secrets_are_not_guessable);
    tcase_add_test(req, placeholders_of_documentation_are_guessable);
    tcase_add_test(req, repetition_and_few_characters_are_guessable);
    suite_add_tcase(s, req);
    return s;
}

int main(void)
{
    return run_suite(util_suite());
}
