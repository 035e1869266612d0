/*
 * connect.h - how parrot-bench and parrot-chaos reach the echo server: the addresses of -host
 * and -port, and non-blocking TCP connections to the first of them.
 *
 * A connection is made in three calls, so that a tool can set socket options of its own in
 * between (parrot-chaos sets small buffers, which must come before connect()):
 *
 *     int fd = connect_socket(ai, &call);          socket, O_NONBLOCK, TCP_NODELAY
 *     int rc = connect_start(fd, ai);              connect(): 1 done, 0 under way, -1 failed
 *     ... the descriptor turns writable ...
 *     int err = connect_result(fd);                SO_ERROR: 0, or why it failed
 *
 * None of these prints or exits: each tool reports a failure in its own words.
 */
#ifndef PARROT_TOOLS_CONNECT_H
#define PARROT_TOOLS_CONNECT_H

#include <netdb.h>

/* getaddrinfo for a TCP connection to host (an IPv4 or IPv6 address or a name) and a numeric
 * port. Returns 0 with *out set, or getaddrinfo's error (for gai_strerror). */
int connect_resolve(const char *host, long long port, struct addrinfo **out);

/* A socket for ai: non-blocking, and with TCP_NODELAY, so that each write() leaves as its own
 * segment at once (Nagle's algorithm would hold a small write back until the previous one is
 * acknowledged). Returns the descriptor, or -1 with errno set and *call naming the call that
 * failed ("socket", "fcntl O_NONBLOCK", "setsockopt TCP_NODELAY"). */
int connect_socket(const struct addrinfo *ai, const char **call);

/* connect() without waiting. Returns 1 if it is done already (it can be, on loopback), 0 if it
 * is under way (the descriptor turns writable when it ends: then ask connect_result), or -1
 * with errno set if it failed. */
int connect_start(int fd, const struct addrinfo *ai);

/* How a connect that was under way ended: 0 connected, or its error (SO_ERROR). */
int connect_result(int fd);

/* Descriptors a tool keeps for itself besides its connections: stdio, the poller, the timer. */
#define CONNECT_FD_RESERVE 16

/* Make room for conns connections: raise this process's soft open-files limit to
 * conns + CONNECT_FD_RESERVE if it is lower (macOS starts at 256). Returns 0; or -1 with *call
 * naming the failed call and errno set; or -1 with *call NULL when the hard limit, in *hard,
 * is too low (only root may raise it: ulimit -Hn). */
int connect_allow(unsigned long long conns, unsigned long long *hard, const char **call);

#endif
