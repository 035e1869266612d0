/*
 * parrot-bench - a closed-loop load generator for echo servers.
 *
 * Every connection writes a message (by default the 12 bytes "Hello Parrot"), waits until the
 * whole echo is back, checks every byte, and writes again: one message in flight per
 * connection, so throughput and latency are tied by Little's law (latency = connections /
 * throughput). Connections are opened a batch at a time and each must complete one round trip
 * before the next one opens, so the number of connections the server has not yet accepted never
 * exceeds the batch size and its listen backlog cannot overflow. Once all are up they start
 * together; then comes a warm-up, then the measured window. With -pid, the server's CPU time and
 * memory are sampled at the edges of that window, so the load generator and the server are measured
 * over exactly the same interval.
 *
 * One thread, one readiness loop (poller.h: epoll or kqueue), no allocation after start-up, no
 * formatting until the end. The loop's cost per request is one write, one read and a share of
 * one poller wait: on a small machine parrot-bench is often what limits the rate, so it is kept
 * as cheap as the servers it measures.
 *
 * Timing: a request's latency runs from the moment its write is issued (the clock is read just
 * before each write) to the moment the poller returned the readiness that carried the last byte
 * of its echo (the clock is read once per wakeup, right after the wait returns, and shared by
 * every event of that batch). The receive stamp is thus taken before the event is processed,
 * which is closer to the arrival than a per-event read would be; the send stamp costs one vDSO
 * clock read per request (60-80 ns measured on a KVM guest), under 1% of a request's cost.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "connect.h"
#include "hist.h"
#include "poller.h"
#include "procstat.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE         "Hello Parrot"
#define MAX_CONNS       1000000
#define MAX_SIZE        (1 << 20)
#define READ_BUF        65536
#define MAX_EVENTS      1024
#define RAMP_TIMEOUT_S  60
#define RAMP_TIMEOUT_NS ((uint64_t)RAMP_TIMEOUT_S * 1000000000u)

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                              */

struct config {
    const char *host;
    long long port;
    long long conns;
    long long size;
    long long warmup_ns;
    long long duration_ns;
    long long idle; /* > 0: idle mode with this many connections */
    long long batch;
    long long pid; /* 0: no server to sample */
    int json;
};

static const char *progname = "parrot-bench";

#define DEFAULT_CONNS 50
/* The table's defaults are text, as Go prints them: TEXT(50) is "50". */
#define TEXT(n)  TEXT_(n)
#define TEXT_(n) #n
_Static_assert(sizeof MESSAGE - 1 == 12, "-s defaults to \"12\", the message's length");

static void parse_args(int argc, char **argv, struct config *cfg) {
    /* Sorted by name: the usage lists them in this order, as Go does. */
    flag flags[] = {
        {"batch", FLAG_INT, &cfg->batch, "64", 1, MAX_CONNS,
         "connections on their way up at once; keep it below the server's\nlisten backlog"},
        {"c", FLAG_INT, &cfg->conns, TEXT(DEFAULT_CONNS), 1, MAX_CONNS, "connections"},
        {"d", FLAG_DURATION, &cfg->duration_ns, "10s", 0, CLI_MAX_DURATION,
         "measured time; with -idle, how long to hold the connections,\n"
         "by default until interrupted"},
        CLI_HOST_FLAG(&cfg->host),
        {"idle", FLAG_INT, &cfg->idle, "0", 0, MAX_CONNS,
         "open `n` connections, one round trip on each, then hold them idle"},
        {"json", FLAG_BOOL, &cfg->json, "false", 0, 0, "print one JSON line instead of the table"},
        {"pid", FLAG_INT, &cfg->pid, "0", 0, INT_MAX,
         "sample the CPU time and memory of process `pid` over the measured time"},
        CLI_PORT_FLAG(&cfg->port),
        {"s", FLAG_INT, &cfg->size, "12", 1, MAX_SIZE,
         "message size in `bytes` (\"" MESSAGE "\", repeated if longer)"},
        {"w", FLAG_DURATION, &cfg->warmup_ns, "2s", 0, CLI_MAX_DURATION,
         "warm-up once all connections are up, not measured"},
    };
    static const char about[] =
        "Closed-loop load for an echo server: every connection sends a message, waits for\n"
        "the whole echo, checks every byte, and sends again. Durations are Go's: 500ms, 10s,\n"
        "1m30s. Exit status: 0 ok, 1 the run failed or saw errors, 2 bad usage.\n";
    flag_set fs = cli_flags(progname, flags, sizeof flags / sizeof flags[0], about, argv);
    cli_parse(&fs, argc, argv, &cfg->host);

    if (cfg->idle && flag_given(&fs, "c"))
        cli_fail(&fs, "-c and -idle cannot be used together (-idle N sets the connections)");
    if (cfg->idle) cfg->conns = cfg->idle;
    if (cfg->idle && !flag_given(&fs, "d")) cfg->duration_ns = 0; /* hold until interrupted */
    if (!cfg->idle && cfg->duration_ns == 0)
        cli_fail(&fs, "invalid value for flag -d: a load needs a measured time above 0 (0 is for "
                      "-idle: hold until interrupted)");
}

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                      */

