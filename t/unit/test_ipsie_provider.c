/* Unit tests of discovery, token responses, the HTTP client and the provider cache. The HTTP
 * parts talk to a small real HTTP server this suite runs on 127.0.0.1. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_base64.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "test_support.h"
#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_http.h"
#include "ipsie/ipsie_provider.h"

/* ---- a loopback HTTP server with canned answers per path ------------------------------ */

#define MAX_CANNED 16
#define MAX_REQUEST (64 * 1024)

typedef struct {
    char *path;
    int status;
    char *headers; /* extra header lines, each ending in CRLF */
    char *body;
    size_t body_len;
    int close_delimited; /* no Content-Length: the body ends with the connection */
    int hits;
} canned_t;

static struct {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    atomic_int stop;
    canned_t canned[MAX_CANNED];
    int ncanned;
    int requests;
    char last_request[MAX_REQUEST + 1]; /* head and body of the last request */
    char last_body[MAX_REQUEST + 1];
    SSL_CTX *tls; /* NULL: plain HTTP */
} srv;

static char cert_file[64];

static char base_url[64];

static void srv_set(const char *path, int status, const char *headers, const char *body,
                    size_t body_len, int close_delimited)
{
    canned_t *c = NULL;
    int i;

    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < srv.ncanned; i++) {
        if (strcmp(srv.canned[i].path, path) == 0) {
            c = &srv.canned[i];
        }
    }
    if (c == NULL) {
        ck_assert_int_lt(srv.ncanned, MAX_CANNED);
        c = &srv.canned[srv.ncanned++];
        c->path = strdup(path);
        c->hits = 0;
    }
    free(c->headers);
    free(c->body);
    c->status = status;
    c->headers = strdup(headers ? headers : "");
    c->body_len = body_len ? body_len : strlen(body);
    c->body = malloc(c->body_len + 1);
    memcpy(c->body, body, c->body_len);
    c->close_delimited = close_delimited;
    pthread_mutex_unlock(&srv.lock);
}

static void srv_json(const char *path, int status, const char *body)
{
    srv_set(path, status, "Content-Type: application/json\r\n", body, 0, 0);
}

static int srv_hits(const char *path)
{
    int i, n = 0;

    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < srv.ncanned; i++) {
        if (strcmp(srv.canned[i].path, path) == 0) {
            n = srv.canned[i].hits;
        }
    }
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static void send_all(int fd, SSL *ssl, const char *data, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = ssl ? SSL_write(ssl, data, (int)len) : send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return; /* the client gave up, which some tests want */
        }
        data += n;
        len -= (size_t)n;
    }
}

static void serve_one(int fd, SSL *ssl)
{
    char *req = malloc(MAX_REQUEST + 1);
    size_t used = 0, head_len = 0, body_len = 0;
    char *end, *cl, *sp;
    char path[1024] = "";
    char head[1024];
    canned_t *c = NULL;
    ssize_t n;
    int i;

    for (;;) {
        n = ssl ? SSL_read(ssl, req + used, (int)(MAX_REQUEST - used))
                : recv(fd, req + used, MAX_REQUEST - used, 0);
        if (n <= 0) {
            goto done;
        }
        used += (size_t)n;
        req[used] = '\0';
        end = head_len == 0 ? strstr(req, "\r\n\r\n") : NULL;
        if (end != NULL) {
            head_len = (size_t)(end - req) + 4;
            cl = strcasestr(req, "\r\nContent-Length:");
            if (cl != NULL && cl < end) {
                body_len = strtoul(cl + 17, NULL, 10);
            }
        }
        if (head_len > 0 && used >= head_len + body_len) {
            break;
        }
        if (used == MAX_REQUEST) {
            goto done;
        }
    }
    sp = strchr(req, ' ');
    if (sp != NULL) {
        sscanf(sp + 1, "%1023[^ ?]", path);
    }

    pthread_mutex_lock(&srv.lock);
    srv.requests++;
    memcpy(srv.last_request, req, used + 1);
    memcpy(srv.last_body, req + head_len, body_len);
    srv.last_body[body_len] = '\0';
    for (i = 0; i < srv.ncanned; i++) {
        if (strcmp(srv.canned[i].path, path) == 0) {
            c = &srv.canned[i];
            c->hits++;
        }
    }
    if (c == NULL) {
        pthread_mutex_unlock(&srv.lock);
        snprintf(head, sizeof(head),
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                 "Connection: close\r\n\r\nnot found");
        send_all(fd, ssl, head, strlen(head));
        goto done;
    }
    if (c->close_delimited) {
        snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%sConnection: close\r\n\r\n", c->status,
                 c->headers);
    }
    else {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 c->status, c->headers, c->body_len);
    }
    send_all(fd, ssl, head, strlen(head));
    send_all(fd, ssl, c->body, c->body_len);
    pthread_mutex_unlock(&srv.lock);

done:
    if (ssl != NULL) {
        SSL_shutdown(ssl);
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    free(req);
}

static void *srv_main(void *arg)
{
    struct pollfd pfd;
    SSL *ssl;
    int cfd;

    (void)arg;
    while (!atomic_load(&srv.stop)) {
        pfd.fd = srv.fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        cfd = accept(srv.fd, NULL, NULL);
        if (cfd < 0) {
            continue;
        }
        if (srv.tls == NULL) {
            serve_one(cfd, NULL);
            continue;
        }
        ssl = SSL_new(srv.tls);
        SSL_set_fd(ssl, cfd);
        if (SSL_accept(ssl) == 1) {
            serve_one(cfd, ssl);
        }
        else {
            close(cfd);
        }
        SSL_free(ssl);
    }
    return NULL;
}

/* Bind 127.0.0.1 on an ephemeral port; returns the listening socket. */
static int listen_loopback(int *port)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void server_start(SSL_CTX *tls)
{
    pool_setup();
    ck_assert_int_eq(ipsie_http_global_init(), APR_SUCCESS);
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    srv.tls = tls;
    srv.fd = listen_loopback(&srv.port);
    snprintf(base_url, sizeof(base_url), "%s://127.0.0.1:%d", tls ? "https" : "http", srv.port);
    ck_assert_int_eq(pthread_create(&srv.thread, NULL, srv_main, NULL), 0);
}

static void server_setup(void)
{
    server_start(NULL);
}

