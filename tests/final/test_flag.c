/*
 * test_flag.c - final/src/flag.c where parrot's own table (test_unit.c)
 * does not reach: a uint flag, a one-letter bool, a `name` in backquotes,
 * the about text, flag_fail, the defaults as Go's PrintDefaults shows them,
 * and the arguments left after the flags. The table, shaped like one of
 * parrot's tools, is tests/support/tool_flags.c, which the fuzzer reads too.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/cmdline.h"
#include "../support/tool_flags.h"

/* Go's PrintDefaults for that table: a one-letter bool on its line, the
 * backquoted word as the value's name, a string's default quoted, a
 * negative default shown, a zero default (0, false) not. */
static const char usage[] = "Usage of tool:\n"
                            "Reads its flags as a Go program would.\n"
                            "  -count times\n"
                            "    \thow many times to try\n"
                            "  -n int\n"
                            "    \ta number (default -1)\n"
                            "  -name string\n"
                            "    \twhat to call it (default \"a \\\"bird\\\"\")\n"
                            "  -v\tsay more\n"
                            "  -wait duration\n"
                            "    \thow long to wait,\n"
                            "    \tat most (default 1m30s)\n";

typedef struct run {
    int rc;
    int rest; /* -1 unless flag_parse set it */
    char out[2048];
} run;

/* flag_parse on a NULL-terminated argument list (argv[0] = "tool"). */
static run parse(const char *first, ...) {
    run r = {.rest = -1};
    va_list ap;
    va_start(ap, first);
    cmdline cl = cmdline_from("tool", first, ap);
    va_end(ap);
    sink *out = sink_open();
    flag_set fs = tool_flags(out->f);
    r.rc = flag_parse(&fs, cl.argc, cl.argv, &r.rest);
    snprintf(r.out, sizeof(r.out), "%s", sink_text(out));
    sink_free(out);
    return r;
}

static const char *first_line(const char *s) {
    static char line[512];
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(s, "\n"), s);
    return line;
}

Test(flag, defaults_before_any_argument) {
    run r = parse(NULL);
    cr_assert(eq(int, r.rc, FLAG_OK));
    cr_assert(eq(int, r.rest, 1));
    cr_assert(eq(u64, tool.count, 0));
    cr_assert(eq(i64, tool.n, -1));
    cr_assert(eq(str, (char *)tool.name, "a \"bird\""));
    cr_assert(eq(int, tool.v, 0));
    cr_assert(eq(i64, tool.wait, 90LL * 1000000000));
    cr_assert(eq(str, r.out, ""));
}

Test(flag, usage_in_the_layout_of_gos_print_defaults) {
    sink *out = sink_open();
    flag_set fs = tool_flags(out->f);
    flag_usage(&fs, out->f);
    cr_assert(eq(str, (char *)sink_text(out), (char *)usage));
    sink_free(out);
    run r = parse("-help", NULL); /* -h and -help print the same */
    cr_assert(eq(int, r.rc, FLAG_HELP));
    cr_assert(eq(str, r.out, (char *)usage));
}

/* strconv.ParseUint(s, 0, 64): every uint64, and no sign at all. */
Test(flag, uint_takes_all_of_uint64_and_no_sign) {
    run r = parse("-count", "18446744073709551615", NULL);
    cr_assert(eq(int, r.rc, FLAG_OK));
    cr_assert(eq(u64, tool.count, UINT64_MAX));
    r = parse("-count=0x_FF", NULL);
    cr_assert(eq(u64, tool.count, 255));
    r = parse("-count", "18446744073709551616", NULL);
    cr_assert(eq(int, r.rc, FLAG_ERROR));
    cr_assert(eq(str, (char *)first_line(r.out),
                 "invalid value \"18446744073709551616\" for flag -count: value out of range"));
    r = parse("-count", "-1", NULL);
    cr_assert(eq(int, r.rc, FLAG_ERROR));
    cr_assert(
        eq(str, (char *)first_line(r.out), "invalid value \"-1\" for flag -count: parse error"));
    cr_assert(strstr(r.out, "\nUsage of tool:\n") != NULL);

    uint64_t u = 7;
    cr_assert(eq(int, flag_parse_uint("-1", &u), FLAG_SYNTAX));
    cr_assert(eq(int, flag_parse_uint("+1", &u), FLAG_SYNTAX));
    cr_assert(eq(int, flag_parse_uint("-0", &u), FLAG_SYNTAX));
    cr_assert(eq(u64, u, 7)); /* untouched on an error */
    cr_assert(eq(int, flag_parse_uint("0b1_0", &u), 0));
    cr_assert(eq(u64, u, 2));
}

