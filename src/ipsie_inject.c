/* Where a script tag goes in an HTML document that arrives in pieces: a small HTML tokenizer
 * (the states of the HTML standard's tokenizer that decide what is markup and what is text,
 * without building anything) that stops at the first </head> or </body> end tag. */
#include <string.h>

#include <apr_strings.h>

#include "ipsie/ipsie_inject.h"

typedef enum {
    S_DATA,
    S_TAG_OPEN,       /* after '<' */
    S_END_TAG_OPEN,   /* after "</" */
    S_END_TAG_NAME,   /* "</" and letters */
    S_START_TAG_NAME, /* '<' and letters */
    S_ATTRS,          /* inside a tag, after its name */
    S_ATTR_BEFORE_VALUE,
    S_ATTR_DQ,
    S_ATTR_SQ,
    S_ATTR_UNQUOTED,
    S_MARKUP,      /* after "<!" */
    S_MARKUP_DASH, /* after "<!-" */
    S_COMMENT,     /* after "<!--" */
    S_BOGUS,       /* <!DOCTYPE ...>, <?...>, </1...>: up to '>' */
    S_RAW,         /* the text of a raw text element (raw_name) */
    S_RAW_LT,      /* '<' in it */
    S_RAW_END,     /* "</" in it, raw_matched letters of raw_name after */
    S_PLAINTEXT    /* everything after <plaintext> is text */
} state_e;

/* Longest tag name kept: the longest raw text element, "plaintext", fits. */
#define NAME_MAX_LEN 10

/* Elements whose text runs to their own end tag, whatever it holds (HTML's raw text and
 * escapable raw text elements, with noscript as a browser that runs scripts parses it). */
static const char *const raw_elements[] = {"script", "style",   "title",    "textarea", "xmp",
                                           "iframe", "noembed", "noframes", "noscript"};

struct ipsie_inject_t {
    state_e state;
    ipsie_inject_e result;
    apr_off_t pos;       /* bytes fed */
    apr_off_t tag_start; /* offset of the '<' of the tag being read */
    apr_off_t at;        /* the place, after IPSIE_INJECT_HERE */
    char name[NAME_MAX_LEN + 1];
    apr_size_t name_len; /* NAME_MAX_LEN + 1: longer than any name of interest */
    int end_tag;         /* the tag being read is an end tag */
    const char *raw_name;
    apr_size_t raw_matched;
    int dashes; /* '-' just seen in a comment; 2 or more and '>' end it */
    unsigned char first[2];
    const char *marker;
    apr_size_t marker_len;
    apr_size_t *marker_fail; /* Knuth-Morris-Pratt: the longest proper border of each prefix */
    apr_size_t marker_matched;
};

