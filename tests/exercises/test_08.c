/*
 * test_08.c - step 08's exercises (steps/08-flags/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exercise_support.h"

/* Run path with args, which it must refuse: exit status 2, nothing on
 * stdout, and first_line, then the usage, on stderr. */
static void expect_refusal(const char *path, const char *const *args, const char *first_line) {
    char out[256], err[2048];
    int code = h_run(path, args, out, sizeof out, err, sizeof err, H_DEADLINE_MS);
    cr_assert(eq(int, code, 2), "%s %s: exit status; stderr:\n%s", path, args[0], err);
    cr_assert(eq(str, out, ""));
    char want[512];
    snprintf(want, sizeof want, "%s\nUsage of %s:\n", first_line, path);
    cr_assert(eq(int, strncmp(err, want, strlen(want)), 0), "stderr:\n%s", err);
}

/* Exercise 1: Go reads an int flag in base 0. Step 08 reads base 10 and
 * refuses 0x0; with base 0 (strtol(value, &end, 0)) it takes it, and a
 * leading 0 means octal: 0200000 is 65536, out of range, and 08 is not a
 * number. Underscores, which Go allows, still are not. */
Test(step08, base_prefixes, .timeout = 30) {
    expect_refusal(step_bin("08"), (const char *const[]){"-port", "0x0", NULL},
                   "invalid value \"0x0\" for flag -port: parse error");

    const char *answer = answer_bin("08-base-prefix");
    h_server *s = start_args(answer, (const char *const[]){"-port", "0x0", NULL});
    int c = h_connect(s->port);
    h_echo(c, "hex zero is zero\n");
    close(c);
    h_kill(s);

    expect_refusal(answer, (const char *const[]){"-port", "0200000", NULL},
                   "invalid value \"0200000\" for flag -port: value out of range");
    expect_refusal(answer, (const char *const[]){"-port", "08", NULL},
                   "invalid value \"08\" for flag -port: parse error");
    expect_refusal(answer, (const char *const[]){"-port=1_512", NULL},
                   "invalid value \"1_512\" for flag -port: parse error");
}

/* How many log lines a server writes for two messages: after the echo of
 * the second, the first batch's lines have been written (the log is
 * flushed at the end of every batch, before the next one is read). */
static int lines_for_two_messages(const char *const *args) {
    h_server *s = start_args(answer_bin("08-quiet-flag"), args);
    int c = h_connect(s->port);
    h_echo(c, "one\n");
    h_echo(c, "two\n");
    h_log_refresh(s);
    int lines = h_count_lines(s->out);
    close(c);
    h_kill(s);
    return lines;
}

/* Exercise 2: a boolean flag, -quiet. Alone it means true; -quiet=false
 * turns it off; the next argument is never its value, so `-quiet false`
 * leaves `false` as an argument; a value ParseBool does not know is
 * refused in Go's words. */
Test(step08, quiet_flag, .timeout = 30) {
    cr_assert(
        eq(int, lines_for_two_messages((const char *const[]){"-port", "0", "-quiet", NULL}), 0));
    cr_assert(
        ge(int, lines_for_two_messages((const char *const[]){"-quiet=false", "-port=0", NULL}), 1));

    const char *answer = answer_bin("08-quiet-flag");
    expect_refusal(answer, (const char *const[]){"-quiet", "false", NULL},
                   "unexpected argument: false");
    expect_refusal(answer, (const char *const[]){"-quiet=maybe", NULL},
                   "invalid boolean value \"maybe\" for -quiet: parse error");

    char out[256], err[1024], want[512];
    cr_assert(eq(int,
                 h_run(answer, (const char *const[]){"-h", NULL}, out, sizeof out, err, sizeof err,
                       H_DEADLINE_MS),
                 0));
    snprintf(want, sizeof want,
             "Usage of %s:\n"
             "  -port int\n"
             "    \tport to listen on, 0 picks a free one (default 1512)\n"
             "  -quiet\n"
             "    \twrite no log\n",
             answer);
    cr_assert(eq(str, err, want));
}
