/* Unit tests of src/ipsie_template.c. */
#include "test_support.h"
#include "ipsie/ipsie_template.h"

static const char *values[IPSIE_TPL_FIELDS] = {"Sign-in failed", "It did not work.", "/",
                                               "Back to the site"};

static ipsie_template_t *parse_ok(const char *text)
{
    ipsie_template_t *t = NULL;
    const char *err = NULL;

    ck_assert_int_eq(ipsie_template_parse(&t, text, strlen(text), &err, pool), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(t);
    return t;
}

static const char *parse_err(const char *text, apr_size_t len)
{
    ipsie_template_t *t = (ipsie_template_t *)&t;
    const char *err = NULL;

    ck_assert_int_eq(ipsie_template_parse(&t, text, len, &err, pool), APR_EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(err);
    return err;
}

START_TEST(builtin_has_every_field_and_no_external_resource)
{
    char *page = ipsie_template_render(parse_ok(ipsie_template_builtin), values, pool);

    ck_assert_ptr_nonnull(strstr(page, "<html lang=\"en\">"));
    ck_assert_ptr_nonnull(strstr(page, "<title>Sign-in failed</title>"));
    ck_assert_ptr_nonnull(strstr(page, "<h1>Sign-in failed</h1>"));
    ck_assert_ptr_nonnull(strstr(page, "<p>It did not work.</p>"));
    ck_assert_ptr_nonnull(strstr(page, "<a href=\"/\">Back to the site</a>"));
    ck_assert_ptr_null(strstr(page, "{{"));
    ck_assert_ptr_null(strstr(page, "<script"));
    ck_assert_ptr_null(strstr(page, "src="));
    ck_assert_ptr_null(strstr(page, "http:"));
    ck_assert_ptr_null(strstr(page, "https:"));
    ck_assert_ptr_null(strstr(page, "@import"));
}
END_TEST

START_TEST(values_are_escaped_in_text_and_attributes)
{
    const char *hostile[IPSIE_TPL_FIELDS] = {"<script>alert(1)</script>", "a & b",
                                             "/x\" onmouseover=\"alert(1)", "it's"};
    char *page = ipsie_template_render(parse_ok("<a href=\"{{link_url}}\" title='{{link_text}}'>"
                                                "{{title}}</a>{{message}}"),
                                       hostile, pool);

    ck_assert_str_eq(page, "<a href=\"/x&#34; onmouseover=&#34;alert(1)\" title='it&#39;s'>"
                           "&lt;script&gt;alert(1)&lt;/script&gt;</a>a &amp; b");
}
END_TEST

START_TEST(fields_repeat_and_null_values_are_empty)
{
    const char *some[IPSIE_TPL_FIELDS] = {"T", "M", NULL, NULL};

    ck_assert_str_eq(ipsie_template_render(
                         parse_ok("{{title}}-{{title}}|{{message}}|{{link_url}}|"), some, pool),
                     "T-T|M||");
}
END_TEST

START_TEST(text_without_placeholders_around_them_is_kept)
{
    ck_assert_str_eq(ipsie_template_render(parse_ok("{{message}}"), values, pool),
                     "It did not work.");
    ck_assert_str_eq(ipsie_template_render(parse_ok("a { b } }} {{message}} {"), values, pool),
                     "a { b } }} It did not work. {");
    ck_assert_str_eq(ipsie_template_render(parse_ok("Grüße: {{message}} ✓"), values, pool),
                     "Grüße: It did not work. ✓");
}
END_TEST

START_TEST(unknown_placeholder_is_named)
{
    const char *err = parse_err("{{message}} {{titel}}", 21);

    ck_assert_ptr_nonnull(strstr(err, "{{titel}}"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}}{{}}", 15), "{{}}"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{ message }}", 13), "not a placeholder"));
}
END_TEST

START_TEST(unclosed_or_missing_message_is_refused)
{
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} {{title", 19), "not closed"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} {{", 14), "not closed"));
    ck_assert_ptr_nonnull(strstr(parse_err("<h1>{{title}}</h1>", 18), "{{message}}"));
    ck_assert_ptr_nonnull(strstr(parse_err("", 0), "{{message}}"));
}
END_TEST

START_TEST(nul_bytes_bad_utf8_and_size_are_refused)
{
    char *big = apr_palloc(pool, IPSIE_TEMPLATE_MAX + 2);

    ck_assert_ptr_nonnull(strstr(parse_err("{{message}}\0x", 13), "NUL"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} \xff", 13), "UTF-8"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} \xc0\xaf", 14), "UTF-8"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} \xed\xa0\x80", 15), "UTF-8"));
    ck_assert_ptr_nonnull(strstr(parse_err("{{message}} \xe2\x82", 14), "UTF-8"));
    memset(big, 'a', IPSIE_TEMPLATE_MAX + 1);
    memcpy(big, "{{message}}", 11);
    big[IPSIE_TEMPLATE_MAX + 1] = '\0';
    ck_assert_ptr_nonnull(strstr(parse_err(big, IPSIE_TEMPLATE_MAX + 1), "larger"));
    big[IPSIE_TEMPLATE_MAX] = '\0';
    parse_ok(big);
}
END_TEST

START_TEST(escape_handles_every_special_character)
{
    ck_assert_str_eq(ipsie_html_escape("<&>\"'x", pool), "&lt;&amp;&gt;&#34;&#39;x");
    ck_assert_str_eq(ipsie_html_escape("", pool), "");
    ck_assert_str_eq(ipsie_html_escape(NULL, pool), "");
}
END_TEST

static Suite *template_suite(void)
{
    Suite *s = suite_create("ipsie_template");
    TCase *tc = tcase_create("template");

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_add_test(tc, builtin_has_every_field_and_no_external_resource);
    tcase_add_test(tc, values_are_escaped_in_text_and_attributes);
    tcase_add_test(tc, fields_repeat_and_null_values_are_empty);
    tcase_add_test(tc, text_without_placeholders_around_them_is_kept);
    tcase_add_test(tc, unknown_placeholder_is_named);
    tcase_add_test(tc, unclosed_or_missing_message_is_refused);
    tcase_add_test(tc, nul_bytes_bad_utf8_and_size_are_refused);
    tcase_add_test(tc, escape_handles_every_special_character);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(template_suite());
}
