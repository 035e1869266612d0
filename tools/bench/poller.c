/*
 * poller.c - include the backend the Makefile names (the same trick as Redis's ae.c): it
 * compiles parrot-bench with -DPOLLER_epoll or -DPOLLER_kqueue, its native backend from
 * mk/platform.mk, and on Linux also parrot-bench-kqueue, through tools/kqueue-linux, so that
 * path is compiled and tested everywhere.
 */
#if defined(POLLER_kqueue)
#include "poller_kqueue.c"
#elif defined(POLLER_epoll)
#include "poller_epoll.c"
#else
#error "build with the Makefile, which names the backend: -DPOLLER_epoll or -DPOLLER_kqueue"
#endif
