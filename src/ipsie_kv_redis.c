/* The store on Redis. hiredis connects (within the timeout) and parses replies; sending and
 * waiting are ours, on a non-blocking socket against one deadline per operation: hiredis'
 * own timeout bounds each read, so a server trickling bytes could stretch an operation past
 * it. A connection that failed in any way is closed, never reused. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include <apr_strings.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_kv.h"
#include "ipsie/ipsie_log.h"
#include "ipsie_kv_internal.h"

#define IDLE_MAX 16
#define REPLY_MAX (16 * 1024 * 1024) /* bytes read for one operation, at most */
#define READ_CHUNK 16384

typedef struct {
    ipsie_kv_server_t server;
    apr_interval_time_t timeout;
    ipsie_kv_pool_t *conns;
} redis_t;

/* Commands in the Redis protocol, one after the other (a pipeline). */
typedef struct {
    char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_pool_t *p;
} request_t;

static void request_append(request_t *rq, const void *data, apr_size_t len)
{
    if (rq->len + len > rq->cap) {
        apr_size_t cap = rq->cap > 0 ? rq->cap : 256;
        char *buf;

        while (cap < rq->len + len) {
            cap *= 2;
        }
        buf = apr_palloc(rq->p, cap);
        if (rq->len > 0) {
            memcpy(buf, rq->buf, rq->len);
        }
        rq->buf = buf;
        rq->cap = cap;
    }
    memcpy(rq->buf + rq->len, data, len);
    rq->len += len;
}

/* One command; values are bytes (any, NULs included). */
static void request_command(request_t *rq, int argc, const char *const *argv,
                            const apr_size_t *lens)
{
    char head[48];
    int i, n;

    n = snprintf(head, sizeof(head), "*%d\r\n", argc);
    request_append(rq, head, (apr_size_t)n);
    for (i = 0; i < argc; i++) {
        apr_size_t len = lens != NULL ? lens[i] : strlen(argv[i]);

        n = snprintf(head, sizeof(head), "$%" APR_SIZE_T_FMT "\r\n", len);
        request_append(rq, head, (apr_size_t)n);
        request_append(rq, argv[i], len);
        request_append(rq, "\r\n", 2);
    }
}

/* hiredis' redisFree only closes the socket, sending nothing: the parent's may go too. */
static void conn_close(void *conn, int inherited)
{
    redisFree(conn);
}

/* An idle connection that the server closed (a restart, its idle timeout) or that holds
 * bytes nobody asked for is readable: either way it is no longer usable. */
static int conn_still_open(const redisContext *c)
{
    struct pollfd pfd;

    pfd.fd = c->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 0;
}

static void conn_release(redis_t *rd, redisContext *c, int healthy)
{
    if (c == NULL) {
        return;
    }
    if (healthy) {
        ipsie_kv_pool_give(rd->conns, c);
    }
    else {
        redisFree(c);
    }
}

static apr_status_t conn_get(redisContext **out, redis_t *rd, const char *op, apr_time_t deadline)
{
    redisContext *c;
    struct timeval tv;
    apr_time_t left;
    int flags;

    *out = NULL;
    while ((c = ipsie_kv_pool_take(rd->conns)) != NULL) {
        if (conn_still_open(c)) {
            *out = c;
            return APR_SUCCESS;
        }
        redisFree(c);
    }
    left = deadline - ipsie_kv_clock();
    if (left < 1000) {
        left = 1000;
    }
    tv.tv_sec = (time_t)(left / APR_USEC_PER_SEC);
    tv.tv_usec = (suseconds_t)(left % APR_USEC_PER_SEC);
    c = redisConnectWithTimeout(rd->server.host, rd->server.port, tv);
    if (c == NULL || c->err != 0) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE09201: Redis at %s: %s: cannot connect: %s",
                  rd->server.spelled, op, c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return IPSIE_ERR_KV;
    }
    /* Our own waits need a non-blocking socket; CGI scripts httpd starts must not get it. */
    flags = fcntl(c->fd, F_GETFL);
    if (flags == -1 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1
        || fcntl(c->fd, F_SETFD, FD_CLOEXEC) == -1) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE09201: Redis at %s: %s: cannot connect: %s",
                  rd->server.spelled, op, strerror(errno));
        redisFree(c);
        return IPSIE_ERR_KV;
    }
    *out = c;
    return APR_SUCCESS;
}

