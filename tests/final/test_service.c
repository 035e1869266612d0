/*
 * test_service.c - final/parrot started by a service manager with its
 * listening socket handed over, as systemd's socket activation does it
 * (sd_listen_fds(3)): the socket is descriptor 3, LISTEN_FDS says how many
 * there are and LISTEN_PID which process they are for. The harness plays
 * systemd (h_opts.listen_fd). parrot serves the socket it is given and
 * binds none of its own; refuses a bad hand-over with one line and exit
 * status 1; and leaves alone variables meant for another process.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 14], err[1 << 14];

/* The -port parrot is given is ignored: the port is in use by another
 * socket of the test, bound to the same address, so a parrot that bound a
 * socket of its own would stop at "Address already in use" (checked
 * first, without the hand-over). */
Test(service, serves_the_socket_systemd_passes_and_binds_none, .timeout = 20) {
    int busy_port, port;
    int busy = h_listen_loopback(&busy_port);
    int passed = h_listen_loopback(&port);
    char busy_text[16];
    snprintf(busy_text, sizeof(busy_text), "%d", busy_port);
    const char *args[] = {"-host", "127.0.0.1", "-port", busy_text, "-log", "off", NULL};

    int code = h_run(h_bin(), args, out, sizeof(out), err, sizeof(err), H_DEADLINE_MS);
    cr_assert(eq(int, code, 1), "without a socket from systemd: exit %d; stderr:\n%s", code, err);
    cr_assert(strstr(err, "Address already in use") != NULL, "%s", err);

    h_opts o = {.args = args, .listen_fd = passed};
    h_server *s = h_start_opts(h_bin(), &o);
    char want[128];
    snprintf(want, sizeof(want), "parrot: listening on 127.0.0.1 port %d, from systemd (%s)\n",
             port, h_env("PARROT_BACKEND"));
    h_err_refresh(s);
    cr_assert(eq(str, s->err, want));
    close(passed); /* the server's copy is the one that serves */
    int fd = h_connect(port);
    h_echo(fd, "activated\n");
    h_echo(fd, "and again\n");
    close(fd);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0), "%s", s->err);
    cr_assert(strstr(s->err, "parrot: stopped by SIGTERM: 1 connection served, 20 bytes echoed") !=
                  NULL,
              "%s", s->err);
    h_kill(s);
    close(busy);
}

/* Hand descriptor fd over with LISTEN_FDS=fds and LISTEN_PID naming the
 * server: it must exit 1 with exactly the line want (a prefix of it when
 * prefix is set) on stderr, and nothing on stdout. */
static void refused(int fd, const char *fds, const char *want, int prefix) {
    const char *args[] = {"-port", "0", "-log", "off", NULL};
    h_opts o = {.args = args, .listen_fd = fd, .listen_fds = fds};
    int code = h_run_opts(h_bin(), &o, out, sizeof(out), err, sizeof(err));
    cr_assert(eq(int, code, 1), "exit %d; stderr:\n%s", code, err);
    if (prefix)
        cr_assert(eq(int, strncmp(err, want, strlen(want)), 0), "want \"%s...\", got:\n%s", want,
                  err);
    else
        cr_assert(eq(str, err, (char *)want));
    cr_assert(eq(int, h_count_lines(err), 1), "%s", err);
    cr_assert(eq(str, out, ""));
}

Test(service, a_regular_file_as_descriptor_3_is_refused, .timeout = 20) {
    char path[H_PATH_CAP];
    int fd = h_temp_file(path, sizeof(path), "not-a-socket");
    char want[128];
    snprintf(want, sizeof(want), "parrot: descriptor 3 from systemd: %s\n", strerror(ENOTSOCK));
    refused(fd, NULL, want, 0);
    close(fd);
    unlink(path);
}

Test(service, a_socket_that_does_not_listen_is_refused, .timeout = 20) {
    const char *want = "parrot: descriptor 3 from systemd is not a listening TCP socket\n";
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(tcp >= 0, "socket: %s", strerror(errno));
    refused(tcp, NULL, want, 0);
    close(tcp);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(udp >= 0, "socket: %s", strerror(errno));
    refused(udp, NULL, want, 0);
    close(udp);
}

Test(service, a_bad_count_in_listen_fds_is_refused, .timeout = 20) {
    int port;
    int fd = h_listen_loopback(&port);
    refused(fd, "0", "parrot: LISTEN_FDS=0 from systemd: want 1 to ", 1);
    refused(fd, "x", "parrot: LISTEN_FDS=x from systemd: want 1 to ", 1);
    /* Two announced, one passed: descriptor 4 is not open. */
    char want[128];
    snprintf(want, sizeof(want), "parrot: descriptor 4 from systemd: %s\n", strerror(EBADF));
    refused(fd, "2", want, 0);
    close(fd);
}

/* LISTEN_PID names another process (here, the test's own): the variables
 * are a parent's, passed down, and not for parrot, which binds its own
 * socket and leaves descriptor 3 alone (a client there is never served). */
Test(service, variables_for_another_process_are_ignored, .timeout = 20) {
    int port;
    int passed = h_listen_loopback(&port);
    char parent[24];
    snprintf(parent, sizeof(parent), "%ld", (long)getpid());
    const char *args[] = {"-host", "127.0.0.1", "-port", "0", "-log", "off", NULL};
    h_opts o = {.args = args, .listen_fd = passed, .listen_pid = parent};
    h_server *s = h_start_opts(h_bin(), &o);
    cr_assert(ne(int, s->port, port));
    char want[128];
    snprintf(want, sizeof(want), "parrot: listening on 127.0.0.1 port %d (%s)\n", s->port,
             h_env("PARROT_BACKEND"));
    h_err_refresh(s);
    cr_assert(eq(str, s->err, want));
    int fd = h_connect(s->port);
    h_echo(fd, "bound its own");
    close(fd);
    fd = h_connect(port); /* waits in the passed socket's backlog */
    h_send_all(fd, "anyone?", 7);
    cr_assert(h_silent_for(fd, 300), "a client of the passed socket was served");
    close(fd);
    close(passed);
    h_kill(s);
}
