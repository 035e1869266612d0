#define _POSIX_C_SOURCE 200809L
/*
 * traced.c - a small kqueue program for tests/trace: one of each thing the kqueue microscope
 * (tools/kqueue-trace) prints, in an order whose trace is known in advance. test_trace.c runs it
 * and holds the lines.
 *
 * It is built as a workshop step is built, with KQUEUE_TRACE := yes before kqueue.mk (see the
 * Makefile), and like a step it never mentions the trace. It checks what every call returns,
 * errno included, so that a microscope that changed a result fails the test: it then says what
 * went wrong on stdout (stderr is the trace's) and exits 1.
 *
 * Run by the test, it starts with only descriptors 0, 1 and 2 open (tests/support/harness.c
 * closes the rest), so its socket pair is 3 and 4.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h> /* older BSDs want these two around <sys/event.h> */
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* udata is opaque to the kernel: any value comes back as it went in. One the trace shows. */
#define MARK ((void *)(uintptr_t)0x1512)

static void fail(const char *what) {
    printf("traced: %s (errno: %s)\n", what, strerror(errno));
    exit(1);
}

int main(void) {
    /* The pair before the kqueue: on Linux kqueue() may open more than one descriptor. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) fail("socketpair");
    int kq = kqueue();
    if (kq == -1) fail("kqueue");
    struct kevent change, event;

    /* 1. A change and the event it brings, in one call: five bytes, then the end of file. */
    if (write(sv[1], "hello", 5) != 5) fail("write");
    if (close(sv[1]) == -1) fail("close");
    EV_SET(&change, sv[0], EVFILT_READ, EV_ADD, 0, 0, MARK);
    if (kevent(kq, &change, 1, &event, 1, NULL) != 1) fail("kevent: READ");
    if (event.data != 5 || !(event.flags & EV_EOF)) fail("READ: not 5 bytes and EOF");
    if (close(sv[0]) == -1) fail("close"); /* which removes its READ entry too */

    /* 2. A change that fails (sv[1] is closed): with room in the eventlist, the error comes
     * back as an entry there, and kevent() returns at once. */
    EV_SET(&change, sv[1], EVFILT_READ, EV_ADD, 0, 0, NULL);
    if (kevent(kq, &change, 1, &event, 1, NULL) != 1) fail("kevent: closed descriptor");
    if (!(event.flags & EV_ERROR) || event.data != EBADF) fail("closed descriptor: no EBADF");

    /* 3. A signal: ignored, so it does nothing else, but the kqueue counts it. */
    if (signal(SIGTERM, SIG_IGN) == SIG_ERR) fail("signal");
    EV_SET(&change, SIGTERM, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    if (kevent(kq, &change, 1, NULL, 0, NULL) != 0) fail("kevent: SIGNAL");
    if (kill(getpid(), SIGTERM) == -1) fail("kill");
    if (kevent(kq, NULL, 0, &event, 1, NULL) != 1) fail("kevent: wait for SIGTERM");
    if (event.filter != EVFILT_SIGNAL || event.data != 1) fail("SIGTERM: not counted once");

    /* 4. EV_RECEIPT: an answer for a change that went through, too (data 0). */
    EV_SET(&change, SIGTERM, EVFILT_SIGNAL, EV_DELETE | EV_RECEIPT, 0, 0, NULL);
    if (kevent(kq, &change, 1, &event, 1, NULL) != 1) fail("kevent: receipt");
    if (!(event.flags & EV_ERROR) || event.data != 0) fail("receipt: not EV_ERROR with 0");

    /* 5. A timer, once, after 1000 microseconds. */
    EV_SET(&change, 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 1000, NULL);
    if (kevent(kq, &change, 1, &event, 1, NULL) != 1) fail("kevent: TIMER");
    if (event.filter != EVFILT_TIMER || event.data != 1) fail("TIMER: not one expiration");

    /* 6. Nothing left to report: a zero timeout returns at once, with no event. */
    struct timespec zero = {0, 0};
    if (kevent(kq, NULL, 0, &event, 1, &zero) != 0) fail("kevent: zero timeout");

    /* 7. A call that fails: -1, and errno says why. */
    errno = 0;
    if (kevent(-1, NULL, 0, NULL, 0, NULL) != -1 || errno != EBADF) fail("kevent(-1): no EBADF");

    if (close(kq) == -1) fail("close");
    return 0;
}
