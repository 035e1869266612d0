/*
 * test_cli.c - parrot-bench as a user runs it: bad arguments (exit 2 and the message that
 * names the problem), runtime failures (exit 1 with one clear line), wrong echoes caught, and
 * a two-second smoke run against final/parrot that must show requests and no errors.
 *
 * PARROT_BENCH is the load generator under test, PARROT_BIN the server (see the Makefile).
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(cli, .timeout = 30);

static const char *bench_bin(void) {
    const char *b = h_env("PARROT_BENCH");
    if (!b) cr_fatal("PARROT_BENCH is not set: run this suite through its Makefile (make check)");
    if (access(b, X_OK) != 0) cr_fatal("PARROT_BENCH=%s is not executable", b);
    return b;
}

static char out[8192], err[8192];

static int run(const char *const *args) {
    return h_run(bench_bin(), args, out, sizeof out, err, sizeof err, 20000);
}

/* A usage error: exit 2, the message, then the usage text (Go's "Usage of PROGRAM:"), all on
 * stderr. */
static void expect_usage_error(const char *const *args, const char *message) {
    int code = run(args);
    cr_assert(eq(int, code, 2), "%s: exit %d, stderr:\n%s", args[0], code, err);
    cr_assert(ne(ptr, strstr(err, message), NULL), "expected \"%s\" in:\n%s", message, err);
    cr_assert(ne(ptr, strstr(err, "Usage of "), NULL), "no usage text in:\n%s", err);
    cr_assert(eq(str, out, ""));
}

/* The number after "key": in a JSON line; fails the test if the key is missing or null. */
static double json_number(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    cr_assert(ne(ptr, (void *)p, NULL), "no %s in: %s", key, json);
    p += strlen(pattern);
    cr_assert(ne(int, strncmp(p, "null", 4), 0), "%s is null in: %s", key, json);
    return strtod(p, NULL);
}

/* A port nobody listens on: listen on an ephemeral one, then let it go. */
static int free_port(void) {
    int port;
    close(h_listen_loopback(&port));
    return port;
}

/* --- usage errors --------------------------------------------------------------------- */

Test(cli, unknown_flag) {
    expect_usage_error((const char *[]){"-x", NULL}, "flag provided but not defined: -x");
}

Test(cli, flag_without_its_value) {
    expect_usage_error((const char *[]){"-c", NULL}, "flag needs an argument: -c");
}

Test(cli, bad_connection_counts) {
    expect_usage_error((const char *[]){"-c", "0", NULL}, "invalid value \"0\" for flag -c");
    expect_usage_error((const char *[]){"-c", "abc", NULL}, "invalid value \"abc\" for flag -c");
    expect_usage_error((const char *[]){"-c", "-5", NULL}, "invalid value \"-5\" for flag -c");
    expect_usage_error((const char *[]){"-c=1000001", NULL}, "for flag -c");
}

Test(cli, bad_message_sizes) {
    expect_usage_error((const char *[]){"-s", "0", NULL}, "invalid value \"0\" for flag -s");
    expect_usage_error((const char *[]){"-s", "2000000", NULL}, "for flag -s");
    expect_usage_error((const char *[]){"-s", "12b", NULL}, "for flag -s");
}

Test(cli, bad_times) {
    expect_usage_error((const char *[]){"-d", "0", NULL}, "for flag -d");
    expect_usage_error((const char *[]){"-d", "ten", NULL}, "invalid value \"ten\" for flag -d");
    expect_usage_error((const char *[]){"-d", "5d", NULL}, "for flag -d");
    expect_usage_error((const char *[]){"-w", "-1", NULL}, "invalid value \"-1\" for flag -w");
    expect_usage_error((const char *[]){"-w", "-1s", NULL}, "invalid value \"-1s\" for flag -w");
}

/* Times are Go durations, as Go's flag.Duration reads them: a bare number has no unit. */
Test(cli, bare_number_is_not_a_duration) {
    expect_usage_error((const char *[]){"-d", "10", NULL},
                       "invalid value \"10\" for flag -d: parse error");
    expect_usage_error((const char *[]){"-w=2", NULL},
                       "invalid value \"2\" for flag -w: parse error");
}

