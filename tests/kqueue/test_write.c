/*
 * test_write.c - EVFILT_WRITE, and READ and WRITE on one descriptor.
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

/* kqueue(2): "data will contain the amount of space remaining in the write buffer". Every system
 * gives a socket nobody has written to at least a few KiB (macOS and FreeBSD 8 or 64 KiB, Linux
 * more): a count of queued bytes (0) or a constant 1 would not do. */
Test(write, reports_free_space, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, &marker_b);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(int, ev.filter, EVFILT_WRITE));
    cr_assert(ge(i64, ev.data, 2048), "free space %lld", (long long)ev.data);
    cr_assert(eq(ptr, ev.udata, &marker_b));
    cr_assert(eq(int, ev.flags &(EV_EOF | EV_ERROR), 0));
}

/* kqueue(2), EVFILT_WRITE: "returns whenever it is possible to write to the descriptor". */
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

/* kqueue(2), EVFILT_WRITE: "The filter will set EV_EOF when the reader disconnects". */
Test(write, eof_when_the_reader_is_gone, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    close(sv[1]);
    change(kq, (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    struct kevent ev = wait_one(kq);
    cr_assert(ne(int, ev.flags &EV_EOF, 0), "no EV_EOF on write after the peer closed");
}

/* ---- READ and WRITE on one descriptor -------------------------------------------------------- */

/* kqueue(2): "A kevent is identified by the (ident, filter) pair": READ and WRITE on one
 * descriptor are two knotes, each with its own udata, added and deleted on its own. */
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

/* Two ready knotes and room for one event per call: each is returned in turn (FreeBSD
 * kqueue_scan requeues a level knote at the tail after returning it). */
Test(both, one_slot_eventlist_level, .timeout = 10) {
    one_slot_sees_both(0);
}

/* As above with EV_CLEAR (kqueue(2): "After the event is retrieved by the user, its state is
 * reset"): each knote was triggered once, so each is returned once. */
Test(both, one_slot_eventlist_clear, .timeout = 10) {
    one_slot_sees_both(EV_CLEAR);
}

/* Flags belong to the knote, not the descriptor: EV_CLEAR on WRITE leaves READ level-triggered. */
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
