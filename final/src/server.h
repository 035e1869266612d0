/*
 * server.h - the echo server: accept, read, echo, pause and resume slow
 * readers, close idle clients, shut down gracefully. Single-threaded, driven
 * by the event loop in ae.h.
 */
#ifndef PARROT_SERVER_H
#define PARROT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Descriptors kept aside for the server's own use (stdio, the listener,
 * the event loop, signals, the log, the reserve descriptor) when -max-conns
 * is derived from the open-files limit. */
#define FD_RESERVE 16

typedef struct server_stats {
    uint64_t served;      /* clients accepted and served */
    uint64_t peak;        /* most clients open at once */
    uint64_t refused;     /* clients closed at once: -max-conns, or out of descriptors */
    uint64_t idle_closed; /* clients closed by -idle-timeout */
    uint64_t bytes;       /* bytes echoed (written back) */
    int signal;           /* the signal that stopped the server */
} server_stats;

/* Set everything up: log, listener, loop, signals. setsize bounds the
 * descriptors (the open-files limit). On failure returns -1 and writes one
 * line, without "parrot: ", into why. On success prints the "listening on"
 * line to stderr. */
int server_init(const config *cfg, int setsize, char *why, size_t why_cap);

/* Serve until SIGINT or SIGTERM. Returns 0, or -1 if the loop failed (with
 * the reason in why). */
int server_run(char *why, size_t why_cap);

const server_stats *server_stats_get(void);

#endif
