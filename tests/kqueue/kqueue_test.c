/*
 * kqueue_test.c - conformance tests for kqueue(2)/kevent(2).
 *
 * Written against the kqueue API only (POSIX plus <sys/event.h>, no Linux headers, nothing of the
 * layer's internals), so the same file runs against the real kernel on macOS and the BSDs and
 * against tools/kqueue-linux on Linux: passing on both is the proof that the layer behaves like
 * the kernel. Every test runs in its own process (Criterion), uses socketpair() or loopback TCP on
 * an ephemeral port, and waits with deadlines, never with sleeps.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/event.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#define WAIT_MS 5000 /* deadline for anything that should happen "at once"; never reached */

/* ---- helpers --------------------------------------------------------------------------------- */

static int new_kqueue(void) {
    int kq = kqueue();
    cr_assert(ge(int, kq, 0), "kqueue: %s", strerror(errno));
    return kq;
}

static void unix_pair(int sv[2]) {
    cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0), "socketpair: %s",
              strerror(errno));
}

/* A listening TCP socket on 127.0.0.1, ephemeral port. */
static int tcp_listener(int *port) {
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

static int tcp_connect(int port) {
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
static void tcp_pair(int *client, int *server) {
    int port;
    int lfd = tcp_listener(&port);
    *client = tcp_connect(port);
    *server = accept(lfd, NULL, NULL);
    cr_assert(ge(int, *server, 0), "accept: %s", strerror(errno));
    close(lfd);
}

static void send_all(int fd, const char *s) {
    size_t len = strlen(s);
    cr_assert(eq(sz, (size_t)write(fd, s, len), len), "write: %s", strerror(errno));
}

static struct timespec ms_ts(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
    return ts;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Apply one change; assert kevent accepted it. */
static void change(int kq, uintptr_t ident, short filter, unsigned short flags, unsigned int fflags,
                   int64_t data, void *udata) {
    struct kevent kev;
    EV_SET(&kev, ident, filter, flags, fflags, data, udata);
    cr_assert(eq(int, kevent(kq, &kev, 1, NULL, 0, NULL), 0), "kevent(change): %s",
              strerror(errno));
}

/* Wait up to ms for events. */
static int wait_events(int kq, struct kevent *out, int max, long ms) {
    struct timespec ts = ms_ts(ms);
    int n = kevent(kq, NULL, 0, out, max, &ts);
    cr_assert(ge(int, n, 0), "kevent(wait): %s", strerror(errno));
    return n;
}

/* Wait (deadline) for exactly one event, and return it. */
static struct kevent wait_one(int kq) {
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, WAIT_MS), 1), "no event within %d ms", WAIT_MS);
    return ev;
}

/* What is ready right now (zero timeout). */
static int poll_events(int kq, struct kevent *out, int max) {
    return wait_events(kq, out, max, 0);
}

static const struct kevent *find(const struct kevent *evs, int n, uintptr_t ident, short filter) {
    for (int i = 0; i < n; i++)
        if (evs[i].ident == ident && evs[i].filter == filter) return &evs[i];
    return NULL;
}

static int marker_a, marker_b; /* addresses used as udata */

/* ---- EVFILT_READ ----------------------------------------------------------------------------- */

Test(read, reports_bytes_readable_and_udata, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported before anything was written");
    send_all(sv[1], "hello");
    ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)sv[0]));
    cr_assert(eq(int, ev.filter, EVFILT_READ));
    cr_assert(eq(i64, ev.data, 5));
    cr_assert(eq(ptr, ev.udata, &marker_a));
    cr_assert(eq(int, ev.flags &(EV_EOF | EV_ERROR), 0));
}

