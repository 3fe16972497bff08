/* HTTP client for the OpenID Provider: one libcurl easy handle per call, TLS verified. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_http.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

#define IPSIE_HTTP_USER_AGENT "mod_auth_ipsie"

typedef struct {
    char *data;
    apr_size_t len;
    apr_size_t cap;
    int too_large;
    int no_memory;
} body_buf_t;

apr_status_t ipsie_http_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08000: libcurl global initialisation failed");
        return IPSIE_ERR_HTTP;
    }
    return APR_SUCCESS;
}

/* The URL for a log line, with any userinfo ("user:pass@") masked. */
static const char *url_for_log(const char *url, apr_pool_t *p)
{
    const char *auth = strstr(url, "://");
    const char *at;
    apr_size_t alen;

    if (auth == NULL) {
        return url;
    }
    auth += 3;
    alen = strcspn(auth, "/?#");
    at = memchr(auth, '@', alen);
    if (at == NULL) {
        return url;
    }
    return apr_pstrcat(p, apr_pstrndup(p, url, (apr_size_t)(auth - url)), "***", at, NULL);
}

/* Collects the body on the heap; returning short makes libcurl abort the transfer. */
static size_t body_write_cb(char *ptr, size_t size, size_t nmemb, void *baton)
{
    body_buf_t *buf = baton;
    apr_size_t n = size * nmemb;
    apr_size_t want;
    char *grown;

    if (n == 0) {
        return 0;
    }
    if (n > IPSIE_HTTP_MAX_BODY || buf->len + n > IPSIE_HTTP_MAX_BODY) {
        buf->too_large = 1;
        return 0;
    }
    if (buf->len + n > buf->cap) {
        want = buf->cap ? buf->cap : 16384;
        while (want < buf->len + n) {
            want *= 2;
        }
        if (want > IPSIE_HTTP_MAX_BODY) {
            want = IPSIE_HTTP_MAX_BODY;
        }
        grown = realloc(buf->data, want);
        if (grown == NULL) {
            buf->no_memory = 1;
            return 0;
        }
        buf->data = grown;
        buf->cap = want;
    }
    memcpy(buf->data + buf->len, ptr, n);
    buf->len += n;
    return n;
}

/* At most this many request headers of the caller's, each at most this long. */
#define EXTRA_HEADERS_MAX 8
#define EXTRA_HEADER_LEN_MAX 8192

/* One exchange: GET when form is NULL, otherwise a form POST. */
static apr_status_t http_exchange(ipsie_http_response_t *resp, const char *url, const char *form,
                                  const char *const *extra, const char *basic_user,
                                  const char *basic_pass, const ipsie_http_opts_t *opts,
                                  apr_pool_t *p)
{
    struct curl_header *h = NULL;
    struct curl_header *prev = NULL;
    int i;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    struct curl_slist *more;
    body_buf_t buf;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode cc;
    long timeout = IPSIE_HTTP_DEFAULT_TIMEOUT;
    long timeout_ms;
    long status = 0;
    char *ctype = NULL;
    struct curl_header *cc_header = NULL;
    char *body;
    const char *log_url;
    apr_status_t rv = APR_SUCCESS;

    memset(&buf, 0, sizeof(buf));
    memset(resp, 0, sizeof(*resp));
    errbuf[0] = '\0';
    if (url == NULL) {
        return APR_EINVAL;
    }
    log_url = url_for_log(url, p);
    if (opts != NULL && opts->timeout > 0) {
        timeout = opts->timeout;
    }
    timeout_ms = (long)timeout * 1000;
    if (opts != NULL && opts->deadline > 0) {
        apr_interval_time_t left = opts->deadline - apr_time_now();
        if (left < 1000) {
            ipsie_log(IPSIE_LOG_ERROR,
                      "IPSIE08007: no request to %s: the time allowed for the provider is spent",
                      log_url);
            return IPSIE_ERR_HTTP;
        }
        if (left / 1000 < timeout_ms) {
            timeout_ms = (long)(left / 1000);
        }
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08001: cannot create a libcurl handle for %s", log_url);
        rv = IPSIE_ERR_HTTP;
        goto leave;
    }
    headers = curl_slist_append(NULL, "Accept: application/json");
    if (headers == NULL) {
        rv = APR_ENOMEM;
        goto leave;
    }
    /* Small form bodies: no 100-continue round trip. */
    more = curl_slist_append(headers, "Expect:");
    if (more == NULL) {
        rv = APR_ENOMEM;
        goto leave;
    }
    headers = more;
    for (i = 0; extra != NULL && extra[i] != NULL; i++) {
        /* A header is one line: a CR or LF in it would start another. */
        if (i >= EXTRA_HEADERS_MAX || strlen(extra[i]) > EXTRA_HEADER_LEN_MAX
            || strpbrk(extra[i], "\r\n") != NULL || strchr(extra[i], ':') == NULL) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE08008: a request header for %s is not one", log_url);
            rv = APR_EINVAL;
            goto leave;
        }
        more = curl_slist_append(headers, extra[i]);
        if (more == NULL) {
            rv = APR_ENOMEM;
            goto leave;
        }
        headers = more;
    }

    cc = curl_easy_setopt(curl, CURLOPT_URL, url);
    if (cc != CURLE_OK) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08002: unusable URL %s: %s", log_url,
                  curl_easy_strerror(cc));
        rv = IPSIE_ERR_HTTP;
        goto leave;
    }
    /* Fail closed on a libcurl that cannot be limited to http and https. */
    cc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cc != CURLE_OK) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08006: cannot restrict %s to http(s): %s", log_url,
                  curl_easy_strerror(cc));
        rv = IPSIE_ERR_HTTP;
        goto leave;
    }
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996), and IPSIE SL1 asks for 1.2 or later. */
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (opts != NULL && opts->ca_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, IPSIE_HTTP_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)IPSIE_HTTP_MAX_BODY);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    if (form != NULL) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    }
    if (basic_user != NULL || basic_pass != NULL) {
        /* RFC 6749 2.3.1: both halves are form-urlencoded before they are joined. */
        const char *user = ipsie_url_encode(basic_user ? basic_user : "", p);
        const char *pass = ipsie_url_encode(basic_pass ? basic_pass : "", p);
        if (user == NULL || pass == NULL) {
            rv = APR_ENOMEM;
            goto leave;
        }
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, pass);
    }

    cc = curl_easy_perform(curl);
    if (buf.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08003: response from %s is larger than %d bytes", log_url,
                  IPSIE_HTTP_MAX_BODY);
        rv = IPSIE_ERR_TOO_LARGE;
        goto leave;
    }
    if (buf.no_memory) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08004: out of memory reading the response from %s",
                  log_url);
        rv = APR_ENOMEM;
        goto leave;
    }
    if (cc != CURLE_OK) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE08005: request to %s failed: %s", log_url,
                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rv = IPSIE_ERR_HTTP;
        goto leave;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
    if (curl_easy_header(curl, "Cache-Control", 0, CURLH_HEADER, -1, &cc_header) == CURLHE_OK) {
        resp->cache_control = apr_pstrdup(p, cc_header->value);
    }
    resp->headers = apr_table_make(p, 8);
    while ((h = curl_easy_nextheader(curl, CURLH_HEADER, -1, prev)) != NULL) {
        apr_table_add(resp->headers, h->name, h->value);
        prev = h;
    }

    body = apr_palloc(p, buf.len + 1);
    if (buf.len > 0) {
        memcpy(body, buf.data, buf.len);
    }
    body[buf.len] = '\0';
    resp->status = status;
    resp->body = body;
    resp->body_len = buf.len;
    resp->content_type = ctype ? apr_pstrdup(p, ctype) : NULL;

