/*
 * test_steps.c - one suite of behaviour checks, run against every workshop
 * step (the Makefile runs this binary once per step with PARROT_BIN and
 * PARROT_STEP set).
 *
 * The capability table below says what each step can do, as its lesson
 * says. Every test runs on every step: where a step has the capability the
 * test checks it; where it does not, the test checks the limitation the
 * lesson describes instead (step 01 serves one client at a time, so a
 * second client must get nothing until the first leaves). Nothing is
 * skipped.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- what each step can do ------------------------------------------------ */

struct caps {
    const char *step;
    int multi_client;     /* serves many clients at once (else one at a time) */
    int nonblocking;      /* non-blocking sockets (02 polls them in a loop) */
    int sleeps_when_idle; /* uses no CPU while nobody talks (01 blocks, 03+ kevent) */
    int write_buffering;  /* a client that does not read cannot stall the others */
    int clf_log;          /* one log line per message on stdout */
    int flags;            /* -port and friends, Go style (else ./parrot [port]) */
    int signals;          /* SIGINT/SIGTERM: finish, exit 0 (else the signal kills it) */
};

/* One row per step: clang-format would fold it. */
/* clang-format off */
static const struct caps table[] = {
    /* step  multi nonblk sleeps wbuf  log  flags signals */
    {"01",    0,    0,     1,    0,    0,   0,    0},
    {"02",    0,    1,     0,    0,    0,   0,    0},
    {"03",    0,    1,     1,    0,    0,   0,    0},
    {"04",    1,    1,     1,    0,    0,   0,    0},
    {"05",    1,    1,     1,    1,    0,   0,    0},
    {"06",    1,    1,     1,    1,    1,   0,    0},
    {"07",    1,    1,     1,    1,    1,   1,    1},
};
/* clang-format on */

static const struct caps *step(void) {
    const char *name = h_env("PARROT_STEP");
    if (!name) cr_fatal("PARROT_STEP is not set: run this suite through its Makefile");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].step, name) == 0) return &table[i];
    cr_fatal("PARROT_STEP=%s is not in the capability table", name);
    return NULL;
}

/* --- starting a step --------------------------------------------------------- */

/* The port argument in the step's own syntax: "0" or "-port 0". */
static const char *const *port_args(const char *port) {
    static const char *args[4];
    memset(args, 0, sizeof args);
    if (step()->flags) {
        args[0] = "-port";
        args[1] = port;
    } else {
        args[0] = port;
    }
    return args;
}

static h_server *start_nofile(long nofile) {
    h_opts o = {.args = port_args("0"), .nofile = nofile};
    return h_start_opts(h_bin(), &o);
}

static h_server *start(void) {
    return start_nofile(0);
}

/* Milliseconds of silence that count as "not served". Long enough for an
 * idle loopback echo (well under a millisecond) on a loaded machine. */
#define SILENCE_MS 300

/* Are all of fds[0..n) silent (no byte, no EOF) for ms? */
static int all_silent(const int *fds, int n, int ms) {
    struct pollfd p[16];
    cr_assert(le(int, n, 16));
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    return poll(p, (nfds_t)n, ms) == 0;
}

/* =========================================================================
 * Every step: it is an echo server.
 * ========================================================================= */

Test(echo, hello_parrot, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "Hello Parrot");
    close(c);
    h_kill(s);
}

Test(echo, one_byte, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "!");
    close(c);
    h_kill(s);
}

Test(echo, one_mib_byte_identical, .timeout = 40) {
    h_server *s = start();
    int c = h_connect(s->port);
    size_t len = 1 << 20;
    unsigned char *data = h_pattern(len, 1);
    h_exchange(c, data, len, 0);
    free(data);
    close(c);
    h_kill(s);
}

Test(echo, all_256_byte_values, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    unsigned char out[512];
    for (int i = 0; i < 512; i++)
        out[i] = (unsigned char)(i < 256 ? i : 511 - i); /* up, then down */
    h_send_all(c, out, sizeof out);
    h_expect(c, out, sizeof out, "all 256 byte values, up and down");
    close(c);
    h_kill(s);
}

