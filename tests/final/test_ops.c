/*
 * test_ops.c - final/parrot as an operator meets it: flags and exit codes,
 * refused starts, the access log (stdout, a file, SIGHUP, a broken or slow
 * sink), a status line on SIGUSR1, and shutdown on SIGTERM/SIGINT.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 16], err[1 << 16];

static int run(const char *a, const char *b, const char *c) {
    const char *args[] = {a, b, c, NULL};
    return h_run(h_bin(), args, out, sizeof(out), err, sizeof(err), H_DEADLINE_MS);
}

static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --- flags through the binary ------------------------------------------- */

Test(ops, help_prints_usage_to_stderr_and_exits_0, .timeout = 20) {
    cr_assert(eq(int, run("-h", NULL, NULL), 0));
    cr_assert(starts(err, "Usage of "), "%s", err);
    cr_assert(strstr(err, "  -port int\n") != NULL);
    cr_assert(eq(str, out, ""));
    cr_assert(eq(int, run("--help", NULL, NULL), 0));
}

Test(ops, bad_flags_exit_2_with_gos_line_then_usage, .timeout = 20) {
    cr_assert(eq(int, run("-x", NULL, NULL), 2));
    cr_assert(starts(err, "flag provided but not defined: -x\nUsage of "), "%s", err);
    cr_assert(eq(int, run("-port", "abc", NULL), 2));
    cr_assert(starts(err, "invalid value \"abc\" for flag -port: parse error\nUsage of "), "%s",
              err);
    cr_assert(eq(int, run("-idle-timeout", "5", NULL), 2));
    cr_assert(starts(err, "invalid value \"5\" for flag -idle-timeout: parse error\n"), "%s", err);
    cr_assert(eq(int, run("-port", NULL, NULL), 2));
    cr_assert(starts(err, "flag needs an argument: -port\n"), "%s", err);
    cr_assert(eq(str, out, ""));
}

Test(ops, version_names_the_backend, .timeout = 20) {
    cr_assert(eq(int, run("-version", NULL, NULL), 0));
    char want[64];
    snprintf(want, sizeof(want), "parrot 1.0.0 (%s)\n", h_env("PARROT_BACKEND"));
    cr_assert(eq(str, out, want), "-version prints on stdout, so that it can be piped");
    cr_assert(eq(str, err, ""));
}

/* --- refused starts: one line, exit 1 ------------------------------------ */

Test(ops, port_in_use_exits_1_with_one_line, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    cr_assert(eq(int, run("-port", port, NULL), 1));
    char want[128];
    snprintf(want, sizeof(want), "parrot: cannot listen on every address port %d: bind: ", s->port);
    cr_assert(starts(err, want), "%s", err);
    cr_assert(strstr(err, "Address already in use\n") != NULL, "%s", err);
    cr_assert(eq(int, h_count_lines(err), 1), "%s", err);
    h_kill(s);
}

Test(ops, bad_address_exits_1_with_one_line, .timeout = 20) {
    cr_assert(eq(int, run("-port=0", "-host", "256.1.2.3"), 1));
    cr_assert(starts(err, "parrot: bad -host \"256.1.2.3\": "), "%s", err);
    cr_assert(eq(int, h_count_lines(err), 1), "%s", err);
    /* An address this machine does not have. */
    cr_assert(eq(int, run("-port=0", "-host", "192.0.2.1"), 1));
    cr_assert(strstr(err, "cannot listen on 192.0.2.1 port 0: bind: ") != NULL, "%s", err);
    cr_assert(eq(int, h_count_lines(err), 1), "%s", err);
}

Test(ops, unwritable_log_file_exits_1_with_one_line, .timeout = 20) {
    cr_assert(eq(int, run("-port=0", "-log", "/nonexistent-dir/parrot.log"), 1));
    cr_assert(eq(str, err,
                 "parrot: cannot open log file /nonexistent-dir/parrot.log: "
                 "No such file or directory\n"));
}

/* --- the log ------------------------------------------------------------- */

