/*
 * kq_support.h - what every kqueue conformance test file shares.
 *
 * The suite is written against the kqueue API only (POSIX plus <sys/event.h>, no Linux headers,
 * nothing of the layer's internals), so the same files run against the real kernel on macOS and
 * the BSDs and against tools/kqueue-linux on Linux: passing on both is the proof that the layer
 * behaves like the kernels. Every test runs in its own process (Criterion), uses socketpair() or
 * loopback TCP on an ephemeral port, and waits with deadlines, never with sleeps.
 *
 * Each test opens with the line of a kernel source or man page that specifies what it checks:
 * FreeBSD sys/kern/kern_event.c and XNU bsd/kern/kern_event.c, their socket and signal code, and
 * kqueue(2). Where the two kernels differ the test accepts both and says so.
 */
#ifndef PARROT_KQ_SUPPORT_H
#define PARROT_KQ_SUPPORT_H

#include <sys/event.h>

#include <stdint.h>
#include <time.h>

#define WAIT_MS 5000 /* deadline for anything that should happen "at once"; never reached */

extern int marker_a, marker_b; /* addresses used as udata */

int new_kqueue(void);
void unix_pair(int sv[2]);
int tcp_listener(int *port); /* listening on 127.0.0.1, ephemeral port */
int tcp_connect(int port);
void tcp_pair(int *client, int *server); /* a connected pair over loopback */
void send_all(int fd, const char *s);
struct timespec ms_ts(long ms);
long now_ms(void); /* monotonic */

/* Apply one change; assert kevent accepted it. */
void change(int kq, uintptr_t ident, short filter, unsigned short flags, unsigned int fflags,
            int64_t data, void *udata);
int wait_events(int kq, struct kevent *out, int max, long ms); /* wait up to ms */
struct kevent wait_one(int kq);                       /* exactly one event, within WAIT_MS */
int poll_events(int kq, struct kevent *out, int max); /* what is ready now (zero timeout) */
const struct kevent *find(const struct kevent *evs, int n, uintptr_t ident, short filter);

#endif
