/*
 * test_echo.c - final/parrot echoes exactly: every size from 1 byte to
 * 16 MiB in random chunks, 1,000 clients at once, half-close, resets,
 * thousands of connections without leaking a descriptor, and clients of
 * both IP families. Run against every backend (PARROT_BIN,
 * PARROT_BACKEND).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

Test(echo, listening_line_names_address_port_and_backend, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-host", "127.0.0.1", "-log", "off", NULL);
    const char *backend = h_env("PARROT_BACKEND");
    char want[128];
    snprintf(want, sizeof(want), "parrot: listening on 127.0.0.1 port %d (%s)\n", s->port,
             backend ? backend : "");
    h_err_refresh(s);
    cr_assert(eq(str, s->err, want));
    h_kill(s);
}

/* No -host: every address of both families, as Go's -port alone. The line
 * says which families this system gave (one dual-stack socket here). */
Test(echo, listening_line_without_host_says_every_address, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    char want[128];
    snprintf(want, sizeof(want), "parrot: listening on every address port %d, IPv", s->port);
    h_err_refresh(s);
    cr_assert(eq(int, strncmp(s->err, want, strlen(want)), 0), "%s", s->err);
    h_kill(s);
}

Test(echo, round_trips_1_byte_to_16_MiB_in_random_chunks, .timeout = 60) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    const size_t sizes[] = {1,     2,     12,     1000,    4095,          4096,    65535,
                            65536, 65537, 100000, 1 << 20, (1 << 20) + 1, 4 << 20, 16 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        h_round_trip(s->port, sizes[i], (unsigned)i + 1);
    cr_assert(h_alive(s));
    h_kill(s);
}

Test(echo, all_256_byte_values_with_logging_on, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", NULL);
    int fd = h_connect(s->port);
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    h_send_all(fd, all, sizeof(all));
    h_expect(fd, all, sizeof(all), "all 256 byte values");
    close(fd);
    h_kill(s);
}

Test(echo, concurrent_1000_clients_interleaved, .timeout = 60) {
    /* This process holds a descriptor per client, and so does the server,
     * which keeps a few (FD_RESERVE, 16) for itself: more than macOS's
     * default soft limit of 256 allows, so both get more. */
    enum { N = 1000, ROUNDS = 3, FDS = N + 64 };
    h_need_fds(FDS);
    h_opts o = {.nofile = FDS};
    h_server *s = h_start(&o, "-port", "0", "-log", "off", NULL);
    static int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = h_connect(s->port);
    char msg[64], back[64];
    for (int r = 0; r < ROUNDS; r++) {
        /* Everyone sends first, then replies are read in a different
         * order each round: no client waits for another. */
        for (int i = 0; i < N; i++) {
            int len = snprintf(msg, sizeof(msg), "client %d round %d\n", i, r);
            h_send_all(fds[i], msg, (size_t)len);
        }
        for (int k = 0; k < N; k++) {
            int i = r % 2 ? N - 1 - k : (k * 7 + r) % N;
            int len = snprintf(msg, sizeof(msg), "client %d round %d\n", i, r);
            cr_assert(eq(sz, h_recv_exact(fds[i], back, (size_t)len, H_DEADLINE_MS), (size_t)len),
                      "client %d round %d", i, r);
            cr_assert(eq(int, memcmp(back, msg, (size_t)len), 0), "client %d round %d", i, r);
        }
    }
    /* One client hanging up disturbs no one. */
    close(fds[0]);
    for (int i = 1; i < N; i += 97)
        h_echo(fds[i], "still here");
    for (int i = 1; i < N; i++)
        close(fds[i]);
    h_kill(s);
}

/* Then the server closes, with nothing more before its end of file. */
static void expect_eof(int fd) {
    size_t extra = 0;
    cr_assert(h_wait_eof(fd, H_DEADLINE_MS, &extra), "the server never closed");
    cr_assert(eq(sz, extra, 0));
}

