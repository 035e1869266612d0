#define _POSIX_C_SOURCE 200809L
/*
 * Parrot, step 09: a clean stop.
 *
 * SIGINT (Ctrl-C) and SIGTERM arrive through the kqueue like any other
 * event: the server stops accepting, sends every client the bytes it still
 * owes it (for up to a few seconds), closes everything and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h> /* older BSDs want these two around <sys/event.h> */
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PORT 1512
#define MAX_EVENTS   64                  /* events taken from the kernel per kevent() call */
#define READ_SIZE    (16 * 1024)         /* bytes asked of each read() */
#define HIGH_WATER   (32 * 1024)         /* owing this much, stop reading from it */
#define GRACE_MS     3000                /* after a signal: time to finish */
#define LOG_CUT      256                 /* bytes of a message shown in its log line */
#define LOG_LINE_MAX (4 * LOG_CUT + 128) /* a byte escapes to at most 4 characters */

/* One client. The kqueue gives this pointer back with every event (udata). */
struct conn {
    int fd;                   /* -1 once closed */
    int eof;                  /* the client has finished sending (read returned 0) */
    int reading;              /* is its EVFILT_READ enabled? */
    int writing;              /* is its EVFILT_WRITE enabled? */
    int shut;                 /* stopping: we sent our FIN (shutdown) */
    char *buf;                /* bytes read from the client, not yet written back */
    size_t len;               /* how many there are */
    size_t cap;               /* how many fit before buf must grow */
    struct conn *prev, *next; /* in the list of open clients */
    struct conn *next_closed; /* see close_conn() */
    /* "address:port" of the client, for the log */
    char peer[INET6_ADDRSTRLEN + 8];
};

/* Every open client, oldest first, so that stop() can reach them all. */
static struct conn *first_conn, *last_conn;

/* A signal came: accept no more, finish writing, then exit. */
static int stopping;

/* Clients closed during the current batch of events; freed after it. */
static struct conn *closed;

/* Log lines collected during the current batch, written at its end. */
static char log_buf[64 * 1024];
static size_t log_len;
static int log_broken; /* writing to stdout failed: stop logging */

/* Report a failed system call the same way everywhere: name and reason. */
static void warn(const char *call) {
    fprintf(stderr, "parrot: %s: %s\n", call, strerror(errno));
}

static void die(const char *call) {
    warn(call);
    exit(1);
}

static void usage(const char *prog) {
    fprintf(stderr,
            "Usage of %s:\n"
            "  -port int\n"
            "    \tport to listen on, 0 picks a free one (default %d)\n",
            prog, DEFAULT_PORT);
}

/* A mistake on the command line: one line in Go's words, the usage, exit 2. */
static void usage_error(const char *prog, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(prog);
    exit(2);
}

static int is_flag(const char *name, size_t len, const char *flag) {
    return strlen(flag) == len && strncmp(name, flag, len) == 0;
}

/* The value of -port: a whole number from 0 (the kernel picks a free port)
 * to 65535. */
static int parse_port(const char *prog, const char *value) {
    char *end;
    errno = 0;
    long port = strtol(value, &end, 10);
    /* strtol skips leading blanks; Go's ParseInt does not, and neither do we. */
    if (value[0] == '\0' || strspn(value, " \t\n\v\f\r") > 0 || *end != '\0')
        usage_error(prog, "invalid value \"%s\" for flag -port: parse error", value);
    if (errno == ERANGE || port < 0 || port > 65535)
        usage_error(prog, "invalid value \"%s\" for flag -port: value out of range", value);
    return (int)port;
}

/* Flags as Go's flag package reads them: one or two dashes, the value
 * after "=" or in the next argument: -port 1512, -port=1512, --port 1512.
 * -h or -help prints the usage and exits 0. Returns the port. */
static int parse_flags(int argc, char **argv) {
    const char *prog = argv[0];
    int port = DEFAULT_PORT;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') usage_error(prog, "unexpected argument: %s", arg);
        const char *name = arg[1] == '-' ? arg + 2 : arg + 1;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=')
            usage_error(prog, "bad flag syntax: %s", arg);
        const char *equals = strchr(name, '=');
        size_t len = equals != NULL ? (size_t)(equals - name) : strlen(name);

        if (is_flag(name, len, "h") || is_flag(name, len, "help")) {
            usage(prog);
            exit(0);
        }
        if (!is_flag(name, len, "port"))
            usage_error(prog, "flag provided but not defined: -%.*s", (int)len, name);
        if (equals == NULL && i + 1 == argc)
            usage_error(prog, "flag needs an argument: -%.*s", (int)len, name);
        const char *value = equals != NULL ? equals + 1 : argv[++i];
        port = parse_port(prog, value);
    }
    return port;
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

/* "203.0.113.7:50432", or "[2001:db8::7]:50432" for IPv6. */
static void format_peer(const struct sockaddr_storage *addr, char *out, size_t size) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, size, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, size, "%s:%d", ip, ntohs(a->sin_port));
    }
}

