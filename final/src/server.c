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

#include "activation.h"
#include "ae.h"
#include "buffer.h"
#include "log.h"
#include "net.h"
#include "resources.h"
#include "server.h"
#include "warn.h"

/* One read's worth. 64 KiB moves bulk data in few system calls; a small
 * message only touches the first bytes of it. */
#define READ_BUF_SIZE (64 * 1024)
#define GRACE_MS      2000 /* how long a shutdown waits for unsent echo */
#define PAUSE_MS      100  /* accepting pauses this long when the system is short of memory */

/* The status line answers SIGUSR1, and SIGINFO where the system has it
 * (Ctrl-T in a macOS or BSD terminal, as dd and cp answer it). */
#ifdef SIGINFO
#define STATUS_SIGNAL SIGINFO
#else
#define STATUS_SIGNAL SIGUSR1
#endif

/* The kinds of trouble that warn on stderr, each at most once a minute. */
enum { WARN_MAX_CONNS, WARN_NO_FDS, WARN_PAUSED, WARN_KINDS };

enum {
    C_OPEN = 1,    /* the slot holds a connection */
    C_CLOSING = 2, /* read no more: close once the unsent echo is out */
    C_PAUSED = 4,  /* unsent echo hit -max-pending: reading waits until it drains */
};

/* --- per-descriptor state -------------------------------------------------
 *
 * All of it is here: three tables indexed by descriptor, allocated once for
 * the open-files limit (calloc maps zero pages lazily, so only the entries
 * of descriptors actually used become resident). Every connection has its
 * conn, 16 bytes; the other two exist only when their feature is on. */

typedef struct conn {
    buffer *out; /* unsent echo, NULL when there is none */
    uint8_t state;
} conn;

/* With -idle-timeout, 12 bytes more: a list of connections from least to
 * most recently active, threaded through the table. */
typedef struct idle_link {
    int32_t prev, next;
    uint32_t active_ms; /* last activity, the loop's clock modulo 2^32 */
} idle_link;

/* With the log on, 20 bytes more: the peer's address (net_addr). */

static struct {
    const config *cfg;
    ae_loop *loop;
    net_listeners ls; /* count is 0 once closed */
    int reserve_fd;   /* kept open to be closed when descriptors run out */
    long long started_ms;
    int setsize;
    int max_fd;
    long nconns;
    size_t max_pending, read_size;
    uint32_t idle_ms; /* 0 = never */
    int idle_head, idle_tail;
    int stopping;
    long long stop_deadline;
    long long accept_resume_at; /* 0 = accepting */
    warn_limit warned[WARN_KINDS];
    conn *conns;     /* [setsize] */
    idle_link *idle; /* [setsize], only with -idle-timeout */
    net_addr *peers; /* [setsize], only when logging */
    server_stats stats;
} srv = {.reserve_fd = -1, .idle_head = -1, .idle_tail = -1};

/* Allocate the tables for setsize descriptors. Returns 0, or -1 with errno. */
static int tables_alloc(int setsize, int with_idle, int with_peers) {
    srv.conns = calloc((size_t)setsize, sizeof(*srv.conns));
    if (srv.conns == NULL) return -1;
    if (with_idle && (srv.idle = calloc((size_t)setsize, sizeof(*srv.idle))) == NULL) return -1;
    if (with_peers && (srv.peers = calloc((size_t)setsize, sizeof(*srv.peers))) == NULL) return -1;
    return 0;
}

static char rbuf[READ_BUF_SIZE];

static void conn_close(int fd);
static int on_client(ae_loop *loop, int fd, int mask);

