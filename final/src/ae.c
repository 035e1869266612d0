/*
 * ae.c - the event loop core. It owns a dense table indexed by descriptor
 * (what each fd is watched for and who handles it), asks the backend to
 * wait, and dispatches what fired. It never names the backend: the Makefile
 * links ae_epoll.o or ae_kqueue.o.
 */
#include "platform.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "ae.h"
#include "ae_api.h"

#define AE_MAX_SIGNAL 64
#define AE_MAX_PROCS  16

/* Two bytes per descriptor, so that 10,000 connections cost 20 KB here: a
 * server has a handful of distinct handlers (the listener's, the clients'),
 * so each entry keeps an index into the loop's table of them, not a
 * pointer. */
typedef struct ae_file {
    uint8_t mask;
    uint8_t proc; /* index into procs[] */
} ae_file;

struct ae_loop {
    ae_api *api;
    int setsize;
    int stop;
    long long now_ms;
    long long deadline_ms; /* 0 = none */
    ae_hook_proc *deadline_proc;
    ae_hook_proc *before_sleep;
    ae_file *files; /* [setsize], indexed by fd */
    ae_file_proc *procs[AE_MAX_PROCS];
    int nprocs;
    ae_signal_proc *signals[AE_MAX_SIGNAL + 1]; /* indexed by signal number */
    ae_fired fired[AE_BATCH];
};

static long long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with a valid clock */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ae_loop *ae_create(int setsize) {
    ae_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL) return NULL;
    /* calloc of a large table maps zero pages lazily: only the entries of
     * descriptors actually used ever become resident. */
    loop->files = calloc((size_t)setsize, sizeof(*loop->files));
    loop->api = loop->files ? ae_api_create() : NULL;
    if (loop->api == NULL) {
        int saved = errno;
        free(loop->files);
        free(loop);
        errno = saved;
        return NULL;
    }
    loop->setsize = setsize;
    loop->now_ms = monotonic_ms();
    return loop;
}

void ae_free(ae_loop *loop) {
    if (loop == NULL) return;
    ae_api_free(loop->api);
    free(loop->files);
    free(loop);
}

static int proc_index(ae_loop *loop, ae_file_proc *proc) {
    for (int i = 0; i < loop->nprocs; i++)
        if (loop->procs[i] == proc) return i;
    if (loop->nprocs == AE_MAX_PROCS) return -1;
    /* cppcheck 2.10 takes ae_file_proc, a function type returning int, for an int. */
    // cppcheck-suppress AssignmentAddressToInteger
    loop->procs[loop->nprocs] = proc;
    return loop->nprocs++;
}

int ae_watch(ae_loop *loop, int fd, int mask, ae_file_proc *proc) {
    int index = mask == AE_NONE ? 0 : proc_index(loop, proc);
    if (fd < 0 || fd >= loop->setsize || index < 0) {
        errno = fd < 0 || fd >= loop->setsize ? ERANGE : ENOSPC;
        return -1;
    }
    ae_file *f = &loop->files[fd];
    if (f->mask != mask) {
        if (ae_api_set(loop->api, fd, f->mask, mask) == -1) return -1;
        f->mask = (uint8_t)mask;
    }
    f->proc = (uint8_t)index;
    return 0;
}

int ae_watch_signal(ae_loop *loop, int signo, ae_signal_proc *proc) {
    if (signo <= 0 || signo > AE_MAX_SIGNAL) {
        errno = EINVAL;
        return -1;
    }
    if (ae_api_watch_signal(loop->api, signo) == -1) return -1;
    loop->signals[signo] = proc;
    return 0;
}

void ae_set_deadline(ae_loop *loop, long long when_ms, ae_hook_proc *proc) {
    loop->deadline_ms = when_ms;
    loop->deadline_proc = proc;
}

void ae_set_before_sleep(ae_loop *loop, ae_hook_proc *proc) {
    loop->before_sleep = proc;
}

long long ae_now_ms(const ae_loop *loop) {
    return loop->now_ms;
}

void ae_stop(ae_loop *loop) {
    loop->stop = 1;
}

static int wait_timeout(const ae_loop *loop) {
    if (loop->deadline_ms == 0) return -1;
    long long left = loop->deadline_ms - loop->now_ms;
    if (left <= 0) return 0;
    return left > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : (int)left;
}

static void dispatch(ae_loop *loop, int n) {
    for (int i = 0; i < n && !loop->stop; i++) {
        ae_fired *e = &loop->fired[i];
        if (e->mask == AE_SIGNAL) {
            if (loop->signals[e->fd]) loop->signals[e->fd](loop, e->fd);
            continue;
        }
        /* Re-read the table: an earlier handler in this batch may have
         * closed this descriptor or changed what it waits for. */
        ae_file *f = &loop->files[e->fd];
        int mask = e->mask & f->mask;
        int rc = mask ? loop->procs[f->proc](loop, e->fd, mask) : AE_DONE;
        /* Ask the backend to report the descriptor again if the handler
         * stopped early, and also when the end of the stream came with the
         * last bytes: the handler may have read only the bytes, and nothing
         * new will arrive to report it again until it has read to the end
         * (and closed, or stopped reading). A failed re-arm is the same
         * failure the handler's next call would meet: the descriptor was
         * closed, and there is nothing left to report. */
        int again = rc == AE_MORE || (e->mask & AE_PEER_DONE);
        if (again && (f->mask & AE_READABLE)) (void)ae_api_rearm(loop->api, e->fd, f->mask);
    }
}

int ae_main(ae_loop *loop) {
    loop->stop = 0;
    while (!loop->stop) {
        if (loop->before_sleep) loop->before_sleep(loop);
        if (loop->stop) break;
        int n = ae_api_poll(loop->api, loop->fired, wait_timeout(loop));
        if (n == -1) return -1;
        loop->now_ms = monotonic_ms();
        dispatch(loop, n);
        if (loop->deadline_ms != 0 && loop->now_ms >= loop->deadline_ms && !loop->stop) {
            ae_hook_proc *proc = loop->deadline_proc;
            loop->deadline_ms = 0;
            proc(loop);
        }
    }
    return 0;
}

const char *ae_backend_name(void) {
    return ae_api_name();
}
