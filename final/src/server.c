/*
 * server.c - the echo server on top of the event loop.
 *
 * One request's path: the client's socket is readable -> one read() into
 * the shared buffer -> (log line) -> one write() straight back. Only when
 * the socket takes less than everything is the rest copied into a
 * per-connection buffer, and only then does the loop watch for writability.
 * A client whose unsent echo reaches -max-pending is no longer read from
 * until it has drained, so memory per client stays bounded.
 *
 * Per-connection state lives in a table indexed by descriptor, a few bytes
 * per client, allocated once; nothing is allocated per request.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae.h"
#include "buffer.h"
#include "log.h"
#include "net.h"
#include "server.h"

/* One read's worth. 64 KiB moves bulk data in few system calls; a small
 * message only touches the first bytes of it. */
#define READ_BUF_SIZE (64 * 1024)
#define GRACE_MS      2000  /* how long a shutdown waits for unsent echo */
#define PAUSE_MS      100   /* accepting pauses this long when the system is short of memory */
#define NOTE_MS       60000 /* each kind of note about refused clients: at most once a minute */

enum { NOTE_MAX_CONNS, NOTE_NO_FDS, NOTE_PAUSED, NOTE_KINDS };

enum {
    C_OPEN = 1,    /* the slot holds a connection */
    C_CLOSING = 2, /* read no more: close once the unsent echo is out */
    C_PAUSED = 4,  /* unsent echo hit -max-pending: reading waits until it drains */
};

/* 16 bytes per descriptor: what every connection needs. */
typedef struct conn {
    buffer *out; /* unsent echo, NULL when there is none */
    uint8_t state;
} conn;

/* Only with -idle-timeout: a list of connections from least to most
 * recently active, threaded through a second table indexed by descriptor. */
typedef struct idle_link {
    int32_t prev, next;
    uint32_t active_ms; /* last activity, the loop's clock modulo 2^32 */
} idle_link;

static struct {
    const config *cfg;
    ae_loop *loop;
    int lfd;
    int reserve_fd; /* kept open to be closed when descriptors run out */
    int setsize;
    int max_fd;
    long nconns;
    size_t max_pending, read_size;
    uint32_t idle_ms; /* 0 = never */
    int idle_head, idle_tail;
    int stopping;
    long long stop_deadline;
    long long accept_resume_at; /* 0 = accepting */
    long long noted_at[NOTE_KINDS];
    conn *conns;     /* [setsize] */
    idle_link *idle; /* [setsize], only with -idle-timeout */
    net_addr *peers; /* [setsize], only when logging */
    server_stats stats;
} srv = {.lfd = -1,
         .reserve_fd = -1,
         .idle_head = -1,
         .idle_tail = -1,
         .noted_at = {-NOTE_MS, -NOTE_MS, -NOTE_MS}};

static char rbuf[READ_BUF_SIZE];

static void conn_close(int fd);
static void on_client(ae_loop *loop, int fd, int mask);

