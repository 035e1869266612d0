/*
 * sys/event.h - kqueue(2) for Linux, a small compatibility layer.
 *
 * Only for systems without a real <sys/event.h>; kqueue.mk picks it. The
 * names, field types and constant values are FreeBSD 12's, so code written
 * against this header compiles unchanged against the real kernel on FreeBSD,
 * macOS and the other BSDs (as long as it uses EV_SET and the macros, never
 * numeric values). The supported subset and where it differs from a kernel
 * are in tools/kqueue-linux/README.md.
 *
 * Self-contained C11: needs nothing from the includer, not even a feature
 * test macro (struct timespec comes from C11 <time.h>).
 */
#ifndef PARROT_KQUEUE_LINUX_SYS_EVENT_H
#define PARROT_KQUEUE_LINUX_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

/* Filters (the subset the layer implements; FreeBSD's values). */
#define EVFILT_READ   (-1)
#define EVFILT_WRITE  (-2)
#define EVFILT_SIGNAL (-6)
#define EVFILT_TIMER  (-7)

/* Actions and flags given in the changelist. */
#define EV_ADD      0x0001 /* add the event, or modify it if it exists */
#define EV_DELETE   0x0002 /* remove the event */
#define EV_ENABLE   0x0004 /* report the event again */
#define EV_DISABLE  0x0008 /* keep the event but do not report it */
#define EV_ONESHOT  0x0010 /* delete the event after its first report */
#define EV_CLEAR    0x0020 /* reset the state after each report (edge-like) */
#define EV_RECEIPT  0x0040 /* always answer the change with an EV_ERROR entry */
#define EV_DISPATCH 0x0080 /* disable the event after each report */

/* Flags returned in the eventlist. */
#define EV_ERROR 0x4000 /* a change failed: errno in data (0 with EV_RECEIPT) */
#define EV_EOF   0x8000 /* the filter saw end of file; socket error in fflags */

/* EVFILT_TIMER units for data, in fflags; milliseconds when none is given. */
#define NOTE_SECONDS  0x00000001
#define NOTE_MSECONDS 0x00000002
#define NOTE_USECONDS 0x00000004
#define NOTE_NSECONDS 0x00000008

struct kevent {
    uintptr_t ident;      /* descriptor, signal number or timer id */
    short filter;         /* EVFILT_* */
    unsigned short flags; /* EV_* */
    unsigned int fflags;  /* filter flags (NOTE_*, or the socket error with EV_EOF) */
    int64_t data;         /* filter data (bytes readable, expirations, ...) */
    void *udata;          /* opaque user data, returned unchanged */
};

#define EV_SET(kevp_, a, b, c, d, e, f)                                                            \
    do {                                                                                           \
        *(kevp_) = (struct kevent){                                                                \
            .ident = (a),                                                                          \
            .filter = (b),                                                                         \
            .flags = (c),                                                                          \
            .fflags = (d),                                                                         \
            .data = (e),                                                                           \
            .udata = (f),                                                                          \
        };                                                                                         \
    } while (0)

struct timespec;

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif
