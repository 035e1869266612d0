/*
 * ae_api.h - what a backend (ae_epoll.c, ae_kqueue.c) provides to the core.
 * Only ae.c and the backends include this.
 */
#ifndef PARROT_AE_API_H
#define PARROT_AE_API_H

#include "ae.h"

/* Events handed out by one wait. A backend fills at most AE_BATCH of them:
 * enough that a busy server rarely needs a second wait per turn, small
 * enough to stay in cache. */
#define AE_BATCH 1024

/* Marks in a fired entry's mask, beside AE_READABLE and AE_WRITABLE. */
#define AE_SIGNAL 4 /* the entry carries a signal number, not a descriptor */
/* Set with AE_READABLE by an edge-triggered backend when the peer has sent
 * all it will send (or the socket failed): the report may be the last one,
 * so the core keeps repeating it until the handler has read to the end. */
#define AE_PEER_DONE 8

typedef struct ae_fired {
    int fd;   /* descriptor, or signal number when mask is AE_SIGNAL */
    int mask; /* AE_READABLE | AE_WRITABLE [| AE_PEER_DONE], or AE_SIGNAL */
} ae_fired;

typedef struct ae_api ae_api; /* the backend's private state */

ae_api *ae_api_create(void);
void ae_api_free(ae_api *api);
/* Change fd's interest from old_mask to new_mask (they differ). */
int ae_api_set(ae_api *api, int fd, int old_mask, int new_mask);
/* Report fd (watched for mask) on the next wait if it is ready now: the
 * core asks when a handler stopped early (AE_MORE). Nothing to do for a
 * level-triggered backend, which reports a ready descriptor anyway. */
int ae_api_rearm(ae_api *api, int fd, int mask);
int ae_api_watch_signal(ae_api *api, int signo);
/* Wait up to timeout_ms (-1: forever) and fill fired[]. Returns the count,
 * 0 on timeout or interruption, -1 with errno set on failure. */
int ae_api_poll(ae_api *api, ae_fired *fired, int timeout_ms);
const char *ae_api_name(void);

#endif