/* 1 when fd is ready for events before deadline, 0 when the deadline passed, -1 on error. */
static int wait_for(int fd, short events, apr_time_t deadline)
{
    for (;;) {
        apr_time_t left = deadline - ipsie_kv_clock();
        struct pollfd pfd;
        int r;

        if (left <= 0) {
            return 0;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        r = poll(&pfd, 1, (int)ipsie_kv_ms(left));
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Sends rq and reads n replies before deadline. On failure the connection is closed (*cp is
 * NULL) and no reply is kept. */
static apr_status_t exchange(redisContext **cp, redis_t *rd, const char *op, const request_t *rq,
                             redisReply **replies, int n, apr_time_t deadline)
{
    redisContext *c = *cp;
    apr_size_t sent = 0, received = 0;
    char buf[READ_CHUNK];
    int got = 0, i, ready;
    apr_status_t rv = IPSIE_ERR_KV;

    while (sent < rq->len) {
        ssize_t w = send(c->fd, rq->buf + sent, rq->len - sent, MSG_NOSIGNAL);

        if (w >= 0) {
            sent += (apr_size_t)w;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09203: Redis at %s: %s: connection lost: %s",
                      rd->server.spelled, op, strerror(errno));
            goto leave;
        }
        ready = wait_for(c->fd, POLLOUT, deadline);
        if (ready <= 0) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09202: Redis at %s: %s: no room to send within %ld ms",
                      rd->server.spelled, op, ipsie_kv_ms(rd->timeout));
            goto leave;
        }
    }
    while (got < n) {
        void *reply = NULL;
        ssize_t r;

        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09204: Redis at %s: %s: unreadable reply: %s",
                      rd->server.spelled, op, c->reader->errstr);
            goto leave;
        }
        if (reply != NULL) {
            replies[got++] = reply;
            continue;
        }
        r = recv(c->fd, buf, sizeof(buf), 0);
        if (r > 0) {
            received += (apr_size_t)r;
            if (received > REPLY_MAX) {
                ipsie_log(IPSIE_LOG_ERROR,
                          "IPSIE09204: Redis at %s: %s: unreadable reply: over %d bytes",
                          rd->server.spelled, op, REPLY_MAX);
                goto leave;
            }
            if (redisReaderFeed(c->reader, buf, (size_t)r) != REDIS_OK) {
                ipsie_log(IPSIE_LOG_ERROR, "IPSIE09204: Redis at %s: %s: unreadable reply: %s",
                          rd->server.spelled, op, c->reader->errstr);
                goto leave;
            }
            continue;
        }
        if (r == 0) {
            ipsie_log(IPSIE_LOG_ERROR,
                      "IPSIE09203: Redis at %s: %s: connection lost: closed by the server",
                      rd->server.spelled, op);
            goto leave;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09203: Redis at %s: %s: connection lost: %s",
                      rd->server.spelled, op, strerror(errno));
            goto leave;
        }
        ready = wait_for(c->fd, POLLIN, deadline);
        if (ready < 0) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09203: Redis at %s: %s: connection lost: %s",
                      rd->server.spelled, op, strerror(errno));
            goto leave;
        }
        if (ready == 0) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09202: Redis at %s: %s: no reply within %ld ms",
                      rd->server.spelled, op, ipsie_kv_ms(rd->timeout));
            goto leave;
        }
    }
    /* Bytes past the replies asked for: the server and we no longer agree on the stream. */
    if (c->reader->pos < c->reader->len) {
        ipsie_log(IPSIE_LOG_ERROR,
                  "IPSIE09204: Redis at %s: %s: unreadable reply: more than was asked for",
                  rd->server.spelled, op);
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    if (rv != APR_SUCCESS) {
        for (i = 0; i < got; i++) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        redisFree(c);
        *cp = NULL;
    }
    return rv;
}

/* A reply that is not what the command gives: an error the server sent, or garbage. */
static apr_status_t unexpected(redis_t *rd, const char *op, const redisReply *reply, apr_pool_t *p)
{
    if (reply->type == REDIS_REPLY_ERROR) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE09205: Redis at %s: %s refused: %s", rd->server.spelled,
                  op, ipsie_log_safe(apr_pstrmemdup(p, reply->str, reply->len), p));
    }
    else {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE09206: Redis at %s: %s: unexpected reply of type %d",
                  rd->server.spelled, op, reply->type);
    }
    return IPSIE_ERR_KV;
}

