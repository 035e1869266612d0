/*
 * test_unit.c - unit tests for final/'s pure parts, linked against final's
 * own objects: flag parsing (every form, every error, its exit code and
 * message), Go durations and integers, CLF escaping and truncation over
 * every byte value, the timestamp, peer addresses and the output buffer.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../final/src/buffer.h"
#include "../../final/src/config.h"
#include "../../final/src/flag.h"
#include "../../final/src/clf.h"
#include "../../final/src/net.h"
#include "../support/cmdline.h"

/* --- flags --------------------------------------------------------------- */

typedef struct parsed {
    config cfg;
    int rc;
    char err[4096];
} parsed;

/* Parse a NULL-terminated argument list (argv[0] = "parrot"). */
static parsed parse(const char *first, ...) {
    static parsed p;
    va_list ap;
    va_start(ap, first);
    cmdline cl = cmdline_from("parrot", first, ap);
    va_end(ap);
    sink *err = sink_open();
    p.rc = config_parse(&p.cfg, 1000, cl.argc, cl.argv, err->f);
    snprintf(p.err, sizeof(p.err), "%s", sink_text(err));
    sink_free(err);
    return p;
}

static const char *first_line(const char *s) {
    static char line[512];
    size_t n = strcspn(s, "\n");
    snprintf(line, sizeof(line), "%.*s", (int)n, s);
    return line;
}

Test(flags, defaults) {
    parsed p = parse(NULL);
    cr_assert(eq(int, p.rc, CONFIG_OK));
    cr_assert(eq(int, p.cfg.port, 1512));
    cr_assert(eq(str, (char *)p.cfg.host, ""));
    cr_assert(eq(str, (char *)p.cfg.log, "-"));
    cr_assert(eq(long, p.cfg.max_conns, 1000));
    cr_assert(eq(long, p.cfg.max_pending, 65536));
    cr_assert(eq(i64, p.cfg.idle_ns, 0));
    cr_assert(eq(int, p.cfg.version, 0));
    cr_assert(eq(str, p.err, ""));
}

