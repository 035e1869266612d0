/*
 * test_01.c - step 01's exercises (steps/01-blocking-echo/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exercise_support.h"

/* Exercise 1: write_all() with one write and no loop. On a blocking socket
 * the kernel does not return until it has queued every byte (Linux
 * tcp_sendmsg_locked waits in sk_stream_wait_memory; FreeBSD sosend_generic
 * and XNU sosend loop `while (resid)`, sleeping in sbwait), so 10 MB still
 * come back intact. Only a signal caught in the middle, a send timeout or
 * a non-blocking socket (step 02) makes a short write. */
Test(step01, one_write_still_echoes_everything_on_a_blocking_socket) {
    h_server *s = start_bin(answer_bin("01-one-write"), 0);
    h_round_trip(s->port, 10u << 20, 1);
    cr_assert(h_alive(s));
    h_kill(s);
}

/* Exercise 3: stop a server while a client is connected and start it again
 * on the same port. The old server's end of that connection is still bound
 * to the port (FIN_WAIT_2 while the client stays; TIME_WAIT, 60 s on Linux,
 * once it has gone). Binding a port that another socket holds needs
 * SO_REUSEADDR on both: Linux inet_csk_bind_conflict() lets the bind through
 * only when both sockets have sk_reuse and the other is not listening; BSD
 * in_pcbbind() without SO_REUSEADDR looks the port up with
 * INPLOOKUP_WILDCARD, which finds the old connection: EADDRINUSE. */
static void restart_on_same_port(const char *path, int expect_refused) {
    char bin[H_PATH_CAP];
    snprintf(bin, sizeof bin, "%s", path);
    h_server *s = start_bin(bin, 0);
    int client = h_connect(s->port);
    h_echo(client, "still connected\n");
    cr_assert(eq(int, h_stop(s, SIGINT, H_DEADLINE_MS), 128 + SIGINT), "stderr:\n%s", s->err);

    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char *args[] = {port, NULL};
    if (expect_refused) {
        char err[512];
        int rc = h_run(bin, args, NULL, 0, err, sizeof err, H_DEADLINE_MS);
        cr_assert(eq(int, rc, 1), "stderr:\n%s", err);
        cr_assert(strstr(err, "parrot: bind: Address already in use") != NULL, "stderr:\n%s", err);
    } else {
        h_opts o = {.args = args};
        h_server *again = h_start_opts(bin, &o); /* fails the test if it cannot listen */
        cr_assert(eq(int, again->port, s->port));
        h_kill(again);
    }
    close(client);
    h_kill(s);
}

Test(step01, restart_without_reuseaddr_is_refused_while_the_old_connection_lingers) {
    restart_on_same_port(answer_bin("01-no-reuseaddr"), 1);
}

/* The contrast: the step as it is (SO_REUSEADDR) starts again at once. */
Test(step01, restart_with_reuseaddr_listens_at_once) {
    restart_on_same_port(step_bin("01"), 0);
}

/* Exercise 2: without signal(SIGPIPE, SIG_IGN), the write that meets the
 * reset. Linux reports a reset once, as ECONNRESET, to the next call
 * (tcp_sendmsg: sk_err comes before SEND_SHUTDOWN, and sock_error() clears
 * it): the server says so and serves on. FreeBSD (sosend_generic) and XNU
 * (sosendcheck) look at "can't send any more" first: EPIPE, and SIGPIPE
 * kills the server, status 141 in the shell. */
Test(step01, write_to_a_reset_client_without_ignoring_sigpipe) {
    h_server *s = start_bin(answer_bin("01-no-sigpipe-ignore"), 0);
    h_reset(stalled_client(s->port));
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
    h_reset(stalled_client(s->port));
    cr_assert(eq(int, h_stop(s, 0, H_DEADLINE_MS), 128 + SIGPIPE), "stderr:\n%s", s->err);
    h_kill(s);
}
