/* Shared fixture of the store suites: a real Debian server (redis-server, memcached) started
 * by the test on a free 127.0.0.1 port as a child process and stopped at the end, and a fake
 * server that answers every read with the same bytes. The servers die with the test process
 * that started them (PR_SET_PDEATHSIG), so a failed test leaves none behind. Include after
 * test_support.h. */
#ifndef IPSIE_TEST_KV_SERVERS_H
#define IPSIE_TEST_KV_SERVERS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test_support.h"

typedef enum { KV_REDIS, KV_MEMCACHED } kv_kind_e;

typedef struct {
    kv_kind_e kind;
    pid_t pid;
    int port;
    int ipv6; /* listens on ::1 instead of 127.0.0.1 */
} kv_server_t;

/* Milliseconds on a monotonic clock, for measuring how long a call took. */
static inline long long kv_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void kv_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* A port nobody listens on right now. */
static inline int kv_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* 1 when something accepts connections on the loopback port. */
static inline int kv_port_accepts(int port, int ipv6)
{
    int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), ok;

    if (ipv6) {
        struct sockaddr_in6 sin6;

        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = in6addr_loopback;
        sin6.sin6_port = htons((uint16_t)port);
        ok = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    }
    else {
        struct sockaddr_in sin;

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port = htons((uint16_t)port);
        ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    }
    close(fd);
    return ok;
}

/* Runs argv as a child that dies with this process, its output discarded. */
static inline pid_t kv_spawn(char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Starts the server on s->port (0: a free one) and waits until it accepts connections. */
static inline void kv_server_start(kv_server_t *s)
{
    int tries;

    for (tries = 0; tries < 5; tries++) {
        char port[16];
        const char *host = s->ipv6 ? "::1" : "127.0.0.1";
        int fixed = s->port != 0;
        long long until;

        if (!fixed) {
            s->port = kv_free_port();
        }
        snprintf(port, sizeof(port), "%d", s->port);
        if (s->kind == KV_REDIS) {
            char *argv[] = {"redis-server", "--port",     port,           "--bind", (char *)host,
                            "--save",       "",           "--appendonly", "no",     "--daemonize",
                            "no",           "--loglevel", "warning",      NULL};
            s->pid = kv_spawn(argv);
        }
        else {
            /* memcached refuses to run as root unless told which user to be. */
            char *argv[] = {"memcached", "-l", (char *)host, "-p",   port,
                            "-U",        "0",  "-u",         "root", NULL};
            if (getuid() != 0) {
                argv[7] = NULL;
            }
            s->pid = kv_spawn(argv);
        }
        until = kv_now_ms() + 5000;
        while (kv_now_ms() < until) {
            int status;

            if (kv_port_accepts(s->port, s->ipv6)) {
                return;
            }
            if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
                s->pid = 0;
                break;
            }
            kv_sleep_ms(10);
        }
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        if (fixed) {
            /* The port was ours a moment ago: wait for it to be free again. */
            kv_sleep_ms(200);
        }
        else {
            s->port = 0;
        }
    }
    ck_abort_msg("%s did not start", s->kind == KV_REDIS ? "redis-server" : "memcached");
}

static inline void kv_server_stop(kv_server_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static inline void kv_server_freeze(kv_server_t *s)
{
    ck_assert_int_eq(kill(s->pid, SIGSTOP), 0);
}

static inline void kv_server_thaw(kv_server_t *s)
{
    ck_assert_int_eq(kill(s->pid, SIGCONT), 0);
}

static inline const char *kv_server_address(const kv_server_t *s, apr_pool_t *p)
{
    return apr_psprintf(p, s->ipv6 ? "[::1]:%d" : "127.0.0.1:%d", s->port);
}

/* ---- a fake server: every read is answered with the same bytes ------------------------- */

typedef struct {
    pid_t pid;
    int port;
} kv_fake_t;

/* answer: the bytes (len of them) sent back for every read; with random set, len random
 * bytes instead (a new draw each time). */
static inline void kv_fake_start(kv_fake_t *f, const char *answer, size_t len, int random)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    pid_t parent = getpid();

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    f->port = ntohs(sin.sin_port);
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        unsigned int seed = 1;
        char *out = malloc(len > 0 ? len : 1);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int c = accept(fd, NULL, NULL);

            if (c < 0) {
                continue;
            }
            /* One connection at a time is enough for the tests. */
            for (;;) {
                char in[65536];
                ssize_t n = read(c, in, sizeof(in));
                size_t i;

                if (n <= 0) {
                    break;
                }
                for (i = 0; i < len; i++) {
                    out[i] = random ? (char)(rand_r(&seed) & 0xff) : answer[i];
                }
                if (write(c, out, len) < 0) {
                    break;
                }
            }
            close(c);
        }
    }
    close(fd);
}

static inline void kv_fake_stop(kv_fake_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
}

#endif