/* A self-signed certificate for IP 127.0.0.1, written to cert_file for the client. */
static void tls_server_setup(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    X509_EXTENSION *ext;
    X509V3_CTX v3;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    FILE *f;
    int fd;

    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(ctx);
    /* A client that gives up mid-handshake must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);

    strcpy(cert_file, "/tmp/ipsie_test_cert_XXXXXX");
    fd = mkstemp(cert_file);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    server_start(ctx);
}

static void server_teardown(void)
{
    int i;

    atomic_store(&srv.stop, 1);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    for (i = 0; i < srv.ncanned; i++) {
        free(srv.canned[i].path);
        free(srv.canned[i].headers);
        free(srv.canned[i].body);
    }
    pthread_mutex_destroy(&srv.lock);
    if (srv.tls != NULL) {
        SSL_CTX_free(srv.tls);
        unlink(cert_file);
    }
    pool_teardown();
}

static const char *url(const char *path)
{
    return apr_pstrcat(pool, base_url, path, NULL);
}

/* A URL on which nothing listens: bound once for its port, then closed. */
static const char *refused_url(const char *path)
{
    int port;
    int fd = listen_loopback(&port);

    close(fd);
    return apr_psprintf(pool, "http://127.0.0.1:%d%s", port, path);
}

/* ---- issuer from the discovery URL ---------------------------------------------------- */

START_TEST(issuer_from_url_strips_the_well_known_suffix)
{
    ck_assert_str_eq(
        ipsie_provider_issuer_from_url("https://op.example/.well-known/openid-configuration", pool),
        "https://op.example");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example:8443/tenant/a/.well-known/openid-configuration", pool),
                     "https://op.example:8443/tenant/a");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example//.well-known/openid-configuration", pool),
                     "https://op.example/");
}
END_TEST

START_TEST(issuer_from_url_leaves_other_urls_alone)
{
    ck_assert_str_eq(ipsie_provider_issuer_from_url("https://op.example/meta.json", pool),
                     "https://op.example/meta.json");
    ck_assert_str_eq(ipsie_provider_issuer_from_url(
                         "https://op.example/.well-known/openid-configuration/x", pool),
                     "https://op.example/.well-known/openid-configuration/x");
    ck_assert_str_eq(ipsie_provider_issuer_from_url("/.well-known/openid-configuration", pool),
                     "/.well-known/openid-configuration");
    ck_assert_ptr_null(ipsie_provider_issuer_from_url(NULL, pool));
}
END_TEST

/* ---- discovery documents -------------------------------------------------------------- */

#define ISS "https://op.example"

static apr_status_t parse_doc(ipsie_provider_t **op, const char *doc)
{
    return ipsie_provider_parse(op, doc, strlen(doc), ISS, pool);
}

/* A discovery document with one member replaced (or dropped when value is NULL). */
static const char *doc_with(const char *name, const char *value)
{
    static const char *names[] = {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"};
    static const char *values[] = {"\"" ISS "\"", "\"" ISS "/auth\"", "\"" ISS "/token\"",
                                   "\"" ISS "/jwks\""};
    const char *doc = "{\"response_types_supported\":[\"code\"]";
    int i, replaced = 0;

    for (i = 0; i < 4; i++) {
        if (strcmp(names[i], name) == 0) {
            replaced = 1;
            if (value == NULL) {
                continue;
            }
            doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, names[i], value);
        }
        else {
            doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, names[i], values[i]);
        }
    }
    if (!replaced && value != NULL) {
        doc = apr_psprintf(pool, "%s,\"%s\":%s", doc, name, value);
    }
    return apr_pstrcat(pool, doc, "}", NULL);
}

START_TEST(discovery_good_document_yields_every_field)
{
    ipsie_provider_t *op = NULL;
    const char *doc = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
                      "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
                      "\"end_session_endpoint\":\"" ISS "/logout\","
                      "\"authorization_response_iss_parameter_supported\":true,"
                      "\"scopes_supported\":[\"openid\"],\"unknown\":{\"x\":1}}";

    ck_assert_int_eq(parse_doc(&op, doc), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(op->issuer, ISS);
    ck_assert_str_eq(op->authorization_endpoint, ISS "/auth");
    ck_assert_str_eq(op->token_endpoint, ISS "/token");
    ck_assert_str_eq(op->jwks_uri, ISS "/jwks");
    ck_assert_str_eq(op->end_session_endpoint, ISS "/logout");
    ck_assert_int_eq(op->iss_parameter_supported, 1);
}
END_TEST

START_TEST(discovery_optional_members_default_to_absent)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_null(op->end_session_endpoint);
    ck_assert_int_eq(op->iss_parameter_supported, 0);

    /* Only the JSON boolean true advertises the iss parameter. */
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "\"true\"")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "1")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
    ck_assert_int_eq(
        parse_doc(&op, doc_with("authorization_response_iss_parameter_supported", "false")),
        APR_SUCCESS);
    ck_assert_int_eq(op->iss_parameter_supported, 0);
}
END_TEST

START_TEST(discovery_advertising_s256_logs_no_pkce_warning)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(
        parse_doc(&op, doc_with("code_challenge_methods_supported", "[\"plain\",\"S256\"]")),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08106"));
}
END_TEST

START_TEST(discovery_without_code_challenge_methods_warns_and_goes_on)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "\"")), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08106"));
    ck_assert_ptr_nonnull(strstr(captured_log, "code_challenge_methods_supported"));
    ck_assert_ptr_nonnull(strstr(captured_log, "S256"));
}
END_TEST

START_TEST(discovery_without_s256_in_code_challenge_methods_warns_once_and_goes_on)
{
    ipsie_provider_t *op = NULL;
    const char *first;

    ck_assert_int_eq(
        parse_doc(&op, doc_with("code_challenge_methods_supported", "[\"plain\",\"s256\"]")),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    first = strstr(captured_log, "IPSIE08106");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "IPSIE08106"));

    captured_log[0] = '\0';
    ck_assert_int_eq(parse_doc(&op, doc_with("code_challenge_methods_supported", "[]")),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08106"));
}
END_TEST

START_TEST(discovery_code_challenge_methods_not_an_array_of_strings_warns_and_goes_on)
{
    static const char *bad[] = {"\"S256\"", "{\"S256\":true}", "256",         "true",
                                "null",     "[\"S256\",1]",    "[[\"S256\"]]"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        captured_log[0] = '\0';
        ck_assert_int_eq(parse_doc(&op, doc_with("code_challenge_methods_supported", bad[i])),
                         APR_SUCCESS);
        ck_assert_ptr_nonnull(op);
        ck_assert_msg(strstr(captured_log, "IPSIE08106") != NULL, "no warning for %s", bad[i]);
    }
}
END_TEST

START_TEST(discovery_rejects_what_is_not_a_json_object)
{
    static const char *bad[] = {"",
                                "not json",
                                "{\"issuer\":",
                                "[]",
                                "[{\"issuer\":\"" ISS "\"}]",
                                "\"" ISS "\"",
                                "null",
                                "42",
                                "{\"issuer\":\"" ISS "\"} trailing"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(parse_doc(&op, bad[i]), IPSIE_ERR_METADATA);
        ck_assert_ptr_null(op);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08103"));
}
END_TEST

START_TEST(discovery_rejects_another_issuer)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"" ISS "/\"")), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://OP.example\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://evil.example\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://op.example.evil\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_null(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08105"));
    /* A configured issuer with a trailing slash does not accept one without. */
    ck_assert_int_eq(ipsie_provider_parse(&op, doc_with("issuer", "\"" ISS "\""),
                                          strlen(doc_with("issuer", "\"" ISS "\"")), ISS "/", pool),
                     IPSIE_ERR_ISSUER_MISMATCH);
}
END_TEST