static int is_status(const redisReply *reply, const char *status)
{
    return reply->type == REDIS_REPLY_STATUS && reply->len == strlen(status)
           && memcmp(reply->str, status, reply->len) == 0;
}

static unsigned char *copy_value(const redisReply *reply, apr_pool_t *p)
{
    unsigned char *value = apr_palloc(p, reply->len + 1);

    memcpy(value, reply->str, reply->len);
    value[reply->len] = '\0';
    return value;
}

/* Sends the commands in rq and reads n replies: the connection is checked out in *cp. */
static apr_status_t call(redisContext **cp, redis_t *rd, const char *op, const request_t *rq,
                         redisReply **replies, int n)
{
    apr_time_t deadline = ipsie_kv_clock() + rd->timeout;
    apr_status_t rv;

    rv = conn_get(cp, rd, op, deadline);
    if (rv == APR_SUCCESS) {
        rv = exchange(cp, rd, op, rq, replies, n, deadline);
    }
    return rv;
}

static int outcome_healthy(apr_status_t rv)
{
    return rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == APR_EEXIST;
}

static apr_status_t redis_get(ipsie_kv_t *kv, const char *key, unsigned char **value,
                              apr_size_t *len, apr_pool_t *p)
{
    redis_t *rd = kv->impl;
    const char *argv[2] = {"GET", key};
    request_t rq = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *reply = NULL;
    apr_status_t rv;

    request_command(&rq, 2, argv, NULL);
    rv = call(&c, rd, "GET", &rq, &reply, 1);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        rv = APR_NOTFOUND;
    }
    else if (reply->type == REDIS_REPLY_STRING) {
        *value = copy_value(reply, p);
        *len = reply->len;
    }
    else {
        rv = unexpected(rd, "GET", reply, p);
    }
leave:
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    conn_release(rd, c, outcome_healthy(rv));
    return rv;
}

static apr_status_t redis_get_many(ipsie_kv_t *kv, const char *const *keys, int n,
                                   unsigned char **values, apr_size_t *lens, apr_pool_t *p)
{
    redis_t *rd = kv->impl;
    const char **argv = apr_palloc(p, sizeof(*argv) * (apr_size_t)(n + 1));
    request_t rq = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *reply = NULL;
    apr_status_t rv;
    int i;

    argv[0] = "MGET";
    memcpy(argv + 1, keys, sizeof(*argv) * (apr_size_t)n);
    request_command(&rq, n + 1, argv, NULL);
    rv = call(&c, rd, "MGET", &rq, &reply, 1);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)n) {
        rv = unexpected(rd, "MGET", reply, p);
        goto leave;
    }
    for (i = 0; i < n; i++) {
        const redisReply *e = reply->element[i];

        if (e->type == REDIS_REPLY_STRING) {
            values[i] = copy_value(e, p);
            lens[i] = e->len;
        }
        else if (e->type != REDIS_REPLY_NIL) {
            rv = unexpected(rd, "MGET", e, p);
            goto leave;
        }
    }
leave:
    if (rv != APR_SUCCESS) {
        for (i = 0; i < n; i++) {
            values[i] = NULL;
            lens[i] = 0;
        }
    }
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    conn_release(rd, c, outcome_healthy(rv));
    return rv;
}

/* SET key value [NX] PX ms: SET's reply, OK or (with NX) nil when the key is there. */
static apr_status_t redis_store(redis_t *rd, const char *op, int only_new, const char *key,
                                const unsigned char *value, apr_size_t len, apr_time_t expiry,
                                apr_pool_t *p)
{
    const char *argv[6];
    apr_size_t lens[6];
    request_t rq = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *reply = NULL;
    apr_status_t rv;
    int argc = 0;

    argv[argc] = "SET";
    lens[argc++] = 3;
    argv[argc] = key;
    lens[argc++] = strlen(key);
    argv[argc] = (const char *)value;
    lens[argc++] = len;
    if (only_new) {
        argv[argc] = "NX";
        lens[argc++] = 2;
    }
    argv[argc] = "PX";
    lens[argc++] = 2;
    argv[argc] =
        apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)ipsie_kv_ms_left(expiry, apr_time_now()));
    lens[argc] = strlen(argv[argc]);
    argc++;
    request_command(&rq, argc, argv, lens);
    rv = call(&c, rd, op, &rq, &reply, 1);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (is_status(reply, "OK")) {
        rv = APR_SUCCESS;
    }
    else if (only_new && reply->type == REDIS_REPLY_NIL) {
        rv = APR_EEXIST;
    }
    else {
        rv = unexpected(rd, op, reply, p);
    }