Test(echo, half_close_gets_every_byte_then_eof, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    const size_t size = 3 << 20; /* more than the socket buffers hold */
    int fd = h_connect(s->port);
    char *sent = h_pattern(size, 7), *got = malloc(size);
    cr_assert(got != NULL);
    /* Send everything, reading as we go, then shut our write side before
     * all of it has come back. */
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    size_t out = 0, in = 0;
    long long deadline = h_now_ms() + H_DEADLINE_MS;
    while (out < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
        cr_assert(poll(&p, 1, 1000) >= 0);
        cr_assert(lt(i64, h_now_ms(), deadline));
        if (p.revents & POLLOUT) {
            ssize_t w = write(fd, sent + out, size - out > 65536 ? 65536 : size - out);
            if (w > 0) out += (size_t)w;
        }
        if ((p.revents & POLLIN) && in < size / 2) { /* leave the rest in flight */
            ssize_t n = read(fd, got + in, size / 2 - in);
            if (n > 0) in += (size_t)n;
        }
    }
    fcntl(fd, F_SETFL, flags);
    h_shutdown_write(fd);
    in += h_recv_exact(fd, got + in, size - in, H_DEADLINE_MS);
    cr_assert(eq(sz, in, size));
    cr_assert(eq(int, memcmp(sent, got, size), 0));
    cr_assert(h_wait_eof(fd, H_DEADLINE_MS, NULL), "no EOF after the echo");
    close(fd);
    free(sent);
    free(got);
    h_kill(s);
}

/* The server reads the end of file while it still holds echo it could not
 * send (the client is not reading, and its 4 KiB receive buffer is full):
 * it must finish the echo before it closes. 8 MiB is more than the kernel
 * buffers on the way hold, and less than -max-pending, so reading never
 * pauses and the end of file is read while the echo waits. */
Test(echo, half_close_while_echo_is_held_finishes_the_echo, .timeout = 30) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", "-max-pending", "33554432", NULL);
    const size_t size = 8 << 20;
    int fd = h_connect_rcvbuf(s->port, 4096);
    char *sent = h_pattern(size, 21);
    h_send_all(fd, sent, size); /* the server reads it all into its buffer */
    h_shutdown_write(fd);
    h_expect(fd, sent, size, "the echo held at the end of file");
    expect_eof(fd);
    close(fd);
    free(sent);
    h_kill(s);
}

Test(echo, half_close_with_nothing_pending_closes_at_once, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    int fd = h_connect(s->port);
    h_echo(fd, "ping");
    h_shutdown_write(fd);
    expect_eof(fd);
    close(fd);
    h_kill(s);
}

static int is_stopped(void *arg) {
    return h_stopped(((h_server *)arg)->pid);
}

/* Stop the server with SIGSTOP and wait until it is stopped: it then reads
 * nothing, while the kernel still queues what clients send it. thaw
 * resumes it (SIGCONT). */
static void freeze(h_server *s) {
    cr_assert(eq(int, kill(s->pid, SIGSTOP), 0), "kill SIGSTOP: %s", strerror(errno));
    cr_assert(h_poll_until(is_stopped, s, H_DEADLINE_MS, 1), "the server did not stop (%s)",
              h_metrics_source());
}

static void thaw(h_server *s) {
    cr_assert(eq(int, kill(s->pid, SIGCONT), 0), "kill SIGCONT: %s", strerror(errno));
}

/* A server that waits for "something new arrived" (epoll's edge-triggered
 * mode) must not leave data behind when one read does not take it all and
 * nothing more comes, nor miss an end of file that came with the last
 * bytes. Freezing the server (SIGSTOP) queues `len` bytes, and the end of
 * file if `eof`, in its socket before it reads; all must come back, then
 * the server's own end of file. */
static void queued_while_frozen(const char *max_pending, size_t len, int eof) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", "-max-pending", max_pending, NULL);
    int fd = h_connect(s->port);
    h_echo(fd, "ping"); /* accepted and watched before the freeze */
    char *sent = h_pattern(len, (unsigned)len);
    freeze(s);
    h_send_all(fd, sent, len);
    if (eof) h_shutdown_write(fd);
    thaw(s);
    h_expect(fd, sent, len, "what was queued while the server was stopped");
    if (eof) expect_eof(fd);
    close(fd);
    free(sent);
    h_kill(s);
}