START_TEST(discovery_issuer_mismatch_log_is_sanitised)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "\"https://x\\r\\nIPSIE99999 fake\"")),
                     IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "https://x??IPSIE99999 fake"));
    ck_assert_ptr_null(strstr(captured_log, "\nIPSIE99999"));
}
END_TEST

START_TEST(discovery_rejects_missing_or_non_string_issuer)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", NULL)), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "42")), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "[\"" ISS "\"]")), IPSIE_ERR_METADATA);
    ck_assert_int_eq(parse_doc(&op, doc_with("issuer", "null")), IPSIE_ERR_METADATA);
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(discovery_rejects_a_missing_required_endpoint)
{
    static const char *required[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
    ipsie_provider_t *op = NULL;
    size_t i;

    for (i = 0; i < 3; i++) {
        captured_log[0] = '\0';
        ck_assert_int_eq(parse_doc(&op, doc_with(required[i], NULL)), IPSIE_ERR_METADATA);
        ck_assert_ptr_null(op);
        ck_assert_ptr_nonnull(strstr(captured_log, required[i]));
    }
}
END_TEST

START_TEST(discovery_rejects_endpoints_that_are_not_http_urls)
{
    static const char *bad[] = {"\"javascript:alert(1)\"",
                                "\"/token\"",
                                "\"ftp://op.example/t\"",
                                "\"https://\"",
                                "\"https:///path\"",
                                "\"https://op.example/a b\"",
                                "\"https://op.example/\\u0001\"",
                                "\"\"",
                                "42",
                                "true",
                                "[\"" ISS "/token\"]",
                                "{}",
                                "\"data:text/html,x\""};
    static const char *names[] = {"authorization_endpoint", "token_endpoint", "jwks_uri",
                                  "end_session_endpoint"};
    ipsie_provider_t *op = NULL;
    size_t i, j;

    for (j = 0; j < 4; j++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ck_assert_msg(parse_doc(&op, doc_with(names[j], bad[i])) == IPSIE_ERR_METADATA,
                          "%s = %s accepted", names[j], bad[i]);
            ck_assert_ptr_null(op);
        }
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08101"));
}
END_TEST

START_TEST(discovery_accepts_http_and_mixed_case_scheme)
{
    ipsie_provider_t *op = NULL;

    ck_assert_int_eq(parse_doc(&op, doc_with("token_endpoint", "\"HTTPS://op.example/t?x=1\"")),
                     APR_SUCCESS);
    ck_assert_str_eq(op->token_endpoint, "HTTPS://op.example/t?x=1");
    ck_assert_int_eq(parse_doc(&op, doc_with("jwks_uri", "\"http://127.0.0.1:8080/jwks\"")),
                     APR_SUCCESS);
    ck_assert_str_eq(op->jwks_uri, "http://127.0.0.1:8080/jwks");
}
END_TEST

START_TEST(discovery_rejects_duplicate_members)
{
    ipsie_provider_t *op = NULL;
    const char *doc = "{\"issuer\":\"" ISS "\",\"issuer\":\"https://evil.example\","
                      "\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS
                      "/t\",\"jwks_uri\":\"" ISS "/j\"}";

    ck_assert_int_eq(parse_doc(&op, doc), IPSIE_ERR_METADATA);
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(discovery_rejects_a_huge_document)
{
    ipsie_provider_t *op = NULL;
    size_t n = IPSIE_HTTP_MAX_BODY + 100;
    char *doc = apr_palloc(pool, n + 1);
    const char *head = doc_with("issuer", "\"" ISS "\"");
    size_t hl = strlen(head);

    /* A valid document padded with whitespace past the limit. */
    memcpy(doc, head, hl);
    memset(doc + hl, ' ', n - hl);
    doc[n] = '\0';
    ck_assert_int_eq(ipsie_provider_parse(&op, doc, n, ISS, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(op);
    ck_assert_int_eq(ipsie_provider_parse(&op, doc, IPSIE_HTTP_MAX_BODY, ISS, pool), APR_SUCCESS);
}
END_TEST

START_TEST(discovery_survives_deep_nesting)
{
    ipsie_provider_t *op = NULL;
    size_t depth = 100000, i;
    char *doc = apr_palloc(pool, depth * 2 + 1);

    for (i = 0; i < depth; i++) {
        doc[i] = '[';
        doc[depth * 2 - 1 - i] = ']';
    }
    doc[depth * 2] = '\0';
    ck_assert_int_eq(parse_doc(&op, doc), IPSIE_ERR_METADATA);
}
END_TEST

/* ---- token responses ------------------------------------------------------------------ */

static apr_status_t parse_tr(ipsie_token_response_t **tr, const char *json)
{
    return ipsie_token_response_parse(tr, json, strlen(json), pool);
}

START_TEST(token_response_good_yields_every_field)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"bearer\",\"refresh_token\":\"rt\","
                                   "\"expires_in\":3600,\"scope\":\"openid\"}"),
                     APR_SUCCESS);
    ck_assert_str_eq(tr->id_token, "a.b.c");
    ck_assert_str_eq(tr->access_token, "at");
    ck_assert_str_eq(tr->token_type, "bearer");
    ck_assert_str_eq(tr->refresh_token, "rt");
    ck_assert_int_eq(tr->expires_in, 3600);
}
END_TEST

START_TEST(token_response_optional_members_may_be_absent)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"Bearer\"}"),
                     APR_SUCCESS);
    ck_assert_ptr_null(tr->refresh_token);
    ck_assert_int_eq(tr->expires_in, 0);
    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"a.b.c\",\"access_token\":\"at\","
                                   "\"token_type\":\"BEARER\",\"expires_in\":0}"),
                     APR_SUCCESS);
    ck_assert_int_eq(tr->expires_in, 0);
}
END_TEST

START_TEST(token_response_rejects_bad_documents)
{
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "\"a.b.c\"",
        "null",
        "[{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}]",
        "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":42,\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":null,\"access_token\":\"at\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":[\"at\"],\"token_type\":\"Bearer\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"mac\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"DPoP\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer \"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":true}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":-1}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":\"3600\"}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"expires_in\":1.5}",
        "{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\","
        "\"refresh_token\":7}",
        "{\"id_token\":\"a.b.c\",\"id_token\":\"x.y.z\",\"access_token\":\"at\","
        "\"token_type\":\"Bearer\"}",
    };
    ipsie_token_response_t *tr = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse_tr(&tr, bad[i]) == IPSIE_ERR_MALFORMED, "accepted: %s", bad[i]);
        ck_assert_ptr_null(tr);
    }
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08201"));
}
END_TEST