Test(startup, port_zero_and_listening_line, .timeout = 20) {
    h_server *s = start();
    cr_assert(gt(int, s->port, 0));
    char want[64];
    snprintf(want, sizeof want, "listening on port %d\n", s->port);
    cr_assert(eq(str, s->err, want), "stderr should be exactly the listening line");
    int c = h_connect(s->port);
    h_echo(c, "port zero works");
    close(c);
    h_kill(s);
}

Test(startup, port_in_use_is_one_clear_line, .timeout = 20) {
    h_server *s = start();
    char port[16], out[256], err[1024];
    snprintf(port, sizeof port, "%d", s->port);
    int code = h_run(h_bin(), port_args(port), out, sizeof out, err, sizeof err, 0);
    cr_assert(eq(int, code, 1), "a refused start exits 1 (got %d); stderr: %s", code, err);
    cr_assert(ne(ptr, strstr(err, strerror(EADDRINUSE)), NULL), "stderr: %s", err);
    cr_assert(eq(int, (int)(strchr(err, '\n') - err), (int)strlen(err) - 1),
              "one line on stderr, got: %s", err);
    cr_assert(eq(str, out, ""));
    /* The first server is unharmed. */
    int c = h_connect(s->port);
    h_echo(c, "still here");
    close(c);
    h_kill(s);
}

/* =========================================================================
 * Every step: hostile clients do not take it down.
 * ========================================================================= */

Test(robust, survives_reset_and_serves_next, .timeout = 20) {
    h_server *s = start();
    int a = h_connect(s->port);
    h_echo(a, "about to vanish");
    h_send_all(a, "unanswered", 10); /* the echo may be in flight when the RST comes */
    h_reset(a);
    int b = h_connect(s->port);
    h_echo(b, "Hello Parrot");
    cr_assert(h_alive(s));
    close(b);
    h_kill(s);
}

Test(robust, survives_reset_while_writing, .timeout = 30) {
    h_server *s = start();
    int a = h_connect(s->port);
    size_t len = 8 << 20;
    unsigned char *data = h_pattern(len, 2);
    /* Fill every buffer between us: the server is now writing to a client
     * that does not read. Then reset: its write fails (EPIPE/ECONNRESET,
     * never a SIGPIPE death). */
    size_t sent = h_send_until_stalled(a, data, len);
    cr_assert(gt(sz, sent, 0));
    h_reset(a);
    int b = h_connect(s->port);
    h_echo(b, "Hello Parrot");
    cr_assert(h_alive(s));
    free(data);
    close(b);
    h_kill(s);
}

Test(robust, half_close_small, .timeout = 20) {
    /* What `printf 'Hello Parrot' | nc -N host port` does. */
    h_server *s = start();
    int c = h_connect(s->port);
    h_send_all(c, "Hello Parrot", 12);
    h_shutdown_write(c);
    h_expect(c, "Hello Parrot", 12, "half-closed client");
    size_t extra = 0;
    cr_assert(h_wait_eof(c, 0, &extra), "no EOF after the echo");
    cr_assert(eq(sz, extra, 0));
    close(c);
    h_kill(s);
}

Test(robust, half_close_gets_every_byte_then_eof, .timeout = 30) {
    /* Send until nothing more fits (the server owes us a lot by then: in
     * its buffers, or blocked in write), shut down our sending side, then
     * read: every byte must come back, then EOF, never a reset. */
    h_server *s = start();
    int c = h_connect(s->port);
    size_t len = 8 << 20;
    unsigned char *data = h_pattern(len, 3);
    size_t sent = h_send_until_stalled(c, data, len);
    h_shutdown_write(c);
    h_exchange(c, data, sent, sent);
    size_t extra = 0;
    cr_assert(h_wait_eof(c, 0, &extra), "no EOF after %zu echoed bytes", sent);
    cr_assert(eq(sz, extra, 0));
    free(data);
    close(c);
    h_kill(s);
}

/* =========================================================================
 * One client at a time (01-03) or many at once (04+).
 * ========================================================================= */

Test(clients, second_client_while_first_connected, .timeout = 20) {
    h_server *s = start();
    int a = h_connect(s->port);
    h_echo(a, "first");
    int b = h_connect(s->port);
    h_send_all(b, "second", 6);
    if (step()->multi_client) {
        h_expect(b, "second", 6, "second client");
        h_echo(a, "first again");
    } else {
        cr_assert(h_silent_for(b, SILENCE_MS),
                  "one client at a time: the second got an answer while the first was connected");
        h_echo(a, "first again"); /* the first is still served */
        close(a);
        h_expect(b, "second", 6, "second client, after the first left");
        a = -1;
    }
    if (a != -1) close(a);
    close(b);
    h_kill(s);
}

