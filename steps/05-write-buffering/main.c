#define _POSIX_C_SOURCE 200809L
/*
 * Parrot, step 05: never wait for a slow client.
 *
 * write() on a non-blocking socket takes only what the kernel has room
 * for. So each client gets a buffer of the bytes we owe it, and
 * EVFILT_WRITE says when it can take more: nobody waits for anybody. Nothing
 * limits that buffer yet: a client that never reads makes it grow and grow.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h> /* older BSDs want these two around <sys/event.h> */
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#define DEFAULT_PORT 1512
#define MAX_EVENTS   64          /* events taken from the kernel per kevent() call */
#define READ_SIZE    (16 * 1024) /* bytes asked of each read() */

/* One client. The kqueue gives this pointer back with every event (udata). */
struct conn {
    int fd;                   /* -1 once closed */
    int writing;              /* is its EVFILT_WRITE enabled? */
    char *buf;                /* bytes read from the client, not yet written back */
    size_t len;               /* how many there are */
    size_t cap;               /* how many fit before buf must grow */
    struct conn *next_closed; /* see close_conn() */
};

/* Clients closed during the current batch of events; freed after it. */
static struct conn *closed;

/* Report a failed system call the same way everywhere: name and reason. */
static void warn(const char *call) {
    fprintf(stderr, "parrot: %s: %s\n", call, strerror(errno));
}

static void die(const char *call) {
    warn(call);
    exit(1);
}

/* ./parrot [port]: the port is optional; 0 lets the kernel pick a free one. */
static int parse_port(int argc, char **argv) {
    if (argc == 1) return DEFAULT_PORT;
    char *end;
    errno = 0;
    long port = strtol(argv[1], &end, 10);
    if (argc > 2 || argv[1][0] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
        fprintf(stderr, "usage: parrot [port]   (port: 0..65535, default %d)\n", DEFAULT_PORT);
        exit(2);
    }
    return (int)port;
}

/* Open a TCP socket that accepts connections on every IPv4 address. */
static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1) die("socket");

    /* Without this, restarting right after a stop fails with "Address
     * already in use" while old connections linger in TIME_WAIT. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) die("setsockopt");

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) die("bind");
    if (listen(fd, SOMAXCONN) == -1) die("listen");

    /* With port 0 the kernel chose the port: ask which one. */
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1) die("getsockname");
    fprintf(stderr, "listening on port %d\n", ntohs(addr.sin_port));
    return fd;
}

/* From now on, calls on fd return at once instead of waiting: with EAGAIN
 * (or its old name EWOULDBLOCK) when there is nothing to do yet. */
static void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) die("fcntl");
}

/* Did the call fail only because it would have had to wait (or a signal
 * interrupted it)? Then there is nothing wrong: just try again later. */
static int would_block(void) {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Add, change or remove one entry in the kqueue: "tell me when filter
 * happens on fd". flags is EV_ADD, EV_DELETE, EV_ENABLE or EV_DISABLE.
 * udata comes back with every event for this entry. */
static int watch(int kq, int fd, int filter, int flags, void *udata) {
    struct kevent change;
    EV_SET(&change, fd, filter, flags, 0, 0, udata);
    return kevent(kq, &change, 1, NULL, 0, NULL);
}

/* The listener is readable: take every client waiting in the backlog (not
 * just one: the others would cost a kevent() call each) and watch each. */
static void accept_clients(int kq, int listener) {
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client == -1) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors. On Linux and FreeBSD the waiting client
                 * stays in the backlog (macOS drops it instead), and while
                 * any client waits the listener stays readable: watching it
                 * now would wake us again at once, forever (a 100% CPU
                 * spin). Stop watching it until a client leaves and frees a
                 * descriptor. */
                warn("accept");
                if (watch(kq, listener, EVFILT_READ, EV_DISABLE, NULL) == -1) die("kevent");
            } else if (!would_block() && errno != ECONNABORTED) {
                warn("accept");
            }
            return; /* backlog empty (EAGAIN), or nothing more we can do now */
        }
        set_nonblocking(client); /* Linux does not copy O_NONBLOCK from the listener */
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            warn("calloc");
            close(client);
            continue;
        }
        c->fd = client;
        /* Watch both directions; writing stays disabled until we owe something. */
        if (watch(kq, client, EVFILT_READ, EV_ADD, c) == -1 ||
            watch(kq, client, EVFILT_WRITE, EV_ADD | EV_DISABLE, c) == -1) {
            warn("kevent");
            close(client);
            free(c);
        }
    }
}

/* The client sent something: read it onto the end of c->buf, which
 * doubles when less than READ_SIZE is free. Returns -1 when the client is
 * done (it hung up, or failed). */
