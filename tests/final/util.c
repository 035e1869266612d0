/*
 * util.c - see util.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "util.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

h_server *start(const h_opts *opts, const char *first, ...) {
    static const char *args[48];
    int n = 0;
    args[n++] = "-port";
    args[n++] = "0";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 46; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    h_opts o = {0};
    if (opts) o = *opts;
    o.args = args;
    return h_start_opts(h_bin(), &o);
}

static unsigned next_rand(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

void round_trip_fd(int fd, size_t size, unsigned seed) {
    char *sent = malloc(size ? size : 1), *got = malloc(size ? size : 1);
    cr_assert(sent && got);
    h_fill_pattern(sent, size, seed);
    int flags = fcntl(fd, F_GETFL);
    cr_assert(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
    size_t out = 0, in = 0;
    unsigned r = seed ^ 0x9e3779b9u;
    long long deadline = h_now_ms() + H_DEADLINE_MS * 3;
    while (in < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (out < size ? POLLOUT : 0)};
        long long left = deadline - h_now_ms();
        cr_assert(gt(i64, left, 0), "round trip of %zu bytes stalled: %zu sent, %zu back", size,
                  out, in);
        int rc = poll(&p, 1, (int)left), e = errno;
        cr_assert(rc >= 0 || e == EINTR, "poll: %s", strerror(e));
        if (p.revents & POLLOUT) {
            size_t chunk = 1 + next_rand(&r) % 65536;
            if (chunk > size - out) chunk = size - out;
            ssize_t w = write(fd, sent + out, chunk);
            int e = errno;
            if (w > 0)
                out += (size_t)w;
            else
                cr_assert(e == EAGAIN || e == EINTR, "write: %s", strerror(e));
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t chunk = 1 + next_rand(&r) % 65536;
            if (chunk > size - in) chunk = size - in;
            ssize_t n = read(fd, got + in, chunk);
            cr_assert(n != 0, "EOF after %zu of %zu bytes", in, size);
            if (n > 0) {
                cr_assert(le(sz, in + (size_t)n, out), "more came back than was sent");
                in += (size_t)n;
            } else {
                int e = errno;
                cr_assert(e == EAGAIN || e == EINTR, "read: %s", strerror(e));
            }
        }
    }
    for (size_t i = 0; i < size; i++)
        if (sent[i] != got[i]) cr_fatal("echo differs at byte %zu of %zu", i, size);
    fcntl(fd, F_SETFL, flags);
    free(sent);
    free(got);
}

void round_trip(int port, size_t size, unsigned seed) {
    int fd = h_connect(port);
    round_trip_fd(fd, size, seed);
    close(fd);
}

void echo_ok(int fd, const char *msg) {
    size_t len = strlen(msg);
    char buf[4096];
    cr_assert(lt(sz, len, sizeof(buf)));
    h_send_all(fd, msg, len);
    size_t n = h_recv_exact(fd, buf, len, H_DEADLINE_MS);
    cr_assert(eq(sz, n, len), "echo of \"%s\": %zu of %zu bytes", msg, n, len);
    cr_assert(eq(int, memcmp(buf, msg, len), 0));
}

int served(int fd, const char *msg) {
    size_t len = strlen(msg);
    char buf[256];
    /* A refused client may already be closed: the send can fail. */
    ssize_t w = send(fd, msg, len, 0);
    if (w < 0) return 0;
    cr_assert(eq(sz, (size_t)w, len));
    size_t n = h_recv_exact(fd, buf, len, H_DEADLINE_MS);
    if (n == len && memcmp(buf, msg, len) == 0) return 1;
    cr_assert(eq(sz, n, 0), "partial echo: %zu of %zu bytes", n, len);
    cr_assert(h_wait_eof(fd, H_DEADLINE_MS, NULL), "neither echo nor close");
    return 0;
}

typedef struct fd_goal {
    h_server *s;
    int n;
} fd_goal;

static int fds_at_most(void *arg) {
    fd_goal *g = arg;
    return h_fd_count(g->s->pid) <= g->n;
}

int wait_fds_at_most(h_server *s, int n, int deadline_ms) {
    fd_goal g = {s, n};
    return h_poll_until(fds_at_most, &g, deadline_ms, 5);
}

void window_ms(int ms) {
    long long end = h_now_ms() + ms;
    while (h_now_ms() < end)
        poll(NULL, 0, (int)(end - h_now_ms()));
}

int file_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int is_stopped(void *arg) {
    return h_stopped(((h_server *)arg)->pid);
}

void freeze(h_server *s) {
    cr_assert(eq(int, kill(s->pid, SIGSTOP), 0), "kill SIGSTOP: %s", strerror(errno));
    cr_assert(h_poll_until(is_stopped, s, H_DEADLINE_MS, 1), "the server did not stop (%s)",
              h_metrics_source());
}

void thaw(h_server *s) {
    cr_assert(eq(int, kill(s->pid, SIGCONT), 0), "kill SIGCONT: %s", strerror(errno));
}

int connect_with_rcvbuf(int port, int bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    cr_assert(eq(int, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)), 0),
              "setsockopt SO_RCVBUF: %s", strerror(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    /* Not INADDR_LOOPBACK: macOS hides it under strict POSIX. */
    cr_assert(eq(int, inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1));
    cr_assert(eq(int, connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0), "connect: %s",
              strerror(errno));
    return fd;
}

int listen_loopback(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    cr_assert(eq(int, inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1));
    socklen_t len = sizeof(sin);
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sin, len), 0), "bind: %s", strerror(errno));
    cr_assert(eq(int, listen(fd, 8), 0), "listen: %s", strerror(errno));
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&sin, &len), 0), "getsockname: %s",
              strerror(errno));
    *port = ntohs(sin.sin_port);
    return fd;
}
