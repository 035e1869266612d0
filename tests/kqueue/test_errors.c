/*
 * test_errors.c - errors in the changelist, and timeouts.
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

/* kqueue(2) RETURN VALUES: an error in the changelist with room in the eventlist is "placed in
 * the eventlist with EV_ERROR set in flags and the system error in data"; ENOENT "The event
 * could not be found to be modified or deleted." */
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

/* kqueue(2) RETURN VALUES: without room for the EV_ERROR entry, "-1 will be returned, and errno
 * will be set to indicate the error condition." */
Test(errors, delete_unknown_without_room_is_minus_one, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    struct kevent del;
    EV_SET(&del, (uintptr_t)sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    errno = 0;
    cr_assert(eq(int, kevent(kq, &del, 1, NULL, 0, NULL), -1));
    cr_assert(eq(int, errno, ENOENT));
}

/* FreeBSD kqueue_kevent: a failed change is copied out and the loop goes on; "if (nerrors) {
 * td->td_retval[0] = nerrors; return (0); }": the errors are returned, without a scan for events.
 */
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

/* kqueue(2) ERRORS: "[EBADF] The specified descriptor is invalid." (FreeBSD kqueue_register
 * looks the ident up with fget_noref for descriptor filters). */
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

/* kqueue(2) ERRORS: "[EINVAL] The specified time limit or filter is invalid." */
Test(errors, unknown_filter_is_einval, .timeout = 10) {
    int kq = new_kqueue();
    struct kevent add, out;
    EV_SET(&add, 1, -100, EV_ADD, 0, 0, NULL);
    cr_assert(eq(int, kevent(kq, &add, 1, &out, 1, NULL), 1));
    cr_assert(ne(int, out.flags &EV_ERROR, 0));
    cr_assert(eq(i64, out.data, EINVAL));
}

/* FreeBSD kqueue_acquire: "if (fp->f_type != DTYPE_KQUEUE || kq == NULL) return (EINVAL);"
 * (EBADF in older FreeBSD); XNU kevent_get_kqfile: fp_get_ftype(p, fd, DTYPE_KQUEUE, EBADF, fpp).
 */
Test(errors, kevent_on_a_non_kqueue_fails, .timeout = 10) {
    int sv[2];
    unix_pair(sv);
    struct kevent ev;
    struct timespec zero = {0, 0};
    errno = 0;
    cr_assert(eq(int, kevent(sv[0], NULL, 0, &ev, 1, &zero), -1));
    int err = errno;
    cr_assert(err == EINVAL || err == EBADF, "errno %d (%s), want EINVAL or EBADF", err,
              strerror(err));
}

/* A number that is not open: EBADF from fget (FreeBSD kern_kevent) and fp_get_ftype (XNU). */
Test(errors, kevent_on_a_closed_number_is_ebadf, .timeout = 10) {
    int kq = new_kqueue();
    cr_assert(eq(int, close(kq), 0));
    struct kevent ev;
    struct timespec zero = {0, 0};
    errno = 0;
    cr_assert(eq(int, kevent(kq, NULL, 0, &ev, 1, &zero), -1));
    cr_assert(eq(int, errno, EBADF));
}

/* ---- timeouts -------------------------------------------------------------------------------- */

/* kqueue(2): "To effect a poll, the timeout argument should be non-NULL, pointing to a
 * zero-valued timespec structure." */
Test(timeout, zero_returns_at_once, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 3000, NULL); /* an event in 3 s */
    struct kevent ev;
    long start = now_ms();
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "a zero timeout waited for the next event");
    cr_assert(lt(long, now_ms() - start, 2000L), "a zero timeout blocked");
}

/* kqueue(2) RETURN VALUES: "If the time limit expires, then kevent() returns 0." */
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

/* kqueue(2): "When nevents is zero, kevent() will return immediately even if there is a timeout
 * specified unlike select(2)." */
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
