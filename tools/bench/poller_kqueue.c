/*
 * poller_kqueue.c - the poller over kqueue (macOS, the BSDs; on Linux through
 * tools/kqueue-linux). Included by poller.c. Only EV_SET and field names are used, so the
 * code does not depend on any one system's struct kevent layout.
 */
#include "poller.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

struct poller {
    int fd; /* the kqueue */
    int max_events;
    struct kevent events[];
};

static int poller_create(void) {
    return kqueue();
}

/* kqueue keeps one registration per filter: add or delete each filter whose bit changed.
 * Interest changes are rare (connect, a short write), so each is applied at once. */
int poller_set(struct poller *p, int fd, uint32_t id, int old_mask, int new_mask) {
    struct kevent changes[2];
    int n = 0;
    void *udata = (void *)(uintptr_t)id;
    if ((old_mask ^ new_mask) & P_READ)
        EV_SET(&changes[n++], fd, EVFILT_READ, (new_mask & P_READ) ? EV_ADD : EV_DELETE, 0, 0,
               udata);
    if ((old_mask ^ new_mask) & P_WRITE)
        EV_SET(&changes[n++], fd, EVFILT_WRITE, (new_mask & P_WRITE) ? EV_ADD : EV_DELETE, 0, 0,
               udata);
    if (n == 0) return 0;
    return kevent(p->fd, changes, n, NULL, 0, NULL);
}

int poller_wait(struct poller *p, struct poller_event *events, int timeout_ms) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int n = kevent(p->fd, NULL, 0, p->events, p->max_events, tsp);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        const struct kevent *kev = &p->events[i];
        int mask = kev->filter == EVFILT_READ ? P_READ : P_WRITE;
        /* EV_EOF and EV_ERROR: let both the read and the write path look at the socket. */
        if (kev->flags & (EV_EOF | EV_ERROR)) mask = P_READ | P_WRITE;
        events[i].id = (uint32_t)(uintptr_t)kev->udata;
        events[i].mask = mask;
        events[i].error = (kev->flags & EV_ERROR) ? (int)kev->data
                          : (kev->flags & EV_EOF) ? (int)kev->fflags
                                                  : 0;
    }
    return n;
}

const char *poller_name(void) {
    return "kqueue";
}