/* Round trips on n clients, interleaved: everyone sends, then everyone reads. */
static void rounds(const int *fds, int n, int count, const char *tag) {
    char msg[64];
    for (int r = 0; r < count; r++) {
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            snprintf(msg, sizeof msg, "%s round %d client %d\n", tag, r, i);
            h_send_all(fds[i], msg, strlen(msg));
        }
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            snprintf(msg, sizeof msg, "%s round %d client %d\n", tag, r, i);
            h_expect(fds[i], msg, strlen(msg), msg);
        }
    }
}

Test(clients, many_at_once_or_in_turn, .timeout = 60) {
    /* A descriptor per client here and in the server, and room to spare
     * under macOS's default soft limit of 256. */
    enum { MANY = 200, FDS = MANY + 64 };
    h_need_fds(FDS);
    h_server *s = start_nofile(FDS);
    if (step()->multi_client) {
        /* 200 clients connected at the same time, 3 interleaved rounds. */
        int fds[MANY];
        for (int i = 0; i < MANY; i++)
            fds[i] = h_connect(s->port);
        rounds(fds, MANY, 3, "many");
        for (int i = 0; i < MANY; i++)
            close(fds[i]);
    } else {
        /* One at a time: of 4 waiting clients only the first is served;
         * each of the others is served once the one before it leaves. */
        enum { N = 4 };
        int fds[N];
        char msg[2] = "0";
        for (int i = 0; i < N; i++) {
            fds[i] = h_connect(s->port);
            msg[0] = (char)('0' + i);
            h_send_all(fds[i], msg, 1);
        }
        h_expect(fds[0], "0", 1, "first client");
        cr_assert(all_silent(fds + 1, N - 1, SILENCE_MS),
                  "one client at a time: a waiting client was served early");
        for (int i = 1; i < N; i++) {
            close(fds[i - 1]);
            msg[0] = (char)('0' + i);
            h_expect(fds[i], msg, strlen(msg), "next client in line");
        }
        close(fds[N - 1]);
    }
    h_kill(s);
}

Test(clients, one_hangs_up_others_unharmed, .timeout = 30) {
    h_server *s = start();
    if (step()->multi_client) {
        enum { N = 20 };
        int fds[N];
        for (int i = 0; i < N; i++)
            fds[i] = h_connect(s->port);
        rounds(fds, N, 1, "before");
        close(fds[5]); /* a polite hang-up (FIN) */
        fds[5] = -1;
        h_send_all(fds[6], "half a mess", 11);
        h_reset(fds[6]); /* a rude one (RST) with data in flight */
        fds[6] = -1;
        rounds(fds, N, 2, "after");
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0) close(fds[i]);
    } else {
        /* The one being served hangs up rudely: the next in line gets its turn. */
        int a = h_connect(s->port);
        h_echo(a, "a");
        int b = h_connect(s->port);
        h_send_all(b, "b", 1);
        h_reset(a);
        h_expect(b, "b", 1, "next client after a reset");
        close(b);
    }
    cr_assert(h_alive(s));
    h_kill(s);
}

/* When accept() fails for want of a descriptor, Linux and FreeBSD have not
 * taken the caller off the listen queue yet (FreeBSD's kern_accept4
 * allocates the descriptor first): it waits there and is served once a
 * descriptor frees. macOS has already taken it off, and drops it (xnu,
 * accept_nocancel: "Don't put this back on the socket like we used to,
 * that just causes the client to spin. Drop the socket."): the caller sees
 * its connection closed or reset. */
#if defined(__APPLE__)
#define ACCEPT_DROPS_CALLER_WITHOUT_FD 1
#else
#define ACCEPT_DROPS_CALLER_WITHOUT_FD 0
#endif

/* Descriptor exhaustion: with a small open-files limit, more clients than
 * descriptors connect. The server must not spin on a listener it cannot
 * accept from, and must serve the waiting clients as others leave (those
 * the kernel has not dropped: see ACCEPT_DROPS_CALLER_WITHOUT_FD). */