Test(cli, bad_ports) {
    expect_usage_error((const char *[]){"-port", "0", NULL}, "for flag -port");
    expect_usage_error((const char *[]){"-port", "70000", NULL}, "for flag -port");
    expect_usage_error((const char *[]){"--port", "x", NULL}, "for flag -port");
}

Test(cli, empty_host) {
    expect_usage_error((const char *[]){"-host=", NULL}, "invalid value \"\" for flag -host");
}

Test(cli, connections_and_idle_are_exclusive) {
    expect_usage_error((const char *[]){"-c", "5", "-idle", "5", NULL}, "cannot be used together");
    /* -c given at its default is given all the same (Go's flag.Visit). */
    expect_usage_error((const char *[]){"-c", "50", "-idle", "5", NULL}, "cannot be used together");
}

Test(cli, stray_argument) {
    expect_usage_error((const char *[]){"127.0.0.1", NULL}, "unexpected argument \"127.0.0.1\"");
}

Test(cli, bad_boolean) {
    expect_usage_error((const char *[]){"-json=maybe", NULL}, "-json");
}

/* Go prints the usage of -h where flag.CommandLine prints everything: on stderr. */
Test(cli, help_goes_to_stderr_and_exits_0) {
    cr_assert(eq(int, run((const char *[]){"-h", NULL}), 0));
    cr_assert(ne(ptr, strstr(err, "Usage of "), NULL), "stderr:\n%s", err);
    cr_assert(ne(ptr, strstr(err, "  -idle n\n"), NULL), "stderr:\n%s", err);
    cr_assert(ne(ptr, strstr(err, "  -d duration\n"), NULL), "stderr:\n%s", err);
    cr_assert(eq(str, out, ""));
    cr_assert(eq(int, run((const char *[]){"-help", NULL}), 0));
}

/* --- runtime failures: exit 1 and one line that names the cause ------------------------ */

Test(cli, nobody_listening) {
    char port[16];
    snprintf(port, sizeof port, "%d", free_port());
    int code = run((const char *[]){"-port", port, "-c", "3", "-d", "1s", NULL});
    cr_assert(eq(int, code, 1), "exit %d, stderr:\n%s", code, err);
    char expect[96];
    snprintf(expect, sizeof expect, "parrot-bench: connect to 127.0.0.1 port %s: ", port);
    cr_assert(ne(ptr, strstr(err, expect), NULL), "stderr:\n%s", err);
    cr_assert(ne(ptr, strstr(err, "refused"), NULL), "stderr:\n%s", err);
}

Test(cli, more_connections_than_the_descriptor_limit) {
    /* The child inherits this test process's limits (Criterion runs each test in its own
     * process, so nothing else sees the change). */
    struct rlimit rl = {.rlim_cur = 256, .rlim_max = 256};
    cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &rl), 0));
    int code = run((const char *[]){"-c", "1000", NULL});
    cr_assert(eq(int, code, 1), "exit %d, stderr:\n%s", code, err);
    cr_assert(ne(ptr,
                 strstr(err, "1000 connections need 1016 descriptors, but the hard limit is 256"),
                 NULL),
              "stderr:\n%s", err);
}

Test(cli, server_pid_that_does_not_exist) {
    pid_t child = fork();
    cr_assert(ge(int, child, 0));
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* reaped: that pid is free now */
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)child);
    int code = run((const char *[]){"-pid", pid, "-c", "1", NULL});
    cr_assert(eq(int, code, 1), "exit %d, stderr:\n%s", code, err);
    cr_assert(ne(ptr, strstr(err, "no such process"), NULL), "stderr:\n%s", err);
}

