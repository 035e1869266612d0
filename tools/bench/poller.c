/*
 * poller.c - include the backend this system has (the same trick as Redis's ae.c).
 * BACKEND=kqueue on the make command line builds the kqueue backend on Linux through
 * tools/kqueue-linux, so that path is compiled and tested everywhere.
 */
#if defined(PARROT_BENCH_KQUEUE) || defined(__APPLE__) || defined(__FreeBSD__) ||                  \
    defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
#include "poller_kqueue.c"
#elif defined(__linux__)
#include "poller_epoll.c"
#else
#error "parrot-bench needs epoll or kqueue"
#endif