Test(read, level_triggered_until_drained, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    send_all(sv[1], "abcdef");
    cr_assert(eq(i64, wait_one(kq).data, 6));
    cr_assert(eq(i64, wait_one(kq).data, 6), "not reported again while data is pending");
    char buf[4];
    cr_assert(eq(sz, (size_t)read(sv[0], buf, 4), (size_t)4));
    cr_assert(eq(i64, wait_one(kq).data, 2), "data does not follow what is left");
    cr_assert(eq(sz, (size_t)read(sv[0], buf, 2), (size_t)2));
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported after the buffer was drained");
}

Test(read, eof_after_peer_close_keeps_pending_data, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "bye!!");
    close(sv[1]);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    struct kevent ev = wait_one(kq);
    cr_assert(ne(int, ev.flags &EV_EOF, 0), "no EV_EOF after the peer closed");
    cr_assert(eq(i64, ev.data, 5), "pending data not reported with EV_EOF");
    cr_assert(eq(u32, ev.fflags, 0u), "no error expected on an orderly close");
}

Test(read, eof_on_tcp_peer_close, .timeout = 10) {
    int kq = new_kqueue(), client, server;
    tcp_pair(&client, &server);
    change(kq, (uintptr_t)server, EVFILT_READ, EV_ADD, 0, 0, NULL);
    send_all(client, "xyz");
    close(client);
    /* The data and the FIN may be seen in two steps; wait until EOF shows up. */
    struct kevent ev = wait_one(kq);
    long deadline = now_ms() + WAIT_MS;
    while (!(ev.flags & EV_EOF) && now_ms() < deadline)
        ev = wait_one(kq);
    cr_assert(ne(int, ev.flags &EV_EOF, 0));
    cr_assert(eq(i64, ev.data, 3));
}

Test(read, reset_reports_econnreset_in_fflags, .timeout = 10) {
    int kq = new_kqueue(), client, server;
    tcp_pair(&client, &server);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
    cr_assert(eq(int, setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0));
    close(client);
    change(kq, (uintptr_t)server, EVFILT_READ, EV_ADD, 0, 0, NULL);
    struct kevent ev = wait_one(kq);
    cr_assert(ne(int, ev.flags &EV_EOF, 0), "no EV_EOF after a reset");
    cr_assert(eq(u32, ev.fflags, (unsigned)ECONNRESET), "fflags %u, want ECONNRESET", ev.fflags);
}

Test(read, half_close_is_eof_for_read_but_write_goes_on, .timeout = 10) {
    int kq = new_kqueue(), client, server;
    tcp_pair(&client, &server);
    cr_assert(eq(int, shutdown(client, SHUT_WR), 0));
    change(kq, (uintptr_t)server, EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    change(kq, (uintptr_t)server, EVFILT_WRITE, EV_ADD, 0, 0, &marker_b);
    struct kevent evs[4];
    const struct kevent *rd = NULL, *wr = NULL;
    long deadline = now_ms() + WAIT_MS;
    while (!(rd && (rd->flags & EV_EOF) && wr) && now_ms() < deadline) {
        int n = wait_events(kq, evs, 4, WAIT_MS);
        rd = find(evs, n, (uintptr_t)server, EVFILT_READ);
        wr = find(evs, n, (uintptr_t)server, EVFILT_WRITE);
    }
    cr_assert(rd && (rd->flags & EV_EOF), "no EV_EOF on read after the peer's shutdown");
    cr_assert(ne(ptr, (void *)wr, NULL), "not writable after the peer's shutdown");
    cr_assert(eq(int, wr->flags &EV_EOF, 0), "EV_EOF on write: the peer can still read");
    cr_assert(gt(i64, wr->data, 0));
    send_all(server, "still here");
    char buf[16];
    cr_assert(eq(sz, (size_t)read(client, buf, sizeof buf), strlen("still here")));
}

Test(read, listening_socket_counts_waiting_connections, .timeout = 10) {
    int kq = new_kqueue(), port;
    int lfd = tcp_listener(&port);
    change(kq, (uintptr_t)lfd, EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "readable with no connection waiting");
    int c1 = tcp_connect(port);
    ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)lfd));
    cr_assert(ge(i64, ev.data, 1));
    cr_assert(eq(ptr, ev.udata, &marker_a));
    int c2 = tcp_connect(port);
    long deadline = now_ms() + WAIT_MS;
    while (ev.data < 2 && now_ms() < deadline)
        ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 2), "two connections waiting, data %lld", (long long)ev.data);
    int a = accept(lfd, NULL, NULL);
    cr_assert(ge(int, a, 0));
    cr_assert(eq(i64, wait_one(kq).data, 1), "data does not follow accept()");
    close(a);
    close(c1);
    close(c2);
}