START_TEST(token_response_rejection_logs_no_token)
{
    ipsie_token_response_t *tr = NULL;

    ck_assert_int_eq(parse_tr(&tr, "{\"id_token\":\"SECRET-ID-TOKEN\",\"access_token\":"
                                   "\"SECRET-AT\",\"token_type\":\"mac\"}"),
                     IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "token_type"));
    ck_assert_ptr_null(strstr(captured_log, "SECRET"));
}
END_TEST

START_TEST(token_response_rejects_a_huge_body)
{
    ipsie_token_response_t *tr = NULL;
    size_t n = IPSIE_HTTP_MAX_BODY + 1;
    char *json = apr_palloc(pool, n + 1);

    memset(json, ' ', n);
    json[n] = '\0';
    ck_assert_int_eq(ipsie_token_response_parse(&tr, json, n, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_null(tr);
}
END_TEST

/* ---- HTTP client against the loopback server ------------------------------------------ */

START_TEST(http_get_returns_status_body_and_content_type)
{
    ipsie_http_response_t resp;

    srv_json("/doc", 200, "{\"a\":1}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc?x=1"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"a\":1}");
    ck_assert_uint_eq(resp.body_len, 7);
    ck_assert_str_eq(resp.content_type, "application/json");
    ck_assert_int_eq(srv_hits("/doc"), 1);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "GET /doc?x=1 HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(srv.last_request, "\r\nUser-Agent: mod_auth_ipsie\r\n"));
}
END_TEST

START_TEST(http_get_reports_404_as_a_status)
{
    ipsie_http_response_t resp;

    ck_assert_int_eq(ipsie_http_get(&resp, url("/nowhere"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(resp.body, "not found");
}
END_TEST

START_TEST(http_get_does_not_follow_redirects)
{
    ipsie_http_response_t resp;

    srv_set("/moved", 302, "Location: /doc\r\n", "", 0, 0);
    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/moved"), NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 302);
    ck_assert_int_eq(srv_hits("/doc"), 0);
}
END_TEST

START_TEST(http_get_accepts_a_body_of_exactly_the_limit)
{
    ipsie_http_response_t resp;
    char *big = malloc(IPSIE_HTTP_MAX_BODY);

    memset(big, 'x', IPSIE_HTTP_MAX_BODY);
    srv_set("/big", 200, NULL, big, IPSIE_HTTP_MAX_BODY, 1);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/big"), NULL, pool), APR_SUCCESS);
    ck_assert_uint_eq(resp.body_len, IPSIE_HTTP_MAX_BODY);
    ck_assert_int_eq(resp.body[IPSIE_HTTP_MAX_BODY], '\0');
}
END_TEST

START_TEST(http_get_refuses_an_oversized_body_announced_by_length)
{
    ipsie_http_response_t resp;
    char *big = malloc(IPSIE_HTTP_MAX_BODY + 1);

    memset(big, 'x', IPSIE_HTTP_MAX_BODY + 1);
    srv_set("/big", 200, NULL, big, IPSIE_HTTP_MAX_BODY + 1, 0);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/big"), NULL, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

START_TEST(http_get_aborts_an_oversized_body_without_length)
{
    ipsie_http_response_t resp;
    size_t n = IPSIE_HTTP_MAX_BODY * 4;
    char *big = malloc(n);

    memset(big, 'x', n);
    srv_set("/stream", 200, NULL, big, n, 1);
    free(big);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/stream"), NULL, pool), IPSIE_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08003"));
}
END_TEST

START_TEST(http_get_connection_refused_is_a_transport_error)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/x");

    ck_assert_int_eq(ipsie_http_get(&resp, u, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
    ck_assert_ptr_nonnull(strstr(captured_log, u));
}
END_TEST

START_TEST(http_transport_error_log_masks_credentials_in_the_url)
{
    ipsie_http_response_t resp;
    const char *u = refused_url("/x?q=1");
    const char *with_user = apr_pstrcat(pool, "http://user:PASSWORD@", u + 7, NULL);

    ck_assert_int_eq(ipsie_http_get(&resp, with_user, NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, apr_pstrcat(pool, "http://***@", u + 7, NULL)));
    ck_assert_ptr_null(strstr(captured_log, "PASSWORD"));
}
END_TEST

START_TEST(http_get_refuses_other_schemes)
{
    ipsie_http_response_t resp;

    ck_assert_int_eq(ipsie_http_get(&resp, "file:///etc/passwd", NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_int_eq(ipsie_http_get(&resp, "gopher://127.0.0.1/", NULL, pool), IPSIE_ERR_HTTP);
}
END_TEST

START_TEST(http_get_times_out_on_a_silent_peer)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {1, NULL};
    int port;
    int fd = listen_loopback(&port); /* listens, never answers */

    ck_assert_int_eq(
        ipsie_http_get(&resp, apr_psprintf(pool, "http://127.0.0.1:%d/", port), &opts, pool),
        IPSIE_ERR_HTTP);
    close(fd);
}
END_TEST

START_TEST(http_post_form_encodes_basic_credentials)
{
    ipsie_http_response_t resp;
    const char *expected_pair = "my%20client%3A1:p%40ss%2Fw%2Bd%25";
    char *b64 = apr_palloc(pool, apr_base64_encode_len(strlen(expected_pair)));

    apr_base64_encode(b64, expected_pair, strlen(expected_pair));
    srv_json("/post", 200, "{}");
    ck_assert_int_eq(ipsie_http_post_form(&resp, url("/post"), "a=1&b=2", "my client:1",
                                          "p@ss/w+d%", NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /post HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(
        srv.last_request, apr_pstrcat(pool, "\r\nAuthorization: Basic ", b64, "\r\n", NULL)));
    ck_assert_ptr_nonnull(
        strstr(srv.last_request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    ck_assert_str_eq(srv.last_body, "a=1&b=2");
}
END_TEST

START_TEST(https_refuses_a_certificate_no_trust_anchor_vouches_for)
{
    ipsie_http_response_t resp;

    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc"), NULL, pool), IPSIE_ERR_HTTP);
    ck_assert_int_eq(srv_hits("/doc"), 0);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08005"));
}
END_TEST

START_TEST(https_trusts_the_configured_ca_file)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {5, cert_file};

    srv_json("/doc", 200, "{\"ok\":true}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/doc"), &opts, pool), APR_SUCCESS);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"ok\":true}");
    ck_assert_int_eq(srv_hits("/doc"), 1);
}
END_TEST

START_TEST(https_checks_the_host_name_against_the_certificate)
{
    ipsie_http_response_t resp;
    ipsie_http_opts_t opts = {5, cert_file};

    /* The certificate names 127.0.0.1 only, so "localhost" must not match it. */
    srv_json("/doc", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, apr_psprintf(pool, "https://localhost:%d/doc", srv.port),
                                    &opts, pool),
                     IPSIE_ERR_HTTP);
    ck_assert_int_eq(srv_hits("/doc"), 0);
}
END_TEST

/* ---- token endpoint exchange ---------------------------------------------------------- */

#define GOOD_TOKENS "{\"id_token\":\"h.p.s\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}"

static ipsie_provider_t *test_op(void)
{
    ipsie_provider_t *op = apr_pcalloc(pool, sizeof(*op));

    op->issuer = base_url;
    op->authorization_endpoint = url("/auth");
    op->token_endpoint = url("/token");
    op->jwks_uri = url("/jwks");
    return op;
}

START_TEST(token_request_basic_sends_the_code_grant_and_a_basic_header)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client:1", "s3cr%t /+", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    const char *pair = "client%3A1:s3cr%25t%20%2F%2B";
    char *b64 = apr_palloc(pool, apr_base64_encode_len(strlen(pair)));

    apr_base64_encode(b64, pair, strlen(pair));
    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(ipsie_token_request(&tr, test_op(), &client, "c0de+/=",
                                         "https://rp.example/cb?x=1", "verifier-123", NULL, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(tr->id_token, "h.p.s");
    ck_assert_ptr_nonnull(strstr(srv.last_request, "POST /token HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(
        srv.last_request, apr_pstrcat(pool, "\r\nAuthorization: Basic ", b64, "\r\n", NULL)));
    ck_assert_str_eq(srv.last_body, "grant_type=authorization_code&code=c0de%2B%2F%3D"
                                    "&redirect_uri=https%3A%2F%2Frp.example%2Fcb%3Fx%3D1"
                                    "&code_verifier=verifier-123");
}
END_TEST

START_TEST(token_request_post_sends_credentials_in_the_body_only)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client:1", "s3cr%t", IPSIE_AUTH_CLIENT_SECRET_POST};

    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "abc", "https://rp/cb", "v", NULL, pool),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(tr);
    ck_assert_ptr_null(strcasestr(srv.last_request, "\r\nAuthorization:"));
    ck_assert_str_eq(srv.last_body, "grant_type=authorization_code&code=abc"
                                    "&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=v"
                                    "&client_id=client%3A1&client_secret=s3cr%25t");
}
END_TEST

START_TEST(token_request_private_key_jwt_is_not_implemented_yet)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", NULL, IPSIE_AUTH_PRIVATE_KEY_JWT};

    srv_json("/token", 200, GOOD_TOKENS);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "abc", "https://rp/cb", "v", NULL, pool),
        APR_ENOTIMPL);
    ck_assert_int_eq(srv_hits("/token"), 0);
}
END_TEST

