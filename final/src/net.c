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
    ss.ss_family = AF_UNSPEC; /* macOS leaves it unset (len 0) for a client reset before accept */
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

/* The address to bind: numeric addresses are parsed directly; only a host
 * name goes through getaddrinfo (and the resolver code it pulls in, a
 * quarter of a megabyte of resident memory). Returns 0, or -1 with why. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                   char *why, size_t why_cap) {
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return 0;
    }
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
    /* The first answer, as Go's net.Listen takes it. */
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int net_listen(const char *host, int port, int *bound_port, char *addr_text, size_t addr_cap,
               char *why, size_t why_cap) {
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (resolve(host, port, &ss, &sslen, why, why_cap) == -1) return -1;
    char numeric[INET6_ADDRSTRLEN];
    const void *ip = ss.ss_family == AF_INET
                         ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                         : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (inet_ntop(ss.ss_family, ip, numeric, sizeof(numeric)) == NULL)
        snprintf(numeric, sizeof(numeric), "%s", host);
    const char *step = "socket";
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd != -1) {
        int one = 1, zero = 0;
        step = "setsockopt SO_REUSEADDR";
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) goto fail;
        /* "::" serves IPv4 too where the system allows it. OpenBSD refuses
         * (its IPv6 sockets are always IPv6-only); then "::" is IPv6 only. */
        if (ss.ss_family == AF_INET6)
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        step = "bind";
        if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) goto fail;
        step = "listen";
        if (listen(fd, LISTEN_BACKLOG) == -1) goto fail;
        step = "fcntl";
        if (net_set_nonblocking(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) goto fail;
        struct sockaddr_storage bound = {0}; /* a family even if getsockname said nothing */
        socklen_t len = sizeof(bound);
        step = "getsockname";
        if (getsockname(fd, (struct sockaddr *)&bound, &len) == -1) goto fail;
        net_addr a;
        to_net_addr(&bound, &a);
        *bound_port = a.port;
        snprintf(addr_text, addr_cap, "%s", numeric);
        return fd;
    }
fail:;
    int saved = errno;
    snprintf(why, why_cap, "cannot listen on %s port %d: %s: %s", numeric, port, step,
             strerror(saved));
    if (fd != -1) close(fd);
    errno = saved;
    return -1;
}