/* ---- EVFILT_WRITE ---------------------------------------------------------------------------- */

Test(write, reports_free_space, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, &marker_b);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(int, ev.filter, EVFILT_WRITE));
    cr_assert(gt(i64, ev.data, 0));
    cr_assert(eq(ptr, ev.udata, &marker_b));
    cr_assert(eq(int, ev.flags &(EV_EOF | EV_ERROR), 0));
}

Test(write, not_reported_while_buffer_full, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    cr_assert(ne(int, fcntl(sv[0], F_SETFL, O_NONBLOCK), -1));
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    while (write(sv[0], chunk, sizeof chunk) > 0) {
    }
    cr_assert(eq(int, errno, EAGAIN));
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "writable with a full buffer");
    /* Drain the peer: space comes back and so does the event. */
    cr_assert(ne(int, fcntl(sv[1], F_SETFL, O_NONBLOCK), -1));
    while (read(sv[1], chunk, sizeof chunk) > 0) {
    }
    ev = wait_one(kq);
    cr_assert(gt(i64, ev.data, 0));
}

Test(write, eof_when_the_reader_is_gone, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    close(sv[1]);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    struct kevent ev = wait_one(kq);
    cr_assert(ne(int, ev.flags &EV_EOF, 0), "no EV_EOF on write after the peer closed");
}

/* ---- READ and WRITE on one descriptor -------------------------------------------------------- */

Test(both, read_and_write_are_independent, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, &marker_b);
    struct kevent evs[4];
    int n = wait_events(kq, evs, 4, WAIT_MS);
    cr_assert(eq(int, n, 1), "only WRITE should be ready");
    cr_assert(eq(int, evs[0].filter, EVFILT_WRITE));
    cr_assert(eq(ptr, evs[0].udata, &marker_b));

    send_all(sv[1], "ping");
    long deadline = now_ms() + WAIT_MS;
    do
        n = wait_events(kq, evs, 4, WAIT_MS);
    while (n < 2 && now_ms() < deadline);
    cr_assert(eq(int, n, 2), "READ and WRITE both ready: two events");
    const struct kevent *rd = find(evs, n, (uintptr_t)sv[0], EVFILT_READ);
    const struct kevent *wr = find(evs, n, (uintptr_t)sv[0], EVFILT_WRITE);
    cr_assert(rd && wr);
    cr_assert(eq(ptr, rd->udata, &marker_a));
    cr_assert(eq(i64, rd->data, 4));
    cr_assert(eq(ptr, wr->udata, &marker_b));

    /* Deleting one leaves the other. */
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    n = wait_events(kq, evs, 4, WAIT_MS);
    cr_assert(eq(int, n, 1));
    cr_assert(eq(int, evs[0].filter, EVFILT_READ));
    cr_assert(eq(ptr, evs[0].udata, &marker_a));
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, &marker_b);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
    n = wait_events(kq, evs, 4, WAIT_MS);
    cr_assert(eq(int, n, 1));
    cr_assert(eq(int, evs[0].filter, EVFILT_WRITE));
}