START_TEST(token_request_error_status_logs_only_a_sanitised_error_code)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "TOPSECRET", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    char expected[6 + 64 + 2];

    srv_json("/token", 400,
             "{\"error\":\"invalid_grant<script>\\r\\nIPSIE1 "
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "\",\"error_description\":\"DESCRIPTION\"}");
    ck_assert_int_eq(ipsie_token_request(&tr, test_op(), &client, "THECODE", "https://rp/cb",
                                         "VERIFIER", NULL, pool),
                     IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(tr);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08203"));
    ck_assert_ptr_nonnull(strstr(captured_log, "status 400"));
    /* 64 characters at most: the code, then what is left of the padding. */
    memset(expected, 'a', sizeof(expected));
    memcpy(expected, "error invalid_grantscriptIPSIE1", 31);
    memcpy(expected + 6 + 64, "\n", 2);
    ck_assert_ptr_nonnull(strstr(captured_log, expected));
    ck_assert_ptr_null(strstr(captured_log, "<"));
    ck_assert_ptr_null(strstr(captured_log, "DESCRIPTION"));
    ck_assert_ptr_null(strstr(captured_log, "TOPSECRET"));
    ck_assert_ptr_null(strstr(captured_log, "THECODE"));
    ck_assert_ptr_null(strstr(captured_log, "VERIFIER"));
}
END_TEST

START_TEST(token_request_error_status_without_json_is_still_an_error)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};

    srv_set("/token", 502, NULL, "<html>bad gateway</html>", 0, 0);
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "c", "https://rp/cb", "v", NULL, pool),
        IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_nonnull(strstr(captured_log, "status 502, error -"));
}
END_TEST

START_TEST(token_request_unusable_200_body_is_malformed)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};

    srv_json("/token", 200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}");
    ck_assert_int_eq(
        ipsie_token_request(&tr, test_op(), &client, "c", "https://rp/cb", "v", NULL, pool),
        IPSIE_ERR_MALFORMED);
    ck_assert_ptr_null(tr);
}
END_TEST

START_TEST(token_request_unreachable_op_is_a_transport_error)
{
    ipsie_token_response_t *tr = NULL;
    ipsie_client_t client = {"client", "secret", IPSIE_AUTH_CLIENT_SECRET_BASIC};
    ipsie_provider_t *op = test_op();

    op->token_endpoint = refused_url("/token");
    ck_assert_int_eq(ipsie_token_request(&tr, op, &client, "c", "https://rp/cb", "v", NULL, pool),
                     IPSIE_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08202"));
}
END_TEST

/* ---- provider cache ------------------------------------------------------------------- */

#define WELL_KNOWN "/.well-known/openid-configuration"
#define T0 1700000000LL
#define TTL 3600

/* An EC P-256 public key (RFC 7517 A.1) marked for signatures. */
#define JWK1                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"k1\","                            \
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","                                       \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"
#define JWK2                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"k2\","                            \
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","                                       \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"

static void serve_metadata(const char *issuer)
{
    srv_json(WELL_KNOWN, 200,
             apr_psprintf(pool,
                          "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                          "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
                          issuer, base_url, base_url, base_url));
}

static ipsie_provider_cache_t *new_cache(long ttl)
{
    ipsie_provider_cache_t *cache = NULL;
    ipsie_http_opts_t opts = {5, NULL};

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, url(WELL_KNOWN), ttl, &opts, pool),
                     APR_SUCCESS);
    return cache;
}

START_TEST(cache_create_refuses_a_useless_ttl)
{
    ipsie_provider_cache_t *cache = NULL;

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, url(WELL_KNOWN), 0, NULL, pool),
                     APR_EINVAL);
    ck_assert_ptr_null(cache);
}
END_TEST

START_TEST(cache_serves_the_second_call_without_a_fetch)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0), APR_SUCCESS);
    ck_assert_str_eq(a->issuer, base_url);
    ck_assert_str_eq(a->token_endpoint, url("/token"));
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL - 1), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
}
END_TEST

START_TEST(cache_refetches_after_the_ttl_and_keeps_old_values_readable)
{
    ipsie_provider_cache_t *cache = new_cache(60);
    const ipsie_provider_t *a = NULL, *b = NULL, *c = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 59), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 60), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&c, cache, T0 + 120), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_ptr_ne(b, c);
    /* Readers that got an earlier generation within the last minutes may still use it. */
    ck_assert_str_eq(a->token_endpoint, url("/token"));
    ck_assert_str_eq(b->token_endpoint, url("/token"));
}
END_TEST