Test(clients, out_of_descriptors_no_spin, .timeout = 40) {
    enum { NOFILE = 24, N = 32 };
    h_server *s = start_nofile(NOFILE);
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = h_connect(s->port);
        h_send_all(fds[i], "x", 1);
    }
    if (step()->multi_client) {
        /* The first ones are answered; wait for one to know the server
         * has been through its accept loop. */
        h_expect(fds[0], "x", 1, "first client");
        cr_assert(h_err_wait(s, strerror(EMFILE), 0), "never ran out of descriptors?");
    }
    if (step()->sleeps_when_idle) {
        /* At most a tenth of a core, give or take the CPU clock's resolution. */
        double seconds, used = h_cpu_used(s->pid, 500, &seconds);
        cr_assert(lt(dbl, used, 0.1 * seconds + h_cpu_resolution()),
                  "out of descriptors, it used %.2fs of CPU in %.1fs (%s)", used, seconds,
                  h_metrics_source());
    }
    for (int i = 0; i < N; i++) {
        char who[64];
        snprintf(who, sizeof who, "client %d of %d (open-files limit %d)", i, N, NOFILE);
        if (step()->multi_client && i == 0) {
            /* answered above */
        } else if (ACCEPT_DROPS_CALLER_WITHOUT_FD && step()->multi_client) {
            h_echo_or_closed(fds[i], "x", who);
        } else {
            h_expect(fds[i], "x", 1, who);
        }
        close(fds[i]);
    }
    cr_assert(h_alive(s));
    h_kill(s);
}

/* =========================================================================
 * CPU while idle: 02 polls and burns a core; the others sleep.
 * ========================================================================= */

Test(cpu, idle, .timeout = 60) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "then silence"); /* a connected client that says nothing */
    double resolution = h_cpu_resolution();
    if (step()->sleeps_when_idle) {
        /* Under 5% of a core, give or take the CPU clock's resolution. */
        double seconds, used = h_cpu_used(s->pid, 1000, &seconds);
        cr_assert(lt(dbl, used, 0.05 * seconds + resolution),
                  "idle, it used %.3fs of CPU in %.1fs (%s)", used, seconds, h_metrics_source());
    } else {
        /* Polling non-blocking sockets burns a core. On a busy machine (other
         * tests, other work) no process gets a whole core, so the yardstick
         * is a plain busy loop measured in the same window: the server must
         * get at least half of what it gets. A server that sleeps gets
         * nothing near either. Each reading may be off by the resolution,
         * so the window lasts until the busy loop has been charged four
         * times that (1 s at least; up to 30 s where ps counts whole seconds
         * and the machine is busy). */
        cr_assert(step()->nonblocking);
        pid_t spinner = fork();
        cr_assert(ge(int, spinner, 0), "fork: %s", strerror(errno));
        if (spinner == 0) { /* busy for 40 s at most, even if nobody kills it */
            long long end = h_now_ms() + 40000;
            while (h_now_ms() < end) {
            }
            _exit(0);
        }
        long long start = h_now_ms();
        double before = h_cpu_seconds(s->pid), spin_before = h_cpu_seconds(spinner);
        h_pause_ms(1000);
        double spin = h_cpu_seconds(spinner) - spin_before;
        while (spin < 4 * resolution && h_now_ms() - start < 30000) {
            h_pause_ms(100);
            spin = h_cpu_seconds(spinner) - spin_before;
        }
        double used = h_cpu_seconds(s->pid) - before;
        double seconds = (double)(h_now_ms() - start) / 1000;
        kill(spinner, SIGKILL);
        waitpid(spinner, NULL, 0);
        cr_assert(ge(dbl, spin, 4 * resolution),
                  "a busy loop got only %.2fs of CPU in %.0fs: too little to compare with at a "
                  "resolution of %.2fs (%s)",
                  spin, seconds, resolution, h_metrics_source());
        double want = 0.5 * (spin < seconds ? spin : seconds) - 1.5 * resolution;
        cr_assert(gt(dbl, used, want),
                  "a polling server should burn a core: it used %.3fs of CPU in %.1fs "
                  "(a busy loop got %.3fs; %s)",
                  used, seconds, spin, h_metrics_source());
    }
    h_echo(c, "still awake");
    close(c);
    h_kill(s);
}