/* With room for one event per call, both filters still take turns. */
static void one_slot_sees_both(unsigned short flags) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "x");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | flags, 0, 0, &marker_a);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD | flags, 0, 0, &marker_b);
    bool seen_read = false, seen_write = false;
    for (int i = 0; i < 4 && !(seen_read && seen_write); i++) {
        struct kevent ev = wait_one(kq);
        seen_read |= ev.filter == EVFILT_READ && ev.udata == &marker_a;
        seen_write |= ev.filter == EVFILT_WRITE && ev.udata == &marker_b;
    }
    cr_assert(seen_read && seen_write, "read %d write %d", seen_read, seen_write);
}

Test(both, one_slot_eventlist_level, .timeout = 10) {
    one_slot_sees_both(0);
}

Test(both, one_slot_eventlist_clear, .timeout = 10) {
    one_slot_sees_both(EV_CLEAR);
}

Test(both, level_read_beside_clear_write_stays_level, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, &marker_b);
    send_all(sv[1], "abc");
    /* READ is level-triggered: reported on every call while the data sits there. */
    for (int i = 0; i < 3; i++) {
        struct kevent evs[4];
        int n = wait_events(kq, evs, 4, WAIT_MS);
        const struct kevent *rd = find(evs, n, (uintptr_t)sv[0], EVFILT_READ);
        cr_assert(ne(ptr, (void *)rd, NULL), "READ not reported on call %d", i);
        cr_assert(eq(i64, rd->data, 3));
    }
}

/* ---- flags ----------------------------------------------------------------------------------- */

Test(flags, disable_and_enable, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    send_all(sv[1], "data");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DISABLE, 0, 0, NULL);
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 50), 0), "reported while disabled");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, NULL);
    ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 4));
    cr_assert(eq(ptr, ev.udata, &marker_a), "EV_ENABLE lost the udata");
}

Test(flags, add_disabled_then_enable, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "data");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_DISABLE, 0, 0, &marker_a);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported although added disabled");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, NULL);
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a));
}

Test(flags, oneshot_reports_once_then_is_gone, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, &marker_a);
    send_all(sv[1], "once");
    struct kevent ev = wait_one(kq);
    cr_assert(eq(ptr, ev.udata, &marker_a));
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "EV_ONESHOT reported twice");
    struct kevent del;
    EV_SET(&del, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
    cr_assert(eq(int, kevent(kq, &del, 1, &ev, 1, NULL), 1), "EV_DELETE after ONESHOT: no error");
    cr_assert(eq(i64, ev.data, ENOENT), "the oneshot registration should be gone");
}

Test(flags, clear_reports_only_new_data, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, &marker_a);
    send_all(sv[1], "ab");
    struct kevent ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 2));
    cr_assert(eq(int, wait_events(kq, &ev, 1, 50), 0), "EV_CLEAR reported again without new data");
    send_all(sv[1], "cde");
    ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 5), "data is what is readable now");
    cr_assert(eq(ptr, ev.udata, &marker_a));
}

Test(flags, dispatch_disables_after_each_report, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_DISPATCH, 0, 0, &marker_a);
    send_all(sv[1], "ab");
    wait_one(kq);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "EV_DISPATCH did not disable");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, NULL);
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a));
}

Test(flags, re_add_modifies_in_place, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_b);
    send_all(sv[1], "x");
    struct kevent evs[4];
    int n = wait_events(kq, evs, 4, WAIT_MS);
    cr_assert(eq(int, n, 1), "re-adding duplicated the registration");
    cr_assert(eq(ptr, evs[0].udata, &marker_b), "re-adding did not update udata");
}

Test(flags, re_add_keeps_the_original_flags, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, &marker_a);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_b); /* udata only */
    send_all(sv[1], "x");
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_b));
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "re-adding dropped EV_ONESHOT");
}

