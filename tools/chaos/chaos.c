/*
 * parrot-chaos - a chaos client for echo servers.
 *
 * For a fixed time it keeps -c connections busy doing random things (round trips of 1 B to
 * 1 MiB in random chunks, pipelined bursts, drips, slow reading, idling, half-closes, resets in
 * the middle of a transfer), adds connect storms of short-lived connections, and checks every
 * byte that comes back (stream.h). It fails the run on any byte lost, out of order or changed,
 * on a connection the server drops, and on a server that stops answering. The same -seed gives
 * the same plan: the same connections doing the same things with the same bytes; only the
 * kernel's timing differs from run to run.
 *
 * One thread and poll(). poll() costs a pass over every descriptor per wait, which at a few
 * hundred connections is small next to the bytes generated and checked; in exchange the
 * client is one portable file with nothing per system, and it shares no code with the
 * epoll/kqueue loops it is testing.
 */
#define _POSIX_C_SOURCE 200809L

#include "chaos.h"
#include "cli.h"
#include "connect.h"
#include "rng.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS    100000
#define TICK_MS      100 /* longest poll() wait: timers and stall checks need no finer clock */
#define STORM_MIN    1000
#define STORM_MAX    10000 /* ms between connect storms, log-uniform */
#define DRAIN_MAX_MS 60000 /* + -stall: the longest the end of a run may take */

struct chaos C;

static const char *progname = "parrot-chaos";
static volatile sig_atomic_t signals_seen;
static int tty;

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                   */

static void clear_progress(void) {
    if (tty) fputs("\r\033[K", stderr);
}

