/*
 * test_07.c - step 07's exercises (steps/07-clf-logging/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exercise_support.h"

/* Send "hello\n" on c, wait for its echo and for log line number line_no
 * (from 0), and check that line whole: this client's port, a time stamp of
 * the moment it was sent, the message and its length. */
static void check_line(h_server *s, int c, int line_no) {
    time_t before = time(NULL);
    h_echo(c, "hello\n");
    cr_assert(eq(int, h_log_wait_lines(s, line_no + 1, H_DEADLINE_MS), line_no + 1),
              "no log line; log:\n%s", s->out ? s->out : "");
    time_t after = time(NULL);
    const char *line = s->out;
    for (int i = 0; i < line_no; i++)
        line = strchr(line, '\n') + 1;
    char head[64], stamp[64];
    snprintf(head, sizeof head, "127.0.0.1:%d - - [", h_local_port(c));
    cr_assert(eq(int, strncmp(line, head, strlen(head)), 0), "line %d: %s", line_no, line);
    const char *open = line + strlen(head), *close = strchr(open, ']');
    cr_assert(close != NULL && (size_t)(close - open) < sizeof stamp, "line %d: %s", line_no, line);
    snprintf(stamp, sizeof stamp, "%.*s", (int)(close - open), open);
    cr_assert(h_clf_stamp_between(stamp, before, after), "line %d: %s is not the time it was sent",
              line_no, stamp);
    cr_assert(eq(int, strncmp(close, "] \"hello\\n\" 6\n", 14), 0), "line %d: %s", line_no, line);
}

/* Exercise 1: the time formatted once per batch of events. The lines look
 * exactly as before, and a line written a second later carries the later
 * time: the stamp is made anew for every batch, not once for all. */
Test(step07, time_formatted_once_per_batch, .timeout = 30) {
    h_server *s = start_bin(answer_bin("07-stamp-per-turn"), 0);
    int c = h_connect(s->port);
    check_line(s, c, 0);
    h_pause_ms(1100); /* a window: the clock moves on to another second */
    check_line(s, c, 1);
    close(c);
    h_kill(s);
}

/* Exercise 2: the log in a file, and the disk full. A file size limit
 * (RLIMIT_FSIZE, with SIGXFSZ ignored, as `ulimit -f` in the lesson) makes
 * the write past it fail with EFBIG, as a full disk makes it fail with
 * ENOSPC. The server says so once on stderr, stops logging, and echoes on. */
Test(step07, log_file_full, .timeout = 30) {
    char path[H_PATH_CAP];
    close(h_temp_file(path, sizeof path, "log"));
    const char *args[] = {"0", path, NULL};
    h_opts o = {.args = args, .fsize = 4096};
    h_server *s = h_start_opts(answer_bin("07-log-file"), &o);
    int c = h_connect(s->port);
    /* About 70 bytes of log per line: 100 lines fill 4 KiB. */
    for (int i = 0; i < 100; i++)
        h_echo(c, "Hello Parrot, a line\n");
    cr_assert(
        h_err_wait(s, "parrot: write to stdout (logging stops): File too large\n", H_DEADLINE_MS),
        "stderr:\n%s", s->err);
    h_echo(c, "still echoing\n");
    int other = h_connect(s->port);
    h_echo(other, "a new client too\n");
    cr_assert(h_alive(s));
    struct stat st;
    cr_assert(eq(int, stat(path, &st), 0));
    cr_assert(gt(llong, (long long)st.st_size, 0), "the log file is empty");
    cr_assert(le(llong, (long long)st.st_size, 4096), "the log went past the limit");
    h_log_refresh(s);
    cr_assert(eq(sz, s->out_len, 0), "the log went to stdout too: %s", s->out);
    close(c);
    close(other);
    h_kill(s);
    unlink(path);
}

/* Exercise 3: IPv6 too. A client of [::1] is logged with its address in
 * brackets; IPv4 clients are served as before. */
Test(step07, ipv6_client_logged_in_brackets, .timeout = 30) {
    h_server *s = start_bin(answer_bin("07-ipv6"), 0);
    int c6 = h_connect6(s->port);
    h_echo(c6, "over IPv6\n");
    cr_assert(eq(int, h_log_wait_lines(s, 1, H_DEADLINE_MS), 1), "log:\n%s", s->out);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%d - - [", h_local_port(c6));
    cr_assert(eq(int, strncmp(s->out, want, strlen(want)), 0), "log: %s", s->out);
    cr_assert(ne(ptr, strstr(s->out, "] \"over IPv6\\n\" 10\n"), NULL), "log: %s", s->out);
    int c4 = h_connect(s->port);
    h_echo(c4, "over IPv4\n");
    cr_assert(eq(int, h_log_wait_lines(s, 2, H_DEADLINE_MS), 2), "log:\n%s", s->out);
    snprintf(want, sizeof want, "\n127.0.0.1:%d - - [", h_local_port(c4));
    cr_assert(ne(ptr, strstr(s->out, want), NULL), "log: %s", s->out);
    close(c6);
    close(c4);
    h_kill(s);
}
