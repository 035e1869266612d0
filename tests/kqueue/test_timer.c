/*
 * test_timer.c - EVFILT_TIMER.
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

/* kqueue(2), EVFILT_TIMER: "The timer will be periodic unless EV_ONESHOT or NOTE_ABSTIME is
 * specified. On return, data contains the number of times the timeout has expired since the last
 * call to kevent()." (FreeBSD filt_timerexpire_l adds "delta = (now - kc->next) / kc->to"). */
Test(timer, fires_periodically, .timeout = 10) {
    int kq = new_kqueue();
    long start = now_ms();
    change(kq, 7, EVFILT_TIMER, EV_ADD, 0, 20, &marker_a); /* every 20 ms */
    int64_t expirations = 0;
    int reports = 0;
    /* Until it has fired 5 times and been reported at least twice: a timer that fired once and
     * stopped (a oneshot) never gets there. */
    while (expirations < 5 || reports < 2) {
        struct kevent ev = wait_one(kq);
        cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)7));
        cr_assert(eq(int, ev.filter, EVFILT_TIMER));
        cr_assert(eq(ptr, ev.udata, &marker_a));
        cr_assert(ge(i64, ev.data, 1));
        expirations += ev.data;
        reports++;
    }
    long took = now_ms() - start;
    cr_assert(ge(long, took, expirations * 20 - 2), "%lld expirations after %ld ms",
              (long long)expirations, took);
    /* Expirations are counted, not lost, when the program is late: at most one per period. */
    cr_assert(le(i64, expirations, took / 20 + 2), "%lld expirations after %ld ms",
              (long long)expirations, took);
}

/* kqueue(2), EV_ONESHOT: "Causes the event to return only the first occurrence of the filter
 * being triggered. After the user retrieves the event from the kqueue, it is deleted." */
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

/* kqueue(2), EVFILT_TIMER: NOTE_SECONDS, NOTE_MSECONDS, NOTE_USECONDS, NOTE_NSECONDS: "data is in
 * seconds" (and so on); macOS has no NOTE_MSECONDS, its default unit ("If fflags is not set, the
 * default is milliseconds"). */
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

/* kqueue(2), EVFILT_TIMER: "If an existing timer is re-added, the existing timer will be
 * effectively canceled (throwing away any undelivered record of previous timer expiration) and
 * re-started using the new parameters contained in data and fflags." */
Test(timer, re_add_restarts_and_updates, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 9, EVFILT_TIMER, EV_ADD, 0, 60000, &marker_a); /* a minute */
    change(kq, 9, EVFILT_TIMER, EV_ADD, 0, 10, &marker_b);    /* 10 ms, from now */
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)9));
    cr_assert(eq(ptr, ev.udata, &marker_b));
}

/* kqueue(2), EV_DISABLE: "Disable the event so kevent() will not return it. The filter itself is
 * not disabled": the expirations are still counted, and reported once it is enabled. */
Test(timer, disable_holds_reports, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 5, EVFILT_TIMER, EV_ADD | EV_DISABLE, 0, 10, NULL);
    struct kevent ev;
    cr_assert(eq(int, wait_events(kq, &ev, 1, 100), 0), "a disabled timer was reported");
    change(kq, 5, EVFILT_TIMER, EV_ENABLE, 0, 0, NULL);
    ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)5));
}

/* Rejected timer changes. FreeBSD filt_timervalidate: fflags may hold one unit and NOTE_ABSTIME,
 * anything else is EINVAL; XNU filt_timervalidate: two units fail its unit switch with EINVAL. */
static int timer_change_error(unsigned int fflags, int64_t data) {
    int kq = new_kqueue();
    struct kevent add, out;
    EV_SET(&add, 3, EVFILT_TIMER, EV_ADD, fflags, data, NULL);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, NULL), 1), "no EV_ERROR entry for the change");
    cr_assert(ne(int, out.flags &EV_ERROR, 0));
    return (int)out.data;
}

