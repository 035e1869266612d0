/*
 * chaos.h - what the chaos client's two halves share: the configuration, the connections, and
 * the counters of the report. chaos.c runs the loop (flags, poll, connect storms, stalls, the
 * report); conn.c is the life of one connection (its plan, its I/O, its checks).
 */
#ifndef PARROT_CHAOS_H
#define PARROT_CHAOS_H

#include <stdint.h>

/* What a connection does, one action after another. The last one ends it. */
enum action {
    A_ROUND_TRIP,  /* send 1 B..-max-size in random chunks, read in random sizes, all back */
    A_BURST,       /* 2..64 small messages written back to back, then all back */
    A_DRIP,        /* a few tiny writes with pauses between them */
    A_SLOW_READER, /* send without reading for a while: the server must push back */
    A_IDLE,        /* nothing at all for a while */
    A_HALF_CLOSE,  /* ending: send, shut the write side, expect every owed byte, then EOF */
    A_RESET,       /* ending: send, and reset (SO_LINGER 0) partway, bytes still in flight */
    A_CLOSE,       /* ending: once every byte is back, close */
    A_KINDS
};

/* What the server can do wrong. Any of these fails the run. */
enum failure {
    X_LOST,      /* bytes missing from the echo, or never sent back before a close */
    X_REORDERED, /* bytes that belong earlier in the stream */
    X_CORRUPTED, /* bytes that are not in the stream nearby */
    X_EXTRA,     /* more bytes back than were sent */
    X_CLOSED,    /* the server closed a connection the client had not finished with */
    X_RESET,     /* the server reset it, or it failed otherwise */
    X_CONNECT,   /* a connection could not be made */
    X_STALLED,   /* bytes owed, and nothing came back for -stall */
    X_KINDS
};

enum conn_state {
    S_FREE,       /* no connection in this slot */
    S_CONNECTING, /* non-blocking connect in progress */
    S_OPEN,
    S_SHUT, /* our write side is shut: the rest of the echo, then EOF, must come */
};

struct conn {
    int fd;
    uint8_t state;
    uint8_t action;
    uint8_t reading; /* 0 while a slow reader or a reset stops reading */
    uint8_t storm;   /* opened by a connect storm, not one of the -c */
    uint8_t pushed;  /* a slow reader's write was refused: every buffer on the way is full */
    uint32_t name_a, name_b; /* how failures name it: slot and generation, or storm and index */
    uint32_t actions_left;   /* before the ending */
    uint64_t key;            /* its byte stream (stream.h) */
    uint64_t rng;            /* its plan: actions, sizes, chunks, delays */
    uint64_t read_rng;       /* its read sizes: drawn as often as the kernel's timing says, so
                                kept apart from the plan to keep the plan deterministic */
    uint64_t max_size;
    uint64_t sent, received; /* offsets in the stream: received <= sent, all verified */
    uint64_t left;           /* what the action still has to send: bytes, or writes */
    uint64_t chunk_end;      /* sent..chunk_end is the write() in progress */
    uint32_t chunk_size;     /* A_SLOW_READER: every write this size */
    uint32_t rcvbuf, sndbuf; /* SO_RCVBUF, SO_SNDBUF asked for; 0 = the system's */
    uint64_t reset_at;       /* A_RESET: reset once sent reaches this */
    int64_t wake_ms;         /* end of a pause, an idle period, a drip's gap; 0 = none */
    int64_t pause_ms;        /* when a slow reader stopped reading, or an idle wait began */
    int64_t progress_ms;     /* last progress, or when it started waiting for some */
    int64_t traffic_ms;      /* last byte either way (to judge an idle timeout) */
};

struct config {
    const char *host;
    long long port;
    long long conns, storm;
    long long duration_ns, stall_ns, idle_timeout_ns; /* Go durations */
    uint64_t max_size;
    uint64_t seed;
};

#define MS_NS 1000000LL /* the durations are in nanoseconds, the loop's clock in milliseconds */

struct counters {
    uint64_t opened, opened_storm, storms, connected;
    uint32_t open, max_open;
    uint64_t bytes_sent, bytes_verified;
    uint64_t done[A_KINDS]; /* actions completed (verified), by kind */
    uint64_t burst_writes, pushback, slow_pushed;
    uint64_t small_rcvbuf, small_sndbuf;
    uint64_t paused_ms, idle_ms;
    uint64_t longest_wait_ms; /* the longest any connection waited for a byte it was owed */
    uint64_t reset_owed, reset_abandoned, reset_connecting;
    uint64_t idle_closed; /* closed by the server after -idle-timeout: expected */
    uint64_t failed[X_KINDS];
};

/* Seeds are drawn per kind of thing, so the connections of the mix and the storms do not
 * shift each other's plans. */
enum seed_kind { SEED_MIX = 1, SEED_STORM_CONN, SEED_STORMS };

struct chaos {
    struct config cfg;
    struct conn *conns; /* [cfg.conns] the mix, then [cfg.storm] for storms */
    uint32_t nslots;
    unsigned char *wbuf, *rbuf, *scratch;
    struct addrinfo *addr;
    int64_t now_ms;           /* monotonic, read once per loop turn */
    int64_t last_progress_ms; /* on any connection */
    int draining;             /* the time is up: no more actions, finish what is owed */
    int server_gone;          /* a connect was refused: nobody listens any more */
    int64_t drain_ms;         /* how long the end of the run took */
    unsigned printed;         /* failure lines printed so far */
    struct counters n;
};

extern struct chaos C;

/* conn.c */
void conn_open(struct conn *c, enum seed_kind kind, uint32_t a, uint32_t b);
short conn_interest(const struct conn *c);
void conn_event(struct conn *c, short revents);
void conn_tick(struct conn *c);
/* Is the connection waiting for the server? 0 no; 1 yes; 2 for -stall or more; 3 for
 * STALL_ALONE x -stall or more: it has stalled, whatever the others do. The factor is Linux
 * TCP's: on loopback a receiver short of buffer memory drops segments, and after a slow
 * reader's pause the sender's backed-off retransmission timer alone held one connection's
 * echo for more than 10 s (1 connection in 5 minutes; with a thread-per-connection server
 * too, after longer pauses). A server that stops answering is caught after -stall, when
 * nothing comes back on any connection. */
#define STALL_ALONE 3
int conn_waiting(struct conn *c);
void conn_fail_stalled(struct conn *c);
void conn_fail_unfinished(struct conn *c, double drain_s);
void conn_drain(struct conn *c);
void conn_abort(struct conn *c);
const char *action_name(enum action a);
const char *failure_name(enum failure f);

/* chaos.c */
void chaos_warn(const char *fmt, ...);
_Noreturn void chaos_die(const char *fmt, ...);

#endif