Test(flags, every_form_of_a_value) {
    const char *forms[][3] = {
        {"-port", "2000", NULL},
        {"-port=2000", NULL, NULL},
        {"--port", "2000", NULL},
        {"--port=2000", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        parsed p = parse(forms[i][0], forms[i][1], NULL);
        cr_assert(eq(int, p.rc, CONFIG_OK), "form %s", forms[i][0]);
        cr_assert(eq(int, p.cfg.port, 2000), "form %s", forms[i][0]);
    }
}

Test(flags, all_flags_together) {
    parsed p = parse("-host", "::1", "-port=0", "--log", "off", "-max-conns", "7",
                     "--max-pending=100", "-idle-timeout", "1m30s", NULL);
    cr_assert(eq(int, p.rc, CONFIG_OK), "%s", p.err);
    cr_assert(eq(str, (char *)p.cfg.host, "::1"));
    cr_assert(eq(int, p.cfg.port, 0));
    cr_assert(eq(str, (char *)p.cfg.log, "off"));
    cr_assert(eq(long, p.cfg.max_conns, 7));
    cr_assert(eq(long, p.cfg.max_pending, 100));
    cr_assert(eq(i64, p.cfg.idle_ns, 90LL * 1000000000));
}

Test(flags, later_flag_wins_and_values_may_look_like_flags) {
    parsed p = parse("-port", "1", "-port", "2", "-log", "-port", NULL);
    cr_assert(eq(int, p.rc, CONFIG_OK));
    cr_assert(eq(int, p.cfg.port, 2));
    cr_assert(eq(str, (char *)p.cfg.log, "-port"));
}

Test(flags, go_integer_syntax) {
    parsed p = parse("-port", "0x5e8", NULL);
    cr_assert(eq(int, p.cfg.port, 1512));
    p = parse("-port", "0o2750", NULL);
    cr_assert(eq(int, p.cfg.port, 1512));
    p = parse("-port", "02750", NULL); /* a leading 0 means octal, as in Go */
    cr_assert(eq(int, p.cfg.port, 1512));
    p = parse("-port", "1_512", NULL);
    cr_assert(eq(int, p.cfg.port, 1512));
    p = parse("-port", "+80", NULL);
    cr_assert(eq(int, p.cfg.port, 80));
}

Test(flags, bool_forms) {
    const char *yes[] = {"-version",   "--version",     "-version=true", "-version=1",
                         "-version=T", "-version=TRUE", "-version=True", "-version=t"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        parsed p = parse(yes[i], NULL);
        cr_assert(eq(int, p.rc, CONFIG_OK), "%s", yes[i]);
        cr_assert(eq(int, p.cfg.version, 1), "%s", yes[i]);
    }
    const char *no[] = {"-version=false", "-version=0", "-version=F", "-version=FALSE"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        parsed p = parse(no[i], NULL);
        cr_assert(eq(int, p.rc, CONFIG_OK), "%s", no[i]);
        cr_assert(eq(int, p.cfg.version, 0), "%s", no[i]);
    }
    /* A bool flag never takes the next argument as its value. */
    parsed p = parse("-version", "false", NULL);
    cr_assert(eq(int, p.rc, CONFIG_ERROR));
    cr_assert(eq(str, (char *)first_line(p.err), "unexpected argument \"false\""));
}

Test(flags, double_dash_ends_flags) {
    parsed p = parse("-port", "7", "--", NULL);
    cr_assert(eq(int, p.rc, CONFIG_OK));
    cr_assert(eq(int, p.cfg.port, 7));
}

Test(flags, help_forms_print_usage_and_mean_exit_0) {
    const char *forms[] = {"-h", "-help", "--help", "--h", "-help=x"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        parsed p = parse(forms[i], NULL);
        cr_assert(eq(int, p.rc, CONFIG_HELP), "%s", forms[i]);
        cr_assert(eq(str, (char *)first_line(p.err), "Usage of parrot:"), "%s", forms[i]);
    }
}

Test(flags, usage_has_go_layout) {
    parsed p = parse("-h", NULL);
    const char *expected_parts[] = {
        "Usage of parrot:\n  -host string\n    \tbind address: ",
        "\n    \tis every address of both families, IPv6 and IPv4\n  -idle-timeout",
        ("  -idle-timeout duration\n    \tclose a client after this long without traffic, "
         "e.g. 30s or 5m; 0 = never\n"),
        "  -log string\n",
        "(default \"-\")\n",
        "  -max-conns int\n",
        " (default 1000)\n",
        "  -max-pending int\n",
        " (default 65536)\n",
        "  -port int\n    \tTCP port to listen on; 0 picks a free port (default 1512)\n",
        "  -version\n    \tprint the version and exit\n",
    };
    for (size_t i = 0; i < sizeof(expected_parts) / sizeof(expected_parts[0]); i++)
        cr_assert(strstr(p.err, expected_parts[i]) != NULL, "missing %s in:\n%s", expected_parts[i],
                  p.err);
    /* Usage shows defaults, never values parsed before the error. */
    p = parse("-port", "99", "-nope", NULL);
    cr_assert(strstr(p.err, "(default 1512)") != NULL);
}

typedef struct bad_case {
    const char *args[4];
    const char *line; /* the exact first line on stderr */
} bad_case;

Test(flags, every_error_has_gos_line_usage_and_exit_2) {
    static const bad_case cases[] = {
        {{"-x"}, "flag provided but not defined: -x"},
        {{"--nope=3"}, "flag provided but not defined: -nope"},
        {{"-port"}, "flag needs an argument: -port"},
        {{"-port", "abc"}, "invalid value \"abc\" for flag -port: parse error"},
        {{"-port="}, "invalid value \"\" for flag -port: parse error"},
        {{"-port", "70000"}, "invalid value \"70000\" for flag -port: value out of range"},
        {{"-port", "-1"}, "invalid value \"-1\" for flag -port: value out of range"},
        {{"-port", "99999999999999999999"},
         "invalid value \"99999999999999999999\" for flag -port: value out of range"},
        {{"-port", "1__0"}, "invalid value \"1__0\" for flag -port: parse error"},
        {{"-port", "0x"}, "invalid value \"0x\" for flag -port: parse error"},
        {{"-max-conns", "0"}, "invalid value \"0\" for flag -max-conns: value out of range"},
        {{"-max-pending", "0"}, "invalid value \"0\" for flag -max-pending: value out of range"},
        {{"-idle-timeout", "5"}, "invalid value \"5\" for flag -idle-timeout: parse error"},
        {{"-idle-timeout", "5x"}, "invalid value \"5x\" for flag -idle-timeout: parse error"},
        {{"-idle-timeout", "-1s"},
         "invalid value \"-1s\" for flag -idle-timeout: value out of range"},
        {{"-idle-timeout", "1001h"},
         "invalid value \"1001h\" for flag -idle-timeout: value out of range"},
        {{"-version=maybe"}, "invalid boolean value \"maybe\" for -version: parse error"},
        {{"---port"}, "bad flag syntax: ---port"},
        {{"-=1"}, "bad flag syntax: -=1"},
        {{"1512"}, "unexpected argument \"1512\""},
        {{"-port", "1\n2"}, "invalid value \"1\\n2\" for flag -port: parse error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const bad_case *c = &cases[i];
        parsed p = parse(c->args[0], c->args[1], c->args[2], NULL);
        cr_assert(eq(int, p.rc, CONFIG_ERROR), "case %zu", i);
        cr_assert(eq(str, (char *)first_line(p.err), (char *)c->line), "case %zu", i);
        cr_assert(strstr(p.err, "\nUsage of parrot:\n") != NULL, "case %zu", i);
    }
}

/* --- Go numbers and durations -------------------------------------------- */

Test(numbers, parse_int_like_strconv_base_0) {
    struct {
        const char *s;
        int rc;
        long long v;
    } cases[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"42", 0, 42},
        {"-42", 0, -42},
        {"0x1F", 0, 31},
        {"0X1f", 0, 31},
        {"0b101", 0, 5},
        {"0o17", 0, 15},
        {"017", 0, 15},
        {"1_000", 0, 1000},
        {"0x_1f", 0, 31},
        {"9223372036854775807", 0, 9223372036854775807LL},
        {"-9223372036854775808", 0, (-9223372036854775807LL - 1)},
        {"9223372036854775808", -2, 0},
        {"", -1, 0},
        {"+", -1, 0},
        {"1a", -1, 0},
        {"08", -1, 0},
        {"0b2", -1, 0},
        {"_1", -1, 0},
        {"1_", -1, 0},
        {" 1", -1, 0},
        {"1 ", -1, 0},
        {"0x", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 12345;
        int rc = flag_parse_int(cases[i].s, &v);
        cr_assert(eq(int, rc, cases[i].rc), "\"%s\"", cases[i].s);
        if (rc == 0) cr_assert(eq(i64, v, cases[i].v), "\"%s\"", cases[i].s);
    }
}

Test(numbers, parse_duration_like_go) {
    const long long us = 1000, ms = 1000000, s = 1000000000LL, m = 60 * s, h = 3600 * s;
    struct {
        const char *in;
        long long ns;
    } ok[] = {
        {"0", 0},
        {"5s", 5 * s},
        {"30s", 30 * s},
        {"1478s", 1478 * s},
        {"-5s", -5 * s},
        {"+5s", 5 * s},
        {"-0", 0},
        {"+0", 0},
        {"5.0s", 5 * s},
        {"5.6s", 5 * s + 600 * ms},
        {"5.s", 5 * s},
        {".5s", 500 * ms},
        {"1.0s", 1 * s},
        {"1.00s", 1 * s},
        {"1.004s", 1 * s + 4 * ms},
        {"1.0040s", 1 * s + 4 * ms},
        {"100.00100s", 100 * s + 1 * ms},
        {"10ns", 10},
        {"11us", 11 * us},
        {"12\xc2\xb5s", 12 * us},
        {"12\xce\xbcs", 12 * us},
        {"13ms", 13 * ms},
        {"14s", 14 * s},
        {"15m", 15 * m},
        {"16h", 16 * h},
        {"3h30m", 3 * h + 30 * m},
        {"10.5s4m", 4 * m + 10 * s + 500 * ms},
        {"-2m3.4s", -(2 * m + 3 * s + 400 * ms)},
        {"1h2m3s4ms5us6ns", 1 * h + 2 * m + 3 * s + 4 * ms + 5 * us + 6},
        {"39h9m14.425s", 39 * h + 9 * m + 14 * s + 425 * ms},
        {"52763797000ns", 52763797000LL},
        {"0.3333333333333333333h", 20 * m},
        {"9007199254740993ns", 9007199254740993LL},
        {"9223372036854775807ns", 9223372036854775807LL},
        {"9223372036854775.807us", 9223372036854775807LL},
        {"9223372036s854ms775us807ns", 9223372036854775807LL},
        {"-9223372036854775808ns", -9223372036854775807LL - 1},
        {"0.100000000000000000000h", 6 * m},
        {"0.830103483285477580700h", 49 * m + 48 * s + 372539827LL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = -1;
        cr_assert(eq(int, flag_parse_duration(ok[i].in, &v), 0), "\"%s\"", ok[i].in);
        cr_assert(eq(i64, v, ok[i].ns), "\"%s\"", ok[i].in);
    }
    const char *bad[] = {"",
                         "3",
                         "-",
                         "s",
                         ".",
                         "-.",
                         ".s",
                         "+.s",
                         "1d",
                         "\x85\x85",
                         "\xff\x66\x66",
                         "9223372036854775808ns",
                         "9223372036854775.808us",
                         "9223372036854ms775us808ns",
                         "3000000h",
                         "5 s",
                         " 5s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v;
        cr_assert(eq(int, flag_parse_duration(bad[i], &v), -1), "\"%s\"", bad[i]);
    }
}

Test(numbers, idle_timeout_rounds_into_flag) {
    parsed p = parse("-idle-timeout", "200ms", NULL);
    cr_assert(eq(i64, p.cfg.idle_ns, 200000000LL));
    p = parse("-idle-timeout=1000h", NULL);
    cr_assert(eq(int, p.rc, CONFIG_OK));
    p = parse("-idle-timeout", "0", NULL);
    cr_assert(eq(i64, p.cfg.idle_ns, 0));
}

/* --- CLF ------------------------------------------------------------------ */

/* The escaped form of one byte, as the format defines it. */
static const char *expected_escape(unsigned c, char *buf) {
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    }
    if (c >= 0x20 && c <= 0x7e) {
        buf[0] = (char)c, buf[1] = '\0';
        return buf;
    }
    snprintf(buf, 8, "\\x%02x", c);
    return buf;
}

Test(clf, every_byte_value_alone) {
    for (unsigned c = 0; c < 256; c++) {
        unsigned char msg = (unsigned char)c;
        char out[16], want[8];
        size_t n = clf_escape(out, &msg, 1);
        out[n] = '\0';
        cr_assert(eq(str, out, (char *)expected_escape(c, want)), "byte 0x%02x", c);
    }
}

Test(clf, every_byte_value_in_one_message) {
    unsigned char msg[256];
    char want[2048] = "", out[2048], one[8];
    for (unsigned c = 0; c < 256; c++) {
        msg[c] = (unsigned char)c;
        strcat(want, expected_escape(c, one));
    }
    size_t n = clf_escape(out, msg, 256);
    out[n] = '\0';
    cr_assert(eq(str, out, want));
    /* Nothing in the escaped text can end or forge a line or a field. */
    cr_assert(strchr(out, '\n') == NULL);
    for (size_t i = 0; i < n; i++)
        cr_assert(out[i] >= 0x20 && out[i] < 0x7f);
}

Test(clf, truncation_after_256_bytes) {
    size_t lens[] = {0, 1, 255, 256, 257, 1000, 1 << 20};
    static unsigned char msg[1 << 20];
    memset(msg, 'a', sizeof(msg));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char out[1100];
        size_t n = clf_escape(out, msg, lens[i]);
        size_t shown = lens[i] > 256 ? 256 : lens[i];
        cr_assert(eq(sz, n, shown + (lens[i] > 256 ? 3 : 0)), "len %zu", lens[i]);
        if (lens[i] > 256) cr_assert(eq(int, memcmp(out + 256, "...", 3), 0));
    }
    /* The worst case: 256 bytes that each need \xNN, then the cut. */
    memset(msg, 0xff, 300);
    char out[1100];
    cr_assert(eq(sz, clf_escape(out, msg, 300), 4 * 256 + 3));
}

Test(clf, whole_line) {
    net_addr peer = {.family = 4, .port = 50432, .ip = {127, 0, 0, 1}};
    char line[CLF_LINE_MAX + 1];
    size_t n = clf_format(line, &peer, "[26/Nov/2026:23:12:15 +0000]",
                          (const unsigned char *)"hello\n", 6);
    line[n] = '\0';
    cr_assert(eq(str, line, "127.0.0.1:50432 - - [26/Nov/2026:23:12:15 +0000] \"hello\\n\" 6\n"));

    net_addr v6 = {.family = 6, .port = 1, .ip = {[15] = 1}};
    static unsigned char big[5000];
    memset(big, '"', sizeof(big));
    n = clf_format(line, &v6, "[26/Nov/2026:23:12:15 +0000]", big, sizeof(big));
    line[n] = '\0';
    cr_assert(n < CLF_LINE_MAX);
    cr_assert(strncmp(line, "[::1]:1 - - [26/Nov/2026:23:12:15 +0000] \"\\\"\\\"", 46) == 0);
    cr_assert(strstr(line, "\\\"...\" 5000\n") != NULL);
}

Test(clf, timestamp_utc_and_offsets) {
    setenv("TZ", "UTC", 1);
    tzset();
    char stamp[CLF_STAMP_LEN + 1];
    clf_timestamp(stamp, (time_t)1795734735); /* 2026-11-26 23:12:15 UTC */
    cr_assert(eq(str, stamp, "[26/Nov/2026:23:12:15 +0000]"));
    clf_timestamp(stamp, (time_t)0);
    cr_assert(eq(str, stamp, "[01/Jan/1970:00:00:00 +0000]"));
    setenv("TZ", "IST-5:30", 1); /* POSIX TZ: 5h30 east of UTC */
    tzset();
    clf_timestamp(stamp, (time_t)1795734735);
    cr_assert(eq(str, stamp, "[27/Nov/2026:04:42:15 +0530]"));
    setenv("TZ", "EST5", 1);
    tzset();
    clf_timestamp(stamp, (time_t)1795734735);
    cr_assert(eq(str, stamp, "[26/Nov/2026:18:12:15 -0500]"));
}

Test(clf, peer_addresses) {
    char text[CLF_ADDR_MAX];
    net_addr a = {.family = 4, .port = 65535, .ip = {255, 255, 255, 255}};
    cr_assert(eq(sz, clf_addr(text, &a), strlen("255.255.255.255:65535")));
    cr_assert(eq(str, text, "255.255.255.255:65535"));
    net_addr b = {.family = 4, .port = 0, .ip = {0, 0, 0, 0}};
    clf_addr(text, &b);
    cr_assert(eq(str, text, "0.0.0.0:0"));
    net_addr c = {.family = 6, .port = 8080, .ip = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
    clf_addr(text, &c);
    cr_assert(eq(str, text, "[2001:db8::1]:8080"));
    net_addr d = {
        .family = 6, .port = 9, .ip = {0xfe, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}};
    cr_assert(lt(sz, clf_addr(text, &d), (size_t)CLF_ADDR_MAX));
}

/* --- the output buffer ---------------------------------------------------- */

Test(buffer, append_consume_free) {
    buffer *b = NULL;
    cr_assert(eq(sz, buffer_len(b), 0));
    cr_assert(eq(int, buffer_append(&b, "hello", 5), 0));
    cr_assert(b != NULL);
    cr_assert(eq(sz, buffer_len(b), 5));
    cr_assert(eq(int, memcmp(buffer_head(b), "hello", 5), 0));
    cr_assert(eq(sz, buffer_consume(b, 2), 3));
    cr_assert(eq(int, memcmp(buffer_head(b), "llo", 3), 0));
    cr_assert(eq(sz, buffer_consume(b, 3), 0));
    cr_assert(eq(sz, buffer_len(b), 0));
    buffer_free(b);
}

Test(buffer, grows_keeps_order_and_reuses_space) {
    buffer *b = NULL;
    static char pattern[1 << 20];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (char)(i * 7 + i / 251);
    size_t in = 0, out = 0, most = 0;
    unsigned seed = 1;
    while (out < sizeof(pattern)) {
        seed = seed * 1103515245 + 12345;
        size_t add = (seed >> 8) % 5000;
        if (add > sizeof(pattern) - in) add = sizeof(pattern) - in;
        if (add) {
            size_t room;
            char *dst = buffer_reserve(&b, add, &room);
            cr_assert(dst != NULL);
            cr_assert(ge(sz, room, add));
            memcpy(dst, pattern + in, add);
            buffer_commit(b, add);
            in += add;
            if (buffer_len(b) > most) most = buffer_len(b);
        }
        size_t take = (seed >> 4) % 4000;
        if (take > buffer_len(b)) take = buffer_len(b);
        cr_assert(eq(int, memcmp(buffer_head(b), pattern + out, take), 0), "at %zu", out);
        buffer_consume(b, take);
        out += take;
        /* Never more space than twice the most ever held, or the minimum. */
        cr_assert(le(sz, (size_t)b->cap, 2 * most + 4096));
    }
    buffer_free(b);
}

Test(buffer, reserve_compacts_before_growing) {
    buffer *b = NULL;
    size_t room;
    char *p = buffer_reserve(&b, 100, &room);
    cr_assert(p != NULL);
    uint32_t cap = b->cap;
    memset(p, 'x', room);
    buffer_commit(b, room);
    buffer_consume(b, room - 10); /* 10 bytes left at the far end */
    p = buffer_reserve(&b, cap - 20, &room);
    cr_assert(eq(u32, b->cap, cap)); /* moved, not grown */
    cr_assert(eq(u32, b->start, 0));
    cr_assert(eq(int, memcmp(buffer_head(b), "xxxxxxxxxx", 10), 0));
    buffer_free(b);
}

/* --- found by tests/fuzz ------------------------------------------------- */

/* Go's ParseUint counts in all 64 bits, so a value between 2^63 and 2^64
 * followed by a bad character is a syntax error, not out of range. */
Test(fuzz_regressions, overflow_of_int64_then_a_bad_byte_is_a_parse_error) {
    long long v;
    cr_assert(eq(int, flag_parse_int("10000000000000000000x", &v), -1));
    cr_assert(eq(int, flag_parse_int("10000000000000000000", &v), -2));
    cr_assert(eq(int, flag_parse_int("-9223372036854775809", &v), -2));
    cr_assert(eq(int, flag_parse_int("100000000000000000000x", &v), -2)); /* past 2^64 first */
    parsed p = parse("-port", "10000000000000000000x", NULL);
    cr_assert(eq(int, p.rc, CONFIG_ERROR));
    cr_assert(eq(str, (char *)first_line(p.err),
                 "invalid value \"10000000000000000000x\" for flag -port: parse error"));
}

/* Error lines quote a value like Go's %q: UTF-8 as is, any byte that is not
 * part of valid UTF-8 as \xNN (it never reaches the terminal raw). */
Test(fuzz_regressions, error_lines_escape_bytes_that_are_not_utf8) {
    const char *cases[][2] = {
        {"\xff", "\\xff"},
        {"\xc3\xa9", "\xc3\xa9"},                     /* é */
        {"\xe2\x82\xac", "\xe2\x82\xac"},             /* € */
        {"\xf0\x9f\xa6\x9c", "\xf0\x9f\xa6\x9c"},     /* the parrot emoji */
        {"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* a surrogate */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* past U+10FFFF */
        {"\xe2\x82", "\\xe2\\x82"},                   /* cut short */
        {"a\x80z", "a\\x80z"},                        /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "invalid value \"%s\" for flag -port: parse error",
                 cases[i][1]);
        parsed p = parse("-port", cases[i][0], NULL);
        cr_assert(eq(int, p.rc, CONFIG_ERROR), "case %zu", i);
        cr_assert(eq(str, (char *)first_line(p.err), want), "case %zu", i);
    }
}

/* Go's ParseDuration adds each part before checking, so two parts of 2^63 ns
 * wrap to 0 and an absurd -idle-timeout would mean "never". */
Test(fuzz_regressions, durations_that_add_up_past_int64_are_errors) {
    const char *bad[] = {"9223372036854775808ns9223372036854775808ns",
                         "4611686018427387904ns4611686018427387904ns9223372036854775808ns",
                         "9223372036854775808ns9223372036854775808ns5s", "2562048h2562048h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = 12345;
        cr_assert(eq(int, flag_parse_duration(bad[i], &v), -1), "\"%s\"", bad[i]);
    }
    long long v;
    cr_assert(eq(int, flag_parse_duration("4611686018427387904ns4611686018427387903ns", &v), 0));
    cr_assert(eq(i64, v, 9223372036854775807LL));
    parsed p = parse("-idle-timeout", "9223372036854775808ns9223372036854775808ns", NULL);
    cr_assert(eq(int, p.rc, CONFIG_ERROR));
}
