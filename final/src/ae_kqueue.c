/*
 * ae_kqueue.c - the macOS and BSD backend (and, through tools/kqueue-linux,
 * a Linux build of the same code). Only EV_SET and the named macros are
 * used: their values and struct kevent's layout differ between systems.
 *
 * kqueue keeps one filter per direction, so a change of interest adds or
 * deletes EVFILT_READ and EVFILT_WRITE separately, both in one kevent()
 * call. Filters stay level-triggered (no EV_CLEAR): a ready socket is
 * reported on every wait, so there is nothing to re-arm, and the fairness
 * that made ae_epoll.c edge-triggered has only been measured on Linux.
 */
#include "platform.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "ae_api.h"

struct ae_api {
    int kq;
    struct kevent events[AE_BATCH];
};

ae_api *ae_api_create(void) {
    ae_api *api = calloc(1, sizeof(*api));
    if (api == NULL) return NULL;
    api->kq = kqueue();
    if (api->kq == -1 || fcntl(api->kq, F_SETFD, FD_CLOEXEC) == -1) {
        int saved = errno;
        if (api->kq != -1) close(api->kq);
        free(api);
        errno = saved;
        return NULL;
    }
    return api;
}

void ae_api_free(ae_api *api) {
    if (api == NULL) return;
    close(api->kq);
    free(api);
}

int ae_api_set(ae_api *api, int fd, int old_mask, int new_mask) {
    struct kevent changes[2];
    int n = 0;
    int added = new_mask & ~old_mask, removed = old_mask & ~new_mask;
    if (added & AE_READABLE) EV_SET(&changes[n++], fd, EVFILT_READ, EV_ADD, 0, 0, NULL);
    if (removed & AE_READABLE) EV_SET(&changes[n++], fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
    if (added & AE_WRITABLE) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    if (removed & AE_WRITABLE) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    return kevent(api->kq, changes, n, NULL, 0, NULL) == -1 ? -1 : 0;
}

int ae_api_rearm(ae_api *api, int fd, int mask) {
    (void)api, (void)fd, (void)mask;
    return 0;
}

int ae_api_watch_signal(ae_api *api, int signo) {
    /* EVFILT_SIGNAL records a signal even when its disposition is SIG_IGN,
     * and ignoring it is what stops the default action (exit). */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, NULL) == -1) return -1;
    struct kevent change;
    EV_SET(&change, signo, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    return kevent(api->kq, &change, 1, NULL, 0, NULL) == -1 ? -1 : 0;
}

int ae_api_poll(ae_api *api, ae_fired *fired, int timeout_ms) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int ready = kevent(api->kq, NULL, 0, api->events, AE_BATCH, tsp);
    if (ready == -1) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < ready; i++) {
        const struct kevent *e = &api->events[i];
        fired[i].fd = (int)e->ident;
        if (e->filter == EVFILT_SIGNAL)
            fired[i].mask = AE_SIGNAL;
        else if (e->flags & EV_ERROR)
            fired[i].mask = AE_READABLE | AE_WRITABLE; /* the handler meets the error */
        else
            fired[i].mask = e->filter == EVFILT_WRITE ? AE_WRITABLE : AE_READABLE;
    }
    return ready;
}

const char *ae_api_name(void) {
    return "kqueue";
}