leave:
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    conn_release(rd, c, outcome_healthy(rv));
    return rv;
}

static apr_status_t redis_set(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                              apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    return redis_store(kv->impl, "SET", 0, key, value, len, expiry, p);
}

static apr_status_t redis_add(ipsie_kv_t *kv, const char *key, const unsigned char *value,
                              apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    return redis_store(kv->impl, "SET NX", 1, key, value, len, expiry, p);
}

/* One command whose reply is an integer (a count it leaves unread). */
static apr_status_t integer_command(redis_t *rd, const char *op, int argc, const char *const *argv,
                                    apr_pool_t *p)
{
    request_t rq = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *reply = NULL;
    apr_status_t rv;

    request_command(&rq, argc, argv, NULL);
    rv = call(&c, rd, op, &rq, &reply, 1);
    if (rv == APR_SUCCESS && reply->type != REDIS_REPLY_INTEGER) {
        rv = unexpected(rd, op, reply, p);
    }
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    conn_release(rd, c, outcome_healthy(rv));
    return rv;
}

static apr_status_t redis_remove(ipsie_kv_t *kv, const char *key, apr_pool_t *p)
{
    const char *argv[2] = {"DEL", key};

    return integer_command(kv->impl, "DEL", 2, argv, p);
}

/* Sets are sorted sets, each member scored with its expiry (Unix milliseconds). One
 * transaction, one round trip: members whose expiry passed go, the member is added or its
 * expiry raised (GT: never lowered), the set's size is read, a set without expiry gets one
 * (NX) and a set with an earlier one gets this one (GT); a later one stays. ZADD GT needs Redis
 * 6.2, PEXPIRE NX and GT 7.0; an older server refuses the transaction whole. A new member that
 * makes the set too large is taken out again. */
static apr_status_t redis_set_add(ipsie_kv_t *kv, const char *key, const char *member,
                                  apr_time_t expiry, apr_pool_t *p)
{
    redis_t *rd = kv->impl;
    apr_time_t now = apr_time_now();
    const char *ms =
        apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)ipsie_kv_ms_left(expiry, now));
    const char *score =
        apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)(apr_time_as_msec(expiry)));
    const char *past = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)(apr_time_as_msec(now)));
    const char *multi[1] = {"MULTI"};
    const char *trim[4] = {"ZREMRANGEBYSCORE", key, "-inf", past};
    const char *zadd[5] = {"ZADD", key, "GT", score, member};
    const char *zcard[2] = {"ZCARD", key};
    const char *expire_nx[4] = {"PEXPIRE", key, ms, "NX"};
    const char *expire_gt[4] = {"PEXPIRE", key, ms, "GT"};
    const char *exec[1] = {"EXEC"};
    const char *zrem[3] = {"ZREM", key, member};
    request_t rq = {NULL, 0, 0, p};
    request_t undo = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *replies[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    redisReply *undone = NULL;
    const redisReply *done;
    apr_status_t rv;
    int i;

    request_command(&rq, 1, multi, NULL);
    request_command(&rq, 4, trim, NULL);
    request_command(&rq, 5, zadd, NULL);
    request_command(&rq, 2, zcard, NULL);
    request_command(&rq, 4, expire_nx, NULL);
    request_command(&rq, 4, expire_gt, NULL);
    request_command(&rq, 1, exec, NULL);
    rv = call(&c, rd, "ZADD", &rq, replies, 7);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    /* The first error says why (e.g. a server older than 7.0); EXEC only says it aborted. */
    for (i = 0; i < 7; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            rv = unexpected(rd, "ZADD with PEXPIRE NX and GT (Redis 7.0 or later)", replies[i], p);
            goto leave;
        }
    }
    if (!is_status(replies[0], "OK")) {
        rv = unexpected(rd, "ZADD", replies[0], p);
        goto leave;
    }
    for (i = 1; i < 6; i++) {
        if (!is_status(replies[i], "QUEUED")) {
            rv = unexpected(rd, "ZADD", replies[i], p);
            goto leave;
        }
    }
    done = replies[6];
    if (done->type != REDIS_REPLY_ARRAY || done->elements != 5) {
        rv = unexpected(rd, "ZADD", done, p);
        goto leave;
    }
    for (i = 0; i < 5; i++) {
        if (done->element[i]->type != REDIS_REPLY_INTEGER) {
            rv = unexpected(rd, "ZADD", done->element[i], p);
            goto leave;
        }
    }
    /* ZADD's count says whether the member is new; ZCARD the size with it. */
    if (done->element[1]->integer == 1 && done->element[2]->integer > IPSIE_KV_SET_MAX) {
        request_command(&undo, 3, zrem, NULL);
        rv = exchange(&c, rd, "ZREM", &undo, &undone, 1, ipsie_kv_clock() + rd->timeout);
        if (rv == APR_SUCCESS && undone->type != REDIS_REPLY_INTEGER) {
            rv = unexpected(rd, "ZREM", undone, p);
        }
        if (rv == APR_SUCCESS) {
            rv = IPSIE_ERR_TOO_LARGE;
        }
    }