/* A server that echoes the wrong bytes is caught on the first round trip. */
Test(cli, wrong_echo_is_caught) {
    int listening;
    int lfd = h_listen_loopback(&listening);

    pid_t child = fork();
    cr_assert(ge(int, child, 0));
    if (child == 0) { /* a parrot with a cold: echoes "hello parrot", lower case */
        alarm(20);
        int fd = accept(lfd, NULL, NULL);
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            buf[0] = 'h';
            if (write(fd, buf, (size_t)n) != n) _exit(1);
        }
        while (read(fd, buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(lfd);
    char port[16];
    snprintf(port, sizeof port, "%d", listening);
    int code = run((const char *[]){"-port", port, "-c", "1", "-d", "1s", NULL});
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_assert(eq(int, code, 1), "exit %d, stderr:\n%s", code, err);
    cr_assert(ne(ptr, strstr(err, "mismatched 1"), NULL), "stderr:\n%s", err);
}

/* --- smoke runs against final/parrot ---------------------------------------------------- */

Test(cli, smoke_load_against_parrot_json) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    char port[16], pid[32];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(pid, sizeof pid, "%ld", (long)s->pid);
    int code = run((const char *[]){"-port", port, "-c", "50", "-w", "300ms", "-d", "1.5s", "-pid",
                                    pid, "-json", NULL});
    cr_assert(eq(int, code, 0), "exit %d, stderr:\n%s\nstdout:\n%s", code, err, out);

    /* One JSON line, nothing else on stdout. */
    cr_assert(eq(chr, out[0], '{'), "stdout:\n%s", out);
    cr_assert(eq(ptr, strchr(out, '\n'), strrchr(out, '\n')), "more than one line:\n%s", out);
    cr_assert(gt(dbl, json_number(out, "requests"), 0));
    cr_assert(eq(dbl, json_number(out, "errors"), 0));
    cr_assert(eq(dbl, json_number(out, "err_mismatch"), 0));
    cr_assert(eq(dbl, json_number(out, "up"), 50));
    cr_assert(eq(dbl, json_number(out, "connections"), 50));
    cr_assert(eq(dbl, json_number(out, "size"), 12));
    double p50 = json_number(out, "lat_p50_us"), p99 = json_number(out, "lat_p99_us");
    cr_assert(gt(dbl, p50, 0));
    cr_assert(le(dbl, p50, p99));
    cr_assert(le(dbl, p99, json_number(out, "lat_max_us")));
    cr_assert(ge(dbl, json_number(out, "duration_s"), 1.5));
    /* -pid: parrot-bench samples the server itself, on every system (its procstat.c). */
    cr_assert(gt(dbl, json_number(out, "server_rss_kb"), 0));
    cr_assert(ge(dbl, json_number(out, "server_cpu_s"), 0));
    /* The live progress line is for terminals only. */
    cr_assert(eq(ptr, strchr(err, '\r'), NULL), "progress on a non-terminal:\n%s", err);
    cr_assert(h_alive(s), "the server died under load");
    h_kill(s);
}

Test(cli, smoke_idle_against_parrot) {
    /* 200 connections: a descriptor each in parrot-bench (which inherits
     * this process's limit) and in the server, which keeps 16 for itself:
     * close to macOS's default soft limit of 256, so both get more. */
    enum { FDS = 200 + 64 };
    h_need_fds(FDS);
    h_opts o = {.args = (const char *[]){"-port", "0", "-log", "off", NULL}, .nofile = FDS};
    h_server *s = h_start_opts(h_bin(), &o);
    char port[16], pid[32];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(pid, sizeof pid, "%ld", (long)s->pid);
    int code = run(
        (const char *[]){"-port", port, "-idle", "200", "-d", "300ms", "-pid", pid, "-json", NULL});
    cr_assert(eq(int, code, 0), "exit %d, stderr:\n%s", code, err);
    cr_assert(ne(ptr, strstr(out, "\"mode\":\"idle\""), NULL), "stdout:\n%s", out);
    cr_assert(eq(dbl, json_number(out, "up"), 200));
    cr_assert(eq(dbl, json_number(out, "errors"), 0));
    cr_assert(ne(ptr, strstr(err, "200 idle connections open"), NULL), "stderr:\n%s", err);
    cr_assert(gt(dbl, json_number(out, "server_rss0_kb"), 0));
    cr_assert(gt(dbl, json_number(out, "server_rss_kb"), 0));
    h_kill(s);
}

Test(cli, smoke_table_against_parrot) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    int code = run(
        (const char *[]){"-port", port, "-c", "10", "-s", "3000", "-w", "0", "-d", "500ms", NULL});
    cr_assert(eq(int, code, 0), "exit %d, stderr:\n%s", code, err);
    cr_assert(ne(ptr, strstr(out, "10 connections, 3000-byte messages"), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "errors      none"), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "latency     min"), NULL), "%s", out);
    h_kill(s);
}