/* =========================================================================
 * A client that sends and does not read (05+: write buffering).
 * ========================================================================= */

Test(slow_reader, others_served_memory_bounded, .timeout = 60) {
    h_server *s = start();
    int warm = h_connect(s->port);
    h_echo(warm, "warm up");
    close(warm);
    long rss_before = h_rss_kb(s->pid);

    int a = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 4);
    size_t sent = h_send_until_stalled(a, data, len);
    cr_assert(lt(sz, sent, len), "the server took all 32 MiB without them being read");
    long grown = h_rss_kb(s->pid) - rss_before;
    cr_assert(lt(long, grown, 4096L), "RSS grew by %ld KiB for a client that does not read", grown);

    int b = h_connect(s->port);
    h_send_all(b, "Hello Parrot", 12);
    if (step()->write_buffering) {
        h_expect(b, "Hello Parrot", 12, "another client while one does not read");
    } else {
        cr_assert(h_silent_for(b, SILENCE_MS),
                  "without write buffering a client that does not read stalls the others");
    }
    /* Now read: everything comes back, in order, while the rest is sent. */
    h_exchange(a, data, len, sent);
    close(a);
    if (!step()->write_buffering) h_expect(b, "Hello Parrot", 12, "the stalled client, at last");
    free(data);
    close(b);
    h_kill(s);
}

/* =========================================================================
 * The log (06+); before that stdout stays empty.
 * ========================================================================= */

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

struct log_line {
    int port;
    char stamp[40];
    char quoted[1200];
    size_t count;
};

/* The shape of one line; the parts are then compared exactly. */
#define LOG_RE                                                                                     \
    "^127\\.0\\.0\\.1:([0-9]{1,5}) - - "                                                           \
    "\\[([0-9]{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:"                     \
    "[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\\] "                                                 \
    "\"(([^\"\\\\]|\\\\[\"\\\\nrt]|\\\\x[0-9a-f]{2})*(\\.\\.\\.)?)\" ([0-9]+)$"

/* Split the log into lines, check each against LOG_RE, fill lines[]. A
 * last line without its newline is still being written: left out. */
static int parse_log(const char *log, struct log_line *lines, int max) {
    regex_t re;
    cr_assert(eq(int, regcomp(&re, LOG_RE, REG_EXTENDED), 0));
    int n = 0;
    const char *p = log;
    const char *eol;
    while ((eol = strchr(p, '\n')) != NULL) {
        size_t len = (size_t)(eol - p);
        cr_assert(lt(sz, len, sizeof lines[0].quoted), "log line of %zu bytes", len);
        char line[1300];
        memcpy(line, p, len);
        line[len] = '\0';
        regmatch_t m[8];
        cr_assert(eq(int, regexec(&re, line, 8, m, 0), 0), "log line has the wrong shape:\n%s",
                  line);
        cr_assert(lt(int, n, max));
        struct log_line *l = &lines[n++];
        l->port = atoi(line + m[1].rm_so);
        snprintf(l->stamp, sizeof l->stamp, "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
                 line + m[2].rm_so);
        snprintf(l->quoted, sizeof l->quoted, "%.*s", (int)(m[4].rm_eo - m[4].rm_so),
                 line + m[4].rm_so);
        l->count = (size_t)strtoull(line + m[7].rm_so, NULL, 10);
        p = eol + 1;
    }
    regfree(&re);
    return n;
}

/* Is stamp the local time at some second in [from, to]? */
static int stamp_between(const char *stamp, time_t from, time_t to) {
    for (time_t t = from; t <= to; t++) {
        struct tm tm;
        char want[40];
        localtime_r(&t, &tm);
        strftime(want, sizeof want, "%d/%b/%Y:%H:%M:%S %z", &tm);
        if (strcmp(stamp, want) == 0) return 1;
    }
    return 0;
}

