/*
 * net.h - sockets: the listening socket, accepting clients, and a compact
 * form of a client's address (kept per connection for the log, which
 * formats it: clf.h).
 */
#ifndef PARROT_NET_H
#define PARROT_NET_H

#include <stddef.h>
#include <stdint.h>

/* A peer address in 20 bytes instead of a 128-byte sockaddr_storage.
 * IPv4-mapped IPv6 peers (from a dual-stack "::" listener) are stored as
 * IPv4, so they log as 127.0.0.1:port, not [::ffff:127.0.0.1]:port. */
typedef struct net_addr {
    uint8_t family; /* 4 or 6; 0 = unknown */
    uint8_t unused;
    uint16_t port;  /* host byte order */
    uint8_t ip[16]; /* IPv4 in the first 4 bytes */
} net_addr;

/* The sockets a server listens on: one, or two where a system cannot serve
 * both families on one (and a service manager may hand over several). */
#define NET_MAX_LISTENERS 8
typedef struct net_listeners {
    int fd[NET_MAX_LISTENERS];
    int count;
    int port;          /* the first socket's port (what port 0 picked) */
    char where[64];    /* "every address", or the numeric address */
    char families[40]; /* "IPv6 and IPv4", ... ; "" when it goes without saying */
} net_listeners;

/* Listen on host:port. An empty host is every address, IPv6 and IPv4, as
 * Go's net.Listen("tcp", ":port"). On failure returns -1 and writes one
 * line naming the cause into why (e.g. "cannot listen on every address
 * port 80: bind: Permission denied"). */
int net_listen(const char *host, int port, net_listeners *ls, char *why, size_t why_cap);
void net_close_listeners(net_listeners *ls);

/* Set ls->where and ls->port from a listening socket's own address. */
int net_describe_listener(int fd, net_listeners *ls);

/* Accept one client: non-blocking, close-on-exec, TCP_NODELAY, and (where
 * the system has it) SO_NOSIGPIPE. Returns the descriptor, or -1 with errno
 * from accept (EAGAIN when the backlog is empty). */
int net_accept(int lfd, net_addr *peer);

int net_set_nonblocking(int fd);

#endif
