/*
 * test_signals.c - SIGTERM and SIGINT (step 09 and later): stop
 * accepting, finish what is owed, exit 0. Before step 09 the default
 * action applies: the signal kills the server on the spot.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sum of the byte counts the log shows for the client on this port. */
static size_t logged_bytes(h_server *s, int port) {
    static struct log_line lines[4096];
    h_log_refresh(s);
    if (!s->out) return 0;
    int n = parse_log(s->out, lines, 4096);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (lines[i].port == port) total += lines[i].count;
    return total;
}

/* Read until EOF; returns the bytes, fails on a reset. */
static size_t read_to_eof(int fd, const unsigned char *expect, size_t cap) {
    unsigned char buf[65536];
    size_t got = 0;
    long long deadline = h_now_ms() + 30000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - h_now_ms();
        cr_assert(gt(int, left > 0 ? poll(&p, 1, (int)left) : 0, 0), "no EOF after %zu bytes", got);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return got;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            cr_fatal("recv after %zu bytes: %s (data lost)", got, strerror(errno));
        }
        cr_assert(le(sz, got + (size_t)n, cap), "more bytes than were sent");
        cr_assert(eq(int, memcmp(buf, expect + got, (size_t)n), 0), "bytes differ near %zu", got);
        got += (size_t)n;
    }
}

static void check_signal(int sig) {
    h_server *s = start();
    /* A: its message has been read (and logged) before the signal. */
    int a = h_connect(s->port);
    h_send_all(a, "Hello Parrot", 12);
    if (!step()->signals) {
        h_expect(a, "Hello Parrot", 12, "before the signal");
        int code = h_stop(s, sig, 0);
        cr_assert(eq(int, code, 128 + sig), "no handling yet: the signal kills it (got %d)", code);
        cr_assert(h_wait_eof(a, 0, NULL), "the kernel closes its connections");
        close(a);
        h_kill(s);
        return;
    }
    cr_assert(eq(int, h_log_wait_lines(s, 1, 0), 1));
    /* B: sent until nothing more fits and has not read a byte: the server
     * owes it everything it has read so far (the log says how much). */
    int b = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 6);
    size_t sent = h_send_until_stalled(b, data, len);
    int b_port = h_local_port(b);
    size_t owed_before = logged_bytes(s, b_port);
    cr_assert(gt(sz, owed_before, 0));

    cr_assert(eq(int, kill(s->pid, sig), 0));
    /* It stops accepting: wait (deadline) until connecting is refused. */
    cr_assert(h_wait_refused(s->port, 0), "still accepting after the signal");
    cr_assert(h_alive(s), "exited before sending what it owes");

    /* Everything the server read comes back, then EOF (never a reset). */
    h_expect(a, "Hello Parrot", 12, "client A after the signal");
    cr_assert(eq(sz, read_to_eof(a, (const unsigned char *)"", 0), 0));
    size_t got = read_to_eof(b, data, sent);
    /* Both got EOF; when they close too, the server is done. */
    close(a);
    close(b);
    cr_assert(eq(int, h_stop(s, 0, 0), 0), "exit code after the signal; stderr:\n%s", s->err);
    /* Clients that read everything and close are done long before the
     * grace period: it saw their EOF (it keeps reading, and dropping). */
    cr_assert(eq(ptr, strstr(s->err, "did not finish in time"), NULL),
              "the server waited for its grace period; stderr:\n%s", s->err);
    /* The log, now complete, says how much the server read from B: all of
     * it came back (and at least what it had read before the signal). */
    size_t owed = logged_bytes(s, b_port);
    cr_assert(ge(sz, owed, owed_before));
    cr_assert(eq(sz, got, owed), "B got %zu bytes back; the server had read %zu", got, owed);
    free(data);
    h_kill(s);
}

Test(signals, sigterm, .timeout = 60) {
    check_signal(SIGTERM);
}

Test(signals, sigint, .timeout = 60) {
    check_signal(SIGINT);
}

/* A signal that comes the moment the server says it is listening (a
 * service manager may stop it as soon as it is up) is handled like any
 * other: the server must watch for its signals before it says so. An
 * earlier version of the shutdown step registered them after saying so,
 * and lost a SIGTERM sent in between (ignored, and not watched yet). The harness sends SIGTERM as
 * soon as it sees the line; the race is run many times. Before 09 the
 * default action kills the server. */
Test(signals, sigterm_the_moment_it_listens, .timeout = 60) {
    for (int i = 0; i < 50; i++) {
        h_opts o = {.args = port_args("0"), .signal_on_listening = SIGTERM};
        h_server *s = h_start_opts(h_bin(), &o);
        int code = h_stop(s, 0, 0); /* signal 0: nothing more, only wait */
        if (step()->signals) {
            char want[256];
            snprintf(want, sizeof want,
                     "listening on port %d\nparrot: stopping (a second signal quits at once)\n"
                     "parrot: stopped\n",
                     s->port);
            cr_assert(eq(int, code, 0), "run %d: exit code %d; stderr:\n%s", i, code, s->err);
            cr_assert(eq(str, s->err, want), "run %d", i);
        } else {
            cr_assert(eq(int, code, 128 + SIGTERM), "run %d: the signal kills it (got %d)", i,
                      code);
        }
        h_kill(s);
    }
}