ipsie_inject_t *ipsie_inject_create(const char *marker, apr_pool_t *p)
{
    ipsie_inject_t *in = apr_pcalloc(p, sizeof(*in));
    apr_size_t i, k = 0;

    in->state = S_DATA;
    in->at = -1;
    in->marker = marker;
    in->marker_len = strlen(marker);
    in->marker_fail = apr_pcalloc(p, (in->marker_len + 1) * sizeof(apr_size_t));
    for (i = 1; i < in->marker_len; i++) {
        while (k > 0 && marker[i] != marker[k]) {
            k = in->marker_fail[k - 1];
        }
        if (marker[i] == marker[k]) {
            k++;
        }
        in->marker_fail[i] = k;
    }
    return in;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void name_add(ipsie_inject_t *in, char c)
{
    if (in->name_len < NAME_MAX_LEN) {
        in->name[in->name_len] = lower(c);
        in->name[++in->name_len] = '\0';
    }
    else {
        in->name_len = NAME_MAX_LEN + 1;
    }
}

static int name_is(const ipsie_inject_t *in, const char *name)
{
    return in->name_len <= NAME_MAX_LEN && strcmp(in->name, name) == 0;
}

static void name_start(ipsie_inject_t *in, char c, int end_tag)
{
    in->name_len = 0;
    in->name[0] = '\0';
    in->end_tag = end_tag;
    name_add(in, c);
}

/* The tag just read ends ('>'): what follows it is text, or raw text. */
static state_e after_tag(ipsie_inject_t *in)
{
    size_t i;

    if (in->end_tag) {
        return S_DATA;
    }
    if (name_is(in, "plaintext")) {
        return S_PLAINTEXT;
    }
    for (i = 0; i < sizeof(raw_elements) / sizeof(raw_elements[0]); i++) {
        if (name_is(in, raw_elements[i])) {
            in->raw_name = raw_elements[i];
            return S_RAW;
        }
    }
    return S_DATA;
}

/* One byte of the document at offset pos, in the tokenizer; a byte that ends a state without
 * belonging to it is looked at again in the state it leads to. */
static void step(ipsie_inject_t *in, char c, apr_off_t pos)
{
    for (;;) {
        switch (in->state) {
        case S_DATA:
            if (c == '<') {
                in->tag_start = pos;
                in->state = S_TAG_OPEN;
            }
            return;
        case S_TAG_OPEN:
            if (c == '!') {
                in->state = S_MARKUP;
                return;
            }
            if (c == '/') {
                in->state = S_END_TAG_OPEN;
                return;
            }
            if (c == '?') {
                in->state = S_BOGUS;
                return;
            }
            if (is_alpha(c)) {
                name_start(in, c, 0);
                in->state = S_START_TAG_NAME;
                return;
            }
            in->state = S_DATA; /* a '<' that opens nothing is text */
            continue;
        case S_END_TAG_OPEN:
            if (is_alpha(c)) {
                name_start(in, c, 1);
                in->state = S_END_TAG_NAME;
                return;
            }
            in->state = c == '>' ? S_DATA : S_BOGUS;
            return;
        case S_END_TAG_NAME:
        case S_START_TAG_NAME:
            if (!is_space(c) && c != '/' && c != '>') {
                name_add(in, c);
                return;
            }
            if (in->state == S_END_TAG_NAME && (name_is(in, "head") || name_is(in, "body"))) {
                in->at = in->tag_start;
                in->result = IPSIE_INJECT_HERE;
                return;
            }
            in->state = S_ATTRS;
            continue;
        case S_ATTRS:
            if (c == '>') {
                in->state = after_tag(in);
            }
            else if (c == '=') {
                in->state = S_ATTR_BEFORE_VALUE;
            }
            return;
        case S_ATTR_BEFORE_VALUE:
            if (c == '"') {
                in->state = S_ATTR_DQ;
            }
            else if (c == '\'') {
                in->state = S_ATTR_SQ;
            }
            else if (c == '>') {
                in->state = after_tag(in);
            }
            else if (!is_space(c)) {
                in->state = S_ATTR_UNQUOTED;
            }
            return;
        case S_ATTR_DQ:
            if (c == '"') {
                in->state = S_ATTRS;
            }
            return;
        case S_ATTR_SQ:
            if (c == '\'') {
                in->state = S_ATTRS;
            }
            return;
        case S_ATTR_UNQUOTED:
            if (c == '>') {
                in->state = after_tag(in);
            }
            else if (is_space(c)) {
                in->state = S_ATTRS;
            }
            return;
        case S_MARKUP:
            if (c == '-') {
                in->state = S_MARKUP_DASH;
                return;
            }
            in->state = S_BOGUS;
            continue;
        case S_MARKUP_DASH:
            if (c == '-') {
                /* "<!--" is followed by the comment; "<!-->" and "<!--->" end at once. */
                in->dashes = 2;
                in->state = S_COMMENT;
                return;
            }
            in->state = S_BOGUS;
            continue;
        case S_COMMENT:
            if (c == '-') {
                in->dashes++;
            }
            else if (c == '>' && in->dashes >= 2) {
                in->state = S_DATA;
            }
            else if (!(c == '!' && in->dashes >= 2)) { /* "--!>" ends it too */
                in->dashes = 0;
            }
            return;
        case S_BOGUS:
            if (c == '>') {
                in->state = S_DATA;
            }
            return;
        case S_RAW:
            if (c == '<') {
                in->state = S_RAW_LT;
            }
            return;
        case S_RAW_LT:
            if (c == '/') {
                in->raw_matched = 0;
                in->state = S_RAW_END;
                return;
            }
            in->state = S_RAW;
            continue;
        case S_RAW_END:
            if (in->raw_name[in->raw_matched] != '\0'
                && lower(c) == in->raw_name[in->raw_matched]) {
                in->raw_matched++;
                return;
            }
            if (in->raw_name[in->raw_matched] == '\0' && (is_space(c) || c == '/' || c == '>')) {
                /* The element's own end tag: the rest of the tag as any end tag's. */
                in->end_tag = 1;
                in->state = S_ATTRS;
                continue;
            }
            in->state = S_RAW;
            continue;
        case S_PLAINTEXT:
            return;
        }
    }
}

/* 1 when the marker ends at this byte. */
static int marker_step(ipsie_inject_t *in, char c)
{
    if (in->marker_len == 0) {
        return 0;
    }
    while (in->marker_matched > 0 && c != in->marker[in->marker_matched]) {
        in->marker_matched = in->marker_fail[in->marker_matched - 1];
    }
    if (c == in->marker[in->marker_matched]) {
        in->marker_matched++;
    }
    return in->marker_matched == in->marker_len;
}

ipsie_inject_e ipsie_inject_feed(ipsie_inject_t *in, const char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len && in->result == IPSIE_INJECT_MORE; i++) {
        apr_off_t pos = in->pos++;

        if (pos < 2) {
            in->first[pos] = (unsigned char)data[i];
            /* FE FF, FF FE: UTF-16 (or UTF-32LE) text, which an ASCII tag would break. */
            if (pos == 1
                && ((in->first[0] == 0xFE && in->first[1] == 0xFF)
                    || (in->first[0] == 0xFF && in->first[1] == 0xFE))) {
                in->result = IPSIE_INJECT_UNSAFE;
                break;
            }
        }
        if (pos == 0 && data[i] == '\0') {
            in->result = IPSIE_INJECT_UNSAFE; /* UTF-16BE or UTF-32BE without a mark */
            break;
        }
        if (marker_step(in, data[i])) {
            in->result = IPSIE_INJECT_PRESENT;
            break;
        }
        step(in, data[i], pos);
    }
    return in->result;
}

