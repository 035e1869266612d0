/*
 * net.c - the few socket calls Parrot makes, with the platform differences
 * kept here: accept4 where it exists (Linux), accept + fcntl elsewhere;
 * SO_NOSIGPIPE where it exists (macOS, BSD) on top of SIGPIPE being ignored.
 */
#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

/* The kernel caps this at its own limit (net.core.somaxconn on Linux,
 * kern.ipc.somaxconn on BSD and macOS); asking high lets it decide. */
#define LISTEN_BACKLOG 4096

static size_t put_uint(char *dst, unsigned v) {
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

size_t net_addr_format(char *dst, const net_addr *a) {
    size_t n = 0;
    if (a->family == 4) {
        /* By hand: this runs for every logged message. */
        for (int i = 0; i < 4; i++) {
            n += put_uint(dst + n, a->ip[i]);
            dst[n++] = i < 3 ? '.' : ':';
        }
    } else if (a->family == 6) {
        dst[n++] = '[';
        inet_ntop(AF_INET6, a->ip, dst + n, INET6_ADDRSTRLEN);
        n += strlen(dst + n);
        dst[n++] = ']';
        dst[n++] = ':';
    } else {
        dst[n++] = '-';
        dst[n] = '\0';
        return n;
    }
    n += put_uint(dst + n, a->port);
    dst[n] = '\0';
    return n;
}

static void to_net_addr(const struct sockaddr_storage *ss, net_addr *a) {
    memset(a, 0, sizeof(*a));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        a->family = 4;
        a->port = ntohs(sin->sin_port);
        memcpy(a->ip, &sin->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        a->port = ntohs(sin6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            a->family = 4;
            memcpy(a->ip, sin6->sin6_addr.s6_addr + 12, 4);
        } else {
            a->family = 6;
            memcpy(a->ip, &sin6->sin6_addr, 16);
        }
    }
}

int net_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1) return -1;
    return flags & O_NONBLOCK ? 0 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int net_accept(int lfd, net_addr *peer) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
#ifdef HAVE_ACCEPT4
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd == -1) return -1;
#else
    int fd = accept(lfd, (struct sockaddr *)&ss, &len);
    if (fd == -1) return -1;
    if (net_set_nonblocking(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
#endif
    int one = 1;
    /* Best effort: a client that is already gone makes these fail, and
     * its first read will say so. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    to_net_addr(&ss, peer);
    return fd;
}

int net_listen(const char *host, int port, int *bound_port, char *addr_text, size_t addr_cap,
               char *why, size_t why_cap) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, why_cap, "bad -host \"%s\": %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    const struct addrinfo *ai = res; /* the first answer, as Go's Listen does */
    char numeric[INET6_ADDRSTRLEN];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, numeric, sizeof(numeric), NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(numeric, sizeof(numeric), "%s", host);
    const char *step = "socket";
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd != -1) {
        int one = 1, zero = 0;
        step = "setsockopt SO_REUSEADDR";
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) goto fail;
        /* "::" serves IPv4 too where the system allows it. OpenBSD refuses
         * (its IPv6 sockets are always IPv6-only); then "::" is IPv6 only. */
        if (ai->ai_family == AF_INET6)
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        step = "bind";
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) goto fail;
        step = "listen";
        if (listen(fd, LISTEN_BACKLOG) == -1) goto fail;
        step = "fcntl";
        if (net_set_nonblocking(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) goto fail;
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        step = "getsockname";
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) goto fail;
        net_addr bound;
        to_net_addr(&ss, &bound);
        *bound_port = bound.port;
        snprintf(addr_text, addr_cap, "%s", numeric);
        freeaddrinfo(res);
        return fd;
    }
fail:;
    int saved = errno;
    snprintf(why, why_cap, "cannot listen on %s port %d: %s: %s", numeric, port, step,
             strerror(saved));
    if (fd != -1) close(fd);
    freeaddrinfo(res);
    errno = saved;
    return -1;
}
