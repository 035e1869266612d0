/*
 * test_read.c - EVFILT_READ: bytes readable, level triggering, end of file, resets, listeners.
 */
#define _POSIX_C_SOURCE 200809L

#include "kq_support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* kqueue(2), EVFILT_READ on sockets: "On return, data contains the number of bytes of protocol
 * data available to read"; udata: "Opaque user-defined value passed through the kernel unchanged."
 */
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

/* kqueue(2): "The filter is also run when the user attempts to retrieve the kevent ... If the
 * filter indicates that the condition that triggered the event no longer holds, the kevent is
 * removed from the kqueue and is not returned." Without EV_CLEAR a READ knote is level-triggered.
 */
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

/* kqueue(2), EVFILT_READ: "It is possible for EOF to be returned (indicating the connection is
 * gone) while there is still data pending in the socket buffer." */
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

/* kqueue(2), EVFILT_READ: "If the read direction of the socket has shutdown, then the filter also
 * sets EV_EOF in flags" (FreeBSD filt_soread: SBS_CANTRCVMORE), with data still counting bytes. */
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

/* kqueue(2), EVFILT_READ: EV_EOF "and returns the socket error (if any) in fflags". */
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

/* FreeBSD filt_soread sets EV_EOF on SBS_CANTRCVMORE (our receive side), filt_sowrite only on
 * SBS_CANTSENDMORE (our send side): a peer's shutdown(SHUT_WR) ends reading, not writing. */
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

/* kqueue(2), EVFILT_READ: "Sockets which have previously been passed to listen() return when
 * there is an incoming connection pending. data contains the size of the listen backlog."
 * (FreeBSD filt_solisten: sol_qlen, the connections waiting for accept()). */
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
