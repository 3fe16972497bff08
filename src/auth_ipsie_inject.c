/* IPSIESessionWarning: an output filter that adds the session-expiring warning's script tag,
 * <script src="<redirect path>?warning.js=<version>" defer></script>, to the HTML pages a
 * session is shown. The body streams through: the place (ipsie_inject) is found as the pieces
 * pass, and at most the few bytes of an unfinished end tag wait for the next piece. What cannot
 * be rewritten safely is passed as it is: HEAD, 204, 206, 304 and redirects, other types than
 * text/html, compressed bodies (the filter runs before mod_deflate's DEFLATE, which compresses
 * the page after it), Cache-Control: no-transform, UTF-16/32 pages, and pages that carry the
 * script. */
#include <httpd.h>
#include <string.h>

#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "auth_ipsie.h"
#include "ipsie/ipsie_inject.h"

APLOG_USE_MODULE(auth_ipsie);

/* Bytes read from the body that go on down the chain before more is read: a large page that
 * comes in one brigade (a static file: one file bucket) is never held whole in memory. */
#define PASS_EVERY 65536

typedef struct {
    ipsie_inject_t *scan;
    apr_bucket_brigade *out;
    const char *tag;
    apr_size_t tag_len;
    char held[IPSIE_INJECT_PENDING_MAX]; /* the last bytes fed: maybe the place's end tag */
    apr_size_t held_len;
    apr_off_t fed;     /* bytes fed to scan */
    apr_size_t unsent; /* bytes fed since ctx->out last went on */
    int done;          /* the tag is in, or will not be: the rest passes as it is */
} inject_ctx_t;

static const char *const response_reasons[] = {
    [IPSIE_INJECT_RESPONSE_OK] = "",
    [IPSIE_INJECT_RESPONSE_NOT_HTML] = "not text/html",
    [IPSIE_INJECT_RESPONSE_CHARSET] = "a charset that is not ASCII-compatible",
    [IPSIE_INJECT_RESPONSE_ENCODED] = "a Content-Encoding (compressed)",
    [IPSIE_INJECT_RESPONSE_NO_TRANSFORM] = "Cache-Control: no-transform",
};

/* A header from either table of the response (err_headers_out goes out too). */
static const char *response_header(const request_rec *r, const char *name)
{
    const char *v = apr_table_get(r->headers_out, name);

    return v != NULL ? v : apr_table_get(r->err_headers_out, name);
}

/* Why the response is passed as it is, or NULL when the tag may go in. */
static const char *not_rewritable(const request_rec *r)
{
    const char *encoding = r->content_encoding;
    ipsie_inject_response_e verdict;

    if (r->header_only) {
        return "HEAD";
    }
    if (r->status < HTTP_OK || r->status == HTTP_NO_CONTENT || r->status == HTTP_PARTIAL_CONTENT
        || ap_is_HTTP_REDIRECT(r->status) || r->status == HTTP_NOT_MODIFIED) {
        return "its status";
    }
    if (response_header(r, "Content-Range") != NULL) {
        return "a Content-Range";
    }
    if (encoding == NULL) {
        encoding = response_header(r, "Content-Encoding");
    }
    verdict = ipsie_inject_response(r->content_type, encoding,
                                    apr_table_get(r->headers_out, "Cache-Control"));
    if (verdict == IPSIE_INJECT_RESPONSE_OK) {
        verdict = ipsie_inject_response(r->content_type, NULL,
                                        apr_table_get(r->err_headers_out, "Cache-Control"));
    }
    return verdict == IPSIE_INJECT_RESPONSE_OK ? NULL : response_reasons[verdict];
}

/* The body will change: its length and its strong validator no longer hold. */
static void note_rewrite(request_rec *r)
{
    const char *etag = apr_table_get(r->headers_out, "ETag");

    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Content-MD5");
    if (etag != NULL) {
        apr_table_setn(r->headers_out, "ETag", ipsie_inject_etag(etag, r->pool));
    }
}

static void emit(inject_ctx_t *ctx, const char *data, apr_size_t len)
{
    if (len > 0) {
        APR_BRIGADE_INSERT_TAIL(ctx->out,
                                apr_bucket_heap_create(data, len, NULL, ctx->out->bucket_alloc));
    }
}

static void emit_held(inject_ctx_t *ctx)
{
    emit(ctx, ctx->held, ctx->held_len);
    ctx->held_len = 0;
}

static void move(inject_ctx_t *ctx, apr_bucket *b)
{
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(ctx->out, b);
}

/* The bucket b (data, len) was fed with the result rv: pass on what may be passed, hold back
 * what may be the place, put the tag in at the place. fed0: the offset of data[0]. */
