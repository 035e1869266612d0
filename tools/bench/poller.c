/*
 * poller.c - the backend the Makefile names, included here (the same trick as Redis's ae.c),
 * and what every backend shares. The Makefile compiles parrot-bench with -DPOLLER_epoll or
 * -DPOLLER_kqueue: its native backend from mk/platform.mk, and on Linux also the kqueue one,
 * parrot-bench-kqueue, through tools/kqueue-linux, so that path is compiled and tested
 * everywhere.
 *
 * A backend defines struct poller (its descriptor fd, max_events, and its kernel's event array
 * events[]), poller_create (a new descriptor, or -1 with errno set), poller_set, poller_wait and
 * poller_name.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(POLLER_kqueue)
#include "poller_kqueue.c"
#elif defined(POLLER_epoll)
#include "poller_epoll.c"
#else
#error "build with the Makefile, which names the backend: -DPOLLER_epoll or -DPOLLER_kqueue"
#endif

struct poller *poller_open(int max_events) {
    struct poller *p = malloc(sizeof *p + (size_t)max_events * sizeof p->events[0]);
    if (!p) return NULL;
    p->max_events = max_events;
    p->fd = poller_create();
    if (p->fd < 0) {
        int saved = errno;
        free(p);
        errno = saved;
        return NULL;
    }
    return p;
}

void poller_close(struct poller *p) {
    if (p) {
        close(p->fd);
        free(p);
    }
}