enum conn_state {
    C_CLOSED,
    C_CONNECTING, /* non-blocking connect in progress */
    C_FIRST,      /* first round trip: proves the server has accepted it */
    C_RUNNING,    /* closed loop */
    C_IDLE,       /* open, nothing in flight: waiting for the others, or -idle */
};

struct conn {
    int fd;
    uint8_t state;
    uint8_t mask;  /* poller interest */
    uint32_t sent; /* bytes of the current message written */
    uint32_t got;  /* bytes of its echo received and checked */
    uint64_t t_sent;
};

enum phase { RAMP, WARMUP, MEASURE, HOLD, DONE };

struct window_sample {
    uint64_t t;
    double self_cpu;
    struct proc_sample server;
    struct sys_sample sys;
};

static struct {
    struct config cfg;
    struct addrinfo *addr;
    struct poller *poller;
    struct conn *conns;
    char *message;
    char *rbuf;
    uint32_t size;

    enum phase phase;
    uint64_t t_start, t_up, phase_end; /* ns on the monotonic clock */
    uint32_t next_conn;                /* next connection to open */
    uint32_t opening;                  /* in C_CONNECTING or C_FIRST */
    uint32_t up;                       /* past their first round trip and still open */

    uint64_t completed; /* every round trip, for the live display */
    uint64_t measured;  /* round trips completed in the measured window */
    struct hist hist;
    uint64_t err_closed, err_reset, err_mismatch;

    struct proc_sample server_before; /* idle mode: before any connection */
    struct window_sample w0, w1;
    int interrupted;
    int tty;
    uint64_t tick_t, tick_completed;
} B;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void clear_progress(void) {
    if (B.tty) fputs("\r\033[K", stderr);
}

