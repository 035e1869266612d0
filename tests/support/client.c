/*
 * client.c - see client.h.
 */
/* Feature macros: POSIX, and MSG_DONTWAIT, which POSIX 2008 lacks. glibc
 * shows it under -std=c11 with POSIX, macOS with _DARWIN_C_SOURCE; the
 * BSDs show it by default, and asking for strict POSIX there would hide
 * it: they are asked for nothing. */
#if !defined(__FreeBSD__) && !defined(__OpenBSD__) && !defined(__NetBSD__) &&                      \
    !defined(__DragonFly__)
#define _POSIX_C_SOURCE  200809L
#define _DARWIN_C_SOURCE /* macOS: MSG_DONTWAIT */
#endif

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a stalled exchange may go on before it fails the test. */
#define EXCHANGE_MS 30000

/* How long the peer takes nothing before h_send_until_stalled calls it
 * stalled. Long enough for a loopback peer on a loaded machine. */
#define STALLED_MS 300

/* --- connecting --------------------------------------------------------- */

/* A socket to the loopback address of family, port; SO_RCVBUF set first
 * when rcvbuf > 0. -1 with errno set on failure. */
static int connect_to(int family, int port, int rcvbuf) {
    h_ignore_sigpipe();
    struct sockaddr_storage ss = {0};
    socklen_t len;
    /* inet_pton rather than INADDR_LOOPBACK, which macOS hides under strict POSIX. */
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, "::1", &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
        len = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if ((rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) ||
        connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int h_connect(int port) {
    int fd = connect_to(AF_INET, port, 0);
    if (fd < 0) cr_fatal("connect to 127.0.0.1 port %d: %s", port, strerror(errno));
    return fd;
}

int h_connect6(int port) {
    int fd = connect_to(AF_INET6, port, 0);
    if (fd < 0) cr_fatal("connect to [::1] port %d: %s", port, strerror(errno));
    return fd;
}

int h_wait_refused(int port, int deadline_ms) {
    long long deadline = h_deadline(deadline_ms);
    for (;;) {
        int fd = connect_to(AF_INET, port, 0);
        if (fd < 0 && errno == ECONNREFUSED) return 1;
        if (fd < 0 && errno != ECONNRESET)
            cr_fatal("connect to 127.0.0.1 port %d: %s", port, strerror(errno));
        if (fd >= 0) close(fd);
        if (h_now_ms() >= deadline) return 0;
        h_pause_ms(5);
    }
}

int h_connect_rcvbuf(int port, int bytes) {
    int fd = connect_to(AF_INET, port, bytes);
    if (fd < 0)
        cr_fatal("connect to 127.0.0.1 port %d with SO_RCVBUF %d: %s", port, bytes,
                 strerror(errno));
    return fd;
}

int h_listen_loopback(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    cr_assert(eq(int, inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1));
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sin, sizeof sin), 0), "bind: %s",
              strerror(errno));
    cr_assert(eq(int, listen(fd, 8), 0), "listen: %s", strerror(errno));
    *port = h_local_port(fd);
    return fd;
}

int h_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&ss, &len), 0), "getsockname: %s",
              strerror(errno));
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* --- bytes ------------------------------------------------------------- */

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - h_now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n > 0) return 1;
        if (n == 0) return 0;
        if (errno != EINTR) cr_fatal("poll: %s", strerror(errno));
    }
}

static int again(int e) {
    return e == EINTR || e == EAGAIN || e == EWOULDBLOCK;
}

void h_send_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    long long deadline = h_deadline(0);
    while (len > 0) {
        if (!wait_fd(fd, POLLOUT, deadline))
            cr_fatal("send: the peer did not read %zu more bytes in time", len);
        ssize_t n = send(fd, p, len, MSG_DONTWAIT);
        if (n < 0) {
            if (again(errno)) continue;
            cr_fatal("send: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
}

size_t h_recv_exact(int fd, void *buf, size_t len, int deadline_ms) {
    char *p = buf;
    size_t got = 0;
    long long deadline = h_deadline(deadline_ms);
    while (got < len) {
        if (!wait_fd(fd, POLLIN, deadline)) break;
        ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);
        if (n == 0) break;
        if (n < 0) {
            if (again(errno)) continue;
            break;
        }
        got += (size_t)n;
    }
    return got;
}

void h_fill_pattern(void *buf, size_t len, unsigned seed) {
    unsigned char *p = buf;
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
}

void *h_pattern(size_t len, unsigned seed) {
    void *p = malloc(len ? len : 1);
    if (!p) cr_fatal("out of memory for %zu bytes", len);
    h_fill_pattern(p, len, seed);
    return p;
}

/* --- echoes ------------------------------------------------------------ */

/* The offset of the first byte where a and b differ, len if none does. */
static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i]) return i;
    return len;
}

