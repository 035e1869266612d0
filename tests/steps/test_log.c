/*
 * test_log.c - the access log (step 07 and later): one line per
 * message on stdout, in the lesson's format, escaped and cut after 256
 * bytes. Before step 07 stdout stays empty.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the server must write for these bytes: the escaping the lesson
 * describes, computed here independently of the server. */
static void escape_expected(const unsigned char *msg, size_t len, char *out) {
    size_t show = len < 256 ? len : 256;
    for (size_t i = 0; i < show; i++) {
        unsigned char b = msg[i];
        const char *e = b == '"'    ? "\\\""
                        : b == '\\' ? "\\\\"
                        : b == '\n' ? "\\n"
                        : b == '\r' ? "\\r"
                        : b == '\t' ? "\\t"
                                    : NULL;
        if (e)
            out += snprintf(out, 4, "%s", e);
        else if (b >= 0x20 && b < 0x7f)
            *out++ = (char)b;
        else
            out += snprintf(out, 5, "\\x%02x", b);
    }
    snprintf(out, 4, "%s", len > 256 ? "..." : "");
}

/* Send one message, wait for its echo and its log line (07+), and check
 * the line exactly. */
static void check_logged(h_server *s, int c, const unsigned char *msg, size_t len, int line_no) {
    time_t before = time(NULL);
    h_send_all(c, msg, len);
    unsigned char echo[512];
    cr_assert(eq(sz, h_recv_exact(c, echo, len, 0), len));
    cr_assert(eq(int, h_log_wait_lines(s, line_no + 1, 0), line_no + 1), "no log line; log:\n%s",
              s->out ? s->out : "");
    time_t after = time(NULL);
    struct log_line lines[16];
    int n = parse_log(s->out, lines, 16);
    cr_assert(eq(int, n, line_no + 1), "one line per message; log:\n%s", s->out);
    struct log_line *l = &lines[line_no];
    char want[1200];
    escape_expected(msg, len, want);
    cr_assert(eq(int, l->port, h_local_port(c)), "peer port");
    cr_assert(eq(str, l->quoted, want));
    cr_assert(eq(sz, l->count, len));
    cr_assert(h_clf_stamp_between(l->stamp, before, after), "time stamp %s is not local now",
              l->stamp);
}

/* Before step 07 stdout stays empty: nothing there 100 ms after the echo. */
static void expect_no_log(h_server *s) {
    h_pause_ms(100);
    h_log_refresh(s);
    cr_assert(eq(sz, s->out_len, 0), "no log before step 07; stdout: %s", s->out);
}

Test(log, format_exact, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    if (!step()->clf_log) {
        h_echo(c, "Hello Parrot");
        expect_no_log(s);
    } else {
        check_logged(s, c, (const unsigned char *)"hello\n", 6, 0);
        /* The whole line, spelled out, as in the lesson. */
        char want[256];
        snprintf(want, sizeof want, "127.0.0.1:%d - - [", h_local_port(c));
        cr_assert(eq(int, strncmp(s->out, want, strlen(want)), 0), "log: %s", s->out);
        cr_assert(ne(ptr, strstr(s->out, "] \"hello\\n\" 6\n"), NULL), "log: %s", s->out);
    }
    close(c);
    h_kill(s);
}

Test(log, one_line_per_message, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    const char *msgs[] = {"one\n", "two\n", "three, with more words\n"};
    for (int i = 0; i < 3; i++) {
        if (step()->clf_log)
            check_logged(s, c, (const unsigned char *)msgs[i], strlen(msgs[i]), i);
        else
            h_echo(c, msgs[i]);
    }
    h_pause_ms(100); /* nothing more may appear */
    h_log_refresh(s);
    cr_assert(eq(int, h_count_lines(s->out), step()->clf_log ? 3 : 0), "log:\n%s",
              s->out ? s->out : "");
    close(c);
    h_kill(s);
}

Test(log, escaping, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    const char msg[] = "say \"hi\" \\ back\r\n\t\x01\x7f\x80\xff caf\xc3\xa9";
    size_t len = sizeof msg - 1;
    if (!step()->clf_log) {
        h_echo(c, msg);
        expect_no_log(s);
    } else {
        check_logged(s, c, (const unsigned char *)msg, len, 0);
        /* Spelled out by hand too, so the test's own escaper is checked. */
        char want[128];
        snprintf(want, sizeof want, "%s %zu\n",
                 "\"say \\\"hi\\\" \\\\ back\\r\\n\\t\\x01\\x7f\\x80\\xff caf\\xc3\\xa9\"", len);
        cr_assert(ne(ptr, strstr(s->out, want), NULL), "want %s in the log: %s", want, s->out);
    }
    close(c);
    h_kill(s);
}

Test(log, injection_cannot_forge_a_line, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    const char msg[] = "hi\n127.0.0.1:1 - - [01/Jan/2000:00:00:00 +0000] \"GET /\" 3\n";
    if (!step()->clf_log) {
        h_echo(c, msg);
        expect_no_log(s);
    } else {
        check_logged(s, c, (const unsigned char *)msg, sizeof msg - 1, 0);
        h_pause_ms(100);
        cr_assert(eq(int, h_log_wait_lines(s, 2, 1), 1), "a message made two lines:\n%s", s->out);
    }
    close(c);
    h_kill(s);
}

Test(log, cut_after_256_bytes, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    unsigned char msg[300];
    memset(msg, 'a', sizeof msg);
    if (!step()->clf_log) {
        msg[256] = '\0';
        h_echo(c, (const char *)msg);
        expect_no_log(s);
    } else {
        check_logged(s, c, msg, 256, 0); /* exactly 256: shown whole, no "..." */
        check_logged(s, c, msg, 257, 1); /* one more: cut, "..." */
    }
    close(c);
    h_kill(s);
}

Test(log, one_mib_message_bounded_lines, .timeout = 40) {
    h_server *s = start();
    int c = h_connect(s->port);
    size_t len = 1 << 20;
    unsigned char *data = h_pattern(len, 5);
    h_exchange(c, data, len, 0);
    if (!step()->clf_log) {
        expect_no_log(s);
    } else {
        /* One line per read(): wait until the counts add up to 1 MiB. */
        long long deadline = h_now_ms() + H_DEADLINE_MS;
        size_t total = 0;
        int n = 0;
        static struct log_line lines[4096];
        while (total < len && h_now_ms() < deadline) {
            h_pause_ms(10);
            h_log_refresh(s);
            if (!s->out) continue;
            n = parse_log(s->out, lines, 4096);
            total = 0;
            for (int i = 0; i < n; i++)
                total += lines[i].count;
        }
        cr_assert(eq(sz, total, len), "log counts add up to %zu of %zu bytes", total, len);
        /* Each line shows the first 256 bytes of its chunk, in order. */
        size_t at = 0;
        char want[1200];
        for (int i = 0; i < n; i++) {
            escape_expected(data + at, lines[i].count, want);
            cr_assert(eq(str, lines[i].quoted, want), "line %d (bytes %zu..)", i, at);
            at += lines[i].count;
        }
    }
    free(data);
    close(c);
    h_kill(s);
}