leave:
    for (i = 0; i < 7; i++) {
        if (replies[i] != NULL) {
            freeReplyObject(replies[i]);
        }
    }
    if (undone != NULL) {
        freeReplyObject(undone);
    }
    conn_release(rd, c, outcome_healthy(rv) || rv == IPSIE_ERR_TOO_LARGE);
    return rv;
}

/* The members whose expiry is still ahead. */
static apr_status_t redis_set_members(ipsie_kv_t *kv, const char *key, apr_array_header_t **members,
                                      apr_pool_t *p)
{
    redis_t *rd = kv->impl;
    const char *now =
        apr_psprintf(p, "(%" APR_INT64_T_FMT, (apr_int64_t)apr_time_as_msec(apr_time_now()));
    const char *argv[5] = {"ZRANGE", key, now, "+inf", "BYSCORE"};
    request_t rq = {NULL, 0, 0, p};
    redisContext *c = NULL;
    redisReply *reply = NULL;
    apr_array_header_t *list = NULL;
    apr_status_t rv;
    size_t i;

    request_command(&rq, 5, argv, NULL);
    rv = call(&c, rd, "ZRANGE", &rq, &reply, 1);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        rv = unexpected(rd, "ZRANGE", reply, p);
        goto leave;
    }
    list = apr_array_make(p, (int)reply->elements, sizeof(const char *));
    for (i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        const char *member;

        if (e->type != REDIS_REPLY_STRING) {
            rv = unexpected(rd, "ZRANGE", e, p);
            goto leave;
        }
        /* Only what set_add writes; anything else is not ours. */
        member = apr_pstrmemdup(p, e->str, e->len);
        if (strlen(member) != e->len || !ipsie_kv_key_ok(member)) {
            ipsie_log(IPSIE_LOG_ERROR, "IPSIE09206: Redis at %s: ZRANGE: a member not set_add's",
                      rd->server.spelled);
            rv = IPSIE_ERR_KV;
            goto leave;
        }
        APR_ARRAY_PUSH(list, const char *) = member;
    }
    *members = list;
leave:
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    conn_release(rd, c, outcome_healthy(rv));
    return rv;
}

static apr_status_t redis_set_remove(ipsie_kv_t *kv, const char *key, const char *member,
                                     apr_pool_t *p)
{
    const char *argv[3] = {"ZREM", key, member};

    return integer_command(kv->impl, "ZREM", 3, argv, p);
}

static const ipsie_kv_ops_t redis_ops = {"redis",       redis_get,         redis_get_many,
                                         redis_set,     redis_add,         redis_remove,
                                         redis_set_add, redis_set_members, redis_set_remove};

apr_status_t ipsie_kv_redis_create(ipsie_kv_t **out, const char *address,
                                   apr_interval_time_t timeout, apr_pool_t *p)
{
    ipsie_kv_server_t *servers;
    ipsie_kv_t *kv;
    redis_t *rd;
    int n;
    apr_status_t rv;

    *out = NULL;
    if (timeout <= 0) {
        return IPSIE_ERR_MALFORMED;
    }
    rv = ipsie_kv_parse_servers(&servers, &n, address, 1, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rd = apr_pcalloc(p, sizeof(*rd));
    rd->server = servers[0];
    rd->timeout = timeout;
    ipsie_kv_pool_create(&rd->conns, IDLE_MAX, conn_close, p);
    kv = apr_pcalloc(p, sizeof(*kv));
    kv->ops = &redis_ops;
    kv->impl = rd;
    *out = kv;
    return APR_SUCCESS;
}