Test(flags, receipt_answers_every_change, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "ready");
    struct kevent ch[2], out[4];
    EV_SET(&ch[0], (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, &marker_a);
    EV_SET(&ch[1], (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, &marker_b);
    int n = kevent(kq, ch, 2, out, 4, NULL);
    cr_assert(eq(int, n, 2), "one receipt per change, and no events yet");
    for (int i = 0; i < 2; i++) {
        cr_assert(ne(int, out[i].flags &EV_ERROR, 0));
        cr_assert(eq(i64, out[i].data, 0));
        cr_assert(eq(u64, (uint64_t)out[i].ident, (uint64_t)sv[0]));
        cr_assert(eq(ptr, out[i].udata, i == 0 ? (void *)&marker_a : (void *)&marker_b));
    }
    cr_assert(eq(int, wait_events(kq, out, 4, WAIT_MS), 2), "the registrations work");
}

Test(flags, changelist_and_eventlist_may_be_one_array, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    struct kevent evs[2];
    EV_SET(&evs[0], (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, &marker_a); /* ENOENT */
    EV_SET(&evs[1], (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, &marker_b);
    cr_assert(eq(int, kevent(kq, evs, 2, evs, 2, NULL), 2));
    cr_assert(eq(int, evs[0].filter, EVFILT_WRITE));
    cr_assert(eq(i64, evs[0].data, ENOENT));
    cr_assert(eq(ptr, evs[0].udata, &marker_a));
    cr_assert(eq(int, evs[1].filter, EVFILT_READ));
    cr_assert(eq(i64, evs[1].data, 0));
    cr_assert(eq(ptr, evs[1].udata, &marker_b));
}

/* ---- errors in the changelist ---------------------------------------------------------------- */

Test(errors, delete_unknown_is_enoent_entry, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    struct kevent del, out;
    EV_SET(&del, (uintptr_t)sv[0], EVFILT_READ, EV_DELETE, 0, 0, &marker_a);
    cr_assert(eq(int, kevent(kq, &del, 1, &out, 1, NULL), 1));
    cr_assert(ne(int, out.flags &EV_ERROR, 0));
    cr_assert(eq(i64, out.data, ENOENT));
    cr_assert(eq(u64, (uint64_t)out.ident, (uint64_t)sv[0]));
    cr_assert(eq(int, out.filter, EVFILT_READ));
    cr_assert(eq(ptr, out.udata, &marker_a));
}

Test(errors, delete_unknown_without_room_is_minus_one, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    struct kevent del;
    EV_SET(&del, (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    errno = 0;
    cr_assert(eq(int, kevent(kq, &del, 1, NULL, 0, NULL), -1));
    cr_assert(eq(int, errno, ENOENT));
}

Test(errors, every_change_applied_and_each_error_reported, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "x");
    struct kevent ch[3], out[3];
    EV_SET(&ch[0], (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, NULL);  /* fails */
    EV_SET(&ch[1], (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a); /* works */
    EV_SET(&ch[2], (uintptr_t)sv[1], EVFILT_READ, EV_DELETE, 0, 0, NULL);   /* fails */
    int n = kevent(kq, ch, 3, out, 3, NULL);
    cr_assert(eq(int, n, 2), "two errors, and no events while errors are reported");
    cr_assert(eq(int, out[0].filter, EVFILT_WRITE));
    cr_assert(eq(i64, out[0].data, ENOENT));
    cr_assert(eq(u64, (uint64_t)out[1].ident, (uint64_t)sv[1]));
    cr_assert(eq(i64, out[1].data, ENOENT));
    struct kevent ev = wait_one(kq);
    cr_assert(eq(ptr, ev.udata, &marker_a), "the change between two failures was not applied");
}

Test(errors, bad_descriptor_is_ebadf, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    close(sv[1]);
    close(sv[0]); /* sv[0] is now a number nobody holds */
    struct kevent add, out;
    EV_SET(&add, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, NULL), 1));
    cr_assert(ne(int, out.flags &EV_ERROR, 0));
    cr_assert(eq(i64, out.data, EBADF));
    errno = 0;
    cr_assert(eq(int, kevent(kq, &add, 1, NULL, 0, NULL), -1));
    cr_assert(eq(int, errno, EBADF));
}

Test(errors, unknown_filter_is_einval, .timeout = 10) {
    int kq = new_kqueue();
    struct kevent add, out;
    EV_SET(&add, 1, -100, EV_ADD, 0, 0, NULL);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, NULL), 1));
    cr_assert(ne(int, out.flags &EV_ERROR, 0));
    cr_assert(eq(i64, out.data, EINVAL));
}

Test(errors, kevent_on_a_non_kqueue_is_ebadf, .timeout = 10) {
    int sv[2];
    unix_pair(sv);
    struct kevent ev;
    struct timespec zero = {0, 0};
    errno = 0;
    cr_assert(eq(int, kevent(sv[0], NULL, 0, &ev, 1, &zero), -1));
    cr_assert(eq(int, errno, EBADF));
}

/* ---- timeouts -------------------------------------------------------------------------------- */

Test(timeout, zero_returns_at_once, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    struct kevent ev;
    long start = now_ms();
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0));
    cr_assert(lt(long, now_ms() - start, 2000L), "a zero timeout blocked");
}