Test(ops, log_lines_on_stdout_match_the_format, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", NULL);
    int fd = h_connect(s->port);
    h_echo(fd, "hello\n");
    h_echo(fd, "say \"hi\"\\\t\r\n127.0.0.1:1 - - [x] \"forged\" 1\n");
    cr_assert(eq(int, h_log_wait_lines(s, 2, H_DEADLINE_MS), 2), "log: %s", s->out);
    regex_t re;
    cr_assert(eq(int,
                 regcomp(&re,
                         "^127\\.0\\.0\\.1:[0-9]+ - - \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:"
                         "[0-9]{2}:[0-9]{2} [+-][0-9]{4}\\] \"hello\\\\n\" 6\n"
                         "127\\.0\\.0\\.1:[0-9]+ - - \\[[^]]*\\] "
                         "\"say \\\\\"hi\\\\\"\\\\\\\\\\\\t\\\\r\\\\n127\\.0\\.0\\.1:1 - - \\[x\\] "
                         "\\\\\"forged\\\\\" 1\\\\n\" 43\n$",
                         REG_EXTENDED),
                 0));
    cr_assert(eq(int, regexec(&re, s->out, 0, NULL, 0), 0), "log:\n%s", s->out);
    regfree(&re);
    close(fd);
    h_kill(s);
}

Test(ops, a_huge_message_makes_bounded_lines, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", NULL);
    h_round_trip(s->port, 1 << 20, 8);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    /* TCP hands the megabyte over in pieces: one line per read, each cut
     * after 256 bytes of message, and the byte counts add up. */
    size_t total = 0;
    int lines = 0;
    for (char *line = s->out; *line; lines++) {
        char *end = strchr(line, '\n');
        cr_assert(end != NULL, "unterminated line");
        cr_assert(le(long, (long)(end - line), 4 * 256 + 128), "line %d is %ld bytes", lines,
                  (long)(end - line));
        *end = '\0';
        const char *count = strrchr(line, ' ');
        size_t n = strtoul(count + 1, NULL, 10);
        if (n > 256) cr_assert(strncmp(count - 4, "...\"", 4) == 0, "line %d: no cut", lines);
        total += n;
        line = end + 1;
    }
    cr_assert(gt(int, lines, 0));
    cr_assert(eq(sz, total, (size_t)1 << 20));
    h_kill(s);
}

Test(ops, log_off_prints_nothing_on_stdout, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    h_round_trip(s->port, 100000, 4);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    cr_assert(eq(sz, s->out_len, 0), "stdout: %s", s->out);
    h_kill(s);
}

static char log_path[H_PATH_CAP];

static void make_log_path(void) {
    int fd = h_temp_file(log_path, sizeof(log_path), "final-log");
    cr_assert(eq(sz, (size_t)write(fd, "earlier line\n", 13), 13));
    close(fd);
}

typedef struct lines_goal {
    const char *path;
    int n;
} lines_goal;

/* Count lines of a file, -1 if it does not exist. */
static int file_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int has_lines(void *arg) {
    lines_goal *g = arg;
    return file_lines(g->path) >= g->n;
}

Test(ops, log_file_is_appended_and_reopened_on_sighup, .timeout = 20) {
    make_log_path();
    char rotated[H_PATH_CAP + 2];
    snprintf(rotated, sizeof(rotated), "%s.1", log_path);
    h_server *s = h_start(NULL, "-port", "0", "-log", log_path, NULL);
    int fd = h_connect(s->port);
    h_echo(fd, "first");
    lines_goal g = {log_path, 2};
    cr_assert(h_poll_until(has_lines, &g, H_DEADLINE_MS, 5), "lines: %d", file_lines(log_path));

    /* logrotate: move the file away, then SIGHUP. */
    cr_assert(eq(int, rename(log_path, rotated), 0));
    kill(s->pid, SIGHUP);
    struct stat st;
    long long deadline = h_now_ms() + H_DEADLINE_MS;
    while (stat(log_path, &st) != 0) {
        cr_assert(lt(i64, h_now_ms(), deadline), "no new log file after SIGHUP");
        h_pause_ms(5);
    }
    h_echo(fd, "second");
    g.n = 1;
    cr_assert(h_poll_until(has_lines, &g, H_DEADLINE_MS, 5));
    cr_assert(eq(int, file_lines(rotated), 2));
    FILE *f = fopen(rotated, "r");
    char line[256];
    cr_assert(fgets(line, sizeof(line), f) && strcmp(line, "earlier line\n") == 0);
    cr_assert(fgets(line, sizeof(line), f) && strstr(line, "\"first\" 5\n"));
    fclose(f);
    f = fopen(log_path, "r");
    cr_assert(fgets(line, sizeof(line), f) && strstr(line, "\"second\" 6\n"));
    fclose(f);
    h_log_refresh(s);
    cr_assert(eq(sz, s->out_len, 0), "stdout: %s", s->out);
    close(fd);
    h_kill(s);
    unlink(log_path);
    unlink(rotated);
}

