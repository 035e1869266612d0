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

/* Bind and listen on host:port. On failure returns -1 and writes one line
 * naming the cause into why (e.g. "cannot listen on 0.0.0.0 port 80:
 * Permission denied"). On success *bound_port is the port (useful for 0),
 * and addr_text the numeric address the socket is bound to. */
int net_listen(const char *host, int port, int *bound_port, char *addr_text, size_t addr_cap,
               char *why, size_t why_cap);

/* Accept one client: non-blocking, close-on-exec, TCP_NODELAY, and (where
 * the system has it) SO_NOSIGPIPE. Returns the descriptor, or -1 with errno
 * from accept (EAGAIN when the backlog is empty). */
int net_accept(int lfd, net_addr *peer);

int net_set_nonblocking(int fd);

#endif