static int again(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
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

static void conn_close(int fd) {
    conn *c = &srv.conns[fd];
    ae_watch(srv.loop, fd, AE_NONE, NULL); /* cannot fail for a watched fd */
    close(fd);
    buffer_free(c->out);
    if (srv.idle_ms) idle_unlink(fd);
    memset(c, 0, sizeof(*c));
    srv.nconns--;
}

/* Watch for exactly what the connection needs next; one that cannot be
 * watched is closed. Returns 1 if the connection is still open. */
static int conn_update(int fd) {
    conn *c = &srv.conns[fd];
    size_t pending = buffer_len(c->out);
    if (pending >= srv.max_pending)
        c->state |= C_PAUSED;
    else if (pending == 0)
        c->state &= (uint8_t)~C_PAUSED;
    int mask = (pending ? AE_WRITABLE : 0) | (c->state & (C_CLOSING | C_PAUSED) ? 0 : AE_READABLE);
    if (ae_watch(srv.loop, fd, mask, on_client) == 0) return 1;
    conn_close(fd);
    return 0;
}

/* The read returned 0 (the peer has sent all it will) or failed. */
static void conn_read_end(int fd, ssize_t n) {
    if (n == -1 && again(errno)) return;
    conn *c = &srv.conns[fd];
    if (n == 0 && buffer_len(c->out) > 0) { /* half-close: finish the echo first */
        c->state |= C_CLOSING;
        conn_update(fd);
        return;
    }
    conn_close(fd);
}

/* Echo the n bytes just read into the shared buffer: one write, and only
 * what the socket did not take is kept, in the connection's buffer. */
static void conn_echo(int fd, size_t n) {
    ssize_t w = write(fd, rbuf, n);
    if (w == (ssize_t)n) { /* the common case: done, nothing kept */
        srv.stats.bytes += n;
        return;
    }
    if (w == -1) {
        if (!again(errno)) {
            conn_close(fd);
            return;
        }
        w = 0;
    }
    srv.stats.bytes += (uint64_t)w;
    if (buffer_append(&srv.conns[fd].out, rbuf + w, n - (size_t)w) == -1) {
        conn_close(fd);
        return;
    }
    conn_update(fd);
}

/* One read, and the echo of what it brought. With nothing pending, the
 * bytes go into the shared buffer and straight back out; behind unsent echo
 * they go into the connection's buffer, up to -max-pending. Returns AE_MORE
 * when the read filled all it asked for, so more may be waiting (the
 * connection may have closed since: see C_OPEN), AE_DONE otherwise. */
static int conn_read(int fd) {
    conn *c = &srv.conns[fd];
    char *dst = rbuf;
    size_t want = srv.read_size;
    if (c->out != NULL) {
        size_t left = srv.max_pending - buffer_len(c->out), room;
        if (left < want) want = left;
        if (want == 0) { /* full: pause it (a read of 0 bytes would look like EOF) */
            conn_update(fd);
            return AE_DONE;
        }
        if ((dst = buffer_reserve(&c->out, want, &room)) == NULL) {
            conn_close(fd);
            return AE_DONE;
        }
    }
    ssize_t n = read(fd, dst, want);
    if (n <= 0) {
        conn_read_end(fd, n);
        return AE_DONE;
    }
    touch(fd);
    if (srv.peers) log_message(&srv.peers[fd], dst, (size_t)n);
    if (c->out == NULL) {
        conn_echo(fd, (size_t)n);
    } else {
        buffer_commit(c->out, (size_t)n);
        conn_update(fd);
    }
    return (size_t)n == want ? AE_MORE : AE_DONE;
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
    conn_update(fd);
}

/* One read per turn, however much is waiting: a client that sends a lot
 * takes its turn with the others (AE_MORE), not all of the loop's time. */
static int on_client(ae_loop *loop, int fd, int mask) {
    (void)loop;
    if (mask & AE_WRITABLE) {
        conn_write(fd);
        if (!(srv.conns[fd].state & C_OPEN)) return AE_DONE;
    }
    return mask & AE_READABLE ? conn_read(fd) : AE_DONE;
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
    if ((uint64_t)++srv.nconns > srv.stats.peak) srv.stats.peak = (uint64_t)srv.nconns;
    srv.stats.served++;
}

/* --- accepting ----------------------------------------------------------- */

static int on_accept(ae_loop *loop, int lfd, int mask);

/* Watch every listening socket for mask (AE_READABLE, or AE_NONE to stop
 * accepting). Returns -1 with errno if one could not be watched. */
static int watch_listeners(int mask) {
    for (int i = 0; i < srv.ls.count; i++)
        if (ae_watch(srv.loop, srv.ls.fd[i], mask, on_accept) == -1) return -1;
    return 0;
}

static void pause_accepting(int err) {
    long long now = ae_now_ms(srv.loop);
    watch_listeners(AE_NONE); /* cannot fail for watched descriptors */
    srv.accept_resume_at = now + PAUSE_MS;
    warn_limited(&srv.warned[WARN_PAUSED], now, "accept: %s; not accepting for a moment",
                 strerror(err));
}

/* Out of descriptors: the backlog cannot be accepted, and it keeps the
 * listener readable, which would make the loop spin. Free the reserve
 * descriptor, accept and close every waiting client (they see the
 * connection close instead of hanging), take the reserve back. Never retry
 * accept after it failed: Linux reports EMFILE before EAGAIN, so a retry
 * would loop forever (libuv b3ab332). */
static void shed_clients(int lfd, int err) {
    int stuck = 1;
    if (srv.reserve_fd != -1) {
        close(srv.reserve_fd);
        srv.reserve_fd = -1;
        for (;;) {
            net_addr peer;
            int fd = net_accept(lfd, &peer);
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
    warn_limited(&srv.warned[WARN_NO_FDS], ae_now_ms(srv.loop),
                 "out of file descriptors (%s): closing new clients at once", strerror(err));
    if (stuck || srv.reserve_fd == -1) pause_accepting(err);
}

static int on_accept(ae_loop *loop, int lfd, int mask) {
    (void)mask;
    for (;;) { /* drain the backlog */
        net_addr peer;
        int fd = net_accept(lfd, &peer);
        if (fd == -1) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) return AE_DONE;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
            if (err == EMFILE || err == ENFILE)
                shed_clients(lfd, err);
            else
                pause_accepting(err); /* ENOBUFS, ENOMEM: wait, do not spin */
            return AE_DONE;
        }
        if (srv.nconns >= srv.cfg->max_conns || fd >= srv.setsize) {
            close(fd);
            srv.stats.refused++;
            warn_limited(&srv.warned[WARN_MAX_CONNS], ae_now_ms(loop),
                         "-max-conns reached: closing new clients at once");
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
    if (srv.accept_resume_at && now >= srv.accept_resume_at && srv.ls.count > 0) {
        srv.accept_resume_at = 0;
        if (watch_listeners(AE_READABLE) == -1) pause_accepting(errno);
    }
    if (srv.idle_ms) close_idle(now);
}

static void before_sleep(ae_loop *loop) {
    long long now = ae_now_ms(loop), next = 0;
    log_flush(now);
    if (srv.stopping && srv.nconns == 0) { /* the shutdown is over */
        ae_stop(loop);
        return;
    }
    if (srv.idle_ms && srv.idle_head != -1) {
        uint32_t idle_for = (uint32_t)now - srv.idle[srv.idle_head].active_ms;
        next = now + (idle_for >= srv.idle_ms ? 0 : srv.idle_ms - idle_for);
    }
    if (srv.accept_resume_at && (next == 0 || srv.accept_resume_at < next))
        next = srv.accept_resume_at;
    if (srv.stopping && (next == 0 || srv.stop_deadline < next)) next = srv.stop_deadline;
    ae_set_deadline(loop, next, on_deadline);
}

/* A connection at shutdown: echo what has already arrived, but no more than
 * -max-pending (a client that keeps sending must not hold the shutdown up),
 * then close it once its echo is out. */
static void shutdown_drain(int fd) {
    conn *c = &srv.conns[fd];
    /* Each read takes at most read_size bytes, so this many take about
     * -max-pending at most. */
    size_t reads = (srv.max_pending + srv.read_size - 1) / srv.read_size;
    while (reads-- > 0 && (c->state & C_OPEN) && !(c->state & (C_CLOSING | C_PAUSED)) &&
           conn_read(fd) == AE_MORE) {
    }
    if (!(c->state & C_OPEN)) return;
    c->state |= C_CLOSING;
    if (buffer_len(c->out) == 0)
        conn_close(fd);
    else
        conn_update(fd);
}

/* Stop accepting and drain every connection; the loop stops once the last
 * one has closed (before_sleep), or when the grace period ends. A second
 * signal hurries. */
static void begin_shutdown(int signo) {
    srv.stats.signal = signo;
    if (srv.stopping) {
        close_all();
        ae_stop(srv.loop);
        return;
    }
    srv.stopping = 1;
    srv.stop_deadline = ae_now_ms(srv.loop) + GRACE_MS;
    watch_listeners(AE_NONE);
    net_close_listeners(&srv.ls);
    for (int fd = 0; fd <= srv.max_fd; fd++)
        if (srv.conns[fd].state & C_OPEN) shutdown_drain(fd);
}

/* "1h2m3s", "4m0s", "12s": the uptime, in Go's way of writing a duration. */
static void format_uptime(char *dst, size_t cap, long long ms) {
    long long s = ms / 1000, h = s / 3600, m = s / 60 % 60;
    if (h)
        snprintf(dst, cap, "%lldh%lldm%llds", h, m, s % 60);
    else if (m)
        snprintf(dst, cap, "%lldm%llds", m, s % 60);
    else
        snprintf(dst, cap, "%llds", s);
}

/* One line on stderr, on demand (SIGUSR1, or Ctrl-T where there is SIGINFO). */
static void print_status(void) {
    char up[32], rss[32];
    format_uptime(up, sizeof(up), ae_now_ms(srv.loop) - srv.started_ms);
    long long bytes = resources_resident();
    if (bytes < 0)
        snprintf(rss, sizeof(rss), "resident memory unknown");
    else
        snprintf(rss, sizeof(rss), "%.1f MiB resident", (double)bytes / (1024 * 1024));
    /* Descriptors: the server's own are the lowest numbers, the clients'
     * below max_fd + 1; a few more for what opened after the last client. */
    int fds = resources_descriptors(srv.max_fd + 64 < srv.setsize ? srv.max_fd + 64 : srv.setsize);
    fprintf(stderr,
            "parrot: status: up %s, %ld %s open (peak %llu), %llu served, %llu bytes echoed, "
            "%llu refused, %llu log %s dropped, %s, %d descriptors open\n",
            up, srv.nconns, srv.nconns == 1 ? "connection" : "connections",
            (unsigned long long)srv.stats.peak, (unsigned long long)srv.stats.served,
            (unsigned long long)srv.stats.bytes, (unsigned long long)srv.stats.refused,
            (unsigned long long)log_dropped(), log_dropped() == 1 ? "line" : "lines", rss, fds);
}

static void on_signal(ae_loop *loop, int signo) {
    (void)loop;
    if (signo == SIGHUP)
        log_reopen();
    else if (signo == SIGUSR1 || signo == STATUS_SIGNAL)
        print_status();
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
    /* Sockets a service manager passed, else our own. */
    int passed = activation_listeners(&srv.ls, why, why_cap);
    if (passed == -1) return -1;
    if (!passed && net_listen(cfg->host, (int)cfg->port, &srv.ls, why, why_cap) == -1) return -1;
    srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const char *step = "open /dev/null";
    if (srv.reserve_fd == -1) goto fail;
    step = "create the event loop";
    srv.loop = ae_create(setsize);
    if (srv.loop == NULL) goto fail;
    step = "allocate the connection tables";
    if (tables_alloc(setsize, srv.idle_ms != 0, log_enabled()) == -1) goto fail;
    srv.started_ms = ae_now_ms(srv.loop);
    step = "watch the listening socket";
    if (watch_listeners(AE_READABLE) == -1) goto fail;
    step = "watch signals";
    /* Before the listening line: a signal sent the moment it shows is not lost. */
    if (ae_watch_signal(srv.loop, SIGINT, on_signal) == -1 ||
        ae_watch_signal(srv.loop, SIGTERM, on_signal) == -1 ||
        ae_watch_signal(srv.loop, SIGHUP, on_signal) == -1 ||
        ae_watch_signal(srv.loop, SIGUSR1, on_signal) == -1 ||
        (STATUS_SIGNAL != SIGUSR1 && ae_watch_signal(srv.loop, STATUS_SIGNAL, on_signal) == -1))
        goto fail;
    ae_set_before_sleep(srv.loop, before_sleep);
    fprintf(stderr, "parrot: listening on %s port %d%s%s (%s)\n", srv.ls.where, srv.ls.port,
            srv.ls.families[0] ? ", " : "", srv.ls.families, ae_backend_name());
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
    net_close_listeners(&srv.ls);
    log_close();
    return rc;
}

const server_stats *server_stats_get(void) {
    return &srv.stats;
}
