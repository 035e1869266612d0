/*
 * test_signal.c - EVFILT_SIGNAL.
 */
#define _POSIX_C_SOURCE 200809L

#include "kq_support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* kqueue(2), EVFILT_SIGNAL: "The filter will record all attempts to deliver a signal to a
 * process, even if the signal has been marked as SIG_IGN ... data returns the number of times the
 * signal has occurred since the last call to kevent()." */
Test(signal, counts_deliveries_while_ignored, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGUSR1, SIG_IGN);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, &marker_a);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGUSR1));
    cr_assert(eq(int, ev.filter, EVFILT_SIGNAL));
    cr_assert(eq(i64, ev.data, 2), "two deliveries, data %lld", (long long)ev.data);
    cr_assert(eq(ptr, ev.udata, &marker_a));
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported again without a new delivery");
    kill(getpid(), SIGUSR1);
    cr_assert(eq(i64, wait_one(kq).data, 1), "the count restarts after each report");
}

/* kqueue(2), EVFILT_SIGNAL: recorded "even if the signal has been marked as SIG_IGN", whenever
 * that was done. */
Test(signal, ignore_set_after_registering_still_counts, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, SIGUSR2, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGUSR2));
    cr_assert(eq(i64, ev.data, 1));
}

static volatile sig_atomic_t handler_runs;
static void count_handler(int signo) {
    (void)signo;
    handler_runs++;
}

/* signo runs count_handler, without SA_RESTART. */
static void count_with_handler(int signo) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert(eq(int, sigaction(signo, &sa, NULL), 0), "sigaction: %s", strerror(errno));
}

/* kqueue(2), EVFILT_SIGNAL: "This coexists with the signal() and sigaction() facilities, and has a
 * lower precedence." */
Test(signal, program_handler_still_runs, .timeout = 10) {
    int kq = new_kqueue();
    count_with_handler(SIGUSR1);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    kill(getpid(), SIGUSR1);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(i64, ev.data, 1));
    cr_assert(eq(int, handler_runs, 1), "the program's handler did not run");
    struct sigaction now;
    cr_assert(eq(int, sigaction(SIGUSR1, NULL, &now), 0));
    cr_assert(eq(ptr, (void *)now.sa_handler, (void *)count_handler),
              "sigaction does not show the program's handler");
}

/* kqueue(2) ERRORS: "[EINTR] A signal was delivered before the timeout expired": an ignored
 * signal is not delivered (FreeBSD tdsendsignal returns at the ps_sigignore check, after the knote
 * fired), so the wait goes on and returns the event. */
Test(signal, ignored_signal_does_not_interrupt_the_wait, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGALRM, SIG_IGN);
    change(kq, SIGALRM, EVFILT_SIGNAL, EV_ADD, 0, 0, &marker_a);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
    cr_assert(eq(int, setitimer(ITIMER_REAL, &it, NULL), 0));
    struct kevent ev;
    struct timespec ts = ms_ts(WAIT_MS);
    int n = kevent(kq, NULL, 0, &ev, 1, &ts);
    cr_assert(eq(int, n, 1), "kevent returned %d (%s), want the signal event", n,
              n < 0 ? strerror(errno) : "no error");
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGALRM));
    cr_assert(eq(ptr, ev.udata, &marker_a));
}

/* kqueue(2) ERRORS: "[EINTR] A signal was delivered before the timeout expired and before any
 * events were placed on the kqueue for return." */
Test(signal, handler_interrupts_the_wait_with_eintr, .timeout = 10) {
    int kq = new_kqueue();
    count_with_handler(SIGALRM); /* no SA_RESTART */
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 50000}};
    cr_assert(eq(int, setitimer(ITIMER_REAL, &it, NULL), 0));
    struct kevent ev;
    struct timespec ts = ms_ts(WAIT_MS);
    errno = 0;
    cr_assert(eq(int, kevent(kq, NULL, 0, &ev, 1, &ts), -1));
    cr_assert(eq(int, errno, EINTR));
    cr_assert(eq(int, handler_runs, 1));
}