void h_expect(int fd, const void *want, size_t len, const char *who) {
    unsigned char *got = malloc(len ? len : 1);
    if (!got) cr_fatal("out of memory for %zu bytes", len);
    size_t n = h_recv_exact(fd, got, len, 0);
    cr_assert(eq(sz, n, len), "%s: %zu of %zu bytes came back", who, n, len);
    size_t at = first_difference(got, want, len);
    cr_assert(eq(sz, at, len), "%s: the echo differs at byte %zu of %zu", who, at, len);
    free(got);
}

void h_echo(int fd, const char *msg) {
    char who[96];
    snprintf(who, sizeof who, "the echo of \"%.64s\"", msg);
    h_send_all(fd, msg, strlen(msg));
    h_expect(fd, msg, strlen(msg), who);
}

int h_echo_or_closed(int fd, const char *msg, const char *who) {
    size_t len = strlen(msg), got = 0;
    char buf[512];
    cr_assert(lt(sz, len, sizeof buf));
    long long deadline = h_deadline(0);
    while (got < len) {
        cr_assert(wait_fd(fd, POLLIN, deadline), "%s: neither its echo nor a close in time", who);
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && again(errno)) continue;
        cr_assert(eq(sz, got, 0), "%s: closed after %zu of %zu bytes", who, got, len);
        cr_assert(n == 0 || errno == ECONNRESET, "%s: recv: %s", who, strerror(errno));
        return 0;
    }
    cr_assert(eq(int, memcmp(buf, msg, len), 0), "%s: the echo differs", who);
    return 1;
}

/* The next pseudo-random number of the sequence in *r. */
static unsigned next_rand(unsigned *r) {
    *r = *r * 1103515245u + 12345u;
    return *r >> 8;
}

/* A random chunk of at most 64 KiB, and at most left. */
static size_t chunk(unsigned *r, size_t left) {
    size_t n = 1 + next_rand(r) % 65536;
    return n < left ? n : left;
}

void h_exchange(int fd, const void *buf, size_t len, size_t sent) {
    const unsigned char *out = buf;
    unsigned char *in = malloc(len ? len : 1);
    if (!in) cr_fatal("out of memory for %zu bytes", len);
    int flags = fcntl(fd, F_GETFL);
    cr_assert(flags != -1 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != -1, "fcntl: %s",
              strerror(errno));
    unsigned r = (unsigned)len ^ 0x9e3779b9u;
    long long deadline = h_now_ms() + EXCHANGE_MS;
    size_t received = 0;
    while (received < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        long long left = deadline - h_now_ms();
        int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (ready < 0 && errno == EINTR) continue;
        cr_assert(gt(int, ready, 0), "exchange stalled: sent %zu, received %zu of %zu bytes", sent,
                  received, len);
        if (p.revents & POLLOUT) {
            ssize_t n = send(fd, out + sent, chunk(&r, len - sent), 0);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && !again(errno))
                cr_fatal("send after %zu bytes: %s", sent, strerror(errno));
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, in + received, chunk(&r, len - received), 0);
            if (n > 0) {
                received += (size_t)n;
                cr_assert(le(sz, received, sent), "more came back than was sent");
            } else if (n == 0) {
                cr_fatal("EOF after %zu of %zu echoed bytes", received, len);
            } else if (!again(errno)) {
                cr_fatal("recv after %zu bytes: %s", received, strerror(errno));
            }
        }
    }
    size_t at = first_difference(in, out, len);
    cr_assert(eq(sz, at, len), "the echo differs from what was sent at byte %zu of %zu", at, len);
    fcntl(fd, F_SETFL, flags);
    free(in);
}

void h_round_trip(int port, size_t size, unsigned seed) {
    void *data = h_pattern(size, seed);
    int fd = h_connect(port);
    h_exchange(fd, data, size, 0);
    close(fd);
    free(data);
}

/* --- misbehaving -------------------------------------------------------- */

size_t h_send_until_stalled(int fd, const void *buf, size_t len) {
    const char *p = buf;
    size_t sent = 0;
    while (sent < len) {
        if (!wait_fd(fd, POLLOUT, h_now_ms() + STALLED_MS)) break; /* stalled: what we wait for */
        ssize_t n = send(fd, p + sent, len - sent, MSG_DONTWAIT);
        if (n > 0)
            sent += (size_t)n;
        else if (n < 0 && !again(errno))
            cr_fatal("send after %zu bytes: %s", sent, strerror(errno));
    }
    return sent;
}

int h_silent_for(int fd, int ms) {
    return !wait_fd(fd, POLLIN, h_now_ms() + ms);
}

int h_wait_eof(int fd, int deadline_ms, size_t *extra) {
    long long deadline = h_deadline(deadline_ms);
    char buf[65536];
    for (;;) {
        if (!wait_fd(fd, POLLIN, deadline)) return 0;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return 1;
        if (n < 0) {
            if (again(errno)) continue;
            return errno == ECONNRESET;
        }
        if (extra) *extra += (size_t)n;
    }
}

void h_shutdown_write(int fd) {
    if (shutdown(fd, SHUT_WR) != 0) cr_fatal("shutdown: %s", strerror(errno));
}

void h_reset(int fd) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        cr_fatal("setsockopt SO_LINGER: %s", strerror(errno));
    close(fd);
}