START_TEST(cache_keeps_serving_old_metadata_when_a_refetch_fails)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0), APR_SUCCESS);
    srv_json(WELL_KNOWN, 500, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08301"));
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08306"));
    /* The failing OP is not asked again on every request... */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL + 5), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    /* ...but again a little later, and a recovered OP is picked up. */
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + TTL + 10), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_ptr_ne(a, b);
}
END_TEST

START_TEST(cache_without_a_value_reports_an_unreachable_op)
{
    ipsie_provider_cache_t *cache = NULL;
    const ipsie_provider_t *op = NULL;

    ck_assert_int_eq(ipsie_provider_cache_create(&cache, refused_url(WELL_KNOWN), TTL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0), IPSIE_ERR_HTTP);
    ck_assert_ptr_null(op);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08300"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08301"));
}
END_TEST

START_TEST(cache_without_a_value_reports_bad_metadata)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    srv_json(WELL_KNOWN, 404, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08301"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));

    captured_log[0] = '\0';
    srv_json(WELL_KNOWN, 200, "{\"issuer\":42}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 2), IPSIE_ERR_METADATA);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08302"));

    captured_log[0] = '\0';
    serve_metadata(apr_pstrcat(pool, base_url, "/", NULL));
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 4), IPSIE_ERR_ISSUER_MISMATCH);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08302"));
    ck_assert_ptr_null(op);
}
END_TEST

START_TEST(cache_without_a_value_does_not_ask_again_right_after_a_failure)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    srv_json(WELL_KNOWN, 503, "{}");
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* Within two seconds every request fails at once, as the fetch did, without a fetch. */
    serve_metadata(base_url);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 1), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(op);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0 + 2), APR_SUCCESS);
    ck_assert_ptr_nonnull(op);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
}
END_TEST

START_TEST(cache_fetches_the_jwks_once_and_reuses_it)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(a), 1);
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + 100), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(srv_hits("/jwks"), 1);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* Past the ttl both are fetched again. */
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "," JWK2 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + TTL), APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(b), 2);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_jwks_count(a), 1);
}
END_TEST

START_TEST(cache_jwks_refresh_is_rate_limited_to_once_per_ten_seconds)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL, *c = NULL;
    long retry_after = -1;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0), APR_SUCCESS);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "," JWK2 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &retry_after, cache, a, T0 + 7),
                     IPSIE_ERR_THROTTLED);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(retry_after, 3);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08309"));
    ck_assert_int_eq(srv_hits("/jwks"), 1);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &retry_after, cache, a, T0 + 10),
                     APR_SUCCESS);
    ck_assert_int_eq(ipsie_jwks_count(b), 2);
    ck_assert_int_eq(retry_after, 0);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    /* Keys newer than those that failed are handed out without another fetch. */
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, a, T0 + 11),
                     APR_SUCCESS);
    ck_assert_ptr_eq(b, c);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, b, T0 + 15),
                     IPSIE_ERR_THROTTLED);
    ck_assert_int_eq(srv_hits("/jwks"), 2);
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&c, &retry_after, cache, b, T0 + 20),
                     APR_SUCCESS);
    ck_assert_ptr_ne(b, c);
    ck_assert_int_eq(srv_hits("/jwks"), 3);
    /* The normal getter serves the newest. */
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 21), APR_SUCCESS);
    ck_assert_ptr_eq(a, c);
}
END_TEST

START_TEST(cache_jwks_failure_is_told_apart_and_old_keys_are_kept)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL, *b = NULL;

    serve_metadata(base_url);
    srv_json("/jwks", 503, "{}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08303"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08301"));

    captured_log[0] = '\0';
    srv_json("/jwks", 200, "[]");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 2), IPSIE_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08305"));

    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0 + 4), APR_SUCCESS);
    srv_json("/jwks", 500, "{}");
    captured_log[0] = '\0';
    /* A refetch for new keys that fails says so; the keys held are still served. */
    ck_assert_int_eq(ipsie_provider_cache_jwks_refresh(&b, &(long){0}, cache, a, T0 + 30),
                     IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08303"));
    ck_assert_int_eq(ipsie_provider_cache_jwks(&b, cache, T0 + 31), APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
}
END_TEST

START_TEST(cache_jwks_unreachable_is_a_jwks_fetch_failure)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL;

    srv_json(WELL_KNOWN, 200,
             apr_psprintf(pool,
                          "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                          "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s\"}",
                          base_url, base_url, base_url, refused_url("/jwks")));
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0), IPSIE_ERR_HTTP);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08304"));
    ck_assert_ptr_null(strstr(captured_log, "IPSIE08300"));
}
END_TEST

START_TEST(cache_jwks_without_metadata_reports_the_metadata_error)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_jwks_t *a = NULL;

    srv_json(WELL_KNOWN, 500, "{}");
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    ck_assert_int_eq(ipsie_provider_cache_jwks(&a, cache, T0), IPSIE_ERR_HTTP_STATUS);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(srv_hits("/jwks"), 0);
}
END_TEST

START_TEST(cache_follows_the_max_age_of_the_response_within_bounds)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *a = NULL, *b = NULL;
    const char *doc = apr_psprintf(pool,
                                   "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\","
                                   "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
                                   base_url, base_url, base_url, base_url);
    const char *cc = "Content-Type: application/json\r\nCache-Control: public, max-age=120\r\n";

    srv_set(WELL_KNOWN, 200, cc, doc, 0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&a, cache, T0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 119), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 1);
    /* A provider that asks for no caching is still asked at most once a minute. */
    srv_set(WELL_KNOWN, 200, "Content-Type: application/json\r\nCache-Control: no-store\r\n", doc,
            0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 120), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 179), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 2);
    /* A day is more than the configured maximum: the maximum holds. */
    srv_set(WELL_KNOWN, 200, "Content-Type: application/json\r\nCache-Control: max-age=86400\r\n",
            doc, 0, 0);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180 + TTL - 1), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 3);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&b, cache, T0 + 180 + TTL), APR_SUCCESS);
    ck_assert_int_eq(srv_hits(WELL_KNOWN), 4);
}
END_TEST

/* A provider that accepts connections and never answers: a socket that listens and never
 * accepts (the kernel completes the handshakes). */
typedef struct {
    ipsie_provider_cache_t *cache;
    long long now;
    apr_status_t rv;
    double seconds;
} hang_call_t;

static double wall_seconds(void)
{
    return (double)apr_time_now() / APR_USEC_PER_SEC;
}

static void *hang_call(void *arg)
{
    hang_call_t *c = arg;
    const ipsie_provider_t *op = NULL;
    double start = wall_seconds();

    c->rv = ipsie_provider_cache_metadata(&op, c->cache, c->now);
    c->seconds = wall_seconds() - start;
    return NULL;
}

static ipsie_provider_cache_t *hanging_cache(int *fd)
{
    ipsie_provider_cache_t *cache = NULL;
    ipsie_http_opts_t opts = {1, NULL};
    int port;

    *fd = listen_loopback(&port);
    ck_assert_int_eq(
        ipsie_provider_cache_create(
            &cache, apr_psprintf(pool, "http://127.0.0.1:%d" WELL_KNOWN, port), TTL, &opts, pool),
        APR_SUCCESS);
    return cache;
}

