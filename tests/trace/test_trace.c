#define _POSIX_C_SOURCE 200809L
/*
 * test_trace.c - the kqueue microscope (tools/kqueue-trace): what PARROT_TRACE=1 makes a
 * program print, line by line, for the known sequence of traced.c, and that without it the
 * program prints nothing at all.
 *
 * traced is run the way the harness runs a server: only descriptors 0, 1 and 2 open, every
 * signal at its default, stdout and stderr into files. It checks every result itself (exit 1
 * and a line on stdout if one is wrong), so a microscope that changed what kevent() returns, or
 * errno, fails here too.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TRACED "./traced"

/* Each line traced must print, as FreeBSD's kernel and tools/kqueue-linux answer; or_want, where
 * there is one, is the same line from a kernel that answers with more flags. FreeBSD's
 * kqueue_register drops the actions from the entry it keeps (`kn->kn_kevent.flags &= ~(EV_ADD |
 * EV_DELETE | EV_ENABLE | EV_DISABLE);`), so its events say only what happened. OpenBSD's, and
 * XNU's as far back as its sources go, keep the change whole (`kn->kn_kevent = *kev;`), so ADD
 * comes back with every event; and XNU answers a change with the change's flags plus EV_ERROR
 * (`kev->flags |= EV_ERROR;`) where FreeBSD writes EV_ERROR alone. The or_want lines come from
 * reading those sources: no Mac has run this test yet. */
struct line {
    const char *want;
    const char *or_want;
};

/* One line of the trace per line here, so clang-format leaves the table alone. */
/* clang-format off */
static const struct line expected[] = {
    /* 1. READ added on one end of a socket pair whose other end wrote 5 bytes and closed */
    {"kevent: change  fd 3     READ   ADD            fflags 0 data 0 udata 0x1512", NULL},
    {"kevent: event   fd 3     READ   EOF            fflags 0 data 5 udata 0x1512",
     "kevent: event   fd 3     READ   ADD|EOF        fflags 0 data 5 udata 0x1512"},
    /* 2. READ added on a closed descriptor: an error entry, errno in data */
    {"kevent: change  fd 4     READ   ADD            fflags 0 data 0 udata 0x0", NULL},
    {"kevent: error   fd 4     READ   ERROR          fflags 0 data 9 (Bad file descriptor) udata 0x0",
     "kevent: error   fd 4     READ   ADD|ERROR      fflags 0 data 9 (Bad file descriptor) udata 0x0"},
    /* 3. SIGTERM watched, ignored, sent once */
    {"kevent: change  sig 15   SIGNAL ADD            fflags 0 data 0 udata 0x0", NULL},
    {"kevent: event   sig 15   SIGNAL CLEAR          fflags 0 data 1 udata 0x0",
     "kevent: event   sig 15   SIGNAL ADD|CLEAR      fflags 0 data 1 udata 0x0"},
    /* 4. its removal, with EV_RECEIPT: an answer with data 0 */
    {"kevent: change  sig 15   SIGNAL DELETE|RECEIPT fflags 0 data 0 udata 0x0", NULL},
    {"kevent: receipt sig 15   SIGNAL ERROR          fflags 0 data 0 udata 0x0",
     "kevent: receipt sig 15   SIGNAL DELETE|RECEIPT|ERROR fflags 0 data 0 udata 0x0"},
    /* 5. a one-shot timer of 1000 microseconds */
    {"kevent: change  timer 1  TIMER  ADD|ONESHOT    fflags USECONDS data 1000 udata 0x0", NULL},
    {"kevent: event   timer 1  TIMER  ONESHOT|CLEAR  fflags 0 data 1 udata 0x0",
     "kevent: event   timer 1  TIMER  ADD|ONESHOT|CLEAR fflags 0 data 1 udata 0x0"},
    /* 6. a zero timeout with nothing ready */
    {"kevent: timed out, no events", NULL},
    /* 7. kevent(-1, ...) */
    {"kevent: failed: Bad file descriptor", NULL},
};
/* clang-format on */

#define N_EXPECTED (sizeof expected / sizeof expected[0])

/* Runs traced with PARROT_TRACE set to value (NULL: not set at all); its stderr goes to err. */
static void run_traced(const char *value, char *err, size_t cap) {
    if (value)
        cr_assert(eq(int, setenv("PARROT_TRACE", value, 1), 0));
    else
        cr_assert(eq(int, unsetenv("PARROT_TRACE"), 0));
    char out[1024];
    int code = h_run(TRACED, NULL, out, sizeof out, err, cap, 0);
    cr_assert(eq(int, code, 0), "traced exited with %d: %s\nits stderr:\n%s", code, out, err);
}

/* Does the line at text, len bytes long, say exactly want? */
static int same(const char *text, size_t len, const char *want) {
    return want && strlen(want) == len && memcmp(text, want, len) == 0;
}

Test(trace, prints_each_change_and_event, .timeout = 30) {
    char err[8192];
    run_traced("1", err, sizeof err);
    size_t n = 0;
    for (const char *line = err; *line != '\0'; n++) {
        const char *end = strchr(line, '\n');
        cr_assert(end != NULL, "the last line has no newline: %s", line);
        size_t len = (size_t)(end - line);
        cr_assert(lt(sz, n, N_EXPECTED), "more lines than %zu; the first one too many:\n%.*s",
                  N_EXPECTED, (int)len, line);
        const struct line *e = &expected[n];
        cr_assert(same(line, len, e->want) || same(line, len, e->or_want),
                  "line %zu:\n got  %.*s\n want %s%s%s\nthe whole trace:\n%s", n + 1, (int)len,
                  line, e->want, e->or_want ? "\n  or  " : "", e->or_want ? e->or_want : "", err);
        line = end + 1;
    }
    cr_assert(eq(sz, n, N_EXPECTED), "%zu lines, want %zu:\n%s", n, N_EXPECTED, err);
}

/* Unset, empty or 0: the program's stderr is its own, not one byte more. */
Test(trace, silent_without_parrot_trace, .timeout = 30) {
    const struct {
        const char *value, *said;
    } runs[] = {{NULL, "unset"}, {"", "empty"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char err[8192];
        run_traced(runs[i].value, err, sizeof err);
        cr_assert(eq(str, err, ""), "PARROT_TRACE %s, and the program printed:\n%s", runs[i].said,
                  err);
    }
}