/* Two units: FreeBSD timer2sbintime's switch falls to "default: ... return (-1)" (EINVAL);
 * XNU filt_timervalidate's unit switch, "default: return EINVAL;". */
Test(timer, two_units_are_einval, .timeout = 10) {
    cr_assert(eq(int, timer_change_error(NOTE_SECONDS | NOTE_USECONDS, 100), EINVAL));
}

/* An unknown flag: FreeBSD filt_timervalidate, "if ((kn->kn_sfflags & ~(NOTE_TIMER_PRECMASK |
 * NOTE_ABSTIME)) != 0) return (EINVAL);". XNU ignores bits it does not know: the timer runs. */
Test(timer, unknown_flag_is_einval_or_ignored, .timeout = 10) {
    int kq = new_kqueue();
    struct kevent add, out;
    EV_SET(&add, 3, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0x40000000u, 10, &marker_a);
    struct timespec wait = ms_ts(WAIT_MS);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, &wait), 1));
    if (out.flags & EV_ERROR)
        cr_assert(eq(i64, out.data, EINVAL), "FreeBSD refuses it with EINVAL");
    else
        cr_assert(eq(ptr, out.udata, &marker_a),
                  "XNU runs the timer as if the flag were not there");
}

/* A negative period: FreeBSD filt_timervalidate, "if (kn->kn_sdata < 0) return (EINVAL);". XNU:
 * "Negative interval timers fire immediately, once." */
Test(timer, negative_period_is_einval_or_fires_once, .timeout = 10) {
    int kq = new_kqueue();
    struct kevent add, out;
    EV_SET(&add, 3, EVFILT_TIMER, EV_ADD, 0, -1, &marker_a);
    struct timespec wait = ms_ts(WAIT_MS);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, &wait), 1));
    if (out.flags & EV_ERROR) {
        cr_assert(eq(i64, out.data, EINVAL));
    } else {
        cr_assert(eq(ptr, out.udata, &marker_a));
        cr_assert(eq(int, wait_events(kq, &out, 1, 100), 0), "fired more than once");
    }
}

/* Re-adding a timer with a bad period: FreeBSD filt_timertouch stops it and reports "kn->kn_flags
 * |= EV_ERROR; kn->kn_data = error;" as its next event; XNU's filt_timertouch answers in the
 * changelist. Either way the program reads EV_ERROR with EINVAL, and the timer does not fire. */
Test(timer, bad_re_add_reports_einval, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 3, EVFILT_TIMER, EV_ADD, 0, 60000, &marker_a);
    struct kevent add, out;
    EV_SET(&add, 3, EVFILT_TIMER, EV_ADD, NOTE_SECONDS | NOTE_NSECONDS, 10, &marker_b);
    struct timespec wait = ms_ts(WAIT_MS);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, &wait), 1));
    cr_assert(ne(int, out.flags &EV_ERROR, 0), "no EV_ERROR for the bad period");
    cr_assert(eq(i64, out.data, EINVAL));
    cr_assert(eq(u64, (uint64_t)out.ident, (uint64_t)3));
    cr_assert(eq(int, wait_events(kq, &out, 1, 100), 0), "the timer fired after the bad re-add");
}

/* A periodic timer of 0 does not fire without end. FreeBSD filt_timervalidate raises the period
 * to 1 (1 ms here); XNU fires it once. Either way: at most one expiration per millisecond. */
Test(timer, periodic_zero_is_not_a_flood, .timeout = 10) {
    int kq = new_kqueue();
    long start = now_ms();
    change(kq, 8, EVFILT_TIMER, EV_ADD, 0, 0, &marker_a);
    int64_t expirations = wait_one(kq).data;
    struct kevent ev;
    while (now_ms() - start < 50)
        if (wait_events(kq, &ev, 1, 10) == 1) expirations += ev.data;
    long took = now_ms() - start;
    cr_assert(le(i64, expirations, took + 2), "%lld expirations in %ld ms", (long long)expirations,
              took);
}