apr_off_t ipsie_inject_offset(const ipsie_inject_t *in)
{
    return in->at;
}

apr_off_t ipsie_inject_pending(const ipsie_inject_t *in)
{
    if (in->result != IPSIE_INJECT_MORE) {
        return -1;
    }
    switch (in->state) {
    case S_TAG_OPEN:
    case S_END_TAG_OPEN:
        return in->tag_start;
    case S_END_TAG_NAME:
        /* Only as long as the name may still be "head" or "body". */
        return in->name_len <= 4 ? in->tag_start : -1;
    default:
        return -1;
    }
}

int ipsie_inject_end_ok(const ipsie_inject_t *in)
{
    return in->result == IPSIE_INJECT_MORE && (in->state == S_DATA || in->state == S_TAG_OPEN);
}

/* The value of the charset parameter in a content type's parameters (after the media
 * type), without quotes or leading spaces, or NULL; it ends at ';', '"', a space or the end. */
static const char *charset_of(const char *params)
{
    const char *s = params;

    while (s != NULL && *s != '\0') {
        while (*s == ';' || is_space(*s)) {
            s++;
        }
        if (strncasecmp(s, "charset", sizeof("charset") - 1) == 0) {
            const char *v = s + sizeof("charset") - 1;

            while (is_space(*v)) {
                v++;
            }
            if (*v == '=') {
                v++;
                while (is_space(*v) || *v == '"') {
                    v++;
                }
                return v;
            }
        }
        s = strchr(s, ';');
    }
    return NULL;
}

/* 1 when the comma-separated list holds token (without regard to case). */
static int list_has(const char *list, const char *token)
{
    apr_size_t n = strlen(token);
    const char *s = list;

    while (s != NULL && *s != '\0') {
        while (*s == ',' || is_space(*s)) {
            s++;
        }
        if (strncasecmp(s, token, n) == 0) {
            const char *after = s + n;

            while (is_space(*after)) {
                after++;
            }
            if (*after == '\0' || *after == ',') {
                return 1;
            }
        }
        s = strchr(s, ',');
    }
    return 0;
}

/* 1 when a Content-Encoding says the body is as it is: absent, empty or identity. */
static int is_identity(const char *encoding)
{
    const char *s = encoding;
    apr_size_t n;

    if (s == NULL) {
        return 1;
    }
    while (is_space(*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1])) {
        n--;
    }
    return n == 0 || (n == sizeof("identity") - 1 && strncasecmp(s, "identity", n) == 0);
}

ipsie_inject_response_e ipsie_inject_response(const char *content_type,
                                              const char *content_encoding,
                                              const char *cache_control)
{
    /* Charsets in which an ASCII tag is not ASCII bytes. */
    static const char *const wide[] = {"utf-16", "utf-32", "ucs-2", "ucs-4", "ucs2", "ucs4"};
    const char *after;
    const char *charset;
    size_t i;

    if (content_type == NULL) {
        return IPSIE_INJECT_RESPONSE_NOT_HTML;
    }
    while (is_space(*content_type)) {
        content_type++;
    }
    after = content_type + sizeof("text/html") - 1;
    if (strncasecmp(content_type, "text/html", sizeof("text/html") - 1) != 0
        || !(*after == '\0' || *after == ';' || is_space(*after))) {
        return IPSIE_INJECT_RESPONSE_NOT_HTML;
    }
    charset = charset_of(after);
    for (i = 0; charset != NULL && i < sizeof(wide) / sizeof(wide[0]); i++) {
        if (strncasecmp(charset, wide[i], strlen(wide[i])) == 0) {
            return IPSIE_INJECT_RESPONSE_CHARSET;
        }
    }
    if (!is_identity(content_encoding)) {
        return IPSIE_INJECT_RESPONSE_ENCODED;
    }
    if (cache_control != NULL && list_has(cache_control, "no-transform")) {
        return IPSIE_INJECT_RESPONSE_NO_TRANSFORM;
    }
    return IPSIE_INJECT_RESPONSE_OK;
}

const char *ipsie_inject_etag(const char *etag, apr_pool_t *p)
{
    if (etag == NULL || strncmp(etag, "W/", 2) == 0) {
        return etag;
    }
    return apr_pstrcat(p, "W/", etag, NULL);
}
