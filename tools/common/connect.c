/*
 * connect.c - see connect.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int connect_resolve(const char *host, long long port, struct addrinfo **out) {
    char service[24];
    snprintf(service, sizeof service, "%lld", port);
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    return getaddrinfo(host, service, &hints, out);
}

/* The socket's set-up failed at call: close it, keeping errno for the caller's message. */
static int give_up(int fd, const char **call, const char *name) {
    int saved = errno;
    close(fd);
    errno = saved;
    *call = name;
    return -1;
}

int connect_socket(const struct addrinfo *ai, const char **call) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        *call = "socket";
        return -1;
    }
    /* fcntl, not SOCK_NONBLOCK: macOS has no SOCK_NONBLOCK. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return give_up(fd, call, "fcntl O_NONBLOCK");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        return give_up(fd, call, "setsockopt TCP_NODELAY");
    return fd;
}

int connect_start(int fd, const struct addrinfo *ai) {
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return 1;
    /* EINTR: the connect goes on in the background, as with EINPROGRESS (POSIX). */
    if (errno == EINPROGRESS || errno == EINTR) return 0;
    return -1;
}

int connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

int connect_allow(unsigned long long conns, unsigned long long *hard, const char **call) {
    rlim_t need = (rlim_t)(conns + CONNECT_FD_RESERVE);
    struct rlimit rl;
    *call = "getrlimit RLIMIT_NOFILE";
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        *call = NULL;
        *hard = (unsigned long long)rl.rlim_max;
        return -1;
    }
    rl.rlim_cur = need;
    *call = "setrlimit RLIMIT_NOFILE";
    return setrlimit(RLIMIT_NOFILE, &rl);
}
