#define _POSIX_C_SOURCE 200809L
/*
 * Parrot, step 03: an echo server that sleeps in kevent().
 *
 * Instead of asking every socket again and again whether it is ready, the
 * program hands the kernel a list of what it waits for (a kqueue) and
 * sleeps in kevent() until one of those things happens. Idle, it uses no
 * CPU at all. It still serves one client at a time.
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
        /* Sleep until something we watch is ready; NULL means no timeout. */
        struct kevent event;
        if (kevent(kq, NULL, 0, &event, 1, NULL) == -1) {
            if (errno == EINTR) continue;
            die("kevent");
        }
        int fd = (int)event.ident;
        if (fd == listener) {
            int client = accept(listener, NULL, NULL);
            if (client == -1) {
                if (!would_block()) warn("accept");
                continue; /* the client gave up before we took it */
            }
            set_nonblocking(client); /* Linux does not copy O_NONBLOCK from the listener */
            /* Still one client at a time: stop watching the listener (the
             * next clients wait in the backlog) and watch this client. */
            if (watch(kq, listener, EVFILT_READ, EV_DISABLE) == -1) die("kevent");
            if (watch(kq, client, EVFILT_READ, EV_ADD) == -1) die("kevent");
        } else if (echo(fd) == -1) {
            close(fd); /* this also removes fd from the kqueue */
            if (watch(kq, listener, EVFILT_READ, EV_ENABLE) == -1) die("kevent");
        }
    }
}