static int again(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* A read that filled all it asked for may have left more behind, and the
 * loop reports a socket only when something new arrives: ask to be called
 * again next turn, after the other clients, rather than read on now. */
static ssize_t read_some(int fd, char *dst, size_t want) {
    ssize_t n = read(fd, dst, want);
    if (n == (ssize_t)want) ae_rearm(srv.loop, fd);
    return n;
}

/* --- idle clients -------------------------------------------------------- */

/* The list is ordered by last activity, so moving a client to its end is
 * O(1) and the sweep only ever looks at its head. */
static void idle_unlink(int fd) {
    idle_link *l = &srv.idle[fd];
    if (l->prev != -1)
        srv.idle[l->prev].next = l->next;
    else
        srv.idle_head = l->next;
    if (l->next != -1)
        srv.idle[l->next].prev = l->prev;
    else
        srv.idle_tail = l->prev;
}

static void idle_append(int fd) {
    idle_link *l = &srv.idle[fd];
    l->active_ms = (uint32_t)ae_now_ms(srv.loop);
    l->prev = srv.idle_tail;
    l->next = -1;
    if (srv.idle_tail != -1)
        srv.idle[srv.idle_tail].next = fd;
    else
        srv.idle_head = fd;
    srv.idle_tail = fd;
}

static void touch(int fd) {
    if (srv.idle_ms == 0) return;
    if (srv.idle_tail == fd) {
        srv.idle[fd].active_ms = (uint32_t)ae_now_ms(srv.loop);
    } else {
        idle_unlink(fd);
        idle_append(fd);
    }
}

static void close_idle(long long now) {
    while (srv.idle_head != -1) {
        int fd = srv.idle_head;
        if ((uint32_t)now - srv.idle[fd].active_ms < srv.idle_ms) break;
        srv.stats.idle_closed++;
        conn_close(fd);
    }
}

/* --- connections --------------------------------------------------------- */

/* Watch for exactly what the connection needs next. */
static int update_interest(int fd) {
    conn *c = &srv.conns[fd];
    size_t pending = buffer_len(c->out);
    if (pending >= srv.max_pending)
        c->state |= C_PAUSED;
    else if (pending == 0)
        c->state &= (uint8_t)~C_PAUSED;
    int mask = (pending ? AE_WRITABLE : 0) | (c->state & (C_CLOSING | C_PAUSED) ? 0 : AE_READABLE);
    return ae_watch(srv.loop, fd, mask, on_client);
}

static void conn_close(int fd) {
    conn *c = &srv.conns[fd];
    ae_watch(srv.loop, fd, AE_NONE, NULL); /* cannot fail for a watched fd */
    close(fd);
    buffer_free(c->out);
    if (srv.idle_ms) idle_unlink(fd);
    memset(c, 0, sizeof(*c));
    srv.nconns--;
    if (srv.stopping && srv.nconns == 0) ae_stop(srv.loop);
}

/* The peer sent everything it will send (n == 0), or reading failed. */
static void read_end(int fd, ssize_t n) {
    if (n == -1 && again(errno)) return;
    conn *c = &srv.conns[fd];
    if (n == 0 && buffer_len(c->out) > 0) { /* half-close: finish the echo first */
        c->state |= C_CLOSING;
        if (update_interest(fd) == -1) conn_close(fd);
        return;
    }
    conn_close(fd);
}

/* One read and, when nothing is pending, its echo. Returns the bytes read,
 * 0 if the connection closed or will, -1 if the socket had nothing. */
static ssize_t conn_read(int fd) {
    conn *c = &srv.conns[fd];
    if (c->out == NULL) {
        ssize_t n = read_some(fd, rbuf, srv.read_size);
        if (n <= 0) {
            read_end(fd, n);
            return n == -1 && again(errno) ? -1 : 0;
        }
        touch(fd);
        if (srv.peers) log_message(&srv.peers[fd], rbuf, (size_t)n);
        ssize_t w = write(fd, rbuf, (size_t)n);
        if (w == n) { /* the common case: done, nothing kept */
            srv.stats.bytes += (uint64_t)n;
            return n;
        }
        if (w == -1) {
            if (!again(errno)) {
                conn_close(fd);
                return 0;
            }
            w = 0;
        }
        srv.stats.bytes += (uint64_t)w;
        if (buffer_append(&c->out, rbuf + w, (size_t)(n - w)) == -1 || update_interest(fd) == -1) {
            conn_close(fd);
            return 0;
        }
        return n;
    }
    /* Echo is pending (the socket is full): read on behind it, straight into
     * the connection's buffer, up to -max-pending. */
    size_t want = srv.max_pending - buffer_len(c->out), room;
    if (want > srv.read_size) want = srv.read_size;
    if (want == 0) { /* full: should be paused already (a read of 0 would look like EOF) */
        if (update_interest(fd) == -1) conn_close(fd);
        return -1;
    }
    char *dst = buffer_reserve(&c->out, want, &room);
    if (dst == NULL) {
        conn_close(fd);
        return 0;
    }
    ssize_t n = read_some(fd, dst, want);
    if (n <= 0) {
        read_end(fd, n);
        return n == -1 && again(errno) ? -1 : 0;
    }
    touch(fd);
    if (srv.peers) log_message(&srv.peers[fd], dst, (size_t)n);
    buffer_commit(c->out, (size_t)n);
    if (update_interest(fd) == -1) {
        conn_close(fd);
        return 0;
    }
    return n;
}

static void conn_write(int fd) {
    conn *c = &srv.conns[fd];
    if (c->out == NULL) return;
    ssize_t w = write(fd, buffer_head(c->out), buffer_len(c->out));
    if (w == -1) {
        if (!again(errno)) conn_close(fd);
        return;
    }
    srv.stats.bytes += (uint64_t)w;
    touch(fd);
    if (buffer_consume(c->out, (size_t)w) == 0) {
        buffer_free(c->out);
        c->out = NULL;
        if (c->state & C_CLOSING) {
            conn_close(fd);
            return;
        }
    }
    if (update_interest(fd) == -1) conn_close(fd);
}

static void on_client(ae_loop *loop, int fd, int mask) {
    (void)loop;
    if (mask & AE_WRITABLE) {
        conn_write(fd);
        if (!(srv.conns[fd].state & C_OPEN)) return;
    }
    if (mask & AE_READABLE) conn_read(fd);
}

static void conn_open(int fd, const net_addr *peer) {
    if (ae_watch(srv.loop, fd, AE_READABLE, on_client) == -1) {
        close(fd);
        srv.stats.refused++;
        return;
    }
    conn *c = &srv.conns[fd];
    c->state = C_OPEN;
    if (srv.peers) srv.peers[fd] = *peer;
    if (srv.idle_ms) idle_append(fd);
    if (fd > srv.max_fd) srv.max_fd = fd;
    srv.nconns++;
    srv.stats.served++;
}

/* --- accepting ----------------------------------------------------------- */

static void note(int kind, const char *fmt, const char *detail) {
    long long now = ae_now_ms(srv.loop);
    if (now - srv.noted_at[kind] < NOTE_MS) return;
    srv.noted_at[kind] = now;
    fputs("parrot: ", stderr);
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
}

static void pause_accepting(int err) {
    ae_watch(srv.loop, srv.lfd, AE_NONE, NULL);
    srv.accept_resume_at = ae_now_ms(srv.loop) + PAUSE_MS;
    note(NOTE_PAUSED, "accept: %s; not accepting for a moment", strerror(err));
}

/* Out of descriptors: the backlog cannot be accepted, and it keeps the
 * listener readable, which would make the loop spin. Free the reserve
 * descriptor, accept and close every waiting client (they see the
 * connection close instead of hanging), take the reserve back. Never retry
 * accept after it failed: Linux reports EMFILE before EAGAIN, so a retry
 * would loop forever (libuv b3ab332). */
static void shed_clients(int err) {
    int stuck = 1;
    if (srv.reserve_fd != -1) {
        close(srv.reserve_fd);
        srv.reserve_fd = -1;
        for (;;) {
            net_addr peer;
            int fd = net_accept(srv.lfd, &peer);
            if (fd == -1) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                stuck = !(errno == EAGAIN || errno == EWOULDBLOCK);
                break;
            }
            close(fd);
            srv.stats.refused++;
        }
        srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    note(NOTE_NO_FDS, "out of file descriptors (%s): closing new clients at once", strerror(err));
    if (stuck || srv.reserve_fd == -1) pause_accepting(err);
}

static void on_accept(ae_loop *loop, int lfd, int mask) {
    (void)loop, (void)mask;
    for (;;) { /* drain the backlog */
        net_addr peer;
        int fd = net_accept(lfd, &peer);
        if (fd == -1) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) return;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
            if (err == EMFILE || err == ENFILE)
                shed_clients(err);
            else
                pause_accepting(err); /* ENOBUFS, ENOMEM: wait, do not spin */
            return;
        }
        if (srv.nconns >= srv.cfg->max_conns || fd >= srv.setsize) {
            close(fd);
            srv.stats.refused++;
            note(NOTE_MAX_CONNS, "%s reached: closing new clients at once", "-max-conns");
            continue;
        }
        conn_open(fd, &peer);
    }
}

