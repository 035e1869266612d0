/*
 * test_01.c - step 01's exercises (steps/01-blocking-echo/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <stdlib.h>

#include "exercise_support.h"

/* A client that sends until the server stops reading (the server is then
 * stuck inside write(): this client reads nothing) and then resets. */
static void stall_then_reset(int port) {
    int fd = h_connect(port);
    size_t len = 8u << 20;
    char *junk = calloc(1, len);
    cr_assert(junk != NULL);
    h_send_until_stalled(fd, junk, len);
    free(junk);
    h_reset(fd);
}

/* Exercise 2: without signal(SIGPIPE, SIG_IGN), the write that meets the
 * reset. Linux reports a reset once, as ECONNRESET, to the next call
 * (tcp_sendmsg: sk_err comes before SEND_SHUTDOWN, and sock_error() clears
 * it): the server says so and serves on. FreeBSD (sosend_generic) and XNU
 * (sosendcheck) look at "can't send any more" first: EPIPE, and SIGPIPE
 * kills the server, status 141 in the shell. */
Test(step01, write_to_a_reset_client_without_ignoring_sigpipe) {
    h_server *s = start_bin(answer_bin("01-no-sigpipe-ignore"), 0);
    stall_then_reset(s->port);
#ifdef __linux__
    cr_assert(h_err_wait(s, "parrot: write: Connection reset by peer", H_DEADLINE_MS),
              "no ECONNRESET line; stderr:\n%s", s->err);
    int next = h_connect(s->port);
    h_echo(next, "still here\n");
    cr_assert(h_alive(s));
#else
    cr_assert(eq(int, h_stop(s, 0, H_DEADLINE_MS), 128 + SIGPIPE), "stderr:\n%s", s->err);
#endif
    h_kill(s);
}

/* Exercise 2, second part: a write after the failed one. Every system
 * raises SIGPIPE now: on Linux the reset has been reported, and what is
 * left is a socket that can send no more (EPIPE). */
Test(step01, a_second_write_after_a_reset_raises_sigpipe) {
    h_server *s = start_bin(answer_bin("01-write-after-reset"), 0);
    stall_then_reset(s->port);
    cr_assert(eq(int, h_stop(s, 0, H_DEADLINE_MS), 128 + SIGPIPE), "stderr:\n%s", s->err);
    h_kill(s);
}