/* Send one message, wait for its echo and its log line (06+), and check
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
    cr_assert(stamp_between(l->stamp, before, after), "time stamp %s is not local now", l->stamp);
}

Test(log, format_exact, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    if (!step()->clf_log) {
        h_echo(c, "Hello Parrot");
        h_pause_ms(100);
        h_log_refresh(s);
        cr_assert(eq(sz, s->out_len, 0), "no log before step 06, stdout: %s", s->out);
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
    int lines = 0;
    for (size_t i = 0; i < s->out_len; i++)
        lines += s->out[i] == '\n';
    cr_assert(eq(int, lines, step()->clf_log ? 3 : 0), "log:\n%s", s->out ? s->out : "");
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
        h_pause_ms(100);
        h_log_refresh(s);
        cr_assert(eq(sz, s->out_len, 0));
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
        h_pause_ms(100);
        h_log_refresh(s);
        cr_assert(eq(sz, s->out_len, 0));
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
        h_pause_ms(100);
        h_log_refresh(s);
        cr_assert(eq(sz, s->out_len, 0));
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
        h_pause_ms(100);
        h_log_refresh(s);
        cr_assert(eq(sz, s->out_len, 0));
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

/* =========================================================================
 * Flags (07); before that the port is a plain argument.
 * ========================================================================= */

static void expect_start(const char *const *args) {
    h_opts o = {.args = args};
    h_server *s = h_start_opts(h_bin(), &o);
    int c = h_connect(s->port);
    h_echo(c, "flag ok");
    close(c);
    h_kill(s);
}

#define USAGE_07 "  -port int\n    \tport to listen on, 0 picks a free one (default 1512)\n"

/* Run with args, expect exit code and (07) a first line plus the usage. */
static void expect_refusal(const char *const *args, int code, const char *first_line) {
    char out[256], err[2048];
    int got = h_run(h_bin(), args, out, sizeof out, err, sizeof err, 0);
    cr_assert(eq(int, got, code), "%s: exit code; stderr:\n%s", args[0], err);
    cr_assert(eq(str, out, ""), "nothing on stdout");
    if (first_line) {
        char want[512];
        snprintf(want, sizeof want, "%s\nUsage of %s:\n" USAGE_07, first_line, h_bin());
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
        /* Steps 01-06 take the port as a plain argument and know no flags. */
        expect_start((const char *const[]){"0", NULL});
        expect_refusal((const char *const[]){"-port", "0", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"--port=0", NULL}, 2, NULL);
    }
}

Test(flags, help, .timeout = 20) {
    if (step()->flags) {
        const char *forms[] = {"-h", "-help", "--help", "--h"};
        for (int i = 0; i < 4; i++) {
            char out[256], err[1024], want[512];
            const char *args[] = {forms[i], NULL};
            cr_assert(eq(int, h_run(h_bin(), args, out, sizeof out, err, sizeof err, 0), 0),
                      "%s exits 0", forms[i]);
            snprintf(want, sizeof want, "Usage of %s:\n" USAGE_07, h_bin());
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
        expect_refusal((const char *const[]){"-port", NULL}, 2, "flag needs an argument: -port");
        expect_refusal((const char *const[]){"1512", NULL}, 2, "unexpected argument: 1512");
    } else {
        expect_refusal((const char *const[]){"abc", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"70000", NULL}, 2, NULL);
        expect_refusal((const char *const[]){"1", "2", NULL}, 2, NULL);
    }
}

/* =========================================================================
 * Signals (07): stop accepting, finish what is owed, exit 0. Before 07 the
 * default action applies: the signal kills the server on the spot.
 * ========================================================================= */

/* Sum of the byte counts the log shows for the client on this port. */
static size_t logged_bytes(h_server *s, int port) {
    static struct log_line lines[4096];
    h_log_refresh(s);
    if (!s->out) return 0;
    int n = parse_log(s->out, lines, 4096);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (lines[i].port == port) total += lines[i].count;
    return total;
}

/* Read until EOF; returns the bytes, fails on a reset. */
static size_t read_to_eof(int fd, const unsigned char *expect, size_t cap) {
    unsigned char buf[65536];
    size_t got = 0;
    long long deadline = h_now_ms() + 30000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - h_now_ms();
        cr_assert(gt(int, left > 0 ? poll(&p, 1, (int)left) : 0, 0), "no EOF after %zu bytes", got);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return got;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            cr_fatal("recv after %zu bytes: %s (data lost)", got, strerror(errno));
        }
        cr_assert(le(sz, got + (size_t)n, cap), "more bytes than were sent");
        cr_assert(eq(int, memcmp(buf, expect + got, (size_t)n), 0), "bytes differ near %zu", got);
        got += (size_t)n;
    }
}

