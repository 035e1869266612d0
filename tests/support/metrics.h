/*
 * metrics.h - what a running process costs, measured from outside it:
 * resident memory, open descriptors, CPU time, and whether it is stopped
 * or asleep.
 *
 * Each system is asked through its own interface where it has one (Linux,
 * macOS and FreeBSD; metrics.c says which); any other system runs ps and
 * lsof (or fstat where lsof is missing) and reads their output. With
 * PARROT_PORTABLE_METRICS=1 in the environment every system takes that
 * fallback, so that it is exercised on Linux too.
 *
 * A metric that cannot be read fails the test (cr_fatal, naming the call
 * and the reason): no test goes on with a made-up number.
 */
#ifndef PARROT_METRICS_H
#define PARROT_METRICS_H

#include <sys/types.h>

long h_rss_kb(pid_t pid); /* resident set size now, in KiB */

/* Room to add to a bound on a server's memory growth when it runs under
 * AddressSanitizer (the Makefiles build the tests and the servers with the
 * same flags): freed memory waits in ASan's quarantine, which `make test
 * SANITIZE=1` caps at 8 MiB, before it is reused. 0 otherwise. */
#if defined(__SANITIZE_ADDRESS__)
#define H_RSS_SLACK_KB (10L * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_RSS_SLACK_KB (10L * 1024)
#endif
#endif
#ifndef H_RSS_SLACK_KB
#define H_RSS_SLACK_KB 0L
#endif
int h_fd_count(pid_t pid); /* open descriptors now */
/* Wait (deadline_ms; 0 = H_DEADLINE_MS) until pid holds fewer than before
 * open descriptors: it has closed one. Returns 1, or 0 at the deadline;
 * *now (if not NULL) is the last count read. */
int h_wait_fd_count_below(pid_t pid, int before, int deadline_ms, int *now);
double h_cpu_seconds(pid_t pid); /* user + system time so far, all threads */
int h_stopped(pid_t pid);        /* 1 if it is stopped (SIGSTOP), else 0 */

/* 1 if it is asleep, waiting in a system call (for a Parrot server, in
 * kevent() or epoll_wait(): it blocks nowhere else), else 0. From /proc on
 * Linux; elsewhere from ps (macOS keeps sleep per thread, not in the
 * process's status): S, or I for one asleep for more than 20 s. */
int h_sleeping(pid_t pid);

/* The smallest step h_cpu_seconds can be trusted to: a difference of two
 * readings may be off by this much either way. 0.01 s on Linux and macOS,
 * 0.1 s on FreeBSD (metrics.c says why); the ps fallback reads it off ps's
 * own output: 0.01 s where ps prints hundredths (macOS, the BSDs), one
 * second where it prints whole seconds (Linux's procps). */
double h_cpu_resolution(void);

/* A window in which to measure CPU use: ms, or longer where the resolution
 * is coarse, so that it is at most a fifth of the window. For the windows
 * the tests ask for (0.5 s and more) that is ms itself except with ps on
 * Linux, where it is 5 s. */
int h_cpu_window_ms(int ms);

/* The CPU time pid uses over such a window (h_cpu_window_ms(ms)); *seconds
 * is how long the window really was. */
double h_cpu_used(pid_t pid, int ms, double *seconds);

/* Which way the metrics are read here, in a few words for messages (the
 * fallback says "ps and lsof"). */
const char *h_metrics_source(void);

#endif
