/*
 * kq_support.c - helpers shared by the kqueue conformance tests (see kq_support.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "kq_support.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

int new_kqueue(void) {
    int kq = kqueue();
    cr_assert(ge(int, kq, 0), "kqueue: %s", strerror(errno));
    return kq;
}

void unix_pair(int sv[2]) {
    cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0), "socketpair: %s",
              strerror(errno));
}

/* A listening TCP socket on 127.0.0.1, ephemeral port. */
int tcp_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(ge(int, fd, 0), "socket: %s", strerror(errno));
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    cr_assert(eq(int, inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1));
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sin, sizeof sin), 0), "bind: %s",
              strerror(errno));
    cr_assert(eq(int, listen(fd, 16), 0), "listen: %s", strerror(errno));
    socklen_t len = sizeof sin;
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&sin, &len), 0));
    *port = ntohs(sin.sin_port);
    return fd;
}

int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(ge(int, fd, 0), "socket: %s", strerror(errno));
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    cr_assert(eq(int, inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1));
    cr_assert(eq(int, connect(fd, (struct sockaddr *)&sin, sizeof sin), 0), "connect: %s",
              strerror(errno));
    return fd;
}

/* A connected TCP pair over loopback: *client and the accepted *server. */
void tcp_pair(int *client, int *server) {
    int port;
    int lfd = tcp_listener(&port);
    *client = tcp_connect(port);
    *server = accept(lfd, NULL, NULL);
    cr_assert(ge(int, *server, 0), "accept: %s", strerror(errno));
    close(lfd);
}

void send_all(int fd, const char *s) {
    size_t len = strlen(s);
    cr_assert(eq(sz, (size_t)write(fd, s, len), len), "write: %s", strerror(errno));
}

struct timespec ms_ts(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
    return ts;
}

long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Apply one change; assert kevent accepted it. */
void change(int kq, uintptr_t ident, short filter, unsigned short flags, unsigned int fflags,
            int64_t data, void *udata) {
    struct kevent kev;
    EV_SET(&kev, ident, filter, flags, fflags, data, udata);
    cr_assert(eq(int, kevent(kq, &kev, 1, NULL, 0, NULL), 0), "kevent(change): %s",
              strerror(errno));
}

/* Wait up to ms for events. */
int wait_events(int kq, struct kevent *out, int max, long ms) {
    struct timespec ts = ms_ts(ms);
    int n = kevent(kq, NULL, 0, out, max, &ts);
    cr_assert(ge(int, n, 0), "kevent(wait): %s", strerror(errno));
    return n;
}

/* Wait (deadline) for exactly one event, and return it. */
struct kevent wait_one(int kq) {
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, WAIT_MS), 1), "no event within %d ms", WAIT_MS);
    return ev;
}

/* What is ready right now (zero timeout). */
int poll_events(int kq, struct kevent *out, int max) {
    return wait_events(kq, out, max, 0);
}

const struct kevent *find(const struct kevent *evs, int n, uintptr_t ident, short filter) {
    for (int i = 0; i < n; i++)
        if (evs[i].ident == ident && evs[i].filter == filter) return &evs[i];
    return NULL;
}

int marker_a, marker_b; /* addresses used as udata */
