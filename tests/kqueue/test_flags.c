/*
 * test_flags.c - flags: EV_DISABLE/EV_ENABLE, EV_ONESHOT, EV_CLEAR, EV_DISPATCH, re-adding,
 * EV_RECEIPT.
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

/* kqueue(2): EV_DISABLE "Disable the event so kevent() will not return it. The filter itself is
 * not disabled."; EV_ENABLE "Permit kevent() to return the event if it is triggered." */
Test(flags, disable_and_enable, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    send_all(sv[1], "data");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DISABLE, 0, 0, &marker_a);
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 50), 0), "reported while disabled");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, &marker_a);
    ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 4));
    cr_assert(eq(ptr, ev.udata, &marker_a));
}

/* A change without EV_ADD is still a change: its udata replaces the old one, NULL included.
 * A program that passes NULL with EV_ENABLE gets NULL back (and crashes on it) on every kernel. */
Test(flags, enable_and_disable_replace_udata, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    send_all(sv[1], "data");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, NULL);
    cr_assert(eq(ptr, wait_one(kq).udata, NULL), "EV_ENABLE with NULL kept the old udata");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_DISABLE, 0, 0, &marker_b);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, &marker_b);
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_b));
}

/* kqueue(2), EV_ADD: "Adding an event automatically enables it, unless overridden by the
 * EV_DISABLE flag." (FreeBSD kqueue_register: "if ((kev->flags & EV_DISABLE) != 0)
 * kn->kn_status |= KN_DISABLED;" at creation). */
Test(flags, add_disabled_then_enable, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "data");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_DISABLE, 0, 0, &marker_a);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported although added disabled");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, &marker_a);
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a));
}

/* kqueue(2), EV_ONESHOT: "After the user retrieves the event from the kqueue, it is deleted." */
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

/* kqueue(2), EV_CLEAR: "After the event is retrieved by the user, its state is reset." */
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

/* kqueue(2), EV_DISPATCH: "Disable the event source immediately after delivery of an event." */
Test(flags, dispatch_disables_after_each_report, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_DISPATCH, 0, 0, &marker_a);
    send_all(sv[1], "ab");
    wait_one(kq);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "EV_DISPATCH did not disable");
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE, 0, 0, &marker_a);
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a));
}

/* kqueue(2), EV_ADD: "Re-adding an existing event will modify the parameters of the original
 * event, and not result in a duplicate entry." */
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

/* FreeBSD kqueue_register snapshots flags only when it creates the knote ("kn->kn_kevent =
 * *kev"); a later change never writes them (XNU's kevent_register likewise). */
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

/* kqueue(2), EV_RECEIPT: "it forces EV_ERROR to always be returned. When a filter is successfully
 * added the data field will be zero." */
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

/* kqueue(2): "The same array may be used for the changelist and eventlist." */
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

/* EV_ENABLE and EV_DISABLE in one change: FreeBSD kqueue_register refuses it ("if ((kev->flags &
 * (EV_ENABLE | EV_DISABLE)) == (EV_ENABLE | EV_DISABLE)) return (EINVAL);"); XNU's
 * kevent_register lets EV_DISABLE win. */
Test(flags, enable_with_disable_is_einval_or_disables, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    send_all(sv[1], "x");
    struct kevent both, out;
    EV_SET(&both, (uintptr_t)sv[0], EVFILT_READ, EV_ENABLE | EV_DISABLE, 0, 0, &marker_a);
    int n = kevent(kq, &both, 1, &out, 1, NULL);
    if (n == 1) {
        cr_assert(ne(int, out.flags &EV_ERROR, 0), "an event instead of the change's answer");
        cr_assert(eq(i64, out.data, EINVAL));
        cr_assert(eq(ptr, wait_one(kq).udata, &marker_a), "the refused change was applied");
    } else {
        cr_assert(eq(int, n, 0), "kevent: %s", strerror(errno));
        cr_assert(eq(int, poll_events(kq, &out, 1), 0), "EV_DISABLE did not win");
    }
}

/* EV_RECEIPT with no room left in the eventlist. FreeBSD kqueue_kevent: "if (nevents == 0) return
 * (error);", so the call returns 0 there and the changes after it are not applied; XNU carries
 * on with them. Both apply the receipted change itself, and neither waits. */
Test(flags, receipt_without_room_returns_zero_at_once, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    send_all(sv[1], "x");
    struct kevent add;
    EV_SET(&add, (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, &marker_a);
    struct timespec ts = ms_ts(4000);
    long start = now_ms();
    cr_assert(eq(int, kevent(kq, &add, 1, NULL, 0, &ts), 0));
    cr_assert(lt(long, now_ms() - start, 2000L), "waited for the timeout");
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a), "the receipted change was not applied");
}
