/* Where a script tag goes in an HTML document that arrives in pieces (the session-expiring
 * warning): before the first </head>, else before the first </body>, else at the end; never
 * inside a comment, a tag, a <script>, <style>, <title>, <textarea> or other raw text element.
 * Which responses may be rewritten at all is decided here too. No httpd header. */
#ifndef IPSIE_INJECT_H
#define IPSIE_INJECT_H

#include <apr_pools.h>

/* What the bytes fed so far say. Every result but IPSIE_INJECT_MORE is final: feeding more
 * returns it again. */
typedef enum {
    IPSIE_INJECT_MORE = 0, /* no place yet: pass on what ipsie_inject_pending allows, feed more */
    IPSIE_INJECT_HERE,     /* the tag goes at ipsie_inject_offset */
    IPSIE_INJECT_PRESENT,  /* the document names the marker before any place: leave it alone */
    IPSIE_INJECT_UNSAFE    /* not an ASCII-compatible document (a UTF-16/32 byte order mark) */
} ipsie_inject_e;

/* The most bytes ipsie_inject_pending ever asks to hold back: "</body" and one more. */
#define IPSIE_INJECT_PENDING_MAX 7

typedef struct ipsie_inject_t ipsie_inject_t;

/* A scanner at the start of a document; marker (e.g. "/app/redirect_uri?warning.js") is text
 * whose presence before the place means the document carries the script already. */
ipsie_inject_t *ipsie_inject_create(const char *marker, apr_pool_t *p);

/* Scan len more bytes of the document. */
ipsie_inject_e ipsie_inject_feed(ipsie_inject_t *in, const char *data, apr_size_t len);

/* After IPSIE_INJECT_HERE: where the tag goes, counted in bytes from the document's start. */
apr_off_t ipsie_inject_offset(const ipsie_inject_t *in);

/* After IPSIE_INJECT_MORE: the offset from which the bytes fed so far may still turn out to
 * be the place (an unfinished end tag that may be </head> or </body>), or -1 when all may be
 * passed on. At most IPSIE_INJECT_PENDING_MAX bytes are pending. */
apr_off_t ipsie_inject_pending(const ipsie_inject_t *in);

/* 1 when the document, ending here, may take the tag at its end: it ends between tags, in
 * text, not inside a tag, a comment or a raw text element. */
int ipsie_inject_end_ok(const ipsie_inject_t *in);

/* Why a response is or is not rewritten. */
typedef enum {
    IPSIE_INJECT_RESPONSE_OK = 0,
    IPSIE_INJECT_RESPONSE_NOT_HTML,    /* no text/html content type */
    IPSIE_INJECT_RESPONSE_CHARSET,     /* a charset that is not ASCII-compatible (UTF-16, ...) */
    IPSIE_INJECT_RESPONSE_ENCODED,     /* a Content-Encoding other than identity */
    IPSIE_INJECT_RESPONSE_NO_TRANSFORM /* Cache-Control: no-transform */
} ipsie_inject_response_e;

/* Whether a response with these header values (each may be NULL) may be rewritten. */
ipsie_inject_response_e ipsie_inject_response(const char *content_type,
                                              const char *content_encoding,
                                              const char *cache_control);

/* The ETag of a rewritten response: a strong one made weak (the body is no longer the same
 * bytes, but means the same), a weak one as it is; NULL stays NULL. */
const char *ipsie_inject_etag(const char *etag, apr_pool_t *p);

#endif