static int on_readable(struct conn *c) {
    if (c->cap - c->len < READ_SIZE) {
        size_t cap = c->cap == 0 ? READ_SIZE : 2 * c->cap;
        char *buf = realloc(c->buf, cap);
        if (buf == NULL) {
            warn("realloc");
            return -1;
        }
        c->buf = buf;
        c->cap = cap;
    }
    ssize_t n = read(c->fd, c->buf + c->len, READ_SIZE);
    if (n == 0) return -1; /* hung up: closed at once, even if we still owe it bytes */
    if (n == -1) {
        if (would_block()) return 0; /* a false alarm: wait for the next event */
        warn("read");
        return -1;
    }
    c->len += (size_t)n;
    return 0;
}

/* Write as much of what we owe as the client's socket takes right now.
 * Returns -1 if the client is gone (EPIPE, ECONNRESET, ...). */
static int flush(struct conn *c) {
    size_t sent = 0;
    while (sent < c->len) {
        ssize_t n = write(c->fd, c->buf + sent, c->len - sent);
        if (n == -1) {
            if (would_block()) break; /* its buffer is full: EVFILT_WRITE says when not */
            warn("write");
            return -1;
        }
        sent += (size_t)n;
    }
    if (sent > 0) { /* keep the rest, at the front */
        c->len -= sent;
        memmove(c->buf, c->buf + sent, c->len);
    }
    return 0;
}

/* Tell the kernel what we wait for next, given what c owes: wait for
 * "writable" only while it owes anything (a socket is writable almost
 * always: watching it for nothing would wake us for nothing). */
static int update(int kq, struct conn *c) {
    int want_write = c->len > 0;
    if (want_write != c->writing) {
        if (watch(kq, c->fd, EVFILT_WRITE, want_write ? EV_ENABLE : EV_DISABLE, c) == -1) return -1;
        c->writing = want_write;
    }
    return 0;
}

/* kevent() reports read and write separately, so an event later in this
 * same batch may still point at c. Close the socket now, but only mark c
 * as closed (fd -1) and free it after the batch. */
static void close_conn(int kq, int listener, struct conn *c) {
    close(c->fd); /* this also removes it from the kqueue */
    c->fd = -1;
    c->next_closed = closed;
    closed = c;
    /* A descriptor is free again: if accepting was paused for lack of
     * one, resume (enabling an enabled event is harmless). */
    if (watch(kq, listener, EVFILT_READ, EV_ENABLE, NULL) == -1) die("kevent");
}

static void free_closed(void) {
    while (closed != NULL) {
        struct conn *c = closed;
        closed = c->next_closed;
        free(c->buf);
        free(c);
    }
}

/* One event for client c, in order: if it is readable, read; then,
 * whichever event it was, send what we owe and tell the kernel what to
 * wait for next. Returns -1 when the client is done: it hung up, or a
 * call failed. (A hang-up shows as EV_EOF in the event's flags, but data
 * sent before it may still wait: we read on until read() returns 0.) */
static int serve(int kq, struct conn *c, int filter) {
    if (filter == EVFILT_READ) {
        if (on_readable(c) == -1) return -1;
    }
    if (flush(c) == -1) return -1;
    return update(kq, c);
}

int main(int argc, char **argv) {
    int port = parse_port(argc, argv);

    /* Writing to a client that has gone away raises SIGPIPE, which kills
     * the process by default. Ignore it: write() then fails instead, with
     * EPIPE (on Linux, ECONNRESET first if the client reset the connection). */
    signal(SIGPIPE, SIG_IGN);

    int listener = listen_on(port);
    set_nonblocking(listener);

    /* The kqueue holds what we wait for. A listening socket is "readable"
     * when a client is waiting to be accepted. */
    int kq = kqueue();
    if (kq == -1) die("kqueue");
    if (watch(kq, listener, EVFILT_READ, EV_ADD, NULL) == -1) die("kevent");

    for (;;) {
        /* Sleep until something we watch is ready; NULL means no timeout.
         * n events come back, one per ready (descriptor, filter). */
        struct kevent events[MAX_EVENTS];
        int n = kevent(kq, NULL, 0, events, MAX_EVENTS, NULL);
        if (n == -1) {
            if (errno == EINTR) continue;
            die("kevent");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].udata; /* NULL for the listener */
            if (c == NULL) {
                accept_clients(kq, listener);
                continue;
            }
            if (c->fd == -1) continue; /* closed earlier in this batch */
            if (serve(kq, c, events[i].filter) == -1) close_conn(kq, listener, c);
        }
        free_closed();
    }
}
