/*
 * poller.h - the few readiness calls parrot-bench needs, over epoll (Linux) or kqueue (macOS,
 * the BSDs). The Makefile picks the backend (poller.c includes it); each backend is one small
 * file.
 *
 * Interest is level-triggered: a descriptor with P_READ set is reported while data is waiting.
 * Every registration carries a caller's id (parrot-bench's connection index), returned with
 * each event, so the caller never maps descriptors back to state.
 */
#ifndef PARROT_BENCH_POLLER_H
#define PARROT_BENCH_POLLER_H

#include <stdint.h>

#define P_READ  1 /* interest / event: readable */
#define P_WRITE 2 /* interest / event: writable (also: a connect finished) */

struct poller_event {
    uint32_t id;
    int mask;  /* P_READ | P_WRITE; errors and hang-ups are reported as both, so that the
                  caller's read or write sees the error */
    int error; /* kqueue: the socket error that came with EV_EOF or EV_ERROR (a failed
                  connect), 0 if none; epoll leaves it in SO_ERROR and sets 0 */
};

struct poller;

/* Returns NULL with errno set on failure. max_events: most events returned by one wait. */
struct poller *poller_open(int max_events);
void poller_close(struct poller *p);

/* Change the interest of fd from old_mask to new_mask (0 = not registered). Returns 0, or -1
 * with errno set. Closing a registered descriptor is allowed without calling this first. */
int poller_set(struct poller *p, int fd, uint32_t id, int old_mask, int new_mask);

/* Wait at most timeout_ms (-1: no limit) and fill events. Returns how many (0 on timeout or
 * EINTR), or -1 with errno set. */
int poller_wait(struct poller *p, struct poller_event *events, int timeout_ms);

const char *poller_name(void);

#endif