/* kqueue(2), EVFILT_SIGNAL: "lower precedence" than the disposition: SIG_DFL still terminates. */
Test(signal, default_action_still_happens, .timeout = 10) {
    /* kqueue has lower precedence than the disposition: SIG_DFL for SIGUSR1 terminates, even
     * though a kqueue watches it. Done in a child, which is allowed to die. */
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
    if (pid == 0) {
        int kq = kqueue();
        struct kevent kev;
        EV_SET(&kev, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
        if (kq == -1 || kevent(kq, &kev, 1, NULL, 0, NULL) == -1) _exit(2);
        kill(getpid(), SIGUSR1);
        _exit(0); /* not reached */
    }
    int status;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1;
    cr_assert(killed, "SIGUSR1 with SIG_DFL did not terminate (status %d)", status);
}

/* FreeBSD tdsendsignal fires the knote before any disposition is looked at, so a signal whose
 * default action is to ignore it (SIGURG) is recorded too. */
Test(signal, default_ignored_signal_is_counted, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, SIGURG, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL); /* SIG_DFL: ignored by default */
    kill(getpid(), SIGURG);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGURG));
    cr_assert(eq(i64, ev.data, 1));
}

/* kqueue(2), EV_DELETE: "Removes the event from the kqueue." */
Test(signal, delete_stops_counting, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGUSR1, SIG_IGN);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_DELETE, 0, 0, NULL);
    kill(getpid(), SIGUSR1); /* still ignored: the process survives */
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0));
}

static void block(int signo, int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    cr_assert(eq(int, sigprocmask(how, &set, NULL), 0), "sigprocmask: %s", strerror(errno));
}

/* FreeBSD tdsendsignal and XNU psignal_internal fire the knote when the signal is sent, before
 * they look at the blocked mask: a blocked signal is reported at once, and not again when it is
 * finally delivered. */
Test(signal, blocked_signal_is_reported_when_sent, .timeout = 10) {
    int kq = new_kqueue();
    count_with_handler(SIGUSR1);
    block(SIGUSR1, SIG_BLOCK);
    change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, &marker_a);
    kill(getpid(), SIGUSR1);
    struct kevent ev = wait_one(kq);
    cr_assert(eq(u64, (uint64_t)ev.ident, (uint64_t)SIGUSR1));
    cr_assert(eq(i64, ev.data, 1));
    cr_assert(eq(ptr, ev.udata, &marker_a));
    cr_assert(eq(int, handler_runs, 0), "the handler ran while the signal was blocked");
    block(SIGUSR1, SIG_UNBLOCK); /* delivered now */
    cr_assert(eq(int, handler_runs, 1), "the handler did not run once unblocked");
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported again when delivered");
    kill(getpid(), SIGUSR1);
    cr_assert(eq(i64, wait_one(kq).data, 1), "a later signal is counted as usual");
}

/* The knote records signals sent while it exists: one already pending when it is added was sent
 * before, and is not reported, not even when it is delivered later. */
Test(signal, signal_pending_before_the_knote_is_not_reported, .timeout = 10) {
    int kq = new_kqueue();
    signal(SIGUSR2, SIG_IGN);
    block(SIGUSR2, SIG_BLOCK);
    kill(getpid(), SIGUSR2);
    change(kq, SIGUSR2, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    struct kevent ev;
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "a signal sent before EV_ADD was reported");
    block(SIGUSR2, SIG_UNBLOCK);
    cr_assert(eq(int, poll_events(kq, &ev, 1), 0), "reported when delivered");
}

/* Both kernels accept any signal number in range: FreeBSD filt_sigattach and XNU's check only
 * the range. SIGKILL ends the process before an event could be read; registering it is fine. */
Test(signal, sigkill_can_be_watched, .timeout = 10) {
    int kq = new_kqueue();
    change(kq, SIGKILL, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
    change(kq, SIGKILL, EVFILT_SIGNAL, EV_DELETE, 0, 0, NULL);
}
