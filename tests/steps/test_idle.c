/*
 * test_idle.c - silent clients: step 10 closes a client that has said
 * nothing for -idle-timeout, and only that one; the steps before it never
 * close a client for being silent, and neither does step 10 without the
 * flag.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"
#include "metrics.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <signal.h>
#include <unistd.h>

#define IDLE_MS 400 /* step 10's -idle-timeout here */

/* One client says something and then nothing; where the step serves many,
 * another speaks every 100 ms. With -idle-timeout 400ms the quiet one gets
 * EOF once it has been silent that long, not before, and the busy one is
 * served throughout; without the flag, nobody is closed in three times
 * that. */
Test(idle, quiet_one_closed_busy_one_kept, .timeout = 30) {
    h_server *s = step()->idle_timeout ? start_with("-idle-timeout", "400ms") : start();
    int quiet = h_connect(s->port);
    int busy = step()->multi_client ? h_connect(s->port) : -1;
    long long silent_from = h_now_ms(); /* before the quiet one's last byte */
    h_echo(quiet, "then silence");
    long long until = silent_from + (step()->idle_timeout ? H_DEADLINE_MS : 3 * IDLE_MS);
    long long closed_after = -1;
    size_t extra = 0;
    while (closed_after < 0 && h_now_ms() < until) {
        if (busy != -1) h_echo(busy, "still here");
        /* Up to 100 ms for the quiet one's EOF: the busy one's pace. */
        if (h_wait_eof(quiet, 100, &extra)) closed_after = h_now_ms() - silent_from;
    }
    cr_assert(eq(sz, extra, 0), "the quiet client got %zu bytes it did not ask for", extra);
    if (step()->idle_timeout) {
        cr_assert(ge(llong, closed_after, 0), "a client silent for %d ms was not closed",
                  H_DEADLINE_MS);
        cr_assert(ge(llong, closed_after, IDLE_MS), "closed after %lld ms of silence, before %d",
                  closed_after, IDLE_MS);
    } else {
        cr_assert(eq(llong, closed_after, -1), "no idle timeout, yet closed after %lld ms",
                  closed_after);
        h_echo(quiet, "still open");
    }
    if (busy != -1) {
        h_echo(busy, "served after it");
        close(busy);
    }
    close(quiet);
    cr_assert(h_alive(s));
    h_kill(s);
}

/* Without -idle-timeout (step 10's default, 0) a silent client is never
 * closed: here, not in a second. */
Test(idle, without_the_flag_never, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "then silence");
    cr_assert(h_silent_for(c, 1000), "a silent client was closed, or sent something");
    h_echo(c, "still open");
    close(c);
    h_kill(s);
}

static int asleep(void *pid) {
    return h_sleeping(*(pid_t *)pid);
}

/* A server stopped (SIGSTOP, Ctrl-Z) while a client's time runs out
 * closes that client as soon as it continues, not a whole -idle-timeout
 * later: time went by while it was stopped. It is stopped while it sleeps
 * in kevent(): on Linux that wait then fails with EINTR (signal(7):
 * epoll_wait after a stop), and a next wait measured from the clock as the
 * loop last read it, before the stop, would be a whole -idle-timeout long.
 * Steps without the timeout keep the client. */
Test(idle, a_stop_does_not_restart_the_clock, .timeout = 30) {
    h_server *s = step()->idle_timeout ? start_with("-idle-timeout", "2s") : start();
    int quiet = h_connect(s->port);
    long long silent_from = h_now_ms();
    h_echo(quiet, "then silence");
    if (step()->sleeps_when_idle) /* not step 02: it never sleeps */
        cr_assert(h_poll_until(asleep, &s->pid, H_DEADLINE_MS, 1),
                  "the server never went to sleep");
    cr_assert(eq(int, kill(s->pid, SIGSTOP), 0));
    h_pause_ms(3000); /* a window: the client's 2 s run out while the server cannot run */
    cr_assert(eq(int, kill(s->pid, SIGCONT), 0));
    size_t extra = 0;
    int closed = h_wait_eof(quiet, step()->idle_timeout ? H_DEADLINE_MS : 1000, &extra);
    long long closed_after = h_now_ms() - silent_from;
    cr_assert(eq(sz, extra, 0), "the quiet client got %zu bytes it did not ask for", extra);
    if (step()->idle_timeout) {
        cr_assert(closed, "a client silent for %d ms was not closed", H_DEADLINE_MS);
        /* 3 s stopped: closed at about 3 s, where a restarted clock says 5. */
        cr_assert(lt(llong, closed_after, 4200),
                  "closed %lld ms after its last byte: the 3 s "
                  "the server was stopped did not count",
                  closed_after);
    } else {
        cr_assert(eq(int, closed, 0), "no idle timeout, yet closed");
        h_echo(quiet, "still open");
    }
    close(quiet);
    h_kill(s);
}