/* --- timing, signals, shutdown ------------------------------------------- */

static void close_all(void) {
    for (int fd = 0; fd <= srv.max_fd; fd++)
        if (srv.conns[fd].state & C_OPEN) conn_close(fd);
}

static void on_deadline(ae_loop *loop) {
    long long now = ae_now_ms(loop);
    if (srv.stopping && now >= srv.stop_deadline) {
        close_all(); /* the grace period is over: whatever is unsent stays so */
        ae_stop(loop);
        return;
    }
    if (srv.accept_resume_at && now >= srv.accept_resume_at && srv.lfd != -1) {
        srv.accept_resume_at = 0;
        ae_watch(loop, srv.lfd, AE_READABLE, on_accept);
    }
    if (srv.idle_ms) close_idle(now);
}

static void before_sleep(ae_loop *loop) {
    long long now = ae_now_ms(loop), next = 0;
    log_flush(now);
    if (srv.idle_ms && srv.idle_head != -1) {
        uint32_t idle_for = (uint32_t)now - srv.idle[srv.idle_head].active_ms;
        next = now + (idle_for >= srv.idle_ms ? 0 : srv.idle_ms - idle_for);
    }
    if (srv.accept_resume_at && (next == 0 || srv.accept_resume_at < next))
        next = srv.accept_resume_at;
    if (srv.stopping && (next == 0 || srv.stop_deadline < next)) next = srv.stop_deadline;
    ae_set_deadline(loop, next, on_deadline);
}