START_TEST(cache_waiters_fail_with_a_hanging_fetch_within_its_timeout)
{
    int fd;
    ipsie_provider_cache_t *cache = hanging_cache(&fd);
    pthread_t threads[5];
    hang_call_t calls[5];
    hang_call_t late;
    double start = wall_seconds();
    int i;

    for (i = 0; i < 5; i++) {
        calls[i] = (hang_call_t){cache, T0, APR_SUCCESS, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hang_call, &calls[i]), 0);
        usleep(100 * 1000);
    }
    for (i = 0; i < 5; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(calls[i].rv, IPSIE_ERR_HTTP);
        /* Timeout 1 s: nobody waits longer than it and its margin. */
        ck_assert_double_le(calls[i].seconds, 2.0);
    }
    /* One fetch for all: they did not queue up one after another. */
    ck_assert_double_le(wall_seconds() - start, 2.5);
    /* Right after the failure, every request fails at once. */
    late = (hang_call_t){cache, T0 + 2, APR_SUCCESS, 0};
    hang_call(&late);
    ck_assert_int_eq(late.rv, IPSIE_ERR_HTTP);
    ck_assert_double_le(late.seconds, 0.2);
    close(fd);
}
END_TEST

START_TEST(cache_refuses_waiters_past_its_bound_at_once)
{
    int fd;
    ipsie_provider_cache_t *cache = hanging_cache(&fd);
    pthread_t threads[4];
    hang_call_t calls[4];
    int i, busy = 0, failed = 0;

    ipsie_provider_cache_set_max_busy(cache, 2);
    for (i = 0; i < 4; i++) {
        calls[i] = (hang_call_t){cache, T0, APR_SUCCESS, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hang_call, &calls[i]), 0);
        usleep(100 * 1000);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        if (calls[i].rv == IPSIE_ERR_BUSY) {
            busy++;
            ck_assert_double_le(calls[i].seconds, 0.2);
        }
        else {
            ck_assert_int_eq(calls[i].rv, IPSIE_ERR_HTTP);
            failed++;
        }
    }
    /* One fetches, one waits for it, the other two are sent away at once. */
    ck_assert_int_eq(failed, 2);
    ck_assert_int_eq(busy, 2);
    ck_assert_ptr_nonnull(strstr(captured_log, "IPSIE08308"));
    close(fd);
}
END_TEST

START_TEST(cache_counts_other_exchanges_against_its_bound)
{
    ipsie_provider_cache_t *cache = new_cache(TTL);
    const ipsie_provider_t *op = NULL;

    serve_metadata(base_url);
    ipsie_provider_cache_set_max_busy(cache, 1);
    ck_assert_int_eq(ipsie_provider_cache_enter(cache), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_enter(cache), IPSIE_ERR_BUSY);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0), IPSIE_ERR_BUSY);
    ipsie_provider_cache_leave(cache);
    ck_assert_int_eq(ipsie_provider_cache_metadata(&op, cache, T0), APR_SUCCESS);
    ck_assert_int_eq(ipsie_provider_cache_enter(cache), APR_SUCCESS);
    ipsie_provider_cache_leave(cache);
}
END_TEST

