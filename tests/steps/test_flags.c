/*
 * test_flags.c - flags (step 08 and later), as Go's flag package reads
 * them; before 08 the port is a plain argument and a flag is refused.
 * Step 10 adds -idle-timeout, which 08 and 09 do not know.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void expect_start(const char *const *args) {
    h_opts o = {.args = args};
    h_server *s = h_start_opts(h_bin(), &o);
    int c = h_connect(s->port);
    h_echo(c, "flag ok");
    close(c);
    h_kill(s);
}

/* The usage after its first line: Go lists the flags sorted by name. */
static const char *usage_lines(void) {
    if (step()->idle_timeout)
        return "  -idle-timeout duration\n"
               "    \tclose a client after this long without traffic, e.g. 30s or 5m; 0 = never\n"
               "  -port int\n"
               "    \tport to listen on, 0 picks a free one (default 1512)\n";
    return "  -port int\n    \tport to listen on, 0 picks a free one (default 1512)\n";
}

/* Run with args, expect exit code and (08+) a first line plus the usage. */
static void expect_refusal(const char *const *args, int code, const char *first_line) {
    char out[256], err[2048];
    int got = h_run(h_bin(), args, out, sizeof out, err, sizeof err, 0);
    cr_assert(eq(int, got, code), "%s: exit code; stderr:\n%s", args[0], err);
    cr_assert(eq(str, out, ""), "nothing on stdout");
    if (first_line) {
        char want[1024];
        snprintf(want, sizeof want, "%s\nUsage of %s:\n%s", first_line, h_bin(), usage_lines());
        cr_assert(eq(str, err, want));
    } else {
        cr_assert(ne(ptr, strstr(err, "usage: parrot [port]"), NULL), "stderr: %s", err);
    }
}

Test(flags, forms, .timeout = 30) {
    if (step()->flags) {
        expect_start((const char *const[]){"-port", "0", NULL});
        expect_start((const char *const[]){"-port=0", NULL});
        expect_start((const char *const[]){"--port", "0", NULL});
        expect_start((const char *const[]){"--port=0", NULL});
    } else {
        /* Steps 01-07 take the port as a plain argument and know no flags. */
        expect_start((const char *const[]){"0", NULL});
        expect_refusal((const char *const[]){"-port", "0", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"--port=0", NULL}, 2, NULL);
    }
}

Test(flags, help, .timeout = 20) {
    if (step()->flags) {
        const char *forms[] = {"-h", "-help", "--help", "--h"};
        for (int i = 0; i < 4; i++) {
            char out[256], err[1024], want[1024];
            const char *args[] = {forms[i], NULL};
            cr_assert(eq(int, h_run(h_bin(), args, out, sizeof out, err, sizeof err, 0), 0),
                      "%s exits 0", forms[i]);
            snprintf(want, sizeof want, "Usage of %s:\n%s", h_bin(), usage_lines());
            cr_assert(eq(str, err, want), "%s", forms[i]);
            cr_assert(eq(str, out, ""));
        }
    } else {
        expect_refusal((const char *const[]){"-h", NULL}, 2, NULL);
    }
}

Test(flags, errors_go_style, .timeout = 20) {
    if (step()->flags) {
        expect_refusal((const char *const[]){"-x", NULL}, 2, "flag provided but not defined: -x");
        expect_refusal((const char *const[]){"--verbose=1", NULL}, 2,
                       "flag provided but not defined: -verbose");
        expect_refusal((const char *const[]){"-port", "abc", NULL}, 2,
                       "invalid value \"abc\" for flag -port: parse error");
        expect_refusal((const char *const[]){"-port=", NULL}, 2,
                       "invalid value \"\" for flag -port: parse error");
        expect_refusal((const char *const[]){"-port=70000", NULL}, 2,
                       "invalid value \"70000\" for flag -port: value out of range");
        /* Go's strconv.ParseInt takes no blanks, where C's strtol skips them. */
        expect_refusal((const char *const[]){"-port", " 0", NULL}, 2,
                       "invalid value \" 0\" for flag -port: parse error");
        expect_refusal((const char *const[]){"-port", NULL}, 2, "flag needs an argument: -port");
        expect_refusal((const char *const[]){"1512", NULL}, 2, "unexpected argument: 1512");
        /* Each value is checked as it comes, as Go does: a later good one
         * does not excuse an earlier bad one. */
        expect_refusal((const char *const[]){"-port", "abc", "-port", "0", NULL}, 2,
                       "invalid value \"abc\" for flag -port: parse error");
    } else {
        expect_refusal((const char *const[]){"abc", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"70000", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"1", "2", NULL}, 2, NULL);
    }
}

/* -idle-timeout takes a Go duration in one unit (step 10); steps 08 and 09
 * do not know the flag. */
Test(flags, idle_timeout_values, .timeout = 30) {
    if (!step()->flags) {
        expect_refusal((const char *const[]){"-idle-timeout", "1s", NULL}, 2, NULL);
    } else if (!step()->idle_timeout) {
        expect_refusal((const char *const[]){"-idle-timeout", "1s", NULL}, 2,
                       "flag provided but not defined: -idle-timeout");
    } else {
        const char *good[] = {"0", "0s", "300ms", "30s", "5m", "2h", "1000h"};
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
            expect_start((const char *const[]){"-port", "0", "-idle-timeout", good[i], NULL});
        expect_start((const char *const[]){"--idle-timeout=30s", "-port=0", NULL});
        const char *bad[] = {"", "5", "s", "5x", "1.5s", "1h30m", "5s ", " 5s", "\t5s"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char arg[64], line[128];
            snprintf(arg, sizeof arg, "-idle-timeout=%s", bad[i]);
            snprintf(line, sizeof line, "invalid value \"%s\" for flag -idle-timeout: parse error",
                     bad[i]);
            expect_refusal((const char *const[]){arg, NULL}, 2, line);
        }
        expect_refusal((const char *const[]){"-idle-timeout", "-5s", NULL}, 2,
                       "invalid value \"-5s\" for flag -idle-timeout: value out of range");
        expect_refusal((const char *const[]){"-idle-timeout", "1001h", NULL}, 2,
                       "invalid value \"1001h\" for flag -idle-timeout: value out of range");
        expect_refusal((const char *const[]){"-idle-timeout", NULL}, 2,
                       "flag needs an argument: -idle-timeout");
    }
}