/* Write the collected log lines to stdout, many lines per write(). stdout
 * stays blocking: if whoever reads our log is slow, the server waits for
 * it, but memory stays bounded. */
static void log_flush(void) {
    size_t done = 0;
    while (done < log_len && !log_broken) {
        ssize_t n = write(STDOUT_FILENO, log_buf + done, log_len - done);
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) {
            warn("write to stdout (logging stops)");
            log_broken = 1;
        } else {
            done += (size_t)n;
        }
    }
    log_len = 0;
}

/* Append byte b to a log line at p, escaped so that no message can put a
 * raw newline or quote into the log: printable ASCII as itself, quote and
 * backslash with a backslash, \n \r \t, anything else as \xNN. Returns the
 * new end of the line. */
static char *escape_byte(char *p, unsigned char b) {
    static const char special[] = "\"\\\n\r\t", letter[] = "\"\\nrt", hex[] = "0123456789abcdef";
    for (int i = 0; special[i] != '\0'; i++) {
        if (b == (unsigned char)special[i]) {
            *p++ = '\\';
            *p++ = letter[i];
            return p;
        }
    }
    if (b >= 0x20 && b < 0x7f) {
        *p++ = (char)b;
    } else {
        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[b >> 4];
        *p++ = hex[b & 0xf];
    }
    return p;
}

/* One line per chunk received, Common Log Format style:
 *   127.0.0.1:50432 - - [26/Nov/2026:23:12:15 +0000] "hello\n" 6
 * The two dashes are CLF's identity and user fields, which we do not know.
 * Only the first LOG_CUT bytes are shown; "..." marks a cut. */
