/* The page template: the HTML every page of the module is made from, with placeholders for
 * the title, the message and one link. Parsed once, when the configuration is read; each page
 * fills it with HTML-escaped values. */
#ifndef IPSIE_TEMPLATE_H
#define IPSIE_TEMPLATE_H

#include <apr_pools.h>

/* The placeholders, written {{title}}, {{message}}, {{link_url}} and {{link_text}}. */
typedef enum {
    IPSIE_TPL_TITLE,
    IPSIE_TPL_MESSAGE,
    IPSIE_TPL_LINK_URL,
    IPSIE_TPL_LINK_TEXT,
    IPSIE_TPL_FIELDS
} ipsie_template_field_e;

/* The largest template accepted, in bytes. */
#define IPSIE_TEMPLATE_MAX (64 * 1024)

typedef struct ipsie_template ipsie_template_t;

/* The built-in template: one small page, readable on any screen, with no external resource. */
extern const char ipsie_template_builtin[];

/* Parses len bytes of text. APR_SUCCESS, or APR_EINVAL with *err saying why: more than
 * IPSIE_TEMPLATE_MAX bytes, a NUL byte, text that is not UTF-8, a {{ that is not closed, a
 * placeholder other than the four, or no {{message}}. */
apr_status_t ipsie_template_parse(ipsie_template_t **out, const char *text, apr_size_t len,
                                  const char **err, apr_pool_t *p);

/* The page: the template with each placeholder replaced by its value, HTML-escaped (a NULL
 * value is empty). */
char *ipsie_template_render(const ipsie_template_t *t, const char *const values[IPSIE_TPL_FIELDS],
                            apr_pool_t *p);

/* s with & < > " ' escaped for HTML text and attribute values. */
char *ipsie_html_escape(const char *s, apr_pool_t *p);

#endif
