/*
 * test_limits.c - what final/parrot does at its limits: a client that
 * never reads (-max-pending), running out of descriptors, -max-conns and
 * -idle-timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

Test(limits, slow_reader_is_paused_memory_stays_bounded_others_served, .timeout = 60) {
    const size_t total = 32 << 20;
    /* The default -max-pending: 64 KiB. */
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    h_round_trip(s->port, 100000, 1); /* warm up: the read buffer is touched */
    long rss_before = h_rss_kb(s->pid);

    char *sent = h_pattern(total, 11);
    int slow = h_connect(s->port);
    size_t out = h_send_until_stalled(slow, sent, total);
    cr_assert(lt(sz, out, total), "the server never stopped reading: %zu bytes taken", out);

    long rss_held = h_rss_kb(s->pid);
    cr_assert(le(long, rss_held - rss_before, 2048 + H_RSS_SLACK_KB),
              "RSS grew from %ld to %ld KiB", rss_before, rss_held);
    /* Everyone else is still served, in full. */
    h_round_trip(s->port, 1 << 20, 2);
    int other = h_connect(s->port);
    h_echo(other, "not stalled");
    close(other);

    /* Now read: every byte comes back in order, and the rest goes through. */
    h_exchange(slow, sent, total, out);
    cr_assert(le(long, h_rss_kb(s->pid) - rss_before, 2048 + H_RSS_SLACK_KB));
    close(slow);
    free(sent);
    h_kill(s);
}

/* Send msg: 1 if it is echoed, 0 if the server closed the connection
 * instead (a refused client). Fails the test on anything else. */
static int served(int fd, const char *msg) {
    /* A refused client may be closed already: the send can fail. */
    ssize_t w = send(fd, msg, strlen(msg), 0);
    if (w < 0) return 0;
    cr_assert(eq(sz, (size_t)w, strlen(msg)));
    return h_echo_or_closed(fd, msg, "a client");
}

/* Open n clients; returns how many were served (the rest were closed at
 * once by the server). Served clients stay open in fds[]. */
static int open_clients(int port, int *fds, int n) {
    int ok = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = h_connect(port);
        if (served(fds[i], "hi")) {
            ok++;
        } else {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    return ok;
}

typedef struct retry {
    int port;
} retry;

/* A new client is served again (the server noticed that others left). */
static int new_client_served(void *arg) {
    retry *r = arg;
    int fd = h_connect(r->port);
    int ok = served(fd, "again");
    close(fd);
    return ok;
}

Test(limits, max_conns_closes_extra_clients_at_once_and_recovers, .timeout = 30) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", "-max-conns", "3", NULL);
    int fds[6];
    cr_assert(eq(int, open_clients(s->port, fds, 6), 3));
    for (int i = 0; i < 3; i++)
        cr_assert(fds[i] != -1, "the first three are served");
    close(fds[0]);
    retry r = {s->port};
    cr_assert(h_poll_until(new_client_served, &r, H_DEADLINE_MS, 5),
              "no client served after one left");
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    cr_assert(strstr(s->err, "-max-conns reached") != NULL, "%s", s->err);
    /* Three refused above, and maybe a retry or two while the server had
     * not yet seen the first client leave. */
    const char *at = strstr(s->err, "log lines dropped, ");
    long refused = at ? strtol(at + strlen("log lines dropped, "), NULL, 10) : -1;
    cr_assert(ge(long, refused, 3), "%s", s->err);
    for (int i = 1; i < 3; i++)
        close(fds[i]);
    h_kill(s);
}

Test(limits, max_conns_default_follows_the_open_files_limit, .timeout = 30) {
    h_opts o = {.nofile = 64};
    h_server *s = h_start(&o, "-port", "0", "-log", "off", NULL);
    int fds[60];
    /* 64 descriptors minus a reserve of 16 for the server itself. */
    cr_assert(eq(int, open_clients(s->port, fds, 60), 48));
    for (int i = 0; i < 60; i++)
        if (fds[i] != -1) close(fds[i]);
    h_kill(s);
}