static void check_signal(int sig) {
    h_server *s = start();
    /* A: its message has been read (and logged) before the signal. */
    int a = h_connect(s->port);
    h_send_all(a, "Hello Parrot", 12);
    if (!step()->signals) {
        h_expect(a, "Hello Parrot", 12, "before the signal");
        int code = h_stop(s, sig, 0);
        cr_assert(eq(int, code, 128 + sig), "no handling yet: the signal kills it (got %d)", code);
        cr_assert(h_wait_eof(a, 0, NULL), "the kernel closes its connections");
        close(a);
        h_kill(s);
        return;
    }
    cr_assert(eq(int, h_log_wait_lines(s, 1, 0), 1));
    /* B: sent until nothing more fits and has not read a byte: the server
     * owes it everything it has read so far (the log says how much). */
    int b = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 6);
    size_t sent = h_send_until_stalled(b, data, len);
    int b_port = h_local_port(b);
    size_t owed_before = logged_bytes(s, b_port);
    cr_assert(gt(sz, owed_before, 0));

    cr_assert(eq(int, kill(s->pid, sig), 0));
    /* It stops accepting: wait (deadline) until connecting is refused. */
    long long deadline = h_now_ms() + H_DEADLINE_MS;
    int fd;
    while ((fd = h_try_connect(s->port)) >= 0 && h_now_ms() < deadline) {
        close(fd);
        h_pause_ms(5);
    }
    cr_assert(lt(int, fd, 0), "still accepting after the signal");
    cr_assert(eq(int, errno, ECONNREFUSED));
    cr_assert(h_alive(s), "exited before sending what it owes");

    /* Everything the server read comes back, then EOF (never a reset). */
    h_expect(a, "Hello Parrot", 12, "client A after the signal");
    cr_assert(eq(sz, read_to_eof(a, (const unsigned char *)"", 0), 0));
    size_t got = read_to_eof(b, data, sent);
    /* Both got EOF; when they close too, the server is done. */
    close(a);
    close(b);
    cr_assert(eq(int, h_stop(s, 0, 0), 0), "exit code after the signal; stderr:\n%s", s->err);
    /* Clients that read everything and close are done long before the
     * grace period: it saw their EOF (it keeps reading, and dropping). */
    cr_assert(eq(ptr, strstr(s->err, "did not finish in time"), NULL),
              "the server waited for its grace period; stderr:\n%s", s->err);
    /* The log, now complete, says how much the server read from B: all of
     * it came back (and at least what it had read before the signal). */
    size_t owed = logged_bytes(s, b_port);
    cr_assert(ge(sz, owed, owed_before));
    cr_assert(eq(sz, got, owed), "B got %zu bytes back; the server had read %zu", got, owed);
    free(data);
    h_kill(s);
}

Test(signals, sigterm, .timeout = 60) {
    check_signal(SIGTERM);
}

Test(signals, sigint, .timeout = 60) {
    check_signal(SIGINT);
}

/* A signal that comes the moment the server says it is listening (a
 * service manager may stop it as soon as it is up) is handled like any
 * other: the server must watch for its signals before it says so. A step
 * 07 that registered them after saying so lost a SIGTERM sent in between
 * (ignored, and not watched yet) and ran on. The harness sends SIGTERM as
 * soon as it sees the line; the race is run many times. Before 07 the
 * default action kills the server. */
Test(signals, sigterm_the_moment_it_listens, .timeout = 60) {
    for (int i = 0; i < 50; i++) {
        h_opts o = {.args = port_args("0"), .signal_on_listening = SIGTERM};
        h_server *s = h_start_opts(h_bin(), &o);
        int code = h_stop(s, 0, 0); /* signal 0: nothing more, only wait */
        if (step()->signals) {
            char want[256];
            snprintf(want, sizeof want,
                     "listening on port %d\nparrot: stopping (a second signal quits at once)\n"
                     "parrot: stopped\n",
                     s->port);
            cr_assert(eq(int, code, 0), "run %d: exit code %d; stderr:\n%s", i, code, s->err);
            cr_assert(eq(str, s->err, want), "run %d", i);
        } else {
            cr_assert(eq(int, code, 128 + SIGTERM), "run %d: the signal kills it (got %d)", i,
                      code);
        }
        h_kill(s);
    }
}