static void vwarn(const char *fmt, va_list ap) {
    clear_progress();
    fprintf(stderr, "%s: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void chaos_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

_Noreturn void chaos_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
    exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* Flags                                                                                      */

static void parse_args(int argc, char **argv, struct config *cfg) {
    /* Sorted by name: the usage lists them in this order, as Go does. */
    flag flags[] = {
        {"c", FLAG_INT, &cfg->conns, "300", 1, MAX_CONNS, "connections kept busy"},
        {"d", FLAG_DURATION, &cfg->duration_ns, "1m0s", 1, CLI_MAX_DURATION,
         "how long; then no new actions, every owed byte is awaited, all close"},
        CLI_HOST_FLAG(&cfg->host),
        {"idle-timeout", FLAG_DURATION, &cfg->idle_timeout_ns, "0", 0, CLI_MAX_DURATION,
         "the server's -idle-timeout, if it has one: a connection idle that long\n"
         "may be closed; 0 = none may be"},
        {"max-size", FLAG_UINT, &cfg->max_size, "1048576", 1, 1 << 30,
         "largest round trip, in `bytes`"},
        CLI_PORT_FLAG(&cfg->port),
        {"seed", FLAG_UINT, &cfg->seed, "0", 0, 0,
         "the plan's seed; without it, one from the clock (the report prints it)"},
        {"stall", FLAG_DURATION, &cfg->stall_ns, "10s", 100 * MS_NS, CLI_MAX_DURATION,
         "nothing back on any connection for this long while bytes are owed: the\n"
         "server stopped answering; one connection alone fails after 3 times this"},
        {"storm", FLAG_INT, &cfg->storm, "100", 0, MAX_CONNS,
         "most connections in one connect storm, one storm every 1 to 10 s; 0 = none"},
    };
    static const char about[] =
        "Keeps -c connections to an echo server doing random things for -d, with connect\n"
        "storms on top, and checks every byte that comes back. Durations are Go's: 500ms,\n"
        "10s, 5m. Exit status: 0 every byte came back in order, 1 a failure (the report\n"
        "says which), 2 bad usage.\n";
    flag_set fs = cli_flags(progname, flags, sizeof flags / sizeof flags[0], about, argv);
    cli_parse(&fs, argc, argv, &cfg->host);
    if (!flag_given(&fs,
                    "seed")) { /* different every run, and printed, so that it can be repeated */
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
            chaos_die("clock_gettime: %s", strerror(errno));
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        cfg->seed = mix64(t) % 1000000000u;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Setup                                                                                      */

static int64_t now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) chaos_die("clock_gettime: %s", strerror(errno));
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig) {
    (void)sig;
    signals_seen++;
}

static void setup(void) {
    int rc = connect_resolve(C.cfg.host, C.cfg.port, &C.addr);
    if (rc != 0) chaos_die("cannot resolve %s: %s", C.cfg.host, gai_strerror(rc));

    C.nslots = (uint32_t)(C.cfg.conns + C.cfg.storm);
    unsigned long long hard;
    const char *call;
    if (connect_allow(C.nslots, &hard, &call) != 0) {
        if (call != NULL) chaos_die("%s: %s", call, strerror(errno));
        chaos_die("%u connections need %llu descriptors, but the hard limit is %llu (ulimit -Hn)",
                  C.nslots, (unsigned long long)C.nslots + CONNECT_FD_RESERVE, hard);
    }

    C.conns = calloc(C.nslots, sizeof *C.conns);
    C.wbuf = malloc(256 * 1024);
    C.rbuf = malloc(64 * 1024);
    C.scratch = malloc(64 * 1024);
    if (!C.conns || !C.wbuf || !C.rbuf || !C.scratch) chaos_die("out of memory");
    for (uint32_t i = 0; i < C.nslots; i++)
        C.conns[i].fd = -1;

    signal(SIGPIPE, SIG_IGN); /* a reset peer makes write() fail with EPIPE instead */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        chaos_die("sigaction: %s", strerror(errno));
    tty = isatty(STDERR_FILENO);
}

/* ------------------------------------------------------------------------------------------ */
/* The run                                                                                    */

static struct {
    uint64_t rng;
    int64_t next_ms;
    uint32_t count;
} storm;

/* Up to -storm connections at once, each connecting, doing at most one tiny round trip and
 * ending, in the slots after the -c of the mix. */
static void connect_storm(void) {
    uint32_t n =
        (uint32_t)rng_range(&storm.rng, ((uint64_t)C.cfg.storm + 3) / 4, (uint64_t)C.cfg.storm);
    storm.count++;
    C.n.storms++;
    uint32_t opened = 0;
    for (uint32_t i = (uint32_t)C.cfg.conns; i < C.nslots && opened < n && !C.server_gone; i++)
        if (C.conns[i].state == S_FREE)
            conn_open(&C.conns[i], SEED_STORM_CONN, storm.count, opened++);
    storm.next_ms = C.now_ms + (int64_t)rng_log(&storm.rng, STORM_MIN, STORM_MAX);
}

/* The mix keeps -c connections: a slot that ends is opened again, as its next generation. */
static void refill(uint32_t *generation) {
    for (uint32_t i = 0; i < (uint32_t)C.cfg.conns && !C.server_gone; i++)
        if (C.conns[i].state == S_FREE) conn_open(&C.conns[i], SEED_MIX, i, generation[i]++);
}

static int poll_timeout(int64_t end_ms) {
    int64_t until = C.now_ms + TICK_MS;
    if (!C.draining && end_ms < until) until = end_ms;
    if (!C.draining && C.cfg.storm && storm.next_ms < until) until = storm.next_ms;
    for (uint32_t i = 0; i < C.nslots; i++) {
        const struct conn *c = &C.conns[i];
        if (c->state == S_OPEN && c->wake_ms && c->wake_ms < until) until = c->wake_ms;
    }
    return until <= C.now_ms ? 0 : (int)(until - C.now_ms);
}

/* When a connection has waited -stall and nothing at all came back on any connection for
 * -stall either, the server has stopped answering: every connection waiting that long fails,
 * and the run ends. Otherwise a connection fails alone after STALL_ALONE x -stall. */
static int check_stalls(void) {
    uint32_t waiting = 0, late = 0, stalled = 0;
    for (uint32_t i = 0; i < C.nslots; i++) {
        int w = conn_waiting(&C.conns[i]);
        waiting += w != 0;
        late += w >= 2;
        stalled += w == 3;
    }
    if (late == 0) return 0;
    int dead = C.now_ms - C.last_progress_ms >= C.cfg.stall_ns / MS_NS;
    if (!dead && stalled == 0) return 0;
    if (dead)
        chaos_warn("the server stopped answering: %u connections waiting, nothing back on any "
                   "for %.1f s",
                   waiting, (double)(C.now_ms - C.last_progress_ms) / 1000);
    for (uint32_t i = 0; i < C.nslots; i++)
        if (conn_waiting(&C.conns[i]) >= (dead ? 2 : 3)) conn_fail_stalled(&C.conns[i]);
    return dead;
}

static void show_progress(int64_t start_ms) {
    static int64_t shown_ms;
    if (!tty || C.now_ms - shown_ms < 1000) return;
    shown_ms = C.now_ms;
    uint64_t failures = 0;
    for (int k = 0; k < X_KINDS; k++)
        failures += C.n.failed[k];
    fprintf(stderr, "\r%6.1fs  %s  open %u  verified %.2f GB  failures %llu\033[K",
            (double)(C.now_ms - start_ms) / 1000, C.draining ? "draining" : "running ", C.n.open,
            (double)C.n.bytes_verified / 1e9, (unsigned long long)failures);
}

/* Returns 1 if the run ended early because the server stopped answering or went away. */
static int run(int64_t *elapsed_ms) {
    struct pollfd *pfds = calloc(C.nslots, sizeof *pfds);
    uint32_t *generation = calloc((size_t)C.cfg.conns, sizeof *generation);
    if (!pfds || !generation) chaos_die("out of memory");

    C.now_ms = C.last_progress_ms = now_ms();
    int64_t start_ms = C.now_ms, end_ms = start_ms + C.cfg.duration_ns / MS_NS;
    /* While draining, each connection fails if it stalls; this is the last resort for one
     * that keeps trickling. */
    int64_t drain_ms = 0, give_up_ms = 0;
    storm.rng = seed_of(C.cfg.seed, SEED_STORMS, 0, 0);
    storm.next_ms = start_ms + (int64_t)rng_log(&storm.rng, STORM_MIN, STORM_MAX);
    int early = 0;

    for (;;) {
        C.now_ms = now_ms();
        if (!C.draining && (C.now_ms >= end_ms || signals_seen)) {
            C.draining = 1;
            drain_ms = C.now_ms;
            give_up_ms = C.now_ms + DRAIN_MAX_MS + C.cfg.stall_ns / MS_NS;
            for (uint32_t i = 0; i < C.nslots; i++)
                conn_drain(&C.conns[i]);
        }
        if (C.server_gone || signals_seen > 1) {
            early = C.server_gone;
            break;
        }
        if (C.draining && (C.n.open == 0 || C.now_ms >= give_up_ms)) break;
        if (!C.draining) {
            if (C.cfg.storm && C.now_ms >= storm.next_ms) connect_storm();
            refill(generation);
        }

        for (uint32_t i = 0; i < C.nslots; i++) {
            pfds[i].fd = C.conns[i].fd;
            pfds[i].events = conn_interest(&C.conns[i]);
            pfds[i].revents = 0;
        }
        if (poll(pfds, C.nslots, poll_timeout(end_ms)) < 0 && errno != EINTR)
            chaos_die("poll: %s", strerror(errno));
        C.now_ms = now_ms();
        for (uint32_t i = 0; i < C.nslots; i++)
            if (pfds[i].revents && C.conns[i].fd == pfds[i].fd)
                conn_event(&C.conns[i], pfds[i].revents);
        for (uint32_t i = 0; i < C.nslots; i++)
            conn_tick(&C.conns[i]);
        if (check_stalls()) {
            early = 1;
            break;
        }
        show_progress(start_ms);
    }
    /* Whatever is still open at the end (a second signal, the server gone, a stall, the last
     * resort) has failed already or is given up on now. */
    for (uint32_t i = 0; i < C.nslots; i++) {
        struct conn *c = &C.conns[i];
        if (c->state != S_FREE && C.draining && !early && signals_seen < 2)
            conn_fail_unfinished(c, (double)(C.now_ms - drain_ms) / 1000);
        conn_abort(c);
    }
    clear_progress();
    *elapsed_ms = C.now_ms - start_ms;
    C.drain_ms = C.draining ? C.now_ms - drain_ms : 0;
    free(pfds);
    free(generation);
    return early;
}

/* ------------------------------------------------------------------------------------------ */
/* Report                                                                                     */

static const char *bytes_text(uint64_t v, char *buf, size_t len) {
    if (v >= 1000000000u)
        snprintf(buf, len, "%.2f GB", (double)v / 1e9);
    else if (v >= 1000000u)
        snprintf(buf, len, "%.1f MB", (double)v / 1e6);
    else
        snprintf(buf, len, "%.1f kB", (double)v / 1e3);
    return buf;
}

static double cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t report(int64_t elapsed_ms, int early) {
    const struct counters *n = &C.n;
    char a[32], b[32];
    uint64_t failures = 0;
    for (int k = 0; k < X_KINDS; k++)
        failures += n->failed[k];
    const char *family = C.addr->ai_family == AF_INET6 ? "IPv6" : "IPv4";

    printf("%s: %s port %lld (%s), seed %llu, %.1f s (%.1f s of it draining), %lld connections",
           progname, C.cfg.host, C.cfg.port, family, (unsigned long long)C.cfg.seed,
           (double)elapsed_ms / 1000, (double)C.drain_ms / 1000, C.cfg.conns);
    if (C.cfg.storm)
        printf(" + storms of up to %lld\n", C.cfg.storm);
    else
        printf(", no storms\n");
    printf("  connections   %llu opened (%llu in the mix, %llu in %llu connect storms), "
           "at most %u open at once\n",
           (unsigned long long)n->opened, (unsigned long long)(n->opened - n->opened_storm),
           (unsigned long long)n->opened_storm, (unsigned long long)n->storms, n->max_open);
    printf(
        "  verified      %llu bytes came back in order, every one checked (%s); %llu sent (%s)\n",
        (unsigned long long)n->bytes_verified, bytes_text(n->bytes_verified, a, sizeof a),
        (unsigned long long)n->bytes_sent, bytes_text(n->bytes_sent, b, sizeof b));
    printf("  round trips   %llu of 1 B to %llu B, written in random chunks, read in random "
           "sizes\n",
           (unsigned long long)n->done[A_ROUND_TRIP], (unsigned long long)C.cfg.max_size);
    printf("  bursts        %llu pipelined bursts (%llu writes)\n",
           (unsigned long long)n->done[A_BURST], (unsigned long long)n->burst_writes);
    printf("  drips         %llu (tiny writes with pauses between them)\n",
           (unsigned long long)n->done[A_DRIP]);
    printf("  slow readers  %llu, not reading for %.1f s in all; %llu of them wrote until a write "
           "was refused (every buffer on the way full)\n",
           (unsigned long long)n->done[A_SLOW_READER], (double)n->paused_ms / 1000,
           (unsigned long long)n->slow_pushed);
    printf("  flow control  %llu writes refused with EAGAIN (expected, not a failure)\n",
           (unsigned long long)n->pushback);
    printf("  small buffers %llu connections with SO_RCVBUF of 4-64 KiB (short writes for the "
           "server), %llu with SO_SNDBUF of 1-64 KiB\n",
           (unsigned long long)n->small_rcvbuf, (unsigned long long)n->small_sndbuf);
    printf("  idle waits    %llu, %.1f s in all", (unsigned long long)n->done[A_IDLE],
           (double)n->idle_ms / 1000);
    if (C.cfg.idle_timeout_ns > 0)
        printf("; %llu connections closed by the server's idle timeout (expected)",
               (unsigned long long)n->idle_closed);
    printf("\n");
    printf("  half-closes   %llu (write side shut, then every owed byte and end of file)\n",
           (unsigned long long)n->done[A_HALF_CLOSE]);
    printf("  resets        %llu (%llu with echo in flight, %llu bytes abandoned), and %llu "
           "right after connect()\n",
           (unsigned long long)n->done[A_RESET], (unsigned long long)n->reset_owed,
           (unsigned long long)n->reset_abandoned, (unsigned long long)n->reset_connecting);
    printf("  closes        %llu (after the last byte came back)\n",
           (unsigned long long)n->done[A_CLOSE]);
    printf("  longest wait  %.3f s for a byte owed (after a slow reader's pause, not counting "
           "as long again as it paused)\n",
           (double)n->longest_wait_ms / 1000);
    printf("  client CPU    %.1f s\n", cpu_seconds());
    if (failures == 0) {
        printf("  failures      none\n");
    } else {
        printf("  FAILURES      %llu:", (unsigned long long)failures);
        const char *sep = " ";
        for (int k = 0; k < X_KINDS; k++) {
            if (n->failed[k] == 0) continue;
            printf("%s%llu %s", sep, (unsigned long long)n->failed[k],
                   failure_name((enum failure)k));
            sep = ", ";
        }
        printf("\n");
    }
    if (signals_seen) printf("  (interrupted)\n");

    if (failures == 0 && !early)
        printf("%s: PASS: %llu bytes verified on %llu connections; no byte lost, reordered or "
               "corrupted, no connection dropped, no stall\n",
               progname, (unsigned long long)n->bytes_verified, (unsigned long long)n->opened);
    else
        printf("%s: FAIL: %s%llu failures (%llu lost, %llu reordered, %llu corrupted, %llu extra, "
               "%llu closed, %llu reset, %llu connect, %llu stalled)\n",
               progname,
               C.server_gone ? "the server went away; "
               : early       ? "the server stopped answering; "
                             : "",
               (unsigned long long)failures, (unsigned long long)n->failed[X_LOST],
               (unsigned long long)n->failed[X_REORDERED],
               (unsigned long long)n->failed[X_CORRUPTED], (unsigned long long)n->failed[X_EXTRA],
               (unsigned long long)n->failed[X_CLOSED], (unsigned long long)n->failed[X_RESET],
               (unsigned long long)n->failed[X_CONNECT], (unsigned long long)n->failed[X_STALLED]);
    fflush(stdout);
    return failures + (uint64_t)early;
}

int main(int argc, char **argv) {
    parse_args(argc, argv, &C.cfg);
    setup();
    int64_t elapsed_ms;
    int early = run(&elapsed_ms);
    return report(elapsed_ms, early) ? 1 : 0;
}
