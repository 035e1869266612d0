#define _POSIX_C_SOURCE 200809L
/*
 * Parrot, step 04: many clients at once.
 *
 * Every accepted client goes into the kqueue, and one kevent() call can
 * report several ready sockets. The loop handles each in turn, a little
 * work per event, so every client gets served. One thread, no fork.
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
#define MAX_EVENTS   64 /* events taken from the kernel per kevent() call */

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
 * happens on fd". flags is EV_ADD, EV_DELETE, EV_ENABLE or EV_DISABLE. */
static int watch(int kq, int fd, int filter, int flags) {
    struct kevent change;
    EV_SET(&change, fd, filter, flags, 0, 0, NULL);
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
                if (watch(kq, listener, EVFILT_READ, EV_DISABLE) == -1) die("kevent");
            } else if (!would_block() && errno != ECONNABORTED) {
                warn("accept");
            }
            return; /* backlog empty (EAGAIN), or nothing more we can do now */
        }
        set_nonblocking(client); /* Linux does not copy O_NONBLOCK from the listener */
        if (watch(kq, client, EVFILT_READ, EV_ADD) == -1) {
            warn("kevent");
            close(client);
        }
    }
}

/* write() may take fewer bytes than asked (a short write): loop until all
 * are gone. Returns 0, or -1 if the client is gone. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1) {
            if (would_block()) continue; /* the client's buffer is full: try again */
            warn("write");
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* kevent() said the client sent something: read it once and send it
 * back. Returns -1 when the client is done (it hung up, or failed). */
static int echo(int client) {
    char buf[4096];
    ssize_t n = read(client, buf, sizeof buf);
    if (n == 0) return -1;
    if (n == -1) {
        if (would_block()) return 0; /* a false alarm: wait for the next event */
        warn("read");
        return -1;
    }
    return write_all(client, buf, (size_t)n);
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
    if (watch(kq, listener, EVFILT_READ, EV_ADD) == -1) die("kevent");

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
            int fd = (int)events[i].ident;
            if (fd == listener) {
                accept_clients(kq, listener);
            } else if (echo(fd) == -1) {
                /* Only this client is done. (A hang-up shows as EV_EOF in
                 * events[i].flags, but data sent before it may still wait:
                 * echo() keeps reading until read() returns 0.) */
                close(fd); /* this also removes fd from the kqueue */
                /* A descriptor is free again: if accepting was paused for
                 * lack of one, resume (enabling an enabled event is harmless). */
                if (watch(kq, listener, EVFILT_READ, EV_ENABLE) == -1) die("kevent");
            }
        }
    }
}
