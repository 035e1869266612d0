/*
 * conn.c - the life of one chaos connection.
 *
 * A connection connects, runs a few actions drawn from its own generator (round trips, bursts,
 * drips, slow reading, idling), then ends with a half-close, a reset or a close. Every byte
 * that comes back is checked against the stream at its offset as it arrives (stream.h), so
 * nothing sent is kept. Whatever the kernel's timing, a connection draws the same actions,
 * sizes, chunks and delays from the same seed.
 *
 * Flow control is not a failure: a write refused with EAGAIN means the server (or the kernel)
 * is pushing back, and the connection writes again when poll() says it may. What fails is a
 * byte lost, out of order or changed, a connection the server closes or resets before the
 * client is done with it, and bytes owed that stop coming.
 */
#define _POSIX_C_SOURCE 200809L

#include "chaos.h"
#include "connect.h"
#include "rng.h"
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WRITE_MAX       (256 * 1024) /* bytes generated for one write(); a chunk may be larger */
#define READ_MAX        (64 * 1024)
#define IO_ROUNDS       8    /* reads, or writes, per readiness before other connections' turn */
#define MAX_PRINTED     20   /* failure lines printed; the report counts them all */
#define STORM_SIZE      64   /* a storm connection sends at most this much */
#define PAUSE_MAX_MS    3000 /* longest a slow reader stops reading (see end_pause) */
#define SLOW_MAX_FACTOR 16   /* a slow reader sends at most 16 x -max-size during its pause */

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                      */

const char *action_name(enum action a) {
    static const char *const names[A_KINDS] = {"a round trip", "a burst",      "a drip",
                                               "a slow read",  "an idle wait", "a half-close",
                                               "a reset",      "a close"};
    return a < A_KINDS ? names[a] : "?";
}

const char *failure_name(enum failure f) {
    static const char *const names[X_KINDS] = {"lost",   "reordered", "corrupted", "extra",
                                               "closed", "reset",     "connect",   "stalled"};
    return f < X_KINDS ? names[f] : "?";
}

static unsigned long long ull(uint64_t v) {
    return (unsigned long long)v;
}

/* ------------------------------------------------------------------------------------------ */
/* Ending a connection                                                                        */

static void release(struct conn *c) {
    close(c->fd);
    c->fd = -1;
    c->state = S_FREE;
    C.n.open--;
}

/* Close with a reset: SO_LINGER {1, 0} makes close() send RST and discard what is unsent. */
static void reset_now(struct conn *c) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        chaos_warn("setsockopt SO_LINGER: %s", strerror(errno));
    release(c);
}

/* The client gives up on a connection (a failure was found, or the run is over): a reset, so
 * that nothing lingers in TIME_WAIT. */
void conn_abort(struct conn *c) {
    if (c->state != S_FREE) reset_now(c);
}