Test(timeout, short_timeout_returns_zero_after_it, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    struct kevent ev;
    long start = now_ms();
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0));
    long took = now_ms() - start;
    cr_assert(ge(long, took, 100L), "returned after %ld ms, before the 100 ms timeout", took);
    cr_assert(lt(long, took, 3000L), "a 100 ms timeout took %ld ms", took);
}

Test(timeout, no_eventlist_returns_after_changes, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    struct kevent add;
    EV_SET(&add, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    struct timespec ts = ms_ts(4000);
    long start = now_ms();
    cr_assert(eq(int, kevent(kq, &add, 1, NULL, 0, &ts), 0));
    cr_assert(lt(long, now_ms() - start, 2000L), "nevents == 0 waited for the timeout");
    send_all(sv[1], "x");
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a), "the change was not applied");
}

/* ---- EVFILT_SIGNAL --------------------------------------------------------------------------- */

Test(signal, counts_deliveries_while_ignored, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGUSR1, SIG_IGN);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, &marker_a);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGUSR1));
    cr_assert(eq(int, ev.filter, EVFILT_SIGNAL));
    cr_assert(eq(i64, ev.data, 2), "two deliveries, data %lld", (long long)ev.data);
    cr_assert(eq(ptr, ev.udata, &marker_a));
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported again without a new delivery");
    kill(getpid(), SIGUSR1);
    cr_assert(eq(i64, wait_one(kq).data, 1), "the count restarts after each report");
}

Test(signal, ignore_set_after_registering_still_counts, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, SIGUSR2, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGUSR2));
    cr_assert(eq(i64, ev.data, 1));
}

static volatile sig_atomic_t handler_runs;
static void count_handler(int signo) {
    (void)signo;
    handler_runs++;
}

Test(signal, program_handler_still_runs, .timeout = 10) {
    int kq = new_kqueue();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert(eq(int, sigaction(SIGUSR1, &sa, NULL), 0));
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    kill(getpid(), SIGUSR1);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 1));
    cr_assert(eq(int, handler_runs, 1), "the program's handler did not run");
    struct sigaction now;
    cr_assert(eq(int, sigaction(SIGUSR1, NULL, &now), 0));
    cr_assert(eq(ptr, (void *)now.sa_handler, (void *)count_handler),
              "sigaction does not show the program's handler");
}

Test(signal, ignored_signal_does_not_interrupt_the_wait, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGALRM, SIG_IGN);
    change(kq, SIGALRM, EVFILT_SIGNAL, EV_ADD, 0, 0, &marker_a);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
    cr_assert(eq(int, setitimer(ITIMER_REAL, &it, NULL), 0));
    struct kevent ev;
    struct timespec ts = ms_ts(WAIT_MS);
    int n = kevent(kq, NULL, 0, &ev, 1, &ts);
    cr_assert(eq(int, n, 1), "kevent returned %d (%s), want the signal event", n,
              n < 0 ? strerror(errno) : "no error");
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGALRM));
    cr_assert(eq(ptr, ev.udata, &marker_a));
}

