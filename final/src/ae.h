/*
 * ae.h - the event loop: a small core (ae.c) over one thin backend per OS
 * (ae_epoll.c on Linux, ae_kqueue.c on macOS and the BSDs), in the shape of
 * Redis's ae.c.
 *
 * The loop watches descriptors for readability and writability, delivers
 * signals as ordinary events (never through an async handler), keeps one
 * deadline for timed work, and calls a hook once per turn before it sleeps.
 *
 * A descriptor may be reported only when something new happens on it
 * (epoll is used edge-triggered: see ae_epoll.c for why). So a handler
 * reads until a read comes back short, which empties a stream socket, or,
 * to give others a turn first, calls ae_rearm to be called again on the
 * next turn. Writing is the same: after a short write, the next report
 * comes when the socket has room again.
 */
#ifndef PARROT_AE_H
#define PARROT_AE_H

#define AE_NONE     0
#define AE_READABLE 1
#define AE_WRITABLE 2
#define AE_SIGNAL   4 /* internal: a fired entry that carries a signal number */

typedef struct ae_loop ae_loop;
typedef void ae_file_proc(ae_loop *loop, int fd, int mask);
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
int ae_mask(const ae_loop *loop, int fd);

/* The handler stopped reading fd before it was empty (a read filled all it
 * asked for): report it again on the next turn, after the others. */
int ae_rearm(ae_loop *loop, int fd);

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