/* Stop accepting; echo what has already arrived; close each client once its
 * echo is out, or when the grace period ends. A second signal hurries. */
static void begin_shutdown(int signo) {
    srv.stats.signal = signo;
    if (srv.stopping) {
        close_all();
        ae_stop(srv.loop);
        return;
    }
    srv.stopping = 1;
    srv.stop_deadline = ae_now_ms(srv.loop) + GRACE_MS;
    ae_watch(srv.loop, srv.lfd, AE_NONE, NULL);
    close(srv.lfd);
    srv.lfd = -1;
    for (int fd = 0; fd <= srv.max_fd; fd++) {
        conn *c = &srv.conns[fd];
        /* What has arrived, but no more than -max-pending: a client that
         * keeps sending must not hold the shutdown up. */
        size_t taken = 0;
        ssize_t n;
        while ((c->state & C_OPEN) && !(c->state & (C_CLOSING | C_PAUSED)) &&
               taken < srv.max_pending && (n = conn_read(fd)) > 0)
            taken += (size_t)n;
        if (!(c->state & C_OPEN)) continue;
        c->state |= C_CLOSING;
        if (buffer_len(c->out) == 0 || update_interest(fd) == -1) conn_close(fd);
    }
    if (srv.nconns == 0) ae_stop(srv.loop);
}

static void on_signal(ae_loop *loop, int signo) {
    (void)loop;
    if (signo == SIGHUP)
        log_reopen();
    else
        begin_shutdown(signo);
}

/* --- setup --------------------------------------------------------------- */

int server_init(const config *cfg, int setsize, char *why, size_t why_cap) {
    srv.cfg = cfg;
    srv.setsize = setsize;
    srv.max_pending = (size_t)cfg->max_pending;
    srv.read_size = srv.max_pending < READ_BUF_SIZE ? srv.max_pending : READ_BUF_SIZE;
    /* Rounded up: a 1ns timeout still waits 1ms. At most 1000h (config.c),
     * so elapsed times fit the 32-bit millisecond clock per connection. */
    srv.idle_ms = (uint32_t)((cfg->idle_ns + 999999) / 1000000);

    /* A client that vanishes mid-write must cost an EPIPE, not the process. */
    signal(SIGPIPE, SIG_IGN);

    if (log_open(cfg->log) == -1) {
        snprintf(why, why_cap, "cannot open log file %s: %s", cfg->log, strerror(errno));
        return -1;
    }
    int port;
    char addr[64];
    srv.lfd = net_listen(cfg->host, cfg->port, &port, addr, sizeof(addr), why, why_cap);
    if (srv.lfd == -1) return -1;
    srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const char *step = "open /dev/null";
    if (srv.reserve_fd == -1) goto fail;
    step = "create the event loop";
    srv.loop = ae_create(setsize);
    if (srv.loop == NULL) goto fail;
    step = "allocate the connection table";
    srv.conns = calloc((size_t)setsize, sizeof(*srv.conns));
    if (srv.conns == NULL) goto fail;
    if (log_enabled()) {
        srv.peers = calloc((size_t)setsize, sizeof(*srv.peers));
        if (srv.peers == NULL) goto fail;
    }
    if (srv.idle_ms) {
        srv.idle = calloc((size_t)setsize, sizeof(*srv.idle));
        if (srv.idle == NULL) goto fail;
    }
    step = "watch the listening socket";
    if (ae_watch(srv.loop, srv.lfd, AE_READABLE, on_accept) == -1) goto fail;
    step = "watch signals";
    if (ae_watch_signal(srv.loop, SIGINT, on_signal) == -1 ||
        ae_watch_signal(srv.loop, SIGTERM, on_signal) == -1 ||
        ae_watch_signal(srv.loop, SIGHUP, on_signal) == -1)
        goto fail;
    ae_set_before_sleep(srv.loop, before_sleep);
    fprintf(stderr, "parrot: listening on %s port %d (%s)\n", addr, port, ae_backend_name());
    return 0;
fail:
    snprintf(why, why_cap, "cannot %s: %s", step, strerror(errno));
    return -1;
}

int server_run(char *why, size_t why_cap) {
    int rc = ae_main(srv.loop);
    if (rc == -1)
        snprintf(why, why_cap, "waiting for events (%s): %s", ae_backend_name(), strerror(errno));
    close_all();
    if (srv.lfd != -1) close(srv.lfd);
    log_close();
    return rc;
}

const server_stats *server_stats_get(void) {
    return &srv.stats;
}
