/*
 * kqtrace.c - the kqueue microscope: with PARROT_TRACE=1 in the environment, every change a
 * program sends to kevent() and every event it gets back, one line each on stderr, the fields
 * in the order EV_SET takes them:
 *
 *     kevent: change  fd 5     READ   ADD            fflags 0 data 0 udata 0x0
 *     kevent: event   fd 5     READ   EOF            fflags 0 data 12 udata 0x0
 *
 * kqtrace.h, force-included into every file of the program, turns its kevent() calls into
 * kqtrace_kevent() calls; in this file kevent() is the real one (the system's, or the Linux
 * layer's). Every name printed comes from a macro of <sys/event.h>; a name that not every system
 * has is looked up only where it is defined (#ifdef), so that this file builds unchanged on
 * macOS, the BSDs and tools/kqueue-linux. README.md shows the lines and how to read them.
 *
 * Only ISO C and <sys/event.h> are used, so no feature-test macro is defined: NetBSD declares
 * kevent() only when none is.
 */
#include "kqtrace.h"
#undef kevent /* from here on, kevent() is the real one */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h> /* older BSDs want it before <sys/event.h> */
#include <sys/event.h>
#include <time.h>

/* A name for each bit (or group of bits) of a flags field; the lists end with a NULL name. */
struct bit_name {
    unsigned int bits;
    const char *name; /* the macro's name without its EV_ or NOTE_ */
};

/* flags: what the program asks (ADD ... DISPATCH), then what the kernel answers (EOF, ERROR). */
static const struct bit_name ev_flags[] = {
    {EV_ADD, "ADD"},
    {EV_DELETE, "DELETE"},
    {EV_ENABLE, "ENABLE"},
    {EV_DISABLE, "DISABLE"},
    {EV_ONESHOT, "ONESHOT"},
    {EV_CLEAR, "CLEAR"},
#ifdef EV_RECEIPT
    {EV_RECEIPT, "RECEIPT"},
#endif
#ifdef EV_DISPATCH
    {EV_DISPATCH, "DISPATCH"},
#endif
#ifdef EV_FORCEONESHOT /* FreeBSD */
    {EV_FORCEONESHOT, "FORCEONESHOT"},
#endif
#ifdef EV_KEEPUDATA /* FreeBSD */
    {EV_KEEPUDATA, "KEEPUDATA"},
#endif
#ifdef EV_UDATA_SPECIFIC /* macOS */
    {EV_UDATA_SPECIFIC, "UDATA_SPECIFIC"},
#endif
#ifdef EV_VANISHED /* macOS */
    {EV_VANISHED, "VANISHED"},
#endif
#ifdef EV_OOBAND /* macOS: out-of-band data is waiting (READ) */
    {EV_OOBAND, "OOBAND"},
#endif
    {EV_EOF, "EOF"},
    {EV_ERROR, "ERROR"},
    {0, NULL},
};

/* fflags of a timer: the unit of data (milliseconds when none is given), and the like. */
static const struct bit_name timer_notes[] = {
#ifdef NOTE_SECONDS
    {NOTE_SECONDS, "SECONDS"},
#endif
#ifdef NOTE_MSECONDS
    {NOTE_MSECONDS, "MSECONDS"},
#endif
#ifdef NOTE_USECONDS
    {NOTE_USECONDS, "USECONDS"},
#endif
#ifdef NOTE_NSECONDS
    {NOTE_NSECONDS, "NSECONDS"},
#endif
#ifdef NOTE_ABSTIME /* FreeBSD */
    {NOTE_ABSTIME, "ABSTIME"},
#endif
#ifdef NOTE_ABSOLUTE /* macOS */
    {NOTE_ABSOLUTE, "ABSOLUTE"},
#endif
    {0, NULL},
};

/* fflags of a READ or WRITE change. (On an event with EOF they hold the socket's error.) */
static const struct bit_name socket_notes[] = {
#ifdef NOTE_LOWAT
    {NOTE_LOWAT, "LOWAT"},
#endif
    {0, NULL},
};

static const struct bit_name no_names[] = {{0, NULL}};

/* A name for each filter, and what its ident is: a descriptor, a signal number, a timer's own
 * number. A filter not listed here is printed as its number, its ident as "ident N". */
struct filter_name {
    int filter;
    const char *name;  /* the macro's name without its EVFILT_ */
    const char *ident; /* the word before the ident */
};

static const struct filter_name filters[] = {
    {EVFILT_READ, "READ", "fd"},
    {EVFILT_WRITE, "WRITE", "fd"},
    {EVFILT_SIGNAL, "SIGNAL", "sig"},
    {EVFILT_TIMER, "TIMER", "timer"},
#ifdef EVFILT_VNODE
    {EVFILT_VNODE, "VNODE", "fd"},
#endif
#ifdef EVFILT_PROC
    {EVFILT_PROC, "PROC", "pid"},
#endif
#ifdef EVFILT_PROCDESC /* FreeBSD */
    {EVFILT_PROCDESC, "PROCDESC", "fd"},
#endif
#ifdef EVFILT_USER
    {EVFILT_USER, "USER", "id"},
#endif
#ifdef EVFILT_EXCEPT
    {EVFILT_EXCEPT, "EXCEPT", "fd"},
#endif
#ifdef EVFILT_EMPTY /* FreeBSD */
    {EVFILT_EMPTY, "EMPTY", "fd"},
#endif
#ifdef EVFILT_AIO
    {EVFILT_AIO, "AIO", "ident"},
#endif
    {0, NULL, NULL},
};