static void die(const char *fmt, ...) {
    va_list ap;
    clear_progress();
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                */

static void set_interest(struct conn *c, int mask) {
    if (c->mask == mask) return;
    if (poller_set(B.poller, c->fd, (uint32_t)(c - B.conns), c->mask, mask) != 0)
        die("poller: %s", strerror(errno));
    c->mask = (uint8_t)mask;
}

static void conn_close(struct conn *c) {
    if (c->state == C_CONNECTING || c->state == C_FIRST)
        B.opening--;
    else if (c->state == C_RUNNING || c->state == C_IDLE)
        B.up--;
    /* Closing drops the registration with both epoll and kqueue (for this process's only
     * reference to the socket), so no poller call is needed. */
    close(c->fd);
    c->fd = -1;
    c->state = C_CLOSED;
    c->mask = 0;
}

static void conn_fail(struct conn *c, uint64_t *counter) {
    (*counter)++;
    conn_close(c);
}

static void write_more(struct conn *c) {
    for (;;) {
        ssize_t w = write(c->fd, B.message + c->sent, B.size - c->sent);
        if (w >= 0) {
            c->sent += (uint32_t)w;
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        conn_fail(c, &B.err_reset);
        return;
    }
    /* A short write is rare (a message larger than the socket buffer); only then does the
     * connection wait for writability, and only until the message is out. */
    set_interest(c, c->sent < B.size ? P_READ | P_WRITE : P_READ);
}

static void send_message(struct conn *c) {
    c->sent = 0;
    c->got = 0;
    c->t_sent = now_ns();
    write_more(c);
}

static void connect_failed(int err) {
    die("connect to %s port %lld: %s (%u of %lld connections were up)", B.cfg.host, B.cfg.port,
        strerror(err), B.up, B.cfg.conns);
}

static void open_conn(struct conn *c) {
    const char *call;
    int fd = connect_socket(B.addr, &call);
    if (fd < 0) die("%s: %s", call, strerror(errno));
    c->fd = fd;
    c->mask = 0;
    B.opening++;
    switch (connect_start(fd, B.addr)) {
    case 1:
        c->state = C_FIRST;
        set_interest(c, P_READ);
        send_message(c);
        break;
    case 0:
        c->state = C_CONNECTING;
        set_interest(c, P_WRITE);
        break;
    default:
        connect_failed(errno);
    }
}

/* The connect finished; error is what the poller said about it (see poller.h). */
static void on_connected(struct conn *c, int error) {
    int err = error ? error : connect_result(c->fd);
    if (err) connect_failed(err);
    c->state = C_FIRST;
    set_interest(c, P_READ);
    send_message(c);
}

/* A whole echo is back. */
static void on_echo(struct conn *c, uint64_t now) {
    B.completed++;
    if (B.phase == MEASURE) {
        B.measured++;
        hist_record(&B.hist, now - c->t_sent);
    }
    if (c->state == C_FIRST) {
        /* Up. It waits, idle, until every connection is: ramping while the first connections
         * already load the server would make the last ones queue behind them. */
        B.opening--;
        B.up++;
        c->state = C_IDLE;
    } else if (c->state == C_RUNNING) {
        send_message(c);
    }
}

static void on_readable(struct conn *c, uint64_t now) {
    /* Ask for one byte more than is owed: a server that sends more than it was sent is caught
     * here rather than at the next message. */
    size_t want = (size_t)(B.size - c->got) + 1;
    if (want > READ_BUF) want = READ_BUF;
    ssize_t r = read(c->fd, B.rbuf, want);
    if (r > 0) {
        if (c->got + (size_t)r > c->sent || memcmp(B.rbuf, B.message + c->got, (size_t)r) != 0) {
            conn_fail(c, &B.err_mismatch);
            return;
        }
        c->got += (uint32_t)r;
        if (c->got == B.size) on_echo(c, now);
    } else if (r == 0) {
        conn_fail(c, &B.err_closed);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_fail(c, &B.err_reset);
    }
}

static void on_event(const struct poller_event *ev, uint64_t now) {
    struct conn *c = &B.conns[ev->id];
    if (c->state == C_CONNECTING) {
        on_connected(c, ev->error);
        return;
    }
    if ((ev->mask & P_WRITE) && c->state != C_CLOSED && c->sent < B.size) write_more(c);
    if ((ev->mask & P_READ) && c->state != C_CLOSED) on_readable(c, now);
}

/* Keep up to -batch connections on their way up. */
static void open_more(void) {
    while (B.opening < (uint32_t)B.cfg.batch && B.next_conn < (uint32_t)B.cfg.conns)
        open_conn(&B.conns[B.next_conn++]);
}

/* ------------------------------------------------------------------------------------------ */
/* Phases                                                                                     */

static void sample(struct window_sample *w, uint64_t now) {
    w->t = now;
    w->self_cpu = self_cpu_s();
    if (B.cfg.pid) proc_sample((pid_t)B.cfg.pid, &w->server);
    sys_sample(&w->sys);
}

static void start_measuring(uint64_t now) {
    B.phase = MEASURE;
    B.phase_end = now + (uint64_t)B.cfg.duration_ns;
    B.measured = 0;
    hist_reset(&B.hist);
    sample(&B.w0, now);
}

static void all_up(uint64_t now) {
    B.t_up = now;
    if (B.cfg.idle) {
        B.phase = HOLD;
        B.phase_end = B.cfg.duration_ns > 0 ? now + (uint64_t)B.cfg.duration_ns : UINT64_MAX;
        sample(&B.w0, now);
        clear_progress();
        fprintf(stderr, "%s: %u idle connections open\n", progname, B.up);
        return;
    }
    for (long i = 0; i < B.cfg.conns; i++) {
        struct conn *c = &B.conns[i];
        if (c->state == C_IDLE) {
            c->state = C_RUNNING;
            send_message(c);
        }
    }
    if (B.cfg.warmup_ns > 0) {
        B.phase = WARMUP;
        B.phase_end = now + (uint64_t)B.cfg.warmup_ns;
    } else {
        start_measuring(now);
    }
}

static void advance(uint64_t now) {
    if (stop_requested && B.phase != DONE) {
        B.interrupted = 1;
        if (B.phase == MEASURE || B.phase == HOLD) sample(&B.w1, now);
        B.phase = DONE;
        return;
    }
    switch (B.phase) {
    case RAMP:
        if (B.up == (uint32_t)B.cfg.conns)
            all_up(now);
        else if (B.opening == 0 && B.next_conn == (uint32_t)B.cfg.conns)
            die("only %u of %lld connections stayed open while connecting (server closed %llu, "
                "reset %llu, mismatched %llu)",
                B.up, B.cfg.conns, (unsigned long long)B.err_closed,
                (unsigned long long)B.err_reset, (unsigned long long)B.err_mismatch);
        else if (now - B.t_start > RAMP_TIMEOUT_NS)
            die("only %u of %lld connections were up after %d s", B.up, B.cfg.conns,
                RAMP_TIMEOUT_S);
        break;
    case WARMUP:
        if (now >= B.phase_end) start_measuring(now);
        break;
    case MEASURE:
    case HOLD:
        if (now >= B.phase_end) {
            sample(&B.w1, now);
            B.phase = DONE;
        }
        break;
    case DONE:
        break;
    }
    if (B.up == 0 && B.phase != RAMP && B.phase != DONE) {
        sample(&B.w1, now);
        B.phase = DONE;
    }
}

static void show_progress(uint64_t now) {
    static const char *const names[] = {"connecting", "warm-up", "measuring", "idle", "done"};
    if (now - B.tick_t < 1000000000u) return;
    double rate = (double)(B.completed - B.tick_completed) * 1e9 / (double)(now - B.tick_t);
    fprintf(stderr, "\r%6.1fs  %-10s  up %u/%lld  %.0f req/s  errors %llu\033[K",
            (double)(now - B.t_start) / 1e9, names[B.phase], B.up, B.cfg.conns, rate,
            (unsigned long long)B.err_closed + B.err_reset + B.err_mismatch);
    B.tick_t = now;
    B.tick_completed = B.completed;
}

static int wait_timeout_ms(uint64_t now) {
    uint64_t until = B.phase == RAMP ? B.t_start + RAMP_TIMEOUT_NS : B.phase_end;
    if (B.tty && B.tick_t + 1000000000u < until) until = B.tick_t + 1000000000u;
    /* Never sleep more than a second: a signal that lands just before the wait would
     * otherwise not be seen until the next event. */
    if (until > now + 1000000000u) until = now + 1000000000u;
    if (until <= now) return 0;
    uint64_t ms = (until - now + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ------------------------------------------------------------------------------------------ */
/* Report                                                                                     */

static void fmt_time(char *buf, size_t len, uint64_t ns) {
    if (ns < 1000000)
        snprintf(buf, len, "%.0f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

/* JSON and the table print the same figures; null/"-" where a figure is not known. */
struct figures {
    double window_s;
    double rps;
    double self_cpu_s, self_cores, self_us_per_req;
    int have_server;
    double server_cpu_s, server_cores, server_us_per_req;
    long rss_kb, hwm_kb;
    int have_sys;
    double other_cores, irq_cores;
};

static void compute(struct figures *f) {
    memset(f, 0, sizeof *f);
    f->window_s = B.w1.t > B.w0.t ? (double)(B.w1.t - B.w0.t) / 1e9 : 0;
    double per = B.measured ? 1e6 / (double)B.measured : 0;
    if (f->window_s > 0) {
        f->rps = (double)B.measured / f->window_s;
        f->self_cpu_s = B.w1.self_cpu - B.w0.self_cpu;
        f->self_cores = f->self_cpu_s / f->window_s;
        f->self_us_per_req = f->self_cpu_s * per;
    }
    f->have_server = B.w0.server.ok && B.w1.server.ok;
    if (f->have_server && f->window_s > 0) {
        f->server_cpu_s = B.w1.server.cpu_s - B.w0.server.cpu_s;
        f->server_cores = f->server_cpu_s / f->window_s;
        f->server_us_per_req = f->server_cpu_s * per;
        f->rss_kb = B.w1.server.rss_kb;
        f->hwm_kb = B.w1.server.hwm_kb;
    }
    f->have_sys = B.w0.sys.ok && B.w1.sys.ok && f->window_s > 0;
    if (f->have_sys) {
        /* Everything the machine did minus what the two processes were charged. Interrupt
         * time taken while either of them ran is charged to it (see procstat.h), so it is not
         * counted twice. */
        double busy = B.w1.sys.busy_s - B.w0.sys.busy_s;
        double other = busy - f->self_cpu_s - (f->have_server ? f->server_cpu_s : 0);
        /* /proc/stat counts in ticks: small negative values are rounding, not time. */
        f->other_cores = other > 0 ? other / f->window_s : 0;
        f->irq_cores = (B.w1.sys.irq_s - B.w0.sys.irq_s) / f->window_s;
    }
}

static void json_num(const char *key, double v, int known) {
    if (known)
        printf(",\"%s\":%.6g", key, v);
    else
        printf(",\"%s\":null", key);
}

static void json_int(const char *key, long long v, int known) {
    if (known)
        printf(",\"%s\":%lld", key, v);
    else
        printf(",\"%s\":null", key);
}

static void report_json(const struct figures *f) {
    const struct hist *h = &B.hist;
    unsigned long long errors = B.err_closed + B.err_reset + B.err_mismatch;
    int load = !B.cfg.idle;
    printf("{\"tool\":\"parrot-bench\",\"mode\":\"%s\",\"backend\":\"%s\",\"port\":%lld",
           load ? "load" : "idle", poller_name(), B.cfg.port);
    json_int("connections", B.cfg.conns, 1);
    json_int("size", (long long)B.size, 1);
    json_num("ramp_s", (double)(B.t_up - B.t_start) / 1e9, B.t_up != 0);
    json_num("warmup_s", (double)B.cfg.warmup_ns / 1e9, load);
    json_num("duration_s", f->window_s, 1);
    json_int("up", B.up, 1);
    json_int("requests", (long long)B.measured, load);
    json_num("rps", f->rps, load);
    json_num("lat_min_us", (double)hist_percentile(h, 0) / 1e3, load && h->count);
    json_num("lat_p50_us", (double)hist_percentile(h, 50) / 1e3, load && h->count);
    json_num("lat_p90_us", (double)hist_percentile(h, 90) / 1e3, load && h->count);
    json_num("lat_p99_us", (double)hist_percentile(h, 99) / 1e3, load && h->count);
    json_num("lat_p999_us", (double)hist_percentile(h, 99.9) / 1e3, load && h->count);
    json_num("lat_max_us", (double)hist_percentile(h, 100) / 1e3, load && h->count);
    json_num("lat_mean_us", hist_mean(h) / 1e3, load && h->count);
    json_int("errors", (long long)errors, 1);
    json_int("err_closed", (long long)B.err_closed, 1);
    json_int("err_reset", (long long)B.err_reset, 1);
    json_int("err_mismatch", (long long)B.err_mismatch, 1);
    json_num("gen_cpu_s", f->self_cpu_s, 1);
    json_num("gen_cores", f->self_cores, 1);
    json_num("gen_us_per_req", f->self_us_per_req, load && B.measured);
    json_int("server_pid", B.cfg.pid, B.cfg.pid != 0);
    json_num("server_cpu_s", f->server_cpu_s, f->have_server);
    json_num("server_cores", f->server_cores, f->have_server);
    json_num("server_us_per_req", f->server_us_per_req, f->have_server && load && B.measured);
    json_int("server_rss0_kb", B.server_before.rss_kb, !load && B.server_before.ok);
    json_int("server_rss_kb", f->rss_kb, f->have_server);
    json_int("server_hwm_kb", f->hwm_kb, f->have_server && f->hwm_kb >= 0);
    json_num("other_cores", f->other_cores, f->have_sys);
    json_num("irq_cores", f->irq_cores, f->have_sys);
    json_int("interrupted", B.interrupted, 1);
    printf("}\n");
}

static void report_table(const struct figures *f) {
    const struct hist *h = &B.hist;
    char a[32], b[32], c[32], d[32], e[32], g[32], m[32];
    printf("parrot-bench: %s port %lld (%s), %lld connections, %u-byte messages\n", B.cfg.host,
           B.cfg.port, poller_name(), B.cfg.conns, B.size);
    if (B.t_up)
        printf("  ramp        %lld connections up in %.2f s (%lld at a time)\n", B.cfg.conns,
               (double)(B.t_up - B.t_start) / 1e9, B.cfg.batch);
    if (B.cfg.idle) {
        printf("  held        %u idle connections for %.2f s\n", B.up, f->window_s);
    } else {
        printf("  measured    %.2f s after %.2f s of warm-up\n", f->window_s,
               (double)B.cfg.warmup_ns / 1e9);
        printf("  requests    %llu (%.0f req/s)\n", (unsigned long long)B.measured, f->rps);
        if (h->count) {
            fmt_time(a, sizeof a, hist_percentile(h, 0));
            fmt_time(b, sizeof b, hist_percentile(h, 50));
            fmt_time(c, sizeof c, hist_percentile(h, 90));
            fmt_time(d, sizeof d, hist_percentile(h, 99));
            fmt_time(e, sizeof e, hist_percentile(h, 99.9));
            fmt_time(g, sizeof g, hist_percentile(h, 100));
            fmt_time(m, sizeof m, (uint64_t)hist_mean(h));
            printf("  latency     min %s, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s (mean %s)\n", a,
                   b, c, d, e, g, m);
        }
    }
    unsigned long long errors = B.err_closed + B.err_reset + B.err_mismatch;
    if (errors)
        printf("  ERRORS      %llu closed by the server, %llu reset or failed, %llu wrong bytes\n",
               (unsigned long long)B.err_closed, (unsigned long long)B.err_reset,
               (unsigned long long)B.err_mismatch);
    else
        printf("  errors      none (every echoed byte checked)\n");
    if (B.cfg.idle)
        printf("  generator   %.2f cores\n", f->self_cores);
    else
        printf("  generator   %.2f cores, %.2f us of CPU per request\n", f->self_cores,
               f->self_us_per_req);
    if (B.cfg.pid && f->have_server) {
        printf("  server      pid %lld: %.2f cores", B.cfg.pid, f->server_cores);
        if (!B.cfg.idle) printf(", %.2f us of CPU per request", f->server_us_per_req);
        if (B.cfg.idle && B.server_before.ok)
            printf(", RSS %.1f MB (%.1f MB with no connection, %.0f bytes per connection)",
                   (double)f->rss_kb / 1024, (double)B.server_before.rss_kb / 1024,
                   (double)(f->rss_kb - B.server_before.rss_kb) * 1024 / (double)B.cfg.conns);
        else
            printf(", RSS %.1f MB", (double)f->rss_kb / 1024);
        if (f->hwm_kb >= 0) printf(" (peak %.1f MB)", (double)f->hwm_kb / 1024);
        printf("\n");
    } else if (B.cfg.pid) {
        printf("  server      pid %lld could not be sampled\n", B.cfg.pid);
    }
    if (f->have_sys)
        printf("  machine     everything else %.2f cores, interrupts %.2f cores\n", f->other_cores,
               f->irq_cores);
    if (B.interrupted) printf("  (interrupted)\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Start-up                                                                                   */

static void raise_fd_limit(void) {
    unsigned long long hard;
    const char *call;
    if (connect_allow((unsigned long long)B.cfg.conns, &hard, &call) == 0) return;
    if (call != NULL) die("%s: %s", call, strerror(errno));
    die("%lld connections need %llu descriptors, but the hard limit is %llu (ulimit -Hn)",
        B.cfg.conns, (unsigned long long)B.cfg.conns + CONNECT_FD_RESERVE, hard);
}

static void setup(void) {
    B.size = (uint32_t)B.cfg.size;
    B.message = malloc(B.size);
    B.rbuf = malloc(READ_BUF);
    B.conns = calloc((size_t)B.cfg.conns, sizeof *B.conns);
    if (!B.message || !B.rbuf || !B.conns) die("out of memory");
    for (uint32_t i = 0; i < B.size; i++)
        B.message[i] = MESSAGE[i % (sizeof MESSAGE - 1)];
    for (long i = 0; i < B.cfg.conns; i++)
        B.conns[i].fd = -1;
    hist_reset(&B.hist);

    int rc = connect_resolve(B.cfg.host, B.cfg.port, &B.addr);
    if (rc != 0) die("cannot resolve %s: %s", B.cfg.host, gai_strerror(rc));
    raise_fd_limit();
    B.poller = poller_open(MAX_EVENTS);
    if (!B.poller) die("%s: %s", poller_name(), strerror(errno));

    /* A server that resets connections must not kill the load generator. */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die("sigaction: %s", strerror(errno));

    B.tty = isatty(STDERR_FILENO);
}

int main(int argc, char **argv) {
    static struct poller_event events[MAX_EVENTS];

    parse_args(argc, argv, &B.cfg);
    setup();
    if (B.cfg.pid && proc_sample((pid_t)B.cfg.pid, &B.server_before) != 0)
        die("-pid %lld: no such process", B.cfg.pid);

    B.t_start = B.tick_t = now_ns();
    B.phase = RAMP;
    open_more();
    while (B.phase != DONE) {
        uint64_t now = now_ns();
        int n = poller_wait(B.poller, events, wait_timeout_ms(now));
        if (n < 0) die("%s wait: %s", poller_name(), strerror(errno));
        now = now_ns();
        advance(now);
        if (B.phase == DONE) break;
        for (int i = 0; i < n; i++)
            on_event(&events[i], now);
        if (B.phase == RAMP) open_more();
        advance(now);
        if (B.tty) show_progress(now);
    }

    struct figures f;
    compute(&f);
    clear_progress();
    if (B.cfg.json)
        report_json(&f);
    else
        report_table(&f);
    fflush(stdout);

    /* The run counts only if every connection stayed up without an error to the end, and a
     * load run was not cut short (holding idle connections until ^C is the normal end). */
    unsigned long long errors = B.err_closed + B.err_reset + B.err_mismatch;
    if (errors)
        fprintf(stderr, "%s: %llu connections failed (closed %llu, reset %llu, wrong bytes %llu)\n",
                progname, errors, (unsigned long long)B.err_closed, (unsigned long long)B.err_reset,
                (unsigned long long)B.err_mismatch);
    int failed = errors > 0 || B.up != (uint32_t)B.cfg.conns || (B.interrupted && !B.cfg.idle);
    return failed ? 1 : 0;
}