START_TEST(http_max_age_reads_cache_control)
{
    ck_assert_int_eq(ipsie_http_max_age(NULL), -1);
    ck_assert_int_eq(ipsie_http_max_age(""), -1);
    ck_assert_int_eq(ipsie_http_max_age("public"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=300"), 300);
    ck_assert_int_eq(ipsie_http_max_age("public, max-age=300, must-revalidate"), 300);
    ck_assert_int_eq(ipsie_http_max_age("Max-Age=\"60\""), 60);
    ck_assert_int_eq(ipsie_http_max_age("private, no-cache=\"x, y\", max-age=7"), 0);
    ck_assert_int_eq(ipsie_http_max_age("s-maxage=10"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=300, no-store"), 0);
    ck_assert_int_eq(ipsie_http_max_age("NO-CACHE"), 0);
    ck_assert_int_eq(ipsie_http_max_age("max-age=-5"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=12abc"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age="), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age"), -1);
    ck_assert_int_eq(ipsie_http_max_age("max-age=99999999999999999999999"), 1000000000LL);
    ck_assert_int_eq(ipsie_http_max_age(",,, ,max-age=5,"), 5);
}
END_TEST

START_TEST(http_get_returns_the_cache_control_header)
{
    ipsie_http_response_t resp;

    srv_set("/c", 200, "Cache-Control: max-age=42\r\n", "{}", 0, 0);
    ck_assert_int_eq(ipsie_http_get(&resp, url("/c"), NULL, pool), APR_SUCCESS);
    ck_assert_str_eq(resp.cache_control, "max-age=42");
    srv_json("/d", 200, "{}");
    ck_assert_int_eq(ipsie_http_get(&resp, url("/d"), NULL, pool), APR_SUCCESS);
    ck_assert_ptr_null(resp.cache_control);
}
END_TEST

typedef struct {
    ipsie_provider_cache_t *cache;
    const char *jwks_uri;
    atomic_llong *clock;
    int failures;
} worker_t;

static void *cache_worker(void *arg)
{
    worker_t *w = arg;
    const ipsie_provider_t *op;
    const ipsie_jwks_t *jwks;
    int i;

    for (i = 0; i < 150; i++) {
        /* One clock for all threads, as in a server, running past ttl and grace periods so
         * that generations come and go. */
        long long now = atomic_fetch_add(w->clock, 1);
        if (ipsie_provider_cache_metadata(&op, w->cache, now) != APR_SUCCESS
            || strcmp(op->jwks_uri, w->jwks_uri) != 0) {
            w->failures++;
        }
        if (ipsie_provider_cache_jwks(&jwks, w->cache, now) != APR_SUCCESS
            || ipsie_jwks_count(jwks) != 1) {
            w->failures++;
        }
        if (i % 3 == 0) {
            const ipsie_jwks_t *fresh = NULL;
            long retry_after;
            apr_status_t rv =
                ipsie_provider_cache_jwks_refresh(&fresh, &retry_after, w->cache, jwks, now);
            if ((rv != APR_SUCCESS && rv != IPSIE_ERR_THROTTLED)
                || (rv == APR_SUCCESS && ipsie_jwks_count(fresh) != 1)) {
                w->failures++;
            }
        }
    }
    return NULL;
}

START_TEST(cache_is_safe_for_concurrent_threads)
{
    ipsie_provider_cache_t *cache = new_cache(30);
    pthread_t threads[6];
    worker_t workers[6];
    atomic_llong clock = T0;
    int i;

    serve_metadata(base_url);
    srv_json("/jwks", 200, "{\"keys\":[" JWK1 "]}");
    /* Prime it so a busy refetch can hand out the value already held. */
    ck_assert_int_eq(ipsie_provider_cache_metadata(&(const ipsie_provider_t *){NULL}, cache, T0),
                     APR_SUCCESS);
    for (i = 0; i < 6; i++) {
        workers[i].cache = cache;
        workers[i].jwks_uri = url("/jwks"); /* the pool is not for threads: made up front */
        workers[i].failures = 0;
        workers[i].clock = &clock;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, cache_worker, &workers[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(workers[i].failures, 0);
    }
    ck_assert_int_gt(srv_hits(WELL_KNOWN), 5);
    ck_assert_int_gt(srv_hits("/jwks"), 5);
}
END_TEST

static Suite *provider_suite(void)
{
    Suite *s = suite_create("ipsie_provider");
    TCase *parse = tcase_create("parse");
    TCase *http = tcase_create("http");
    TCase *token = tcase_create("token_request");
    TCase *cache = tcase_create("cache");
    TCase *tls = tcase_create("tls");

    tcase_add_checked_fixture(parse, pool_setup, pool_teardown);
    tcase_add_test(parse, issuer_from_url_strips_the_well_known_suffix);
    tcase_add_test(parse, issuer_from_url_leaves_other_urls_alone);
    tcase_add_test(parse, discovery_good_document_yields_every_field);
    tcase_add_test(parse, discovery_optional_members_default_to_absent);
    tcase_add_test(parse, discovery_advertising_s256_logs_no_pkce_warning);
    tcase_add_test(parse, discovery_without_code_challenge_methods_warns_and_goes_on);
    tcase_add_test(parse, discovery_without_s256_in_code_challenge_methods_warns_once_and_goes_on);
    tcase_add_test(parse,
                   discovery_code_challenge_methods_not_an_array_of_strings_warns_and_goes_on);
    tcase_add_test(parse, discovery_rejects_what_is_not_a_json_object);
    tcase_add_test(parse, discovery_rejects_another_issuer);
    tcase_add_test(parse, discovery_issuer_mismatch_log_is_sanitised);
    tcase_add_test(parse, discovery_rejects_missing_or_non_string_issuer);
    tcase_add_test(parse, discovery_rejects_a_missing_required_endpoint);
    tcase_add_test(parse, discovery_rejects_endpoints_that_are_not_http_urls);
    tcase_add_test(parse, discovery_accepts_http_and_mixed_case_scheme);
    tcase_add_test(parse, discovery_rejects_duplicate_members);
    tcase_add_test(parse, discovery_rejects_a_huge_document);
    tcase_add_test(parse, discovery_survives_deep_nesting);
    tcase_add_test(parse, token_response_good_yields_every_field);
    tcase_add_test(parse, token_response_optional_members_may_be_absent);
    tcase_add_test(parse, token_response_rejects_bad_documents);
    tcase_add_test(parse, token_response_rejection_logs_no_token);
    tcase_add_test(parse, token_response_rejects_a_huge_body);
    suite_add_tcase(s, parse);

    tcase_add_checked_fixture(http, server_setup, server_teardown);
    tcase_set_timeout(http, 30);
    tcase_add_test(http, http_get_returns_status_body_and_content_type);
    tcase_add_test(http, http_get_reports_404_as_a_status);
    tcase_add_test(http, http_get_does_not_follow_redirects);
    tcase_add_test(http, http_get_accepts_a_body_of_exactly_the_limit);
    tcase_add_test(http, http_get_refuses_an_oversized_body_announced_by_length);
    tcase_add_test(http, http_get_aborts_an_oversized_body_without_length);
    tcase_add_test(http, http_get_connection_refused_is_a_transport_error);
    tcase_add_test(http, http_transport_error_log_masks_credentials_in_the_url);
    tcase_add_test(http, http_get_refuses_other_schemes);
    tcase_add_test(http, http_get_times_out_on_a_silent_peer);
    tcase_add_test(http, http_post_form_encodes_basic_credentials);
    tcase_add_test(http, http_max_age_reads_cache_control);
    tcase_add_test(http, http_get_returns_the_cache_control_header);
    suite_add_tcase(s, http);

    tcase_add_checked_fixture(tls, tls_server_setup, server_teardown);
    tcase_set_timeout(tls, 30);
    tcase_add_test(tls, https_refuses_a_certificate_no_trust_anchor_vouches_for);
    tcase_add_test(tls, https_trusts_the_configured_ca_file);
    tcase_add_test(tls, https_checks_the_host_name_against_the_certificate);
    suite_add_tcase(s, tls);

    tcase_add_checked_fixture(token, server_setup, server_teardown);
    tcase_set_timeout(token, 30);
    tcase_add_test(token, token_request_basic_sends_the_code_grant_and_a_basic_header);
    tcase_add_test(token, token_request_post_sends_credentials_in_the_body_only);
    tcase_add_test(token, token_request_private_key_jwt_is_not_implemented_yet);
    tcase_add_test(token, token_request_error_status_logs_only_a_sanitised_error_code);
    tcase_add_test(token, token_request_error_status_without_json_is_still_an_error);
    tcase_add_test(token, token_request_unusable_200_body_is_malformed);
    tcase_add_test(token, token_request_unreachable_op_is_a_transport_error);
    suite_add_tcase(s, token);

    tcase_add_checked_fixture(cache, server_setup, server_teardown);
    tcase_set_timeout(cache, 60);
    tcase_add_test(cache, cache_create_refuses_a_useless_ttl);
    tcase_add_test(cache, cache_serves_the_second_call_without_a_fetch);
    tcase_add_test(cache, cache_refetches_after_the_ttl_and_keeps_old_values_readable);
    tcase_add_test(cache, cache_keeps_serving_old_metadata_when_a_refetch_fails);
    tcase_add_test(cache, cache_without_a_value_reports_an_unreachable_op);
    tcase_add_test(cache, cache_without_a_value_reports_bad_metadata);
    tcase_add_test(cache, cache_without_a_value_does_not_ask_again_right_after_a_failure);
    tcase_add_test(cache, cache_fetches_the_jwks_once_and_reuses_it);
    tcase_add_test(cache, cache_jwks_refresh_is_rate_limited_to_once_per_ten_seconds);
    tcase_add_test(cache, cache_jwks_failure_is_told_apart_and_old_keys_are_kept);
    tcase_add_test(cache, cache_jwks_unreachable_is_a_jwks_fetch_failure);
    tcase_add_test(cache, cache_jwks_without_metadata_reports_the_metadata_error);
    tcase_add_test(cache, cache_is_safe_for_concurrent_threads);
    tcase_add_test(cache, cache_follows_the_max_age_of_the_response_within_bounds);
    tcase_add_test(cache, cache_waiters_fail_with_a_hanging_fetch_within_its_timeout);
    tcase_add_test(cache, cache_refuses_waiters_past_its_bound_at_once);
    tcase_add_test(cache, cache_counts_other_exchanges_against_its_bound);
    suite_add_tcase(s, cache);
    return s;
}

int main(void)
{
    return run_suite(provider_suite());
}