/* -max-pending 4096 makes each read take at most 4 KiB of the 12 KiB. */
Test(echo, data_queued_beyond_one_read_is_all_echoed, .timeout = 20) {
    queued_while_frozen("4096", 12 * 1024, 0);
}

Test(echo, eof_arriving_with_the_last_bytes_is_seen, .timeout = 20) {
    queued_while_frozen("1048576", 10, 1);
}

Test(echo, queued_data_then_eof_all_echoed_then_closed, .timeout = 20) {
    queued_while_frozen("4096", 12 * 1024, 1);
}

typedef struct fd_goal {
    h_server *s;
    int n;
} fd_goal;

static int fds_at_most(void *arg) {
    fd_goal *g = arg;
    return h_fd_count(g->s->pid) <= g->n;
}

/* Poll until the server holds n descriptors or fewer (or the deadline). */
static int wait_fds_at_most(h_server *s, int n, int deadline_ms) {
    fd_goal g = {s, n};
    return h_poll_until(fds_at_most, &g, deadline_ms, 5);
}

Test(echo, resets_mid_transfer_leave_the_server_serving, .timeout = 30) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", "-max-pending", "4096", NULL);
    int base = h_fd_count(s->pid);
    static char junk[1 << 20];
    h_fill_pattern(junk, sizeof(junk), 3);
    for (int i = 0; i < 20; i++) {
        int fd = h_connect(s->port);
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        /* Fill both directions (we never read), so the server holds
         * pending echo and may be mid-write when the reset lands. */
        ssize_t w;
        size_t total = 0;
        while (total < sizeof(junk) && (w = write(fd, junk, sizeof(junk) - total)) > 0)
            total += (size_t)w;
        if (i % 2) {
            char some[1000];
            (void)!read(fd, some, sizeof(some));
        }
        h_reset(fd);
    }
    h_round_trip(s->port, 100000, 5);
    cr_assert(h_alive(s));
    cr_assert(wait_fds_at_most(s, base, H_DEADLINE_MS), "descriptors: %d, at start %d",
              h_fd_count(s->pid), base);
    h_kill(s);
}

Test(echo, connect_close_5000_times_leaks_no_descriptor, .timeout = 60) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    int base = h_fd_count(s->pid);
    for (int i = 0; i < 5000; i++) {
        int fd = h_connect(s->port);
        switch (i % 4) {
        case 0:
            close(fd);
            break; /* straight away */
        case 1:
            h_reset(fd);
            break; /* with a reset */
        case 2:
            h_echo(fd, "x");
            close(fd);
            break;
        case 3: /* half-close, then wait for the server's close */
            h_send_all(fd, "bye", 3);
            h_shutdown_write(fd);
            cr_assert(h_wait_eof(fd, H_DEADLINE_MS, NULL));
            close(fd);
            break;
        }
    }
    cr_assert(wait_fds_at_most(s, base, H_DEADLINE_MS), "descriptors: %d, at start %d",
              h_fd_count(s->pid), base);
    cr_assert(eq(int, h_fd_count(s->pid), base));
    h_round_trip(s->port, 1000, 9);
    h_kill(s);
}

/* Fails the test, saying why, on a machine without an IPv6 loopback
 * address: the IPv6 tests cannot show anything there, and a skip would
 * hide that parrot's IPv6 side went untested. */
static void need_ipv6_loopback(void) {
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    cr_assert(eq(int, inet_pton(AF_INET6, "::1", &sin6.sin6_addr), 1));
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        cr_fatal("this machine has no IPv6 (socket AF_INET6: %s): parrot serves IPv6 and this "
                 "test needs it",
                 strerror(errno));
    if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
        int e = errno;
        close(fd);
        cr_fatal("this machine has no IPv6 loopback address (bind [::1]:0: %s): parrot serves "
                 "IPv6 and this test needs ::1 (Linux: ip -6 addr show lo)",
                 strerror(e));
    }
    close(fd);
}