leave:
    if (curl != NULL) {
        curl_easy_cleanup(curl);
    }
    curl_slist_free_all(headers);
    free(buf.data);
    return rv;
}

apr_status_t ipsie_http_get(ipsie_http_response_t *resp, const char *url,
                            const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    return http_exchange(resp, url, NULL, NULL, NULL, NULL, opts, p);
}

apr_status_t ipsie_http_send(ipsie_http_response_t *resp, const char *url, const char *form,
                             const char *const *headers, const char *basic_user,
                             const char *basic_pass, const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    return http_exchange(resp, url, form, headers, basic_user, basic_pass, opts, p);
}

apr_status_t ipsie_http_post_form(ipsie_http_response_t *resp, const char *url, const char *form,
                                  const char *basic_user, const char *basic_pass,
                                  const ipsie_http_opts_t *opts, apr_pool_t *p)
{
    if (form == NULL) {
        form = "";
    }
    return http_exchange(resp, url, form, NULL, basic_user, basic_pass, opts, p);
}

/* Case-insensitive: is the directive of length n the word? */
static int directive_is(const char *directive, apr_size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(directive, word, n) == 0;
}

long long ipsie_http_max_age(const char *cache_control)
{
    const char *d = cache_control;
    long long max_age = -1;

    while (d != NULL && *d != '\0') {
        apr_size_t n;
        const char *value = NULL;

        d += strspn(d, " \t,");
        n = strcspn(d, "=, \t");
        if (n == 0) {
            break;
        }
        if (directive_is(d, n, "no-store") || directive_is(d, n, "no-cache")) {
            return 0;
        }
        if (d[n] == '=') {
            value = d + n + 1;
        }
        if (directive_is(d, n, "max-age")) {
            const char *digits = value != NULL && *value == '"' ? value + 1 : value;
            apr_size_t len = digits != NULL ? strspn(digits, "0123456789") : 0;
            long long v = 0;
            apr_size_t i;

            if (len == 0 || strchr(",\" \t", digits[len]) == NULL) {
                return -1;
            }
            /* Past 10^9 s a value says only "very long": stop before it can overflow. */
            for (i = 0; i < len && v < 1000000000LL; i++) {
                v = v * 10 + (digits[i] - '0');
            }
            max_age = v < 1000000000LL ? v : 1000000000LL;
        }
        d += n;
        if (value != NULL) {
            d = *value == '"' ? value + 1 + strcspn(value + 1, "\"") : value + strcspn(value, ",");
            d += *d == '"';
        }
    }
    return max_age;
}
