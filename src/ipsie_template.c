/* The page template: parsed into literal runs and placeholders once, filled per page. */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ipsie/ipsie_template.h"

/* One run of the template: literal text, then (field >= 0) a placeholder. */
typedef struct {
    const char *text;
    apr_size_t len;
    int field;
} part_t;

struct ipsie_template {
    part_t *parts;
    int count;
};

static const char *const field_names[IPSIE_TPL_FIELDS] = {"title", "message", "link_url",
                                                          "link_text"};

const char ipsie_template_builtin[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"robots\" content=\"noindex\">\n"
    "<title>{{title}}</title>\n"
    "<style>\n"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:#1f2328;background:#f6f8fa}\n"
    "main{box-sizing:border-box;max-width:34rem;margin:12vh auto 0;padding:2rem;"
    "background:#fff;border:1px solid #d0d7de;border-radius:8px}\n"
    "h1{font-size:1.4rem;line-height:1.3;margin:0 0 1rem}\n"
    "p{margin:0 0 1.5rem}\n"
    "p:last-child{margin-bottom:0}\n"
    "a{display:inline-block;padding:.5rem 1rem;border-radius:6px;background:#0969da;"
    "color:#fff;text-decoration:none}\n"
    "a:hover,a:focus-visible{background:#0550ae;outline:2px solid #0550ae;outline-offset:2px}\n"
    "@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}"
    "main{background:#161b22;border-color:#30363d}}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<main>\n"
    "<h1>{{title}}</h1>\n"
    "<p>{{message}}</p>\n"
    "<p><a href=\"{{link_url}}\">{{link_text}}</a></p>\n"
    "</main>\n"
    "</body>\n"
    "</html>\n";

/* Is s[0..len) valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF)? */
static int valid_utf8(const unsigned char *s, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        apr_size_t n;
        unsigned long cp;
        apr_size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        }
        else {
            return 0;
        }
        if (len - i <= n) {
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF
            || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

apr_status_t ipsie_template_parse(ipsie_template_t **out, const char *text, apr_size_t len,
                                  const char **err, apr_pool_t *p)
{
    apr_array_header_t *parts = apr_array_make(p, 16, sizeof(part_t));
    ipsie_template_t *t;
    const char *at = text;
    const char *end = text + len;
    int has_message = 0;

    *out = NULL;
    *err = NULL;
    if (text == NULL || len > IPSIE_TEMPLATE_MAX) {
        *err = apr_psprintf(p, "it is larger than %d bytes", IPSIE_TEMPLATE_MAX);
        return APR_EINVAL;
    }
    if (memchr(text, '\0', len) != NULL) {
        *err = "it contains a NUL byte";
        return APR_EINVAL;
    }
    if (!valid_utf8((const unsigned char *)text, len)) {
        *err = "it is not UTF-8";
        return APR_EINVAL;
    }
    while (at < end) {
        const char *open = NULL;
        const char *scan;
        part_t *part = apr_array_push(parts);

        for (scan = at; scan + 1 < end; scan++) {
            if (scan[0] == '{' && scan[1] == '{') {
                open = scan;
                break;
            }
        }
        part->text = at;
        part->field = -1;
        if (open == NULL) {
            part->len = (apr_size_t)(end - at);
            break;
        }
        part->len = (apr_size_t)(open - at);
        {
            const char *name = open + 2;
            const char *close = NULL;
            int f;

            for (scan = name; scan + 1 < end && scan - name <= 32; scan++) {
                if (scan[0] == '}' && scan[1] == '}') {
                    close = scan;
                    break;
                }
            }
            if (close == NULL) {
                *err = apr_psprintf(p, "a {{ at byte %" APR_SIZE_T_FMT " is not closed by }}",
                                    (apr_size_t)(open - text));
                return APR_EINVAL;
            }
            for (f = 0; f < IPSIE_TPL_FIELDS; f++) {
                if ((apr_size_t)(close - name) == strlen(field_names[f])
                    && memcmp(name, field_names[f], strlen(field_names[f])) == 0) {
                    break;
                }
            }
            if (f == IPSIE_TPL_FIELDS) {
                *err = apr_psprintf(p,
                                    "{{%.*s}} is not a placeholder: use {{title}}, {{message}}, "
                                    "{{link_url}} and {{link_text}}",
                                    (int)(close - name), name);
                return APR_EINVAL;
            }
            part->field = f;
            has_message |= f == IPSIE_TPL_MESSAGE;
            at = close + 2;
        }
    }
    if (!has_message) {
        *err = "it has no {{message}}: the page would not say what happened";
        return APR_EINVAL;
    }
    t = apr_pcalloc(p, sizeof(*t));
    t->parts = (part_t *)parts->elts;
    t->count = parts->nelts;
    *out = t;
    return APR_SUCCESS;
}

char *ipsie_html_escape(const char *s, apr_pool_t *p)
{
    apr_size_t extra = 0;
    const char *c;
    char *out;
    char *w;

    if (s == NULL) {
        return apr_pstrdup(p, "");
    }
    for (c = s; *c != '\0'; c++) {
        switch (*c) {
        case '&':
            extra += 4;
            break;
        case '<':
        case '>':
            extra += 3;
            break;
        case '"':
        case '\'':
            extra += 5;
            break;
        default:
            break;
        }
    }
    out = apr_palloc(p, (apr_size_t)(c - s) + extra + 1);
    for (w = out, c = s; *c != '\0'; c++) {
        const char *rep = NULL;

        switch (*c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&#34;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            *w++ = *c;
            continue;
        }
        memcpy(w, rep, strlen(rep));
        w += strlen(rep);
    }
    *w = '\0';
    return out;
}

char *ipsie_template_render(const ipsie_template_t *t, const char *const values[IPSIE_TPL_FIELDS],
                            apr_pool_t *p)
{
    const char *escaped[IPSIE_TPL_FIELDS];
    apr_size_t total = 0;
    char *out;
    char *w;
    int i;

    for (i = 0; i < IPSIE_TPL_FIELDS; i++) {
        escaped[i] = ipsie_html_escape(values[i], p);
    }
    for (i = 0; i < t->count; i++) {
        total += t->parts[i].len;
        if (t->parts[i].field >= 0) {
            total += strlen(escaped[t->parts[i].field]);
        }
    }
    out = apr_palloc(p, total + 1);
    for (w = out, i = 0; i < t->count; i++) {
        memcpy(w, t->parts[i].text, t->parts[i].len);
        w += t->parts[i].len;
        if (t->parts[i].field >= 0) {
            apr_size_t n = strlen(escaped[t->parts[i].field]);

            memcpy(w, escaped[t->parts[i].field], n);
            w += n;
        }
    }
    *w = '\0';
    return out;
}