/* A log file that cannot grow: the server may write files up to 4 KiB
 * (RLIMIT_FSIZE, which the harness sets with SIGXFSZ ignored), and the file
 * already holds 4 KiB. Every write to it fails with EFBIG, as every write
 * to a full disk fails with ENOSPC. The limit leaves room for the few
 * lines the server writes to stderr. */
Test(ops, log_file_that_cannot_grow_does_not_stop_the_echo, .timeout = 20) {
    enum { LIMIT = 4096 };
    int lfd = h_temp_file(log_path, sizeof(log_path), "final-log");
    char line[64];
    memset(line, '.', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < LIMIT / (int)sizeof(line); i++)
        cr_assert(eq(sz, (size_t)write(lfd, line, sizeof(line)), sizeof(line)), "write: %s",
                  strerror(errno));
    close(lfd);

    h_opts o = {.fsize = LIMIT};
    h_server *s = h_start(&o, "-port", "0", "-log", log_path, NULL);
    int fd = h_connect(s->port);
    for (int i = 0; i < 50; i++)
        h_echo(fd, "into the void");
    h_round_trip(s->port, 1 << 20, 3);
    char want[128];
    snprintf(want, sizeof(want), "parrot: log: write: %s", strerror(EFBIG));
    cr_assert(h_err_wait(s, want, H_DEADLINE_MS), "want \"%s\" on stderr:\n%s", want, s->err);
    close(fd);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    /* Said once, and the summary counts what was lost. */
    cr_assert(eq(int, h_count_lines(s->err), 3), "%s", s->err);
    cr_assert(strstr(s->err, " 0 log lines dropped") == NULL, "%s", s->err);
    struct stat st;
    cr_assert(eq(int, stat(log_path, &st), 0), "stat %s: %s", log_path, strerror(errno));
    cr_assert(eq(i64, (long long)st.st_size, LIMIT), "the log file grew past its limit");
    h_kill(s);
    unlink(log_path);
}

Test(ops, closed_log_pipe_does_not_stop_the_echo, .timeout = 20) {
    int p[2];
    cr_assert(eq(int, pipe(p), 0));
    h_opts o = {.stdout_fd = p[1]};
    h_server *s = h_start(&o, "-port", "0", NULL);
    close(p[1]);
    close(p[0]); /* nobody reads the log any more */
    int fd = h_connect(s->port);
    /* Echo until the server says so: the first lines may still find a reader, since the
     * harness's watcher, forked by h_start, holds a copy of the pipe until it has closed
     * every descriptor it inherited. */
    long long deadline = h_deadline(H_DEADLINE_MS);
    do
        h_echo(fd, "anyone?");
    while (!h_err_wait(s, "parrot: log: write: Broken pipe", 10) && h_now_ms() < deadline);
    cr_assert(h_err_wait(s, "parrot: log: write: Broken pipe", 0), "%s", s->err);
    h_echo(fd, "still echoing");
    cr_assert(h_alive(s));
    close(fd);
    cr_assert(eq(int, h_stop(s, SIGINT, H_DEADLINE_MS), 0));
}

Test(ops, stuck_log_pipe_does_not_stop_the_echo, .timeout = 30) {
    int p[2];
    cr_assert(eq(int, pipe(p), 0));
    h_opts o = {.stdout_fd = p[1]};
    h_server *s = h_start(&o, "-port", "0", NULL);
    close(p[1]);
    /* We never read p[0]: the pipe fills (64 KiB), then the log buffer. */
    int fd = h_connect(s->port);
    char msg[300];
    memset(msg, 'z', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    for (int i = 0; i < 2000; i++)
        h_echo(fd, msg);
    cr_assert(h_err_wait(s, "parrot: log: the log is not keeping up", H_DEADLINE_MS), "%s", s->err);
    close(fd);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    cr_assert(strstr(s->err, " 0 log lines dropped") == NULL, "%s", s->err);
    close(p[0]);
}

/* --- status on demand ------------------------------------------------------ */

/* Complete lines on stderr that start with "parrot: status: ". */
static int status_lines(h_server *s) {
    int n = 0;
    for (const char *line = s->err; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end) break;
        n += starts(line, "parrot: status: ");
        line = end + 1;
    }
    return n;
}