Test(signal, handler_interrupts_the_wait_with_eintr, .timeout = 10) {
    int kq = new_kqueue();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    cr_assert(eq(int, sigaction(SIGALRM, &sa, NULL), 0));
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
    cr_assert(eq(int, setitimer(ITIMER_REAL, &it, NULL), 0));
    struct kevent ev;
    struct timespec ts = ms_ts(WAIT_MS);
    errno = 0;
    cr_assert(eq(int, kevent(kq, NULL, 0, &ev, 1, &ts), -1));
    cr_assert(eq(int, errno, EINTR));
    cr_assert(eq(int, handler_runs, 1));
}

Test(signal, default_action_still_happens, .timeout = 10) {
    /* kqueue has lower precedence than the disposition: SIG_DFL for SIGUSR1 terminates, even
     * though a kqueue watches it. Done in a child, which is allowed to die. */
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        int kq = kqueue();
        struct kevent kev;
        EV_SET(&kev, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
        if (kq == -1 || kevent(kq, &kev, 1, NULL, 0, NULL) == -1) _exit(2);
        kill(getpid(), SIGUSR1);
        _exit(0); /* not reached */
    }
    int status;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1;
    cr_assert(killed, "SIGUSR1 with SIG_DFL did not terminate (status %d)", status);
}

Test(signal, default_ignored_signal_is_counted, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, SIGURG, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL); /* SIG_DFL: ignored by default */
    kill(getpid(), SIGURG);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGURG));
    cr_assert(eq(i64, ev.data, 1));
}

Test(signal, delete_stops_counting, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGUSR1, SIG_IGN);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_DELETE, 0, 0, NULL);
    kill(getpid(), SIGUSR1); /* still ignored: the process survives */
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0));
}

/* ---- EVFILT_TIMER ---------------------------------------------------------------------------- */

Test(timer, fires_periodically, .timeout = 10) {
    int kq = new_kqueue();
    long start = now_ms();
    change(kq, 7, EVFILT_TIMER, EV_ADD, 0, 20, &marker_a); /* every 20 ms */
    int64_t expirations = 0;
    int reports = 0;
    while (expirations < 5) {
        struct kevent ev = wait_one(kq);
        cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)7));
        cr_assert(eq(int, ev.filter, EVFILT_TIMER));
        cr_assert(eq(ptr, ev.udata, &marker_a));
        cr_assert(ge(i64, ev.data, 1));
        expirations += ev.data;
        reports++;
    }
    long took = now_ms() - start;
    cr_assert(ge(long, took, 5 * 20L - 2), "%lld expirations after %ld ms", (long long)expirations,
              took);
    /* Expirations are counted, not lost, when the program is late: at most one per period. */
    cr_assert(le(i64, expirations, took / 20 + 2), "%lld expirations after %ld ms",
              (long long)expirations, took);
    cr_assert(ge(int, reports, 1));
}

Test(timer, oneshot_fires_once, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 10, &marker_b);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 1));
    cr_assert(eq(ptr, ev.udata, &marker_b));
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0), "a oneshot timer fired again");
    struct kevent del;
    EV_SET(&del, 1, EVFILT_TIMER, EV_DELETE, 0, 0, NULL);
    cr_assert(eq(int, kevent(kq, &del, 1, &ev, 1, NULL), 1));
    cr_assert(eq(i64, ev.data, ENOENT), "the oneshot timer is still registered");
}

