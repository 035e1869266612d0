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

/* One listening socket for the address in ss: SO_REUSEADDR, IPv6-only or
 * not as v6only says (for an IPv6 address), bound, listening, non-blocking,
 * close-on-exec. Returns it, or -1 with errno and *step naming the call. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len, int v6only,
                     const char **step) {
    *step = "socket";
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd == -1) return -1;
    int one = 1;
    *step = "setsockopt SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) goto fail;
    if (ss->ss_family == AF_INET6) {
        *step = "setsockopt IPV6_V6ONLY";
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1) goto fail;
    }
    *step = "bind";
    if (bind(fd, (const struct sockaddr *)ss, len) == -1) goto fail;
    *step = "listen";
    if (listen(fd, LISTEN_BACKLOG) == -1) goto fail;
    *step = "fcntl";
    if (net_set_nonblocking(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* The port a listening socket is bound to (what port 0 picked). */
static int bound_port(int fd) {
    struct sockaddr_storage ss = {0}; /* a family even if getsockname said nothing */
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) return -1;
    net_addr a;
    to_net_addr(&ss, &a);
    return a.port;
}

static void wildcard(int family, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
    }
}

/* IPv6 is missing from this system (or turned off): serve IPv4 alone. */
static int no_ipv6(int err) {
    return err == EAFNOSUPPORT || err == EPROTONOSUPPORT || err == EADDRNOTAVAIL;
}

/* Every address, both families, as Go's net.Listen("tcp", ":port") does:
 * one IPv6 socket that also takes IPv4 (IPV6_V6ONLY off) where the system
 * allows it; where it does not (OpenBSD), an IPv6-only socket beside an
 * IPv4 one on the same port; IPv4 alone on a system without IPv6. */
static int listen_everywhere(int port, net_listeners *ls, const char **step) {
    struct sockaddr_storage ss;
    socklen_t len;
    wildcard(AF_INET6, port, &ss, &len);
    int fd = listen_on(&ss, len, 0, step);
    if (fd != -1) {
        ls->fd[ls->count++] = fd;
        snprintf(ls->where, sizeof(ls->where), "every address");
        snprintf(ls->families, sizeof(ls->families), "IPv6 and IPv4");
        return 0;
    }
    if (no_ipv6(errno)) {
        wildcard(AF_INET, port, &ss, &len);
        if ((fd = listen_on(&ss, len, 0, step)) == -1) return -1;
        ls->fd[ls->count++] = fd;
        snprintf(ls->where, sizeof(ls->where), "every address");
        snprintf(ls->families, sizeof(ls->families), "IPv4 only: no IPv6 here");
        return 0;
    }
    if (strcmp(*step, "setsockopt IPV6_V6ONLY") != 0) return -1;
    /* Dual-stack refused: two sockets, the IPv4 one on the port the IPv6 one
     * got. With port 0 that port can be taken for IPv4 already: try anew. */
    for (int attempt = 0; attempt < 8; attempt++) {
        wildcard(AF_INET6, port, &ss, &len);
        int v6 = listen_on(&ss, len, 1, step);
        if (v6 == -1) return -1;
        int got = bound_port(v6);
        wildcard(AF_INET, got, &ss, &len);
        int v4 = got == -1 ? -1 : listen_on(&ss, len, 0, step);
        if (v4 != -1) {
            ls->fd[ls->count++] = v6;
            ls->fd[ls->count++] = v4;
            snprintf(ls->where, sizeof(ls->where), "every address");
            snprintf(ls->families, sizeof(ls->families), "IPv6 and IPv4, two sockets");
            return 0;
        }
        int saved = errno;
        close(v6);
        errno = saved;
        if (port != 0 || saved != EADDRINUSE) return -1;
    }
    return -1;
}

int net_listen(const char *host, int port, net_listeners *ls, char *why, size_t why_cap) {
    memset(ls, 0, sizeof(*ls));
    const char *step = "socket";
    const char *shown = host[0] ? host : "every address";
    if (host[0] == '\0') {
        if (listen_everywhere(port, ls, &step) == -1) goto fail;
    } else {
        struct sockaddr_storage ss;
        socklen_t sslen;
        if (resolve(host, port, &ss, &sslen, why, why_cap) == -1) return -1;
        const void *ip = ss.ss_family == AF_INET
                             ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                             : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (inet_ntop(ss.ss_family, ip, ls->where, sizeof(ls->where)) == NULL)
            snprintf(ls->where, sizeof(ls->where), "%s", host);
        shown = ls->where;
        /* "::" serves IPv4 too where the system allows it, as Go's does. */
        int fd = listen_on(&ss, sslen, 0, &step);
        if (fd == -1 && ss.ss_family == AF_INET6 && strcmp(step, "setsockopt IPV6_V6ONLY") == 0)
            fd = listen_on(&ss, sslen, 1, &step); /* OpenBSD: IPv6 sockets are IPv6-only */
        if (fd == -1) goto fail;
        ls->fd[ls->count++] = fd;
    }
    step = "getsockname";
    if ((ls->port = bound_port(ls->fd[0])) == -1) goto fail;
    return 0;
fail:;
    int saved = errno;
    snprintf(why, why_cap, "cannot listen on %s port %d: %s: %s", shown, port, step,
             strerror(saved));
    net_close_listeners(ls);
    errno = saved;
    return -1;
}

int net_describe_listener(int fd, net_listeners *ls) {
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) return -1;
    net_addr a;
    to_net_addr(&ss, &a);
    ls->port = a.port;
    int family = a.family == 6 ? AF_INET6 : AF_INET;
    if (a.family == 0 || inet_ntop(family, a.ip, ls->where, sizeof(ls->where)) == NULL)
        snprintf(ls->where, sizeof(ls->where), "?");
    return 0;
}

void net_close_listeners(net_listeners *ls) {
    for (int i = 0; i < ls->count; i++)
        close(ls->fd[i]);
    ls->count = 0;
}