/* With no range in the table, an int or a duration takes any int64. */
Test(flag, no_range_means_the_whole_type) {
    run r = parse("-n", "-9223372036854775808", "-wait=-1.5h", NULL);
    cr_assert(eq(int, r.rc, FLAG_OK), "%s", r.out);
    cr_assert(eq(i64, tool.n, INT64_MIN));
    cr_assert(eq(i64, tool.wait, -5400LL * 1000000000));
}

/* Go's flag.Args(): what follows "--", or the first argument that is not a
 * flag ("-" is not one), and everything after it. */
Test(flag, rest_is_where_the_flags_stop) {
    static const struct {
        const char *args[5];
        int rest;
    } cases[] = {
        {{"-v", "--", "-n", "5"}, 3},
        {{"-n", "5", "file", "-v"}, 3},
        {{"-", "-v"}, 1},
        {{"-v", "false"}, 2}, /* a bool flag never takes the next argument */
        {{"-name", "-v", "x"}, 3},
        {{"-v", "-n=2"}, 3},
        {{"--"}, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const *a = cases[i].args;
        run r = parse(a[0], a[1], a[2], a[3], a[4]);
        cr_assert(eq(int, r.rc, FLAG_OK), "case %zu: %s", i, r.out);
        cr_assert(eq(int, r.rest, cases[i].rest), "case %zu", i);
        cr_assert(eq(str, r.out, ""), "case %zu", i);
    }
    /* What was read before the stop is set, nothing after it. */
    cr_assert(eq(int, parse("-v", "--", "-n", "5", NULL).rc, FLAG_OK));
    cr_assert(eq(int, tool.v, 1));
    cr_assert(eq(i64, tool.n, -1));
    cr_assert(eq(int, parse("-n", "5", "file", "-v", NULL).rc, FLAG_OK));
    cr_assert(eq(i64, tool.n, 5));
    cr_assert(eq(int, tool.v, 0));
    cr_assert(eq(int, parse("-name", "-v", "x", NULL).rc, FLAG_OK));
    cr_assert(eq(str, (char *)tool.name, "-v"));
}

/* For the checks a table cannot express: the message as Go prints an
 * error, then the usage, and exit status 2. */
Test(flag, flag_fail_prints_the_message_then_the_usage) {
    sink *out = sink_open();
    flag_set fs = tool_flags(out->f);
    cr_assert(eq(int, flag_fail(&fs, "need %d files, got %s", 2, "none"), FLAG_ERROR));
    char want[sizeof(usage) + 64];
    snprintf(want, sizeof(want), "need 2 files, got none\n%s", usage);
    cr_assert(eq(str, (char *)sink_text(out), want));
    sink_free(out);
}

/* Go's UnquoteUsage: the first pair of backquotes names the value and loses
 * its quotes; an empty pair names nothing (so the header can stay short); a
 * lone backquote is no pair: it stays, and the type names the value. */
Test(flag, backquotes_as_gos_unquote_usage) {
    int b;
    long long i;
    const char *s;
    flag odd[] = {
        {"a", FLAG_BOOL, &b, "false", 0, 0, "a lone ` stays"},
        {"b", FLAG_INT, &i, "0", 0, 0, "an empty `` name"},
        {"c", FLAG_STRING, &s, "", 0, 0, "only the `first` pair of `quotes` goes"},
        {"d", FLAG_INT, &i, "0", 0, 0, "a lone ` for an int"},
    };
    sink *out = sink_open();
    flag_set fs = {
        .program = "odd", .flags = odd, .count = sizeof(odd) / sizeof(odd[0]), .out = out->f};
    flag_usage(&fs, out->f);
    cr_assert(eq(str, (char *)sink_text(out),
                 "Usage of odd:\n"
                 "  -a\ta lone ` stays\n"
                 "  -b\tan empty  name\n"
                 "  -c first\n"
                 "    \tonly the first pair of `quotes` goes\n"
                 "  -d int\n"
                 "    \ta lone ` for an int\n"));
    sink_free(out);
}

/* A default the flag's own parser refuses is a mistake in the table,
 * reported as an error before any argument is read. */
Test(flag, a_bad_default_is_refused) {
    long long n;
    flag bad[] = {{"n", FLAG_INT, &n, "ten", 0, 0, "a number"}};
    sink *out = sink_open();
    flag_set fs = {.program = "bad", .flags = bad, .count = 1, .out = out->f};
    char *argv[] = {"bad", NULL};
    int rest = -1;
    cr_assert(eq(int, flag_parse(&fs, 1, argv, &rest), FLAG_ERROR));
    const char *text = sink_text(out);
    cr_assert(eq(str, (char *)first_line(text), "bad default ten for flag -n"));
    cr_assert(strstr(text, "\nUsage of bad:\n  -n int\n") != NULL);
    sink_free(out);
}
