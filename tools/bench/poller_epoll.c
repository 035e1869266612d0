/*
 * poller_epoll.c - the poller over Linux epoll. Included by poller.c.
 */
#include "poller.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct poller {
    int fd; /* the epoll instance */
    int max_events;
    struct epoll_event events[]; /* the kernel fills these; translated in place of a copy */
};

static int poller_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int poller_set(struct poller *p, int fd, uint32_t id, int old_mask, int new_mask) {
    struct epoll_event ev = {0};
    ev.events = ((new_mask & P_READ) ? EPOLLIN : 0) | ((new_mask & P_WRITE) ? EPOLLOUT : 0);
    ev.data.u32 = id;
    int op = old_mask == 0 ? EPOLL_CTL_ADD : new_mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (old_mask == 0 && new_mask == 0) return 0;
    return epoll_ctl(p->fd, op, fd, &ev);
}

int poller_wait(struct poller *p, struct poller_event *events, int timeout_ms) {
    int n = epoll_wait(p->fd, p->events, p->max_events, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = p->events[i].events;
        int mask = 0;
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) mask |= P_READ;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) mask |= P_WRITE;
        events[i].id = p->events[i].data.u32;
        events[i].mask = mask;
        events[i].error = 0;
    }
    return n;
}

const char *poller_name(void) {
    return "epoll";
}