typedef struct status_goal {
    h_server *s;
    int n;
} status_goal;

static int has_status_lines(void *arg) {
    status_goal *g = arg;
    h_err_refresh(g->s);
    return status_lines(g->s) >= g->n;
}

/* Signal the server and wait (deadline) for its status line number n;
 * it must be all that stderr gained. Returns the line (in s->err). */
static const char *ask_status(h_server *s, int sig, const char *name, int n) {
    h_err_refresh(s);
    size_t before = s->err_len;
    cr_assert(eq(int, kill(s->pid, sig), 0), "kill %s: %s", name, strerror(errno));
    status_goal g = {s, n};
    cr_assert(h_poll_until(has_status_lines, &g, H_DEADLINE_MS, 2),
              "no status line after %s; stderr:\n%s", name, s->err);
    const char *line = s->err + before;
    cr_assert(starts(line, "parrot: status: "), "after %s:\n%s", name, line);
    cr_assert(eq(int, h_count_lines(line), 1), "after %s, more than one line:\n%s", name, line);
    return line;
}

/* The number in line at match m, as a double. */
static double matched(const char *line, const regmatch_t *m) {
    return strtod(line + m->rm_so, NULL);
}

/* Two clients came, one left: the line counts them, the bytes echoed are
 * the bytes sent, and memory and descriptors are what the system says of
 * the server. Then it goes on echoing. */
Test(ops, sigusr1_prints_one_status_line_and_the_echo_goes_on, .timeout = 20) {
    h_server *s = h_start(NULL, "-port", "0", NULL);
    int a = h_connect(s->port);
    h_echo(a, "hello\n");
    int b = h_connect(s->port);
    h_echo(b, "status?\n");
    /* a leaves: the server's end of file back says it has closed a. */
    h_shutdown_write(a);
    cr_assert(h_wait_eof(a, H_DEADLINE_MS, NULL), "the server did not close the first client");
    close(a);

    const char *line = ask_status(s, SIGUSR1, "SIGUSR1", 1);
    regex_t re;
    cr_assert(eq(int,
                 regcomp(&re,
                         "^parrot: status: up ([0-9]+h[0-9]+m|[0-9]+m)?[0-9]+s, "
                         "1 connection open \\(peak 2\\), 2 served, 14 bytes echoed, 0 refused, "
                         "0 log lines dropped, (([0-9]+\\.[0-9]) MiB resident|resident memory "
                         "unknown), ([0-9]+) descriptors open\n$",
                         REG_EXTENDED),
                 0));
    regmatch_t m[5];
    cr_assert(eq(int, regexec(&re, line, 5, m, 0), 0), "%s", line);
    regfree(&re);
#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__)
    /* These systems tell a process its resident memory (final/src/resources.c). */
    cr_assert(ne(int, m[3].rm_so, -1), "%s", line);
    double said = matched(line, &m[3]) * 1024, seen = (double)h_rss_kb(s->pid);
    double margin = seen / 4 > 1024 ? seen / 4 : 1024;
    cr_assert(le(dbl, said > seen ? said - seen : seen - said, margin),
              "%.0f KiB resident says the line, %.0f KiB says the system (%s)", said, seen,
              h_metrics_source());
#endif
    cr_assert(eq(int, (int)matched(line, &m[4]), h_fd_count(s->pid)), "%s(descriptors from %s: %d)",
              line, h_metrics_source(), h_fd_count(s->pid));

    h_echo(b, "still here\n");
    int statuses = 1;
#ifdef SIGINFO
    /* Ctrl-T in a macOS or BSD terminal sends SIGINFO: the same line. */
    line = ask_status(s, SIGINFO, "SIGINFO", ++statuses);
    cr_assert(strstr(line, " 2 served, 25 bytes echoed, ") != NULL, "%s", line);
#endif
    close(b);
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    /* The listening line, the status lines and the summary: nothing else. */
    cr_assert(eq(int, h_count_lines(s->err), 2 + statuses), "%s", s->err);
    cr_assert(strstr(s->err, "parrot: stopped by SIGTERM: 2 connections served, 25 bytes echoed") !=
                  NULL,
              "%s", s->err);
    h_kill(s);
}

