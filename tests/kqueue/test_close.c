/*
 * test_close.c - close(), fork() and the kqueue descriptor.
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

/* kqueue(2): "Calling close() on a file descriptor will remove any kevents that reference the
 * descriptor." (FreeBSD closefp calls knote_fdclose for the number closed.) */
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

/* Knotes belong to the number, not the file: closing it removes them even while a dup keeps
 * the file open (FreeBSD knote_fdclose(td, fd) runs for every close of a number). */
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

/* A kqueue is a descriptor: closing it frees the queue and its knotes (FreeBSD kqueue_close),
 * and a new kqueue starts empty. */
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

/* kqueue(2): "The queue is not inherited by a child created with fork(2)", so a child's close()
 * of its copy of a descriptor cannot touch its parent's knotes. */
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

/* kqueue(2): "The queue is not inherited by a child created with fork(2)." The child does not
 * have the number at all (EBADF), can make a kqueue of its own, and the parent's goes on. */
Test(fork, child_has_no_kqueue_of_its_parent, .timeout = 10) {
    int kq = new_kqueue(), sv[2];
    unix_pair(sv);
    change(kq, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_a);
    send_all(sv[1], "x");
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        struct kevent ev;
        struct timespec zero = {0, 0};
        if (kevent(kq, NULL, 0, &ev, 1, &zero) != -1 || errno != EBADF) _exit(1);
        if (fcntl(kq, F_GETFD) != -1 || errno != EBADF) _exit(2);
        int own = kqueue();
        struct kevent add;
        EV_SET(&add, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, &marker_b);
        struct timespec wait = ms_ts(WAIT_MS);
        if (own == -1 || kevent(own, &add, 1, &ev, 1, &wait) != 1 || ev.udata != &marker_b)
            _exit(3);
        _exit(0);
    }
    int status;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    const char *what[] = {"", "kevent() on the parent's kqueue did not fail with EBADF",
                          "the parent's kqueue is open in the child",
                          "the child's own kqueue did not report"};
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    cr_assert(eq(int, code, 0), "child: %s", code < 4 ? what[code] : "killed");
    cr_assert(eq(ptr, wait_one(kq).udata, &marker_a), "the parent's kqueue stopped reporting");
}