static void fail(struct conn *c, enum failure kind, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    /* va_start is just above: clang-tidy 14 says otherwise only when it was given chaos.c
     * first in the same run. */
    vsnprintf(what, sizeof what, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    C.n.failed[kind]++;
    if (C.printed++ < MAX_PRINTED) {
        const char *doing = c->state == S_CONNECTING ? "connecting" : action_name(c->action);
        char bufs[64] = "";
        if (c->rcvbuf || c->sndbuf)
            snprintf(bufs, sizeof bufs, " (SO_RCVBUF %u, SO_SNDBUF %u)", c->rcvbuf, c->sndbuf);
        chaos_warn("FAIL (%s) %s connection %u.%u%s, during %s: %s", failure_name(kind),
                   c->storm ? "storm" : "mix", c->name_a, c->name_b, bufs, doing, what);
    } else if (C.printed == MAX_PRINTED + 1) {
        chaos_warn("(more failures are counted in the report, not printed)");
    }
    conn_abort(c);
}

/* The server closed (err 0: EOF) or reset the connection while the client was not done. */
static void server_closed(struct conn *c, int err, const char *call) {
    uint64_t owed = c->sent - c->received;
    double idle_s = (double)(C.now_ms - c->traffic_ms) / 1000;
    double idle_timeout_s = (double)C.cfg.idle_timeout_ns / 1e9;
    if (idle_timeout_s > 0 && owed == 0 && idle_s >= 0.9 * idle_timeout_s &&
        (err == 0 || err == ECONNRESET || err == EPIPE)) {
        C.n.idle_closed++; /* what -idle-timeout asked for (0.9: the clocks are not the same) */
        conn_abort(c);
        return;
    }
    const char *how = err == 0 || err == EPIPE ? "closed" : "reset";
    if (owed > 0)
        fail(c, X_LOST, "the server %s the connection with %llu bytes still owed (%s: %s)", how,
             ull(owed), call, err ? strerror(err) : "end of file");
    else if (err == 0 || err == EPIPE)
        fail(c, X_CLOSED, "the server closed the connection before the client was done (%s: %s)",
             call, err ? strerror(err) : "end of file");
    else
        fail(c, X_RESET, "%s: %s", call, strerror(err));
}

/* ------------------------------------------------------------------------------------------ */
/* The plan                                                                                   */

static int sending_done(const struct conn *c) {
    return c->left == 0 && c->sent == c->chunk_end;
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}

static void start_action(struct conn *c) {
    uint64_t *r = &c->rng;
    c->reading = 1;
    c->wake_ms = 0;
    c->left = 0;
    c->chunk_end = c->sent;
    if (c->actions_left == 0) {
        uint64_t p = rng_range(r, 0, 99);
        c->action = p < 35 ? A_HALF_CLOSE : p < 65 ? A_RESET : A_CLOSE;
    } else {
        c->actions_left--;
        uint64_t p = c->storm ? 0 : rng_range(r, 0, 99);
        c->action = p < 40   ? A_ROUND_TRIP
                    : p < 55 ? A_BURST
                    : p < 65 ? A_DRIP
                    : p < 80 ? A_SLOW_READER
                             : A_IDLE;
    }

    int64_t idle_ms = C.cfg.idle_timeout_ns / MS_NS;
    switch ((enum action)c->action) {
    case A_ROUND_TRIP:
        c->left = rng_log(r, 1, c->max_size);
        break;
    case A_BURST:
        c->left = rng_range(r, 2, 64); /* writes */
        break;
    case A_DRIP:
        c->left = rng_range(r, 2, 12); /* writes */
        break;
    case A_SLOW_READER: {
        /* Write until a write is refused, or the pause ends: on loopback the kernel's buffers
         * grow to megabytes, and only when they are all full, the server's included, is a
         * write refused. The writes are all one size, so the plan does not depend on how many
         * fit. The pause is short enough not to look idle to a server with -idle-timeout. */
        c->left = c->max_size * SLOW_MAX_FACTOR;
        c->chunk_size =
            (uint32_t)rng_log(r, min_u64(1024, c->max_size), min_u64(WRITE_MAX, c->max_size));
        int64_t pause = (int64_t)rng_log(r, 100, PAUSE_MAX_MS);
        if (idle_ms > 0 && pause > idle_ms / 2) pause = idle_ms / 2;
        c->reading = 0;
        c->pause_ms = C.now_ms;
        c->wake_ms = C.now_ms + pause;
        break;
    }
    case A_IDLE: {
        /* With -idle-timeout, some waits outlast it: the server should then close. */
        int64_t most = idle_ms > 0 ? idle_ms + idle_ms / 2 : 5000;
        c->pause_ms = C.now_ms;
        c->wake_ms = C.now_ms + (int64_t)rng_log(r, 100, (uint64_t)(most > 100 ? most : 100));
        break;
    }
    case A_HALF_CLOSE:
        c->left = rng_chance(r, 10) ? 0 : rng_log(r, 1, c->max_size);
        break;
    case A_RESET:
        c->left = rng_log(r, 1, c->max_size);
        c->reset_at = c->sent + (rng_chance(r, 20) ? 0 : rng_range(r, 0, c->left));
        /* Half the resets come while the client is not reading, so that the server has echo
         * it cannot send; the time limit ends them even if the server stops taking bytes. */
        c->reading = (uint8_t)rng_chance(r, 50);
        c->wake_ms = C.now_ms + (int64_t)rng_log(r, 1, 500);
        break;
    case A_CLOSE:
    case A_KINDS:
        break;
    }
}

/* The size of the next write() of the current action; 0 when it has nothing more to send. */
static uint64_t next_chunk(struct conn *c) {
    uint64_t *r = &c->rng;
    if (c->left == 0) return 0;
    switch ((enum action)c->action) {
    case A_BURST:
        c->left--;
        C.n.burst_writes++;
        return rng_log(r, 1, min_u64(4096, c->max_size));
    case A_DRIP:
        c->left--;
        return rng_log(r, 1, min_u64(64, c->max_size));
    case A_SLOW_READER: {
        uint64_t n = min_u64(c->chunk_size, c->left);
        c->left -= n;
        return n;
    }
    default: { /* a number of bytes, in random chunks */
        uint64_t n = rng_log(r, 1, c->left);
        c->left -= n;
        return n;
    }
    }
}

/* Is the current action finished? Then start the next, and so on; or end the connection. */
static void advance(struct conn *c) {
    while (c->state == S_OPEN) {
        int owed = c->sent != c->received;
        enum action done = (enum action)c->action;
        switch (done) {
        case A_ROUND_TRIP:
        case A_BURST:
        case A_DRIP:
        case A_SLOW_READER:
            if (!sending_done(c) || owed || !c->reading) return;
            break;
        case A_IDLE:
            if (c->wake_ms > C.now_ms) return;
            C.n.idle_ms += (uint64_t)(C.now_ms - c->pause_ms);
            break;
        case A_HALF_CLOSE:
            if (!sending_done(c)) return;
            if (shutdown(c->fd, SHUT_WR) != 0) {
                server_closed(c, errno, "shutdown");
                return;
            }
            c->state = S_SHUT; /* the rest is up to conn_read: every byte, then EOF */
            return;
        case A_RESET:
            if (c->sent < c->reset_at && c->wake_ms > C.now_ms) return;
            C.n.done[A_RESET]++;
            if (owed) {
                C.n.reset_owed++;
                C.n.reset_abandoned += c->sent - c->received;
            }
            reset_now(c);
            return;
        case A_CLOSE:
            if (owed) return;
            if (!C.draining) C.n.done[A_CLOSE]++;
            release(c);
            return;
        case A_KINDS:
            return;
        }
        C.n.done[done]++;
        if (done == A_SLOW_READER && c->pushed) C.n.slow_pushed++;
        c->pushed = 0;
        start_action(c);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Opening                                                                                    */

static void connected(struct conn *c) {
    c->state = S_OPEN;
    /* Not progress of the server's: the kernel finishes handshakes into the listen backlog
     * whether the server is running or frozen. Only bytes and end of file count. */
    c->progress_ms = c->traffic_ms = C.now_ms;
    C.n.connected++;
    start_action(c);
    advance(c);
}

/* Open a connection in slot c: the a-th/b-th of its kind decides its seed. */
void conn_open(struct conn *c, enum seed_kind kind, uint32_t a, uint32_t b) {
    *c = (struct conn){.fd = -1, .name_a = a, .name_b = b, .storm = kind == SEED_STORM_CONN};
    c->rng = seed_of(C.cfg.seed, kind, a, b);
    c->key = rng_next(&c->rng);
    c->read_rng = rng_next(&c->rng);
    c->max_size = c->storm ? min_u64(STORM_SIZE, C.cfg.max_size) : C.cfg.max_size;
    /* Most connections do a few things, some many: log-uniform 0..63 actions; a storm's do
     * at most one, and a tenth of them are reset as soon as connect() returns. */
    c->actions_left =
        c->storm ? (uint32_t)rng_range(&c->rng, 0, 1) : (uint32_t)rng_log(&c->rng, 1, 64) - 1;
    int abort_connecting = c->storm && rng_chance(&c->rng, 10);
    /* A quarter of the mix gets a small receive buffer, so that the server's writes come up
     * short all the time, and some a small send buffer, so that the client's do. (Set before
     * connect: the window scale is agreed in the handshake.) Not below 4 KiB: with 1 KiB
     * Linux's receiver-side silly-window avoidance can leave the sender on its persist timer,
     * one 600-byte probe every 200 ms, for the rest of the connection: the client's doing,
     * not the server's. */
    int rcvbuf = !c->storm && rng_chance(&c->rng, 25) ? (int)rng_log(&c->rng, 4096, 65536) : 0;
    int sndbuf = !c->storm && rng_chance(&c->rng, 15) ? (int)rng_log(&c->rng, 1024, 65536) : 0;

    /* With TCP_NODELAY, each write() its own segment: the server sees the chunking, not
     * Nagle's. */
    const char *call;
    int fd = connect_socket(C.addr, &call);
    if (fd < 0) chaos_die("%s: %s", call, strerror(errno));

    if (rcvbuf) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
            chaos_die("setsockopt SO_RCVBUF: %s", strerror(errno));
        C.n.small_rcvbuf++;
    }
    if (sndbuf) {
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
            chaos_die("setsockopt SO_SNDBUF: %s", strerror(errno));
        C.n.small_sndbuf++;
    }

    c->rcvbuf = (uint32_t)rcvbuf;
    c->sndbuf = (uint32_t)sndbuf;
    c->fd = fd;
    c->state = S_CONNECTING;
    c->progress_ms = C.now_ms;
    C.n.opened++;
    if (c->storm) C.n.opened_storm++;
    if (++C.n.open > C.n.max_open) C.n.max_open = C.n.open;

    int rc = connect_start(fd, C.addr);
    if (rc == 1) {
        connected(c);
    } else if (rc == 0) {
        if (abort_connecting) {
            C.n.reset_connecting++;
            reset_now(c);
        }
    } else if (errno == ECONNREFUSED) {
        C.server_gone = 1;
        fail(c, X_CONNECT, "connect: %s (nobody listens any more)", strerror(errno));
    } else {
        fail(c, X_CONNECT, "connect: %s", strerror(errno));
    }
}

static void on_connect_ready(struct conn *c) {
    int err = connect_result(c->fd);
    if (err == 0) {
        connected(c);
        return;
    }
    if (err == ECONNREFUSED) C.server_gone = 1;
    fail(c, X_CONNECT, "connect: %s%s", strerror(err),
         err == ECONNREFUSED ? " (nobody listens any more)" : "");
}

/* ------------------------------------------------------------------------------------------ */
/* Reading and checking                                                                       */

/* n bytes arrived. Returns 0 if the connection failed. */
static int verify(struct conn *c, const unsigned char *buf, size_t n) {
    uint64_t owed = c->sent - c->received;
    size_t expected = n <= owed ? n : (size_t)owed;
    size_t good = stream_check(c->key, c->received, buf, expected, C.scratch);
    c->received += good;
    C.n.bytes_verified += good;
    if (good < expected) {
        struct diagnosis d;
        stream_diagnose(c->key, c->received, buf + good, n - good, c->sent, &d);
        if (d.damage == DAMAGE_LOST)
            fail(c, X_LOST, "%llu bytes missing at offset %llu: the stream resumes %llu bytes on",
                 ull(d.distance), ull(c->received), ull(d.distance));
        else if (d.damage == DAMAGE_REORDERED)
            fail(c, X_REORDERED,
                 "the bytes at offset %llu belong %llu bytes earlier (repeated or out of order)",
                 ull(c->received), ull(d.distance));
        else
            fail(c, X_CORRUPTED,
                 "byte %llu is 0x%02x, expected 0x%02x (%zu bytes read; they are not in the "
                 "stream nearby)",
                 ull(c->received), d.got, d.want, n - good);
        return 0;
    }
    if (n > owed) {
        fail(c, X_EXTRA, "%llu bytes more came back than were sent (%llu)", ull(n - owed),
             ull(c->sent));
        return 0;
    }
    c->traffic_ms = C.last_progress_ms = C.now_ms;
    if (c->progress_ms < C.now_ms) c->progress_ms = C.now_ms; /* keep a pause's grace */
    return 1;
}

static void on_eof(struct conn *c) {
    uint64_t owed = c->sent - c->received;
    if (c->state != S_SHUT) {
        server_closed(c, 0, "read");
    } else if (owed == 0) {
        C.n.done[A_HALF_CLOSE]++;
        C.last_progress_ms = C.now_ms;
        release(c);
    } else {
        fail(c, X_LOST, "the server closed after the half-close with %llu of %llu bytes owed",
             ull(owed), ull(c->sent));
    }
}

static void conn_read(struct conn *c) {
    for (int round = 0; round < IO_ROUNDS && c->state >= S_OPEN; round++) {
        size_t want = (size_t)rng_log(&c->read_rng, 1, READ_MAX);
        ssize_t r = read(c->fd, C.rbuf, want);
        if (r > 0) {
            if (!verify(c, C.rbuf, (size_t)r)) return;
        } else if (r == 0) {
            on_eof(c);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            server_closed(c, errno, "read");
            return;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                    */

static void conn_write(struct conn *c) {
    for (int round = 0; round < IO_ROUNDS && c->state == S_OPEN; round++) {
        if (c->sent == c->chunk_end) {
            if (c->wake_ms > C.now_ms && c->action == A_DRIP) return; /* between drips */
            uint64_t n = next_chunk(c);
            if (n == 0) return;
            c->chunk_end = c->sent + n;
        }
        uint64_t len = min_u64(c->chunk_end - c->sent, WRITE_MAX);
        if (c->action == A_RESET && c->reset_at > c->sent)
            len = min_u64(len, c->reset_at - c->sent); /* stop right at the reset point */
        stream_fill(c->key, c->sent, C.wbuf, (size_t)len);
        ssize_t w = write(c->fd, C.wbuf, (size_t)len);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                C.n.pushback++; /* flow control: poll() says when to go on */
                if (c->action == A_SLOW_READER && !c->reading) {
                    /* Every buffer on the way is full: the server has stopped reading. Send
                     * no more; the rest of the pause keeps it stopped. */
                    c->pushed = 1;
                    c->left = 0;
                    c->chunk_end = c->sent;
                }
                return;
            }
            server_closed(c, errno, "write");
            return;
        }
        c->sent += (uint64_t)w;
        C.n.bytes_sent += (uint64_t)w;
        c->traffic_ms = C.now_ms;
        if (c->action == A_RESET && c->sent >= c->reset_at) return; /* advance() resets */
        if (c->action == A_DRIP && c->sent == c->chunk_end && c->left > 0) {
            c->wake_ms = C.now_ms + (int64_t)rng_log(&c->rng, 1, 20);
            return;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The loop's entry points                                                                    */

short conn_interest(const struct conn *c) {
    switch ((enum conn_state)c->state) {
    case S_FREE:
        return 0;
    case S_CONNECTING:
        return POLLOUT;
    case S_SHUT:
        return POLLIN;
    case S_OPEN:
        break;
    }
    short ev = c->reading ? POLLIN : 0;
    int gap = c->action == A_DRIP && c->sent == c->chunk_end && c->wake_ms > C.now_ms;
    if (!sending_done(c) && !gap) ev |= POLLOUT;
    return ev;
}

void conn_event(struct conn *c, short revents) {
    if (c->state == S_CONNECTING) {
        on_connect_ready(c);
        return;
    }
    /* An error or hang-up is reported whatever was asked for: read to learn what it is, even
     * in the middle of a slow reader's pause. */
    int trouble = (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    if ((revents & POLLOUT) && c->state == S_OPEN) conn_write(c);
    if ((revents & POLLIN || trouble) && (c->reading || trouble) && c->state >= S_OPEN)
        conn_read(c);
    if (c->state == S_OPEN) advance(c);
}

/* A slow reader reads again. While its window was shut, the server's kernel probed it with
 * backoff (0.2 s, 0.4 s, ...), and the echo may wait for the next probe. So the stall clock
 * starts as long again as the pause lasted. (Pauses are kept to 3 s: after 20 s ones, some
 * connections waited more than 10 s for their next byte on Linux, with final/, the workshop's
 * backpressure step and a blocking thread-per-connection server alike: TCP's doing, not the
 * servers'.) */
static void end_pause(struct conn *c) {
    int64_t paused = C.now_ms - c->pause_ms;
    C.n.paused_ms += (uint64_t)paused;
    c->reading = 1;
    c->progress_ms = C.now_ms + paused;
}

void conn_tick(struct conn *c) {
    if (c->state != S_OPEN || c->wake_ms == 0 || c->wake_ms > C.now_ms) return;
    if (c->action == A_SLOW_READER && !c->reading) { /* the pause is over: send no more */
        end_pause(c);
        c->wake_ms = 0;
        c->left = 0;
        c->chunk_end = c->sent;
    } else if (c->action == A_DRIP) {
        c->wake_ms = 0;
    }
    advance(c); /* idle waits and resets end here */
}

int conn_waiting(struct conn *c) {
    int waiting = c->state == S_CONNECTING || (c->state >= S_OPEN && c->reading &&
                                               (c->sent != c->received || c->state == S_SHUT));
    if (!waiting) {
        if (c->progress_ms < C.now_ms) c->progress_ms = C.now_ms; /* the clock starts now */
        return 0;
    }
    int64_t waited = C.now_ms - c->progress_ms, stall = C.cfg.stall_ns / MS_NS;
    if (waited > 0 && (uint64_t)waited > C.n.longest_wait_ms)
        C.n.longest_wait_ms = (uint64_t)waited;
    return waited >= STALL_ALONE * stall ? 3 : waited >= stall ? 2 : 1;
}

void conn_fail_unfinished(struct conn *c, double drain_s) {
    fail(c, X_STALLED,
         "%llu bytes still owed when the drain gave up after %.1f s (the last one came "
         "%.1f s before)",
         ull(c->sent - c->received), drain_s, (double)(C.now_ms - c->traffic_ms) / 1000);
}

void conn_fail_stalled(struct conn *c) {
    double s = (double)(C.now_ms - c->progress_ms) / 1000;
    if (c->state == S_CONNECTING)
        fail(c, X_STALLED, "connect not done after %.1f s", s);
    else if (c->state == S_SHUT && c->sent == c->received)
        fail(c, X_STALLED, "no end of file %.1f s after the half-close, every byte back", s);
    else
        fail(c, X_STALLED, "nothing for %.1f s with %llu bytes owed (of %llu sent)", s,
             ull(c->sent - c->received), ull(c->sent));
}

/* The time is up: send nothing more, take back what is owed, then close. */
void conn_drain(struct conn *c) {
    if (c->state == S_CONNECTING) {
        conn_abort(c);
        return;
    }
    if (c->state != S_OPEN) return;
    if (c->action == A_SLOW_READER && !c->reading) end_pause(c);
    c->action = A_CLOSE;
    c->left = 0;
    c->chunk_end = c->sent;
    c->reading = 1;
    c->wake_ms = 0;
    advance(c);
}