static apr_status_t place(inject_ctx_t *ctx, apr_bucket *b, const char *data, apr_size_t len,
                          apr_off_t fed0, ipsie_inject_e rv)
{
    apr_off_t held_start = fed0 - (apr_off_t)ctx->held_len;
    apr_off_t at;

    if (rv == IPSIE_INJECT_HERE) {
        at = ipsie_inject_offset(ctx->scan);
        if (at >= fed0) {
            apr_size_t k = (apr_size_t)(at - fed0);

            emit_held(ctx);
            if (k > 0) {
                apr_bucket_split(b, k);
                move(ctx, b);
            }
            emit(ctx, ctx->tag, ctx->tag_len);
        }
        else {
            apr_size_t k = (apr_size_t)(at - held_start);

            emit(ctx, ctx->held, k);
            emit(ctx, ctx->tag, ctx->tag_len);
            emit(ctx, ctx->held + k, ctx->held_len - k);
            ctx->held_len = 0;
        }
        ctx->done = 1;
        return APR_SUCCESS;
    }
    if (rv != IPSIE_INJECT_MORE) {
        emit_held(ctx);
        ctx->done = 1;
        return APR_SUCCESS;
    }
    at = ipsie_inject_pending(ctx->scan);
    if (at < 0) {
        emit_held(ctx);
        move(ctx, b);
        return APR_SUCCESS;
    }
    if (ctx->fed - at > IPSIE_INJECT_PENDING_MAX || at < held_start) {
        return APR_EGENERAL; /* the scanner's promise broken: never rewrite blindly */
    }
    if (at >= fed0) {
        apr_size_t k = (apr_size_t)(at - fed0);

        emit_held(ctx);
        memcpy(ctx->held, data + k, len - k);
        ctx->held_len = len - k;
        if (k > 0) {
            apr_bucket_split(b, k);
            b = APR_BUCKET_NEXT(b);
            move(ctx, APR_BUCKET_PREV(b));
        }
    }
    else {
        apr_size_t k = (apr_size_t)(at - held_start);

        emit(ctx, ctx->held, k);
        memmove(ctx->held, ctx->held + k, ctx->held_len - k);
        memcpy(ctx->held + ctx->held_len - k, data, len);
        ctx->held_len = ctx->held_len - k + len;
    }
    apr_bucket_delete(b); /* its bytes are held */
    return APR_SUCCESS;
}

static apr_status_t warning_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    inject_ctx_t *ctx = f->ctx;
    apr_status_t rv = APR_SUCCESS;

    if (ctx == NULL) {
        const auth_ipsie_settings_t *cfg = auth_ipsie_settings(r->server);
        const char *why = cfg != NULL ? not_rewritable(r) : "no settings";
        const char *src;

        if (why != NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "IPSIE15001: session warning not added: %s", why);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        src = apr_pstrcat(r->pool, cfg->redirect_path, "?warning.js", NULL);
        ctx->scan = ipsie_inject_create(src, r->pool);
        ctx->tag = apr_pstrcat(r->pool, "<script src=\"", ap_escape_html(r->pool, src), "=",
                               auth_ipsie_warning_version, "\" defer></script>", NULL);
        ctx->tag_len = strlen(ctx->tag);
        ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
        note_rewrite(r);
    }
    while (!APR_BRIGADE_EMPTY(bb) && !ctx->done) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;
        apr_off_t fed0;
        ipsie_inject_e verdict;

        if (APR_BUCKET_IS_EOS(b)) {
            /* No </head> or </body>: at the end, when the document ends in text. */
            emit_held(ctx);
            if (ipsie_inject_end_ok(ctx->scan)) {
                emit(ctx, ctx->tag, ctx->tag_len);
            }
            ctx->done = 1;
            break;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            move(ctx, b);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            /* A body that comes slowly (a CGI, a proxied stream): what is here goes now. */
            APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_flush_create(f->c->bucket_alloc));
            rv = ap_pass_brigade(f->next, ctx->out);
            apr_brigade_cleanup(ctx->out);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                          "IPSIE15002: session warning: the response body cannot be read");
            return rv;
        }
        if (len == 0) {
            move(ctx, b);
            continue;
        }
        fed0 = ctx->fed;
        verdict = ipsie_inject_feed(ctx->scan, data, len);
        ctx->fed += (apr_off_t)len;
        if (verdict == IPSIE_INJECT_PRESENT || verdict == IPSIE_INJECT_UNSAFE) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "IPSIE15001: session warning not added: %s",
                          verdict == IPSIE_INJECT_PRESENT ? "the page carries it"
                                                          : "a UTF-16/32 byte order mark");
        }
        rv = place(ctx, b, data, len, fed0, verdict);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "IPSIE15003: session warning: the page scanner held back more than "
                          "it may; the response is cut off");
            return rv;
        }
        ctx->unsent += len;
        if (ctx->unsent >= PASS_EVERY && !ctx->done) {
            ctx->unsent = 0;
            rv = ap_pass_brigade(f->next, ctx->out);
            apr_brigade_cleanup(ctx->out);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
    }
    if (ctx->done) {
        APR_BRIGADE_CONCAT(ctx->out, bb);
        ap_remove_output_filter(f);
    }
    ctx->unsent = 0;
    rv = ap_pass_brigade(f->next, ctx->out);
    apr_brigade_cleanup(ctx->out);
    return rv;
}

void auth_ipsie_inject_register(void)
{
    /* After the resource filters (SSI, mod_substitute, mod_deflate's INFLATE), before
     * DEFLATE (AP_FTYPE_CONTENT_SET): the page is rewritten, then compressed. */
    ap_register_output_filter(AUTH_IPSIE_WARNING_FILTER, warning_filter, NULL,
                              AP_FTYPE_CONTENT_SET - 1);
}

void auth_ipsie_insert_warning(request_rec *r)
{
    auth_ipsie_dir_settings_t dir;

    if (r->main != NULL || auth_ipsie_request_session(r) == NULL
        || auth_ipsie_settings(r->server) == NULL) {
        return;
    }
    auth_ipsie_dir_settings(&dir, r);
    if (dir.session_warning) {
        ap_add_output_filter(AUTH_IPSIE_WARNING_FILTER, NULL, r, r->connection);
    }
}