Test(limits, out_of_descriptors_does_not_spin_and_recovers, .timeout = 30) {
    /* -max-conns above what the descriptors allow: the server really runs
     * out (EMFILE) and must shed clients instead of spinning on accept. */
    h_opts o = {.nofile = 32};
    h_server *s = h_start(&o, "-port", "0", "-log", "off", "-max-conns", "1000", NULL);
    int fds[40];
    int ok = open_clients(s->port, fds, 40);
    cr_assert(gt(int, ok, 15), "only %d clients served", ok);
    cr_assert(lt(int, ok, 32), "%d clients served with 32 descriptors", ok);
    cr_assert(h_err_wait(s, "out of file descriptors", H_DEADLINE_MS), "%s", s->err);

    /* More clients keep knocking while it is full: each is closed at once,
     * and the server sleeps in between: at most 40% of a core, give or take
     * the resolution of the CPU clock. Where that is coarse (whole seconds
     * from ps) the window grows, so that a spinning server still shows. */
    long long t0 = h_now_ms();
    double cpu0 = h_cpu_seconds(s->pid);
    int extra[5];
    cr_assert(eq(int, open_clients(s->port, extra, 5), 0));
    h_pause_ms(h_cpu_window_ms(500));
    double cpu = h_cpu_seconds(s->pid) - cpu0;
    double seconds = (double)(h_now_ms() - t0) / 1000;
    cr_assert(lt(dbl, cpu, 0.4 * seconds + h_cpu_resolution()),
              "the server used %.3f s of CPU in %.1f s while full (%s)", cpu, seconds,
              h_metrics_source());

    /* Clients leave: new ones are served again. */
    for (int i = 0, closed = 0; i < 40 && closed < 5; i++)
        if (fds[i] != -1) {
            close(fds[i]);
            fds[i] = -1;
            closed++;
        }
    retry r = {s->port};
    cr_assert(h_poll_until(new_client_served, &r, H_DEADLINE_MS, 5), "no recovery");
    cr_assert(h_alive(s));
    for (int i = 0; i < 40; i++)
        if (fds[i] != -1) close(fds[i]);
    h_kill(s);
}

Test(limits, idle_timeout_closes_quiet_clients_only, .timeout = 30) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", "-idle-timeout", "300ms", NULL);
    int quiet = h_connect(s->port), busy = h_connect(s->port);
    long long t0 = h_now_ms(); /* before the last traffic: the server's clock starts later */
    h_echo(quiet, "once");
    /* The busy client talks every 50 ms for 4 timeouts; it must stay. */
    int quiet_closed_at = -1;
    for (int i = 0; i < 24; i++) {
        h_echo(busy, "tick");
        if (quiet_closed_at < 0 && !h_silent_for(quiet, 50)) {
            cr_assert(h_wait_eof(quiet, 0, NULL), "the quiet client got data");
            quiet_closed_at = (int)(h_now_ms() - t0);
        }
        if (quiet_closed_at >= 0) h_pause_ms(50); /* pacing only */
    }
    if (quiet_closed_at < 0) { /* a slow machine: give it the usual deadline */
        cr_assert(h_wait_eof(quiet, H_DEADLINE_MS, NULL), "the quiet client was never closed");
        quiet_closed_at = (int)(h_now_ms() - t0);
    }
    cr_assert(ge(int, quiet_closed_at, 300), "closed after %d ms", quiet_closed_at);
    h_echo(busy, "still open");
    /* Once quiet, the busy one goes too: not before its own timeout. */
    long long t1 = h_now_ms();
    cr_assert(h_wait_eof(busy, H_DEADLINE_MS, NULL));
    cr_assert(ge(i64, h_now_ms() - t1, 250));
    close(quiet);
    close(busy);
    h_kill(s);
}

Test(limits, no_idle_timeout_by_default, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    int fd = h_connect(s->port);
    h_echo(fd, "hi");
    cr_assert(h_silent_for(fd, 700), "closed without -idle-timeout");
    h_echo(fd, "still here");
    close(fd);
    h_kill(s);
}