static void log_message(const struct conn *c, const char *msg, size_t len) {
    if (log_broken) return;
    if (sizeof log_buf - log_len < LOG_LINE_MAX) log_flush(); /* no room for one more line */

    char stamp[64];
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    strftime(stamp, sizeof stamp, "%d/%b/%Y:%H:%M:%S %z", &local);

    char *p = log_buf + log_len;
    p += snprintf(p, LOG_LINE_MAX, "%s - - [%s] \"", c->peer, stamp);
    for (size_t i = 0; i < len && i < LOG_CUT; i++)
        p = escape_byte(p, (unsigned char)msg[i]);
    p += snprintf(p, 32, "%s\" %zu\n", len > LOG_CUT ? "..." : "", len);
    log_len = (size_t)(p - log_buf);
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

/* Put c at the end of the list of open clients. */
static void list_append(struct conn *c) {
    c->prev = last_conn;
    c->next = NULL;
    if (last_conn != NULL)
        last_conn->next = c;
    else
        first_conn = c;
    last_conn = c;
}

/* Take c out of the list of open clients. */
static void list_remove(struct conn *c) {
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        first_conn = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        last_conn = c->prev;
}

/* The listener is readable: take every client waiting in the backlog (not
 * just one: the others would cost a kevent() call each) and watch each. */
static void accept_clients(int kq, int listener) {
    for (;;) {
        struct sockaddr_storage addr; /* who is calling: for the log */
        socklen_t addr_len = sizeof addr;
        int client = accept(listener, (struct sockaddr *)&addr, &addr_len);
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
        c->reading = 1;
        format_peer(&addr, c->peer, sizeof c->peer);
        /* Watch both directions; writing stays disabled until we owe something. */
        if (watch(kq, client, EVFILT_READ, EV_ADD, c) == -1 ||
            watch(kq, client, EVFILT_WRITE, EV_ADD | EV_DISABLE, c) == -1) {
            warn("kevent");
            close(client);
            free(c);
            continue;
        }
        list_append(c);
    }
}

/* The client sent something: read it onto the end of c->buf, which
 * doubles when less than READ_SIZE is free. Returns -1 if the connection
 * failed. */
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
    if (n > 0) {
        if (stopping) return 0; /* read, and dropped: see stop() */
        log_message(c, c->buf + c->len, (size_t)n);
        c->len += (size_t)n;
    } else if (n == 0) {
        c->eof = 1; /* it will send no more, but we may still owe it bytes */
    } else if (!would_block()) {
        warn("read");
        return -1;
    }
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

/* Stopping: once the client has every byte we owe it, shutdown() sends our
 * FIN after them, so it reads them all and then EOF. */
static int send_fin(struct conn *c) {
    if (c->len > 0 || c->shut) return 0;
    c->shut = 1;
    if (shutdown(c->fd, SHUT_WR) == -1) {
        warn("shutdown");
        return -1;
    }
    return 0;
}

/* Tell the kernel what we wait for next, given what c owes: read only while
 * it owes less than HIGH_WATER, wait for "writable" only while it owes
 * anything (a socket is writable almost always: watching it for nothing
 * would wake us for nothing). */
static int update(int kq, struct conn *c) {
    int want_read = !c->eof && (stopping || c->len < HIGH_WATER);
    int want_write = c->len > 0;
    if (want_read != c->reading) {
        if (watch(kq, c->fd, EVFILT_READ, want_read ? EV_ENABLE : EV_DISABLE, c) == -1) return -1;
        c->reading = want_read;
    }
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
    list_remove(c);
    c->next_closed = closed;
    closed = c;
    /* A descriptor is free again: if accepting was paused for lack of
     * one, resume (enabling an enabled event is harmless). */
    if (!stopping && watch(kq, listener, EVFILT_READ, EV_ENABLE, NULL) == -1) die("kevent");
}

/* SIGINT or SIGTERM. Close the listener: new clients are refused. Every
 * client gets what we owe it, then our FIN. What clients send from now on
 * is read and dropped: that is how we see a client close in its turn, and
 * it leaves no unread input, which would make close() send a reset (RST)
 * on Linux, destroying echoes still on their way. A client is closed when
 * it closes too; after GRACE_MS, all are. */
static void stop(int kq, int listener) {
    if (stopping) {
        fprintf(stderr, "parrot: second signal: quitting without finishing\n");
        exit(1);
    }
    fprintf(stderr, "parrot: stopping (a second signal quits at once)\n");
    stopping = 1;
    close(listener);
    struct kevent timer;
    EV_SET(&timer, 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, GRACE_MS, NULL);
    if (kevent(kq, &timer, 1, NULL, 0, NULL) == -1) die("kevent");
    for (struct conn *c = first_conn, *next; c != NULL; c = next) {
        next = c->next;
        if (send_fin(c) == -1 || update(kq, c) == -1) close_conn(kq, listener, c);
    }
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
 * whichever event it was, send what we owe, our FIN once it is all sent
 * if we are stopping, and tell the kernel what to wait for next. Returns
 * -1 when the client is done: a call failed, or it hung up and has every
 * byte it is owed. (A hang-up shows as EV_EOF in the event's flags, but
 * data sent before it may still wait: we read on until read() returns 0.) */
static int serve(int kq, struct conn *c, int filter) {
    if (filter == EVFILT_READ) {
        if (on_readable(c) == -1) return -1;
    }
    if (flush(c) == -1) return -1;
    if (c->eof && c->len == 0) return -1;
    if (stopping && send_fin(c) == -1) return -1;
    return update(kq, c);
}

int main(int argc, char **argv) {
    int port = parse_flags(argc, argv);

    /* Writing to a client that has gone away raises SIGPIPE, which kills
     * the process by default. Ignore it: write() then fails instead, with
     * EPIPE (on Linux, ECONNRESET first if the client reset the connection). */
    signal(SIGPIPE, SIG_IGN);
    /* SIGINT and SIGTERM must not kill us either: we want to hear about
     * them from kevent() (EVFILT_SIGNAL sees even ignored signals). */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);

    /* The kqueue holds what we wait for. Watch the signals before
     * listen_on() says we are listening: whoever reads that line may send
     * one at once, and a signal that is ignored but not yet watched is
     * lost. */
    int kq = kqueue();
    if (kq == -1) die("kqueue");
    if (watch(kq, SIGINT, EVFILT_SIGNAL, EV_ADD, NULL) == -1) die("kevent");
    if (watch(kq, SIGTERM, EVFILT_SIGNAL, EV_ADD, NULL) == -1) die("kevent");

    int listener = listen_on(port);
    set_nonblocking(listener);

    /* A listening socket is "readable" when a client is waiting to be
     * accepted. */
    if (watch(kq, listener, EVFILT_READ, EV_ADD, NULL) == -1) die("kevent");

    while (!stopping || first_conn != NULL) {
        /* Sleep until something we watch is ready; NULL means no timeout.
         * n events come back, one per ready (descriptor, filter). */
        struct kevent events[MAX_EVENTS];
        int n = kevent(kq, NULL, 0, events, MAX_EVENTS, NULL);
        if (n == -1) {
            if (errno == EINTR) continue;
            die("kevent");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].filter == EVFILT_SIGNAL) {
                stop(kq, listener);
                continue;
            }
            if (events[i].filter == EVFILT_TIMER) { /* GRACE_MS after stop() */
                fprintf(stderr, "parrot: closing the clients that did not finish in time\n");
                while (first_conn != NULL)
                    close_conn(kq, listener, first_conn);
                continue;
            }
            struct conn *c = events[i].udata; /* NULL for the listener */
            if (c == NULL) {
                if (!stopping) accept_clients(kq, listener);
                continue;
            }
            if (c->fd == -1) continue; /* closed earlier in this batch */
            if (serve(kq, c, events[i].filter) == -1) close_conn(kq, listener, c);
        }
        free_closed();
        log_flush(); /* once per batch, not once per line */
    }
    close(kq);
    fprintf(stderr, "parrot: stopped\n");
    return 0;
}
