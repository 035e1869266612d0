/*
 * test_09.c - step 09's exercises (steps/09-shutdown/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exercise_support.h"

/* Exercise 1: -grace in milliseconds; the answer makes 0 mean "do not
 * wait". A client that reads nothing is closed on the loop's next turn (a
 * one-shot timer of 0 ms fires at once: FreeBSD filt_timervalidate keeps
 * a period of 0 for EV_ONESHOT, XNU filt_timervalidate makes the deadline
 * now), so the server exits long before the 3 s it would wait without the
 * flag. */
Test(step09, grace_zero_closes_at_once, .timeout = 30) {
    h_server *s = start_args(answer_bin("09-grace-flag"),
                             (const char *const[]){"-port", "0", "-grace", "0", NULL});
    int c = stalled_client(s->port);
    long long signalled = h_now_ms();
    int code = h_stop(s, SIGTERM, H_DEADLINE_MS);
    long long took = h_now_ms() - signalled;
    cr_assert(eq(int, code, 0), "stderr:\n%s", s->err);
    cr_assert(
        ne(ptr, strstr(s->err, "parrot: closing the clients that did not finish in time\n"), NULL),
        "stderr:\n%s", s->err);
    cr_assert(lt(llong, took, 3000), "exited %lld ms after the signal: the grace was not 0", took);
    close(c);
    h_kill(s);

    char out[64], err[1024];
    cr_assert(eq(int,
                 h_run(answer_bin("09-grace-flag"), (const char *const[]){"-grace", "-1", NULL},
                       out, sizeof out, err, sizeof err, H_DEADLINE_MS),
                 2));
    cr_assert(
        eq(int, strncmp(err, "invalid value \"-1\" for flag -grace: value out of range\n", 55), 0),
        "stderr:\n%s", err);
}

/* Exercise 2: SIGHUP through the kqueue too: a report on stderr, and the
 * server carries on. Two clients have each had 6 bytes echoed. */
Test(step09, sighup_reports_and_carries_on, .timeout = 30) {
    h_server *s = start_bin_flags(answer_bin("09-sighup-stats"), 0);
    int a = h_connect(s->port), b = h_connect(s->port);
    h_echo(a, "hello\n");
    h_echo(b, "world\n");
    cr_assert(eq(int, kill(s->pid, SIGHUP), 0));
    cr_assert(h_err_wait(s, "parrot: clients connected: 2, bytes echoed: 12\n", H_DEADLINE_MS),
              "stderr:\n%s", s->err);
    h_echo(a, "still here\n");
    cr_assert(h_alive(s));
    close(a);
    close(b);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0), "stderr:\n%s", s->err);
    h_kill(s);
}

/* Exercise 3: two SIGTERMs sent while the server cannot run (stopped with
 * SIGSTOP, so that the test does not depend on who runs first), then
 * SIGCONT. The answer counts events[i].data signals, not one per event.
 *
 * Linux keeps one pending instance of a standard signal: the second kill
 * finds SIGTERM pending and is dropped (kernel/signal.c, legacy_queue() in
 * __send_signal_locked()). The server is delivered one signal, the kqueue
 * layer counts one: the event says data 1, the server stops cleanly, and
 * with no client it exits 0 at once.
 *
 * macOS (and FreeBSD) record every send in the knote, stopped or not: XNU
 * psignal_internal() calls proc_knote(NOTE_SIGNAL | signum) before it
 * looks at the process's state, filt_signal() adds one to kn_hook32 per
 * call, filt_signalprocess() returns it as data. One event with data 2:
 * the answer's second stop() exits 1. */
Test(step09, two_sigterms_while_stopped, .timeout = 30) {
    setenv("PARROT_TRACE", "1", 1);
    h_server *s = start_bin_flags(answer_bin("09-signal-count"), 0);
    cr_assert(eq(int, kill(s->pid, SIGSTOP), 0));
    wait_stopped(s);
    cr_assert(eq(int, kill(s->pid, SIGTERM), 0));
    cr_assert(eq(int, kill(s->pid, SIGTERM), 0));
    cr_assert(eq(int, kill(s->pid, SIGCONT), 0));
    int code = h_stop(s, 0, H_DEADLINE_MS);
#ifdef __linux__
    cr_assert(eq(int, code, 0), "stderr:\n%s", s->err);
    cr_assert(ne(ptr, strstr(s->err, "SIGNAL CLEAR          fflags 0 data 1 "), NULL),
              "no SIGNAL event with data 1; stderr:\n%s", s->err);
    cr_assert(eq(ptr, strstr(s->err, "second signal:"), NULL), "stderr:\n%s", s->err);
#else
    cr_assert(eq(int, code, 1), "stderr:\n%s", s->err);
    cr_assert(ne(ptr, strstr(s->err, "parrot: second signal: quitting without finishing\n"), NULL),
              "stderr:\n%s", s->err);
#endif
    h_kill(s);
}