static const struct filter_name *find_filter(int filter) {
    for (const struct filter_name *f = filters; f->name; f++)
        if (f->filter == filter) return f;
    return NULL;
}

/* Appends text to out (cap bytes, *len used so far), cutting it short rather than overflowing. */
static void append(char *out, size_t cap, size_t *len, const char *text) {
    int n = snprintf(out + *len, cap - *len, "%s", text);
    if (n > 0) *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

/* value as the names of its bits, "ADD|CLEAR"; bits without a name in hex; "0" for none. */
static void name_bits(char *out, size_t cap, unsigned int value, const struct bit_name *names) {
    size_t len = 0;
    out[0] = '\0';
    for (const struct bit_name *n = names; n->name; n++) {
        if ((value & n->bits) != n->bits) continue;
        if (len > 0) append(out, cap, &len, "|");
        append(out, cap, &len, n->name);
        value &= ~n->bits;
    }
    if (value != 0 || len == 0) {
        char rest[16];
        if (value != 0)
            snprintf(rest, sizeof rest, "0x%x", value);
        else
            snprintf(rest, sizeof rest, "0");
        if (len > 0) append(out, cap, &len, "|");
        append(out, cap, &len, rest);
    }
}

/* fflags as a reader wants them: a timer's unit by name, the socket error of an end of file
 * with its text. */
static void describe_fflags(char *out, size_t cap, const struct kevent *ev, int returned) {
    int is_socket = ev->filter == EVFILT_READ || ev->filter == EVFILT_WRITE;
    if (is_socket && returned && (ev->flags & EV_EOF) && ev->fflags != 0)
        snprintf(out, cap, "%u (%s)", (unsigned int)ev->fflags, strerror((int)ev->fflags));
    else if (ev->filter == EVFILT_TIMER)
        name_bits(out, cap, (unsigned int)ev->fflags, timer_notes);
    else
        name_bits(out, cap, (unsigned int)ev->fflags, is_socket ? socket_notes : no_names);
}

/* One line: kind ("change", "event", "error", "receipt"), then the fields of the kevent. */
static void print_kevent(const char *kind, const struct kevent *ev) {
    const struct filter_name *f = find_filter(ev->filter);
    int returned = strcmp(kind, "change") != 0;
    char ident[48], filter[24], flags[160], fflags[160], data[160];

    snprintf(ident, sizeof ident, "%s %ju", f ? f->ident : "ident", (uintmax_t)ev->ident);
    if (f)
        snprintf(filter, sizeof filter, "%s", f->name);
    else
        snprintf(filter, sizeof filter, "%d", (int)ev->filter);
    name_bits(flags, sizeof flags, (unsigned int)ev->flags, ev_flags);
    describe_fflags(fflags, sizeof fflags, ev, returned);
    /* An answer with EV_ERROR set carries an errno in data (0: the change went through). */
    if (returned && (ev->flags & EV_ERROR) && ev->data != 0)
        snprintf(data, sizeof data, "%jd (%s)", (intmax_t)ev->data, strerror((int)ev->data));
    else
        snprintf(data, sizeof data, "%jd", (intmax_t)ev->data);

    fprintf(stderr, "kevent: %-7s %-8s %-6s %-14s fflags %s data %s udata 0x%jx\n", kind, ident,
            filter, flags, fflags, data, (uintmax_t)(uintptr_t)ev->udata);
}

/* What an entry of the eventlist is: an event, or the answer to a change of this call. */
static const char *kind_of(const struct kevent *ev) {
    if (!(ev->flags & EV_ERROR)) return "event";
    return ev->data != 0 ? "error" : "receipt"; /* receipt: EV_RECEIPT's "done" */
}

/* Whether to trace: PARROT_TRACE set to anything but "" or "0", read at the first call. */
static enum { UNDECIDED, OFF, ON } tracing = UNDECIDED;

int kqtrace_kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
                   int nevents, const struct timespec *timeout) {
    /* Without PARROT_TRACE this comparison is all the microscope costs. */
    if (tracing == OFF) return kevent(kq, changelist, nchanges, eventlist, nevents, timeout);
    if (tracing == UNDECIDED) {
        const char *want = getenv("PARROT_TRACE");
        tracing = want && want[0] != '\0' && strcmp(want, "0") != 0 ? ON : OFF;
        if (tracing == OFF) return kevent(kq, changelist, nchanges, eventlist, nevents, timeout);
    }

    /* The caller must see the errno of kevent(), never one that printing left behind. */
    int saved_errno = errno;
    /* Before the call: the changes are read before the events are written, and the program may
     * pass one array as both. */
    for (int i = 0; i < nchanges; i++)
        print_kevent("change", &changelist[i]);
    errno = saved_errno;

    int n = kevent(kq, changelist, nchanges, eventlist, nevents, timeout);

    saved_errno = errno;
    if (n == -1)
        fprintf(stderr, "kevent: failed: %s\n", strerror(saved_errno));
    else if (n == 0 && nevents > 0)
        fprintf(stderr, "kevent: timed out, no events\n");
    for (int i = 0; i < n; i++)
        print_kevent(kind_of(&eventlist[i]), &eventlist[i]);
    errno = saved_errno;
    return n;
}