/* Line i (0-based) of text starts with prefix and ends with suffix. */
static void line_is(const char *text, int i, const char *prefix, const char *suffix) {
    const char *line = text;
    for (int k = 0; k < i && line; k++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    cr_assert(line && *line, "no line %d in the log:\n%s", i + 1, text);
    size_t len = strcspn(line, "\n"), plen = strlen(prefix), slen = strlen(suffix);
    cr_assert(len >= plen + slen && strncmp(line, prefix, plen) == 0 &&
                  strncmp(line + len - slen, suffix, slen) == 0,
              "log line %d is not \"%s...%s\":\n%s", i + 1, prefix, suffix, text);
}

/* No -host: parrot serves both families, as Go's -port alone does. A
 * client over IPv4 and one over IPv6 are both echoed, and the log names
 * each by its own address and port. */
Test(echo, without_host_ipv4_and_ipv6_clients_are_served_and_logged, .timeout = 20) {
    need_ipv6_loopback();
    h_server *s = h_start(NULL, "-port", "0", NULL);
    char want[128];
    snprintf(want, sizeof(want), "parrot: listening on every address port %d, IPv6 and IPv4",
             s->port);
    h_err_refresh(s);
    cr_assert(eq(int, strncmp(s->err, want, strlen(want)), 0), "%s", s->err);
    int fd4 = h_connect(s->port);
    h_echo(fd4, "over IPv4\n");
    int fd6 = h_connect6(s->port);
    h_echo(fd6, "over IPv6\n");
    cr_assert(eq(int, h_log_wait_lines(s, 2, H_DEADLINE_MS), 2), "log: %s", s->out);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "127.0.0.1:%d - - [", h_local_port(fd4));
    line_is(s->out, 0, prefix, "] \"over IPv4\\n\" 10");
    snprintf(prefix, sizeof(prefix), "[::1]:%d - - [", h_local_port(fd6));
    line_is(s->out, 1, prefix, "] \"over IPv6\\n\" 10");
    close(fd4);
    close(fd6);
    h_kill(s);
}

Test(echo, ipv6_loopback, .timeout = 20) {
    need_ipv6_loopback();
    h_server *s = h_start(NULL, "-port", "0", "-host", "::1", NULL);
    h_err_refresh(s);
    cr_assert(strstr(s->err, "listening on ::1 port ") != NULL, "%s", s->err);
    int fd = h_connect6(s->port);
    h_echo(fd, "over IPv6\n");
    close(fd);
    cr_assert(eq(int, h_log_wait_lines(s, 1, H_DEADLINE_MS), 1));
    cr_assert(strncmp(s->out, "[::1]:", 6) == 0, "log: %s", s->out);
    cr_assert(strstr(s->out, "] \"over IPv6\\n\" 10\n") != NULL, "log: %s", s->out);
    h_kill(s);
}

Test(echo, dual_stack_any_address_logs_ipv4_peers_as_ipv4, .timeout = 20) {
    need_ipv6_loopback();
    h_server *s = h_start(NULL, "-port", "0", "-host", "::", NULL);
    int fd6 = h_connect6(s->port);
    h_echo(fd6, "six");
    int fd4 = h_connect(s->port); /* Linux allows IPv4 on "::" (IPV6_V6ONLY off) */
    h_echo(fd4, "four");
    cr_assert(eq(int, h_log_wait_lines(s, 2, H_DEADLINE_MS), 2));
    cr_assert(strstr(s->out, "127.0.0.1:") != NULL, "log: %s", s->out);
    cr_assert(strstr(s->out, "[::1]:") != NULL, "log: %s", s->out);
    close(fd4);
    close(fd6);
    h_kill(s);
}

Test(echo, host_name_is_resolved, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-host", "localhost", "-log", "off", NULL);
    h_err_refresh(s);
    /* localhost may resolve to 127.0.0.1 or ::1 first; either is right. */
    int v4 = strstr(s->err, "listening on 127.0.0.1 port ") != NULL;
    int v6 = strstr(s->err, "listening on ::1 port ") != NULL;
    cr_assert(v4 || v6, "%s", s->err);
    int fd = v4 ? h_connect(s->port) : h_connect6(s->port);
    h_echo(fd, "by name");
    close(fd);
    h_kill(s);
}
