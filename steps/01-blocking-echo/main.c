#define _POSIX_C_SOURCE 200809L
/*
 * Parrot, step 01: a blocking echo server.
 *
 * Listen on a TCP port, take one client, send back every byte it sends
 * until it hangs up, then take the next client. Every call here blocks:
 * the program waits inside accept() until someone connects and inside
 * read() until that someone speaks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* write() may take fewer bytes than asked (a short write): loop until all
 * are gone. Returns 0, or -1 if the client is gone. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1) {
            if (errno == EINTR) continue;
            warn("write");
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Echo until the client hangs up (read returns 0) or fails. */
static void serve(int client) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(client, buf, sizeof buf);
        if (n == 0) return;
        if (n == -1) {
            if (errno == EINTR) continue;
            warn("read");
            return;
        }
        if (write_all(client, buf, (size_t)n) == -1) return;
    }
}

int main(int argc, char **argv) {
    int port = parse_port(argc, argv);

    /* Writing to a client that has gone away raises SIGPIPE, which kills
     * the process by default. Ignore it: write() then fails instead, with
     * EPIPE (on Linux, ECONNRESET first if the client reset the connection). */
    signal(SIGPIPE, SIG_IGN);

    int listener = listen_on(port);
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client == -1) {
            warn("accept");
            continue;
        }
        serve(client);
        close(client);
    }
}
