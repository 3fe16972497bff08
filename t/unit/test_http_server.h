/* Shared fixture of the suites that talk HTTP (the client, the token endpoint, the provider
 * cache): a small real HTTP(S) server on 127.0.0.1 with canned answers per path, run on a
 * thread of the test. Include after test_support.h. */
#ifndef IPSIE_TEST_HTTP_SERVER_H
#define IPSIE_TEST_HTTP_SERVER_H

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

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "test_support.h"
#include "ipsie/ipsie_http.h"

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
    int once;            /* served to the first request for path alone, before the others */
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
    char prev_request[MAX_REQUEST + 1]; /* ... and of the one before it */
    char prev_body[MAX_REQUEST + 1];
    SSL_CTX *tls; /* NULL: plain HTTP */
} srv;

static char cert_file[64];

static char base_url[64];

static inline void srv_set(const char *path, int status, const char *headers, const char *body,
                           size_t body_len, int close_delimited)
{
    canned_t *c = NULL;
    int i;

    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < srv.ncanned; i++) {
        if (strcmp(srv.canned[i].path, path) == 0 && !srv.canned[i].once) {
            c = &srv.canned[i];
        }
    }
    if (c == NULL) {
        ck_assert_int_lt(srv.ncanned, MAX_CANNED);
        c = &srv.canned[srv.ncanned++];
        c->path = strdup(path);
        c->hits = 0;
        c->once = 0;
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

static inline void srv_json(const char *path, int status, const char *body)
{
    srv_set(path, status, "Content-Type: application/json\r\n", body, 0, 0);
}

/* An answer for the next request to path alone, before what srv_set gave for it; several are
 * served in the order given. */
static inline void srv_set_once(const char *path, int status, const char *headers, const char *body)
{
    canned_t *c;

    pthread_mutex_lock(&srv.lock);
    ck_assert_int_lt(srv.ncanned, MAX_CANNED);
    c = &srv.canned[srv.ncanned++];
    c->path = strdup(path);
    c->status = status;
    c->headers = strdup(headers ? headers : "");
    c->body_len = strlen(body);
    c->body = strdup(body);
    c->close_delimited = 0;
    c->once = 1;
    c->hits = 0;
    pthread_mutex_unlock(&srv.lock);
}

static inline int srv_hits(const char *path)
{
    int i, n = 0;

    pthread_mutex_lock(&srv.lock);
    for (i = 0; i < srv.ncanned; i++) {
        if (strcmp(srv.canned[i].path, path) == 0) {
            n += srv.canned[i].hits;
        }
    }
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static inline void send_all(int fd, SSL *ssl, const char *data, size_t len)
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

static inline void serve_one(int fd, SSL *ssl)
{
    char *req = malloc(MAX_REQUEST + 1);
    size_t used = 0, head_len = 0, body_len = 0;
    char *end, *cl, *sp;
    char path[1024] = "";
    char head[1024];
    char *big_head;
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
    memcpy(srv.prev_request, srv.last_request, sizeof(srv.prev_request));
    memcpy(srv.prev_body, srv.last_body, sizeof(srv.prev_body));
    memcpy(srv.last_request, req, used + 1);
    memcpy(srv.last_body, req + head_len, body_len);
    srv.last_body[body_len] = '\0';
    for (i = 0; i < srv.ncanned; i++) {
        canned_t *e = &srv.canned[i];

        if (strcmp(e->path, path) != 0 || (e->once && e->hits > 0)) {
            continue;
        }
        /* The first unspent one-shot answer, else the path's own. */
        if (e->once) {
            c = e;
            break;
        }
        c = e;
    }
    if (c != NULL) {
        c->hits++;
    }
    if (c == NULL) {
        pthread_mutex_unlock(&srv.lock);
        snprintf(head, sizeof(head),
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                 "Connection: close\r\n\r\nnot found");
        send_all(fd, ssl, head, strlen(head));
        goto done;
    }
    /* On the heap: a test may give headers of any size. */
    big_head = malloc(strlen(c->headers) + 128);
    if (c->close_delimited) {
        sprintf(big_head, "HTTP/1.1 %d X\r\n%sConnection: close\r\n\r\n", c->status, c->headers);
    }
    else {
        sprintf(big_head,
                "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n",
                c->status, c->headers, c->body_len);
    }
    send_all(fd, ssl, big_head, strlen(big_head));
    free(big_head);
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

static inline void *srv_main(void *arg)
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
static inline int listen_loopback(int *port)
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

static inline void server_start(SSL_CTX *tls)
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

static inline void server_setup(void)
{
    server_start(NULL);
}

/* A self-signed certificate for IP 127.0.0.1, written to cert_file for the client. */
static inline void tls_server_setup(void)
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

static inline void server_teardown(void)
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

static inline const char *url(const char *path)
{
    return apr_pstrcat(pool, base_url, path, NULL);
}

/* A URL on which nothing listens: bound once for its port, then closed. */
static inline const char *refused_url(const char *path)
{
    int port;
    int fd = listen_loopback(&port);

    close(fd);
    return apr_psprintf(pool, "http://127.0.0.1:%d%s", port, path);
}

#endif