/* --- shutdown ------------------------------------------------------------ */

static void shutdown_with(int sig, const char *name) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    int idle = h_connect(s->port);
    h_echo(idle, "hello");
    /* Data the server received but may not have read yet still comes back. */
    int late = h_connect(s->port);
    static char data[100000], back[100000];
    h_fill_pattern(data, sizeof(data), 5);
    h_send_all(late, data, sizeof(data) / 2);
    cr_assert(eq(sz, h_recv_exact(late, back, sizeof(data) / 2, H_DEADLINE_MS), sizeof(data) / 2));
    h_send_all(late, data + sizeof(data) / 2, sizeof(data) / 2);
    kill(s->pid, sig);
    cr_assert(eq(sz, h_recv_exact(late, back + sizeof(data) / 2, sizeof(data) / 2, H_DEADLINE_MS),
                 sizeof(data) / 2));
    cr_assert(eq(int, memcmp(data, back, sizeof(data)), 0));
    cr_assert(h_wait_eof(late, H_DEADLINE_MS, NULL));
    cr_assert(h_wait_eof(idle, H_DEADLINE_MS, NULL));
    cr_assert(eq(int, h_stop(s, sig, H_DEADLINE_MS), 0));
    char want[256];
    snprintf(want, sizeof(want),
             "parrot: stopped by %s: 2 connections served, 100005 bytes echoed, "
             "0 log lines dropped, 0 connections refused\n",
             name);
    const char *last = strstr(s->err, "parrot: stopped");
    cr_assert(last != NULL, "%s", s->err);
    cr_assert(eq(str, (char *)last, want));
    /* Nothing after the listening line but the summary. */
    cr_assert(eq(int, h_count_lines(s->err), 2), "%s", s->err);
    close(idle);
    close(late);
    h_kill(s);
}

Test(ops, sigterm_finishes_the_echo_and_exits_0_with_a_summary, .timeout = 20) {
    shutdown_with(SIGTERM, "SIGTERM");
}

Test(ops, sigint_finishes_the_echo_and_exits_0_with_a_summary, .timeout = 20) {
    shutdown_with(SIGINT, "SIGINT");
}

/* A signal that comes the moment the server says it is listening (a
 * service manager may stop it as soon as it is up) is handled like any
 * other: the server watches for its signals before it says so. The
 * harness sends SIGTERM as soon as it sees the line; the race is run many
 * times. */
Test(ops, sigterm_the_moment_it_listens_stops_it_cleanly, .timeout = 60) {
    for (int i = 0; i < 50; i++) {
        h_opts o = {.signal_on_listening = SIGTERM};
        h_server *s = h_start(&o, "-port", "0", "-log", "off", NULL);
        int code = h_stop(s, 0, H_DEADLINE_MS); /* signal 0: nothing more, only wait */
        cr_assert(eq(int, code, 0), "run %d: exit code %d; stderr:\n%s", i, code, s->err);
        cr_assert(strstr(s->err, "parrot: stopped by SIGTERM: 0 connections served") != NULL,
                  "run %d: %s", i, s->err);
        h_kill(s);
    }
}

Test(ops, shutdown_gives_up_on_a_client_that_never_reads, .timeout = 30) {
    h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
    int fd = h_connect(s->port);
    static char junk[16 << 20];
    size_t sent = h_send_until_stalled(fd, junk, sizeof(junk)); /* fill every buffer between us */
    cr_assert(lt(sz, sent, sizeof(junk)), "the server never stopped reading");
    cr_assert(eq(int, h_stop(s, SIGTERM, H_DEADLINE_MS), 0));
    cr_assert(strstr(s->err, "parrot: stopped by SIGTERM: 1 connection served") != NULL, "%s",
              s->err);
    close(fd);
    h_kill(s);
}
