/*
 * ae_epoll.c - the Linux backend: epoll for descriptors, signalfd for
 * signals.
 *
 * Descriptors are edge-triggered (EPOLLET), for fairness. A level-triggered
 * descriptor goes back on epoll's ready list each time it is reported, and
 * one whose next request arrives before the next wait keeps that early
 * place while the others queue behind it: with thousands of busy clients,
 * some are served twice as often as the rest (p99 latency about twice the
 * median). Edge-triggered, a descriptor joins the list's tail when data
 * arrives, so clients are served in the order they asked.
 *
 * It costs nothing per request: the only epoll_ctl calls still happen when
 * a connection opens, closes, starts or stops waiting for its socket to
 * drain, or when a handler stops before it has read everything (AE_MORE:
 * the core re-arms it, ae_api_rearm). EPOLLRDHUP marks a peer that has
 * finished sending (AE_PEER_DONE), so that an end of file which came with
 * the last bytes is not missed.
 */
#include "platform.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ae_api.h"

struct ae_api {
    int epfd;
    int sigfd; /* -1 until the first signal is watched */
    sigset_t sigs;
    struct epoll_event events[AE_BATCH];
};

ae_api *ae_api_create(void) {
    ae_api *api = calloc(1, sizeof(*api));
    if (api == NULL) return NULL;
    api->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (api->epfd == -1) {
        int saved = errno;
        free(api);
        errno = saved;
        return NULL;
    }
    api->sigfd = -1;
    sigemptyset(&api->sigs);
    return api;
}

void ae_api_free(ae_api *api) {
    if (api == NULL) return;
    if (api->sigfd != -1) close(api->sigfd);
    close(api->epfd);
    free(api);
}

static unsigned to_epoll(int mask) {
    return EPOLLET | (mask & AE_READABLE ? EPOLLIN | EPOLLRDHUP : 0) |
           (mask & AE_WRITABLE ? EPOLLOUT : 0);
}

int ae_api_set(ae_api *api, int fd, int old_mask, int new_mask) {
    struct epoll_event ee = {.events = to_epoll(new_mask), .data.fd = fd};
    int op = old_mask == AE_NONE   ? EPOLL_CTL_ADD
             : new_mask == AE_NONE ? EPOLL_CTL_DEL
                                   : EPOLL_CTL_MOD;
    return epoll_ctl(api->epfd, op, fd, &ee);
}

/* EPOLL_CTL_MOD checks readiness again and queues a ready descriptor. */
int ae_api_rearm(ae_api *api, int fd, int mask) {
    struct epoll_event ee = {.events = to_epoll(mask), .data.fd = fd};
    return epoll_ctl(api->epfd, EPOLL_CTL_MOD, fd, &ee);
}

int ae_api_watch_signal(ae_api *api, int signo) {
    /* A blocked signal is never delivered to a handler and never runs its
     * default action; it waits in the signalfd until the loop reads it. */
    sigaddset(&api->sigs, signo);
    if (sigprocmask(SIG_BLOCK, &api->sigs, NULL) == -1) return -1;
    int fd = signalfd(api->sigfd, &api->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1) return -1;
    if (api->sigfd == -1) {
        /* Level-triggered, unlike the sockets: one signal is read per
         * wakeup, and the next wait reports the rest. */
        struct epoll_event ee = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(api->epfd, EPOLL_CTL_ADD, fd, &ee) == -1) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        api->sigfd = fd;
    }
    return 0;
}

/* One signal per wakeup: if more are waiting, the signalfd stays readable
 * and the next wait reports it again, so every epoll event yields at most one
 * fired entry. Returns the signal number, or 0 if none was waiting. */
static int read_signal(ae_api *api) {
    struct signalfd_siginfo si;
    if (read(api->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) return 0;
    return (int)si.ssi_signo;
}

int ae_api_poll(ae_api *api, ae_fired *fired, int timeout_ms) {
    int ready = epoll_wait(api->epfd, api->events, AE_BATCH, timeout_ms);
    if (ready == -1) return errno == EINTR ? 0 : -1;
    int n = 0;
    for (int i = 0; i < ready; i++) {
        struct epoll_event *e = &api->events[i];
        if (e->data.fd == api->sigfd) {
            int signo = read_signal(api);
            if (signo != 0) {
                fired[n].fd = signo;
                fired[n].mask = AE_SIGNAL;
                n++;
            }
            continue;
        }
        int mask = 0;
        if (e->events & EPOLLIN) mask |= AE_READABLE;
        if (e->events & EPOLLOUT) mask |= AE_WRITABLE;
        /* Errors and hang-ups wake both sides: the handler's next read or
         * write returns the error or end of file. */
        if (e->events & (EPOLLERR | EPOLLHUP)) mask |= AE_READABLE | AE_WRITABLE;
        if (e->events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) mask |= AE_PEER_DONE;
        fired[n].fd = e->data.fd;
        fired[n].mask = mask;
        n++;
    }
    return n;
}

const char *ae_api_name(void) {
    return "epoll";
}