Test(timer, units, .timeout = 10) {
    int kq = new_kqueue();
    long start = now_ms();
    change(kq, 4, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_SECONDS, 0, NULL); /* at once */
    change(kq, 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 30000, NULL);
    change(kq, 2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_NSECONDS, 60000000, NULL);
#ifdef NOTE_MSECONDS
    change(kq, 3, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_MSECONDS, 90, NULL);
#endif
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)4), "a zero-second timer fires first");
    uintptr_t expected[] = {1, 2, 3};
    long min_ms[] = {30, 60, 90};
    int count = 2;
#ifdef NOTE_MSECONDS
    count = 3;
#endif
    for (int i = 0; i < count; i++) {
        ev = wait_one(kq);
        cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)expected[i]), "timers fired out of order");
        cr_assert(ge(long, now_ms() - start, min_ms[i] - 2), "timer %d fired early", i + 1);
    }
}

Test(timer, re_add_restarts_and_updates, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 9, EVFILT_TIMER, EV_ADD, 0, 60000, &marker_a); /* a minute */
    change(kq, 9, EVFILT_TIMER, EV_ADD, 0, 10, &marker_b);    /* 10 ms, from now */
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)9));
    cr_assert(eq(ptr, ev.udata, &marker_b));
}

Test(timer, disable_holds_reports, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 5, EVFILT_TIMER, EV_ADD | EV_DISABLE, 0, 10, NULL);
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0), "a disabled timer was reported");
    change(kq, 5, EVFILT_TIMER, EV_ENABLE, 0, 0, NULL);
    ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)5));
}

/* ---- close() and the kqueue descriptor ------------------------------------------------------- */

Test(close, drops_registrations_before_the_number_is_reused, .timeout = 10) {
    int kq = new_kqueue(), a[2], b[2];
    unix_pair(a);
    change(kq, (uintptr_t)a[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    change(kq, (uintptr_t)a[0], EVFILT_WRITE, EV_ADD, 0, 0, &marker_a);
    int old = a[0];
    close(a[0]);
    close(a[1]);
    unix_pair(b);
    cr_assert(eq(int, b[0], old), "the test needs the number reused (lowest free descriptor)");
    send_all(b[1], "new");
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0), "an event of the closed descriptor");
    change(kq, (uintptr_t)b[0], EVFILT_READ, EV_ADD, 0, 0, &marker_b);
    struct kevent evs[4];
    int n = wait_events(kq, evs, 4, WAIT_MS);
    cr_assert(eq(int, n, 1), "only the new registration");
    cr_assert(eq(ptr, evs[0].udata, &marker_b));
}

Test(close, drops_registrations_even_if_the_file_stays_open, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    int keep = dup(sv[0]); /* the socket lives on under another number */
    cr_assert(ge(int, keep, 0));
    close(sv[0]);
    send_all(sv[1], "ghost");
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0), "a closed descriptor still reports");
    close(keep);
}

Test(close, closing_a_kqueue_and_making_another, .timeout = 10) {
    int sv[2];
    unix_pair(sv);
    send_all(sv[1], "x");
    int kq = new_kqueue();
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    cr_assert(eq(int, close(kq), 0));
    int kq2 = new_kqueue();
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq2, &ev, 1), 0), "a new kqueue inherited registrations");
    change(kq2, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_b);
    cr_assert(eq(ptr, wait_one(kq2).udata, &marker_b));
}

Test(close, close_in_a_forked_child_leaves_the_parent_alone, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        close(sv[0]); /* the child's copy only */
        _exit(0);
    }
    int status;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    send_all(sv[1], "x");
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a), "the child's close() cost us the event");
}

Test(close, kqueue_not_passed_to_exec, .timeout = 10) {
    /* BSD does not hand a kqueue to a forked child at all; Linux marks it close-on-exec. Either
     * way a program the child execs never holds it. */
    int kq = new_kqueue();
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        int flags = fcntl(kq, F_GETFD);
        _exit((flags == -1 && errno == EBADF) || (flags != -1 && (flags & FD_CLOEXEC)) ? 0 : 1);
    }
    int status;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    cr_assert(clean, "the kqueue is inherited and not close-on-exec");
}
