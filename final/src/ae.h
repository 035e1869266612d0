/*
 * ae.h - the event loop: a small core (ae.c) over one thin backend per OS
 * (ae_epoll.c on Linux, ae_kqueue.c on macOS and the BSDs), in the shape of
 * Redis's ae.c.
 *
 * The loop watches descriptors for readability and writability, delivers
 * signals as ordinary events (never through an async handler), keeps one
 * deadline for timed work, and calls a hook once per turn before it sleeps.
 *
 * A handler is called when its descriptor is ready, does some work, and
 * says how it left it: AE_DONE when it read until a read came back short
 * (a stream socket is then empty) or wrote until the socket was full, or
 * AE_MORE when it stopped before that, to give the others a turn, and
 * wants to be called again on a later turn. How the backend is told so is
 * the loop's business, not the handler's.
 */
#ifndef PARROT_AE_H
#define PARROT_AE_H

#define AE_NONE     0
#define AE_READABLE 1
#define AE_WRITABLE 2

/* What a file handler returns. */
#define AE_DONE 0 /* nothing left that it could have done now */
#define AE_MORE 1 /* stopped early: more may be waiting, call again */

typedef struct ae_loop ae_loop;
typedef int ae_file_proc(ae_loop *loop, int fd, int mask);
typedef void ae_signal_proc(ae_loop *loop, int signo);
typedef void ae_hook_proc(ae_loop *loop);

/* A loop for descriptors 0 .. setsize-1. Returns NULL and sets errno on
 * failure. */
ae_loop *ae_create(int setsize);
void ae_free(ae_loop *loop);

/* Watch fd for exactly `mask` (AE_READABLE | AE_WRITABLE, or AE_NONE to stop
 * watching it), calling proc when it is ready. One backend call at most;
 * none if the mask does not change. Returns -1 with errno set on failure. */
int ae_watch(ae_loop *loop, int fd, int mask, ae_file_proc *proc);

/* Deliver signo through the loop: proc runs from the loop, like any event. */
int ae_watch_signal(ae_loop *loop, int signo, ae_signal_proc *proc);

/* Call proc once the monotonic clock reaches when_ms (see ae_now_ms); 0
 * cancels. One deadline per loop: the owner keeps it at its earliest need. */
void ae_set_deadline(ae_loop *loop, long long when_ms, ae_hook_proc *proc);

/* Called at the start of every turn, before the loop sleeps. */
void ae_set_before_sleep(ae_loop *loop, ae_hook_proc *proc);

/* The monotonic clock in milliseconds, read once per turn. */
long long ae_now_ms(const ae_loop *loop);

/* Run until ae_stop. Returns 0, or -1 with errno set if waiting failed. */
int ae_main(ae_loop *loop);
void ae_stop(ae_loop *loop);

/* "epoll" or "kqueue". */
const char *ae_backend_name(void);

#endif
