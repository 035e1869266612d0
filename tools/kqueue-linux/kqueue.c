/*
 * kqueue.c - kqueue(2) and kevent(2) for Linux, on top of epoll, timerfd and a signal handler.
 *
 * A kqueue is an epoll descriptor (the number kqueue() returns), plus bookkeeping:
 *
 *   - EVFILT_READ and EVFILT_WRITE on one descriptor are two knotes in one record, and the record
 *     is one epoll registration whose mask merges both (epoll cannot register a descriptor twice).
 *   - EVFILT_TIMER is a timerfd per timer, registered in the epoll set.
 *   - EVFILT_SIGNAL counts deliveries in the layer's own signal handler; an eventfd the handler
 *     writes wakes epoll_wait. A signal the program blocks is counted when it becomes pending,
 *     which a signalfd of the watched signals reports.
 *
 * Every record is also reachable from a global table indexed by descriptor, so close() (wrapped
 * at link time, see kqueue.mk) drops a descriptor's registrations in O(1), as BSD does. A child
 * made by fork() has no kqueue: they are closed in it (pthread_atfork), as BSD never gives them.
 *
 * The kernels are the specification: FreeBSD's sys/kern/kern_event.c and XNU's
 * bsd/kern/kern_event.c. Comments quote the line followed; README.md has the table.
 *
 * Single-threaded programs only: nothing here takes a lock. What differs from a real kernel is in
 * README.md.
 */
#define _GNU_SOURCE
/* A program built with tools/kqueue-trace reads its kqtrace.h before every file, this one too,
 * and that header renames kevent() calls to the tracer's function. This file defines the real
 * kevent(), which the tracer calls: it keeps the name. */
#undef kevent
#include <sys/event.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

/* The real functions behind the ones wrapped with -Wl,--wrap (kqueue.mk). */
int __real_close(int fd);
int __real_sigaction(int signo, const struct sigaction *act, struct sigaction *old);
void (*__real_signal(int signo, void (*handler)(int)))(int);
void (*__real___sysv_signal(int signo, void (*handler)(int)))(int);
int __wrap_close(int fd);
int __wrap_sigaction(int signo, const struct sigaction *act, struct sigaction *old);
void (*__wrap_signal(int signo, void (*handler)(int)))(int);
void (*__wrap___sysv_signal(int signo, void (*handler)(int)))(int);

#define KQL_BATCH_MAX 4096 /* most epoll events taken per kevent() call */

/* What an epoll event's data.ptr points at: the first member of each of these is its tag. */
enum kql_tag { KQL_FD = 1, KQL_TIMER, KQL_WAKE, KQL_PENDING };

struct kql_knote {     /* one (ident, filter) registration */
    struct kevent kev; /* as registered; flags keeps only EV_ONESHOT, EV_CLEAR, EV_DISPATCH... */
    bool on;           /* registered */
    bool enabled;      /* not EV_DISABLEd */
};

struct kql_kq;

struct kql_fd { /* the READ and WRITE knotes of one descriptor in one kqueue */
    enum kql_tag tag;
    int fd;
    uint32_t mask;      /* events registered in epoll; 0 when not registered */
    bool listener;      /* READ data is the accept queue, not bytes */
    bool write_first;   /* WRITE did not fit in the last eventlist: report it first */
    unsigned int error; /* socket error seen with EPOLLERR, reported with EV_EOF */
    struct kql_knote rd, wr;
    struct kql_kq *kq;
    struct kql_fd *prev, *next; /* this kqueue's records */
    struct kql_fd *same_fd;     /* other kqueues' records for this descriptor */
};

struct kql_timer {
    enum kql_tag tag;
    int tfd;
    int error; /* a re-add that failed: reported as this timer's next event (FreeBSD) */
    struct kql_knote kn;
    struct kql_timer *prev, *next;
};

struct kql_kq {
    int epfd;
    struct kql_fd *fds;
    struct kql_timer *timers;
    struct kql_knote sig[NSIG];   /* EVFILT_SIGNAL knotes, by signal number */
    unsigned long sig_seen[NSIG]; /* kql_sig_count[signo] when last reported */
    int nsigs;                    /* signal knotes; the wakers are in epoll while > 0 */
    unsigned long sig_gen;        /* kql_sig_gen when the signal knotes were last scanned */
    struct epoll_event *buf;      /* for epoll_wait, grown to the largest nevents seen */
    int cap;
};

/* Global table: descriptor -> its records (one per kqueue watching it), and the kqueue itself
 * when the descriptor is a kqueue. Grown on demand; never shrinks. */
struct kql_slot {
    struct kql_fd *fds;
    struct kql_kq *kq;
};
static struct kql_slot *kql_slots;
static size_t kql_nslots;

static int kql_slot_reserve(int fd) {
    if ((size_t)fd < kql_nslots) return 0;
    size_t n = kql_nslots ? kql_nslots : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct kql_slot *s = realloc(kql_slots, n * sizeof *s);
    if (!s) return ENOMEM;
    memset(s + kql_nslots, 0, (n - kql_nslots) * sizeof *s);
    kql_slots = s;
    kql_nslots = n;
    return 0;
}

/* ---- signals: shared state between the handler and kevent ----------------------------------- */

static atomic_ulong kql_sig_count[NSIG];    /* deliveries per signal, ever */
static atomic_ulong kql_sig_gen;            /* deliveries of any signal, ever */
static atomic_ulong kql_sig_user_calls;     /* times the handler ran the program's own handler */
static struct sigaction kql_sig_user[NSIG]; /* the program's disposition while the layer holds it */
static int kql_sig_refs[NSIG];              /* signal knotes across all kqueues */
static atomic_bool kql_sig_noted[NSIG];     /* counted while pending: not again when delivered */
static int kql_wake_fd = -1;                /* eventfd the handler writes to wake epoll_wait */
static int kql_pending_fd = -1; /* signalfd: readable when a watched signal is pending */
static const enum kql_tag kql_wake_tag = KQL_WAKE, kql_pending_tag = KQL_PENDING;

static int kql_sig_apply(int signo);

/* SIGKILL and SIGSTOP can never be caught or blocked (SIGKILL can still be watched). */
static bool kql_sig_catchable(int signo) {
    return signo != SIGKILL && signo != SIGSTOP;
}

/* The program's disposition is SIG_DFL and the layer has just recorded the signal: carry out the
 * default action. Only async-signal-safe calls here. */
static void kql_sig_default(int signo) {
    if (signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH || signo == SIGCONT) return;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    __real_sigaction(signo, &dfl, NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, &old);
    raise(signo); /* terminates, or stops until SIGCONT and returns */
    sigprocmask(SIG_SETMASK, &old, NULL);
    kql_sig_apply(signo);
}

/* sa_handler and sa_sigaction share storage, so SIG_IGN and SIG_DFL read the same either way. */
static bool kql_sig_is(const struct sigaction *sa, void (*disposition)(int)) {
    return sa->sa_handler == disposition;
}

/* Installed while a kqueue watches the signal: record the delivery, wake kevent(), then do
 * what the program asked for (EVFILT_SIGNAL has lower precedence than the program's handler). */
static void kql_sig_handler(int signo, siginfo_t *info, void *uctx) {
    int saved = errno;
    if (!atomic_exchange(&kql_sig_noted[signo], false)) { /* not already counted while blocked */
        atomic_fetch_add(&kql_sig_count[signo], 1);
        atomic_fetch_add(&kql_sig_gen, 1);
        uint64_t one = 1;
        ssize_t w = write(kql_wake_fd, &one, sizeof one); /* fails only if the counter is full */
        (void)w;
    }
    struct sigaction user = kql_sig_user[signo];
    if (kql_sig_is(&user, SIG_DFL)) {
        kql_sig_default(signo);
    } else if (!kql_sig_is(&user, SIG_IGN)) {
        /* A handler of the program ran: on BSD that is what makes kevent() fail with EINTR. */
        atomic_fetch_add(&kql_sig_user_calls, 1);
        if (user.sa_flags & SA_RESETHAND) {
            kql_sig_user[signo].sa_handler = SIG_DFL;
            kql_sig_user[signo].sa_flags &= ~SA_SIGINFO;
        }
        errno = saved;
        if (user.sa_flags & SA_SIGINFO)
            user.sa_sigaction(signo, info, uctx);
        else
            user.sa_handler(signo);
    }
    errno = saved;
}

/* Make the kernel's disposition for signo what it should be: the program's own while no kqueue
 * watches it, the layer's handler while one does. An ignored SIGCHLD stays ignored (BSD does not
 * record it either, and on Linux ignoring it is what reaps children). */
static int kql_sig_apply(int signo) {
    if (!kql_sig_catchable(signo)) return 0;
    const struct sigaction *user = &kql_sig_user[signo];
    bool ignored = kql_sig_is(user, SIG_IGN);
    if (kql_sig_refs[signo] == 0 || (signo == SIGCHLD && ignored))
        return __real_sigaction(signo, user, NULL);
    struct sigaction sa = {.sa_sigaction = kql_sig_handler};
    sa.sa_mask = user->sa_mask;
    sa.sa_flags = SA_SIGINFO | (user->sa_flags & (SA_ONSTACK | SA_NOCLDSTOP | SA_NOCLDWAIT));
    /* Where BSD would run no handler, no system call of the program may fail with EINTR. */
    bool runs_handler = !ignored && !kql_sig_is(user, SIG_DFL);
    sa.sa_flags |= runs_handler ? (user->sa_flags & SA_RESTART) : SA_RESTART;
    return __real_sigaction(signo, &sa, NULL);
}

static bool kql_sig_held(int signo) {
    return signo > 0 && signo < NSIG && kql_sig_refs[signo] > 0 && kql_sig_catchable(signo);
}

int __wrap_sigaction(int signo, const struct sigaction *act, struct sigaction *old) {
    if (!kql_sig_held(signo)) return __real_sigaction(signo, act, old);
    /* The layer holds this signal: remember what the program asked for instead. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, signo);
    sigprocmask(SIG_BLOCK, &block, &saved); /* the handler reads kql_sig_user */
    struct sigaction prev = kql_sig_user[signo];
    int rc = 0;
    if (act) {
        kql_sig_user[signo] = *act;
        rc = kql_sig_apply(signo);
    }
    if (old) *old = prev;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return rc;
}

/* signal() on a signal the layer holds is sigaction() with the flags the real one would use. */
static void (*kql_signal(int signo, void (*handler)(int), int flags))(int) {
    struct sigaction sa = {.sa_handler = handler, .sa_flags = flags}, old;
    sigemptyset(&sa.sa_mask);
    if (__wrap_sigaction(signo, &sa, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

/* glibc's signal() (BSD semantics) and the one strict C11/POSIX builds get (System V). */
void (*__wrap_signal(int signo, void (*handler)(int)))(int) {
    if (!kql_sig_held(signo)) return __real_signal(signo, handler);
    return kql_signal(signo, handler, SA_RESTART);
}
void (*__wrap___sysv_signal(int signo, void (*handler)(int)))(int) {
    if (!kql_sig_held(signo)) return __real___sysv_signal(signo, handler);
    return kql_signal(signo, handler, SA_RESETHAND | SA_NODEFER);
}

/* A watched signal sent while the program blocks it stays pending: the layer's handler runs only
 * once it is unblocked. BSD records it when it is sent (FreeBSD tdsendsignal and XNU
 * psignal_internal fire the knote before they look at the blocked mask). The signalfd of the
 * watched signals wakes epoll_wait when one becomes pending; this counts each pending, blocked,
 * watched signal once, and marks it so that the handler does not count it again on delivery.
 * Linux keeps one pending instance of a standard signal, so further sends while it is still
 * pending are not seen (BSD counts each). */
static void kql_sig_note_pending(void) {
    sigset_t pending, blocked;
    if (sigpending(&pending) != 0 || sigprocmask(SIG_BLOCK, NULL, &blocked) != 0) return;
    for (int signo = 1; signo < NSIG; signo++) {
        if (!sigismember(&pending, signo)) {
            /* Delivered (the handler cleared the mark) or taken by sigwait(): not pending. */
            atomic_store(&kql_sig_noted[signo], false);
            continue;
        }
        bool ignored_child = signo == SIGCHLD && kql_sig_is(&kql_sig_user[signo], SIG_IGN);
        if (kql_sig_refs[signo] == 0 || !sigismember(&blocked, signo) || ignored_child) continue;
        if (!atomic_exchange(&kql_sig_noted[signo], true)) {
            atomic_fetch_add(&kql_sig_count[signo], 1);
            atomic_fetch_add(&kql_sig_gen, 1);
        }
    }
}

/* The signalfd watches exactly the signals some kqueue watches. */
static int kql_pending_fd_update(void) {
    sigset_t watched;
    sigemptyset(&watched);
    for (int signo = 1; signo < NSIG; signo++)
        if (kql_sig_refs[signo] > 0 && kql_sig_catchable(signo)) sigaddset(&watched, signo);
    int fd = signalfd(kql_pending_fd, &watched, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1) return errno;
    kql_pending_fd = fd;
    return 0;
}

/* One more knote watches signo. The first takes the signal over: the program's disposition is
 * remembered and the layer's handler installed. */
static int kql_sig_watch(int signo) {
    if (kql_sig_refs[signo]++ > 0) return 0;
    int err = 0;
    if (kql_sig_catchable(signo) &&
        (__real_sigaction(signo, NULL, &kql_sig_user[signo]) != 0 || kql_sig_apply(signo) != 0))
        err = errno;
    if (!err) err = kql_pending_fd_update();
    if (err) {
        kql_sig_refs[signo]--;
        kql_sig_apply(signo);
    }
    return err;
}

/* One knote fewer; the last gives the signal back to the program's disposition. */
static void kql_sig_unwatch(int signo) {
    if (--kql_sig_refs[signo] > 0) return;
    kql_sig_apply(signo);
    if (kql_pending_fd != -1) (void)kql_pending_fd_update(); /* only narrows its mask */
}

/* ---- descriptor records --------------------------------------------------------------------- */

static struct kql_fd *kql_fd_find(struct kql_kq *kq, int fd) {
    if ((size_t)fd >= kql_nslots) return NULL;
    for (struct kql_fd *r = kql_slots[fd].fds; r; r = r->same_fd)
        if (r->kq == kq) return r;
    return NULL;
}

static struct kql_fd *kql_fd_new(struct kql_kq *kq, int fd) {
    struct kql_fd *r;
    if (kql_slot_reserve(fd) != 0 || !(r = calloc(1, sizeof *r))) return NULL;
    r->tag = KQL_FD;
    r->fd = fd;
    r->kq = kq;
    r->same_fd = kql_slots[fd].fds;
    kql_slots[fd].fds = r;
    r->next = kq->fds;
    if (kq->fds) kq->fds->prev = r;
    kq->fds = r;
    return r;
}

/* Forget a record. remove_from_epoll is false when the epoll set is going away anyway, or
 * belongs to the parent of a forked child (removing it there would remove it for the parent). */
static void kql_fd_free(struct kql_fd *r, bool remove_from_epoll) {
    /* This fails only when the number no longer names the registered file: closed behind the
     * layer's back (epoll then dropped the registration itself) or reused by dup2 (the old
     * file's registration cannot be named any more). Either way there is nothing left to do. */
    if (remove_from_epoll && r->mask) (void)epoll_ctl(r->kq->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    struct kql_fd **p = &kql_slots[r->fd].fds;
    while (*p != r)
        p = &(*p)->same_fd;
    *p = r->same_fd;
    if (r->prev)
        r->prev->next = r->next;
    else
        r->kq->fds = r->next;
    if (r->next) r->next->prev = r->prev;
    free(r);
}

/* Make the epoll registration match the knotes. EV_CLEAR on either knote makes the whole
 * registration edge-triggered (see kql_report_fd for how the other knote keeps its level). */
static int kql_fd_sync(struct kql_fd *r) {
    uint32_t want = 0;
    bool clear = false;
    if (r->rd.on && r->rd.enabled) {
        want |= EPOLLIN | EPOLLRDHUP;
        clear |= r->rd.kev.flags & EV_CLEAR;
    }
    if (r->wr.on && r->wr.enabled) {
        want |= EPOLLOUT;
        clear |= r->wr.kev.flags & EV_CLEAR;
    }
    if (want && clear) want |= EPOLLET;
    if (want == r->mask) return 0;
    struct epoll_event ev = {.events = want, .data.ptr = r};
    int op = !want ? EPOLL_CTL_DEL : r->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(r->kq->epfd, op, r->fd, &ev) == -1) {
        /* The number was reused behind the layer's back (dup2): fix the registration up. */
        if (op == EPOLL_CTL_MOD && errno == ENOENT)
            op = EPOLL_CTL_ADD;
        else if (op == EPOLL_CTL_ADD && errno == EEXIST)
            op = EPOLL_CTL_MOD;
        else if (op != EPOLL_CTL_DEL)
            return errno;
        if (op != EPOLL_CTL_DEL && epoll_ctl(r->kq->epfd, op, r->fd, &ev) == -1) return errno;
    }
    r->mask = want;
    return 0;
}

/* ---- changelist: one change --------------------------------------------------------------- */

/* EV_ADD of a new knote. It keeps the flags it was added with (EV_ONESHOT, EV_CLEAR, ...) for
 * life and starts enabled. */
static void kql_knote_add(struct kql_knote *kn, const struct kevent *kev) {
    kn->kev = *kev;
    kn->kev.flags = kev->flags & (EV_ONESHOT | EV_CLEAR | EV_DISPATCH | EV_RECEIPT);
    kn->on = true;
    kn->enabled = true;
}

/* Any change to a knote that exists, EV_ADD or not (EV_ENABLE, EV_DISABLE): udata, fflags and
 * data are the change's, never the old ones. FreeBSD kqueue_register: "if ((kev->flags &
 * EV_KEEPUDATA) == 0) kn->kn_kevent.udata = kev->udata;" then kn_sfflags and kn_sdata (this
 * layer has no EV_KEEPUDATA); XNU kevent_register stores kev->udata on the same path. So a
 * program that passes NULL with EV_ENABLE gets NULL back, as on a Mac. */
static void kql_knote_touch(struct kql_knote *kn, const struct kevent *kev) {
    kn->kev.fflags = kev->fflags;
    kn->kev.data = kev->data;
    kn->kev.udata = kev->udata;
}

static void kql_knote_endis(struct kql_knote *kn, unsigned short flags) {
    if (flags & EV_DISABLE)
        kn->enabled = false;
    else if (flags & EV_ENABLE)
        kn->enabled = true;
}

static int kql_change_fd(struct kql_kq *kq, const struct kevent *kev) {
    if (kev->ident > INT_MAX) return EBADF;
    int fd = (int)kev->ident;
    struct kql_fd *r = kql_fd_find(kq, fd);
    if (!r && fcntl(fd, F_GETFD) == -1) return EBADF;
    struct kql_knote *kn = r ? (kev->filter == EVFILT_READ ? &r->rd : &r->wr) : NULL;
    bool existed = kn && kn->on;

    if (kev->flags & EV_DELETE) {
        if (!existed) return ENOENT;
        kn->on = false;
    } else if (!existed && !(kev->flags & EV_ADD)) {
        return ENOENT;
    } else {
        if (!r && !(r = kql_fd_new(kq, fd))) return ENOMEM;
        kn = kev->filter == EVFILT_READ ? &r->rd : &r->wr;
        if (existed)
            kql_knote_touch(kn, kev);
        else
            kql_knote_add(kn, kev);
        if ((kev->flags & EV_ADD) && kev->filter == EVFILT_READ) {
            int on = 0;
            socklen_t len = sizeof on;
            r->listener = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
        }
        kql_knote_endis(kn, kev->flags);
    }
    int err = kql_fd_sync(r);
    if (err && !existed) kn->on = false; /* a new registration that epoll refused never was */
    if (!r->rd.on && !r->wr.on) kql_fd_free(r, true);
    return err;
}

static struct kql_timer *kql_timer_find(struct kql_kq *kq, uintptr_t ident) {
    for (struct kql_timer *t = kq->timers; t; t = t->next)
        if (t->kn.kev.ident == ident) return t;
    return NULL;
}

static void kql_timer_free(struct kql_kq *kq, struct kql_timer *t) {
    __real_close(t->tfd); /* also leaves the epoll set: nobody else holds the timerfd */
    if (t->prev)
        t->prev->next = t->next;
    else
        kq->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    free(t);
}

/* The period of a timer change, from data in fflags' unit. As FreeBSD's filt_timervalidate:
 * fflags may hold one unit at most (none means milliseconds) and nothing else, data may not be
 * negative (both EINVAL), and a periodic timer of 0 runs every 1 unit. NOTE_ABSTIME, the one
 * other flag FreeBSD accepts, is not offered by this layer's header, so it is EINVAL here. */
static int kql_timer_period(const struct kevent *kev, struct timespec *period) {
    int64_t per_sec;
    switch (kev->fflags) {
    case 0:
    case NOTE_MSECONDS:
        per_sec = 1000;
        break;
    case NOTE_SECONDS:
        per_sec = 1;
        break;
    case NOTE_USECONDS:
        per_sec = 1000000;
        break;
    case NOTE_NSECONDS:
        per_sec = 1000000000;
        break;
    default: /* two units, or a flag that is not a unit */
        return EINVAL;
    }
    int64_t n = kev->data;
    if (n < 0) return EINVAL;
    if (n == 0 && !(kev->flags & EV_ONESHOT)) n = 1;
    period->tv_sec = (time_t)(n / per_sec);
    period->tv_nsec = (long)(n % per_sec * (1000000000 / per_sec));
    return 0;
}

/* (Re)start a timer from its knote's data and fflags, validated by kql_timer_period. */
static int kql_timer_arm(struct kql_timer *t) {
    struct timespec ts;
    int err = kql_timer_period(&t->kn.kev, &ts);
    if (err) return err;
    if (ts.tv_sec == 0 && ts.tv_nsec == 0) ts.tv_nsec = 1; /* zero would disarm the timerfd */
    struct itimerspec its = {.it_value = ts};
    if (!(t->kn.kev.flags & EV_ONESHOT)) its.it_interval = ts;
    return timerfd_settime(t->tfd, 0, &its, NULL) == 0 ? 0 : errno;
}

static int kql_timer_sync(struct kql_kq *kq, struct kql_timer *t) {
    struct epoll_event ev = {.events = t->kn.enabled ? EPOLLIN : 0, .data.ptr = t};
    return epoll_ctl(kq->epfd, EPOLL_CTL_MOD, t->tfd, &ev) == 0 ? 0 : errno;
}

/* A re-add with a period FreeBSD's filt_timertouch refuses stops the timer, and the error comes
 * back as the timer's next event, flagged EV_ERROR with the errno in data ("kn->kn_flags |=
 * EV_ERROR; kn->kn_data = error;"), not as an error of the change. (XNU's filt_timertouch
 * answers in the changelist and keeps the old timer.) The timerfd fires at once to report it. */
static int kql_timer_fail(struct kql_timer *t, int err) {
    t->error = err;
    struct itimerspec now = {.it_value = {.tv_nsec = 1}};
    return timerfd_settime(t->tfd, 0, &now, NULL) == 0 ? 0 : errno;
}

static int kql_change_timer(struct kql_kq *kq, const struct kevent *kev) {
    struct kql_timer *t = kql_timer_find(kq, kev->ident);
    if (kev->flags & EV_DELETE) {
        if (!t) return ENOENT;
        kql_timer_free(kq, t);
        return 0;
    }
    if (!t && !(kev->flags & EV_ADD)) return ENOENT;
    int err;
    if (!t) {
        struct timespec period; /* a bad new timer is refused before anything is made */
        if ((err = kql_timer_period(kev, &period)) != 0) return err;
        if (!(t = calloc(1, sizeof *t))) return ENOMEM;
        t->tag = KQL_TIMER;
        t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
        if (t->tfd == -1 || epoll_ctl(kq->epfd, EPOLL_CTL_ADD, t->tfd, &ev) == -1) {
            err = errno;
            if (t->tfd != -1) __real_close(t->tfd);
            free(t);
            return err;
        }
        t->next = kq->timers;
        if (kq->timers) kq->timers->prev = t;
        kq->timers = t;
        kql_knote_add(&t->kn, kev);
        t->kn.kev.flags |= EV_CLEAR; /* as on BSD: a timer reports expirations since the last */
        if ((err = kql_timer_arm(t)) != 0) {
            kql_timer_free(kq, t);
            return err;
        }
    } else if (kev->flags & EV_ADD) {
        kql_knote_touch(&t->kn, kev); /* re-adding restarts it with the new period */
        t->error = 0;
        err = kql_timer_arm(t);
        if (err == EINVAL) err = kql_timer_fail(t, EINVAL);
        if (err) return err;
    } else {
        /* EV_ENABLE or EV_DISABLE alone: FreeBSD's filt_timertouch takes a new period only
         * with EV_ADD, but udata is replaced as for every filter. (XNU's re-arms the timer
         * with the change's data on any change.) */
        t->kn.kev.udata = kev->udata;
    }
    kql_knote_endis(&t->kn, kev->flags);
    return kql_timer_sync(kq, t);
}

/* The eventfd the handler writes and the signalfd of pending signals are in a kqueue's epoll set
 * while it watches a signal. The signalfd is edge-triggered: a signal the program keeps blocked
 * stays pending for as long as it likes, and is counted once. */
static int kql_kq_wakers_add(struct kql_kq *kq) {
    if (kql_wake_fd == -1 && (kql_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
        return errno;
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = (void *)&kql_wake_tag};
    struct epoll_event pending = {.events = EPOLLIN | EPOLLET,
                                  .data.ptr = (void *)&kql_pending_tag};
    if (epoll_ctl(kq->epfd, EPOLL_CTL_ADD, kql_wake_fd, &wake) == -1) return errno;
    if (epoll_ctl(kq->epfd, EPOLL_CTL_ADD, kql_pending_fd, &pending) == -1) {
        int err = errno;
        (void)epoll_ctl(kq->epfd, EPOLL_CTL_DEL, kql_wake_fd, NULL);
        return err;
    }
    return 0;
}

static void kql_kq_wakers_del(struct kql_kq *kq) {
    /* The layer's own descriptors, registered in this set: removing them cannot fail. */
    (void)epoll_ctl(kq->epfd, EPOLL_CTL_DEL, kql_wake_fd, NULL);
    (void)epoll_ctl(kq->epfd, EPOLL_CTL_DEL, kql_pending_fd, NULL);
}

static void kql_kq_signal_gone(struct kql_kq *kq, int signo) {
    kq->sig[signo].on = false;
    kql_sig_unwatch(signo);
    if (--kq->nsigs == 0) kql_kq_wakers_del(kq);
}

static int kql_change_signal(struct kql_kq *kq, const struct kevent *kev) {
    /* FreeBSD's and XNU's filt_sigattach check nothing: any number is accepted, and one that
     * is not a signal never fires; here it is EINVAL. SIGKILL is accepted: the process dies
     * before it could read the event, as there. SIGSTOP is ENOTSUP: both kernels record it
     * before the process stops and report it once it is continued, and Linux gives a process
     * no way to learn that it was stopped. */
    if (kev->ident == 0 || kev->ident >= NSIG) return EINVAL;
    if (kev->ident == SIGSTOP) return ENOTSUP;
    int signo = (int)kev->ident;
    struct kql_knote *kn = &kq->sig[signo];
    if (kev->flags & EV_DELETE) {
        if (!kn->on) return ENOENT;
        kql_kq_signal_gone(kq, signo);
        return 0;
    }
    if (!kn->on && !(kev->flags & EV_ADD)) return ENOENT;
    if (kn->on) {
        kql_knote_touch(kn, kev);
    } else {
        kql_sig_note_pending(); /* what other knotes are owed, before this one counts along */
        int err = kql_sig_watch(signo);
        if (!err && kq->nsigs == 0 && (err = kql_kq_wakers_add(kq)) != 0) kql_sig_unwatch(signo);
        if (err) return err;
        kq->nsigs++;
        kql_knote_add(kn, kev);
        kn->kev.flags |= EV_CLEAR; /* as on BSD: data counts signals since the last report */
        /* Already pending and blocked: sent before this knote existed. BSD never reports such
         * a signal, not even when the program unblocks it later. */
        sigset_t pending, blocked;
        if (sigpending(&pending) == 0 && sigprocmask(SIG_BLOCK, NULL, &blocked) == 0 &&
            sigismember(&pending, signo) && sigismember(&blocked, signo))
            atomic_store(&kql_sig_noted[signo], true);
        kq->sig_seen[signo] = atomic_load(&kql_sig_count[signo]); /* count from now on */
    }
    kql_knote_endis(kn, kev->flags);
    return 0;
}

static int kql_change(struct kql_kq *kq, const struct kevent *kev) {
    /* FreeBSD kqueue_register refuses the pair first thing; XNU lets EV_DISABLE win. */
    if ((kev->flags & (EV_ENABLE | EV_DISABLE)) == (EV_ENABLE | EV_DISABLE)) return EINVAL;
    switch (kev->filter) {
    case EVFILT_READ:
    case EVFILT_WRITE:
        return kql_change_fd(kq, kev);
    case EVFILT_TIMER:
        return kql_change_timer(kq, kev);
    case EVFILT_SIGNAL:
        return kql_change_signal(kq, kev);
    default:
        return EINVAL;
    }
}

/* ---- reporting events ----------------------------------------------------------------------- */

/* The event to return for a knote: its registration, with flags as the kernel shows them. */
static struct kevent kql_event(const struct kql_knote *kn, int64_t data, unsigned short eof,
                               unsigned int fflags) {
    struct kevent out = kn->kev;
    out.flags |= eof;
    out.fflags = fflags;
    out.data = data;
    return out;
}

static int64_t kql_read_data(const struct kql_fd *r) {
    if (r->listener) {
        /* On a listening TCP socket tcpi_unacked is the number of connections ready for
         * accept(); other listeners get 1, which is still "at least one". */
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt(r->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) return ti.tcpi_unacked;
        return 1;
    }
    int n = 0;
    return ioctl(r->fd, FIONREAD, &n) == 0 ? n : 0;
}

static int64_t kql_write_data(const struct kql_fd *r) {
    /* Free space in the send buffer, counted the way the kernel decides writability: the
     * buffer size minus what is queued (TCP) or allocated (Unix sockets), in one call. */
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof mem;
    if (getsockopt(r->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0) {
        uint32_t used = mem[SK_MEMINFO_WMEM_QUEUED] > mem[SK_MEMINFO_WMEM_ALLOC]
                            ? mem[SK_MEMINFO_WMEM_QUEUED]
                            : mem[SK_MEMINFO_WMEM_ALLOC];
        return mem[SK_MEMINFO_SNDBUF] > used ? (int64_t)(mem[SK_MEMINFO_SNDBUF] - used) : 0;
    }
    int size = fcntl(r->fd, F_GETPIPE_SZ), queued = 0; /* a pipe */
    if (size > 0 && ioctl(r->fd, FIONREAD, &queued) == 0 && size > queued) return size - queued;
    return 0;
}

/* After a knote was reported: EV_ONESHOT deletes it, EV_DISPATCH disables it. */
static bool kql_knote_after(struct kql_knote *kn) {
    if (kn->kev.flags & EV_ONESHOT)
        kn->on = false;
    else if (kn->kev.flags & EV_DISPATCH)
        kn->enabled = false;
    else
        return false;
    return true;
}

/* Write the event of one of a record's knotes if there is room; false if there was none. */
static bool kql_report_knote(struct kql_fd *r, struct kql_knote *kn, uint32_t ev,
                             struct kevent *out, int *n, int room, bool *rearm, bool *changed) {
    if (*n == room) {
        *rearm = true;
        return false;
    }
    bool eof;
    int64_t data;
    if (kn == &r->rd) {
        eof = ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR); /* a half-close ends reading only */
        data = kql_read_data(r);
    } else {
        eof = ev & (EPOLLHUP | EPOLLERR); /* the peer's half-close leaves us writable */
        data = kql_write_data(r);
    }
    out[(*n)++] = kql_event(kn, data, eof ? EV_EOF : 0, eof ? r->error : 0);
    *rearm |= (r->mask & EPOLLET) && !(kn->kev.flags & EV_CLEAR);
    *changed |= kql_knote_after(kn);
    return true;
}

/* One epoll event for a descriptor: up to two kevents. Returns how many were written. */
static int kql_report_fd(struct kql_fd *r, uint32_t ev, struct kevent *out, int room) {
    if (ev & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) r->error = err;
    }
    bool rd = r->rd.on && r->rd.enabled && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
    bool wr = r->wr.on && r->wr.enabled && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR));
    /* When only one of the two fits, the one left out goes first next time, so that a busy
     * READ cannot starve WRITE with a one-entry eventlist. */
    struct kql_knote *first = r->write_first ? &r->wr : &r->rd;
    struct kql_knote *second = r->write_first ? &r->rd : &r->wr;
    bool first_ready = r->write_first ? wr : rd, second_ready = r->write_first ? rd : wr;
    int n = 0;
    bool rearm = false, changed = false;
    if (first_ready) kql_report_knote(r, first, ev, out, &n, room, &rearm, &changed);
    if (second_ready && !kql_report_knote(r, second, ev, out, &n, room, &rearm, &changed))
        r->write_first = second == &r->wr;
    else if (n > 0)
        r->write_first = false;
    /* Edge-triggered registration (some knote has EV_CLEAR): the edge is consumed, so a knote
     * that keeps its level, or did not fit in the eventlist, needs the registration re-armed;
     * EPOLL_CTL_MOD queues the descriptor again if it is still ready. */
    uint32_t before = r->mask;
    if (changed) kql_fd_sync(r);
    if (!r->rd.on && !r->wr.on) {
        kql_fd_free(r, true);
    } else if (rearm && r->mask && r->mask == before) {
        /* Fails only if the descriptor was closed behind the layer's back, and then there is
         * nothing more to report. kevent() has already delivered its events: no error to give. */
        struct epoll_event e = {.events = r->mask, .data.ptr = r};
        (void)epoll_ctl(r->kq->epfd, EPOLL_CTL_MOD, r->fd, &e);
    }
    return n;
}

static int kql_report_timer(struct kql_kq *kq, struct kql_timer *t, struct kevent *out) {
    uint64_t expirations;
    if (!t->kn.enabled || read(t->tfd, &expirations, sizeof expirations) != sizeof expirations)
        return 0;
    *out = kql_event(&t->kn, (int64_t)expirations, 0, 0);
    if (t->error) { /* see kql_timer_fail: reported once, and the timer stays stopped */
        out->flags |= EV_ERROR;
        out->data = t->error;
        t->error = 0;
    }
    if (kql_knote_after(&t->kn)) {
        if (!t->kn.on)
            kql_timer_free(kq, t);
        else
            kql_timer_sync(kq, t);
    }
    return 1;
}

/* Signals delivered since the last scan. A scan cut short by a full eventlist is redone. */
static int kql_report_signals(struct kql_kq *kq, struct kevent *out, int room) {
    unsigned long gen = atomic_load(&kql_sig_gen);
    if (kq->nsigs == 0 || gen == kq->sig_gen) return 0;
    int n = 0;
    for (int signo = 1; signo < NSIG; signo++) {
        struct kql_knote *kn = &kq->sig[signo];
        unsigned long count = atomic_load(&kql_sig_count[signo]);
        if (!kn->on || !kn->enabled || count == kq->sig_seen[signo]) continue;
        if (n == room) return n;
        out[n++] = kql_event(kn, (int64_t)(count - kq->sig_seen[signo]), 0, 0);
        kq->sig_seen[signo] = count;
        if (kql_knote_after(kn) && !kn->on) kql_kq_signal_gone(kq, signo);
    }
    kq->sig_gen = gen;
    return n;
}

/* ---- kqueue() and kevent() ------------------------------------------------------------------ */

static void kql_kq_free(struct kql_kq *kq) {
    while (kq->fds)
        kql_fd_free(kq->fds, false);
    while (kq->timers) /* the head's prev is NULL, which the analyzer does not know */
        kql_timer_free(kq, kq->timers); /* NOLINT(clang-analyzer-unix.Malloc) */
    for (int signo = 1; signo < NSIG; signo++)
        if (kq->sig[signo].on) kql_sig_unwatch(signo);
    kql_slots[kq->epfd].kq = NULL;
    free(kq->buf);
    free(kq);
}

/* close() as the program sees it: a closed descriptor takes its registrations with it. */
int __wrap_close(int fd) {
    if (fd >= 0 && (size_t)fd < kql_nslots) {
        struct kql_slot *s = &kql_slots[fd];
        while (s->fds)
            kql_fd_free(s->fds, true);
        if (s->kq) kql_kq_free(s->kq);
    }
    return __real_close(fd);
}

/* In a child made by fork(). "The kqueue() system call creates a new kernel event queue ...
 * The queue is not inherited by a child created with fork(2)" (kqueue(2)): FreeBSD's fdcopy
 * leaves it out of the child's table, XNU closes it on fork. So every kqueue is closed here, and
 * its number is free in the child (EBADF), as there. The child shares each epoll set, the wake
 * eventfd and the signalfd with its parent (the same open files), so none of them may be
 * changed: the child's copies are closed, nothing is removed from them. */
static void kql_atfork_child(void) {
    int shared[] = {kql_wake_fd, kql_pending_fd};
    kql_wake_fd = kql_pending_fd = -1;
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (shared[i] != -1) __real_close(shared[i]);
    for (size_t fd = 0; fd < kql_nslots; fd++) {
        if (!kql_slots[fd].kq) continue;
        kql_kq_free(kql_slots[fd].kq); /* gives the program its signal dispositions back */
        __real_close((int)fd);
    }
    for (int signo = 1; signo < NSIG; signo++) /* a child starts with no signal pending */
        atomic_store(&kql_sig_noted[signo], false);
}

int kqueue(void) {
    static bool atfork_set;
    if (!atfork_set) {
        int err = pthread_atfork(NULL, NULL, kql_atfork_child);
        if (err) {
            errno = err;
            return -1;
        }
        atfork_set = true;
    }
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd == -1) return -1;
    struct kql_kq *kq = calloc(1, sizeof *kq);
    if (!kq || kql_slot_reserve(epfd) != 0) {
        free(kq);
        __real_close(epfd);
        errno = ENOMEM;
        return -1;
    }
    kq->epfd = epfd;
    kql_slots[epfd].kq = kq;
    return epfd;
}

/* Timeout in milliseconds for epoll_wait, rounded up so we never return early. kqueue(2), BUGS:
 * "The timeout value is limited to 24 hours; longer timeouts will be silently reinterpreted as
 * 24 hours." */
#define KQL_MAX_TIMEOUT_S (24 * 60 * 60)
static int kql_ms(const struct timespec *ts) {
    if (!ts) return -1;
    if (ts->tv_sec >= KQL_MAX_TIMEOUT_S) return KQL_MAX_TIMEOUT_S * 1000;
    return (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000);
}

static int kql_ms_left(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec left = {deadline->tv_sec - now.tv_sec, deadline->tv_nsec - now.tv_nsec};
    if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += 1000000000;
    }
    return left.tv_sec < 0 ? 0 : kql_ms(&left);
}

int kevent(int kqfd, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout) {
    struct kql_kq *kq = kqfd >= 0 && (size_t)kqfd < kql_nslots ? kql_slots[kqfd].kq : NULL;
    if (!kq) {
        /* FreeBSD kqueue_acquire (current): EBADF for a number that is not open, EINVAL for one
         * that is open but not a kqueue. XNU, and older FreeBSD, say EBADF for both. */
        errno = kqfd >= 0 && fcntl(kqfd, F_GETFD) != -1 ? EINVAL : EBADF;
        return -1;
    }
    if (nchanges < 0 || nevents < 0) {
        errno = EINVAL;
        return -1;
    }

    /* All changes first, in order (FreeBSD kqueue_kevent). A failed change, or any change with
     * EV_RECEIPT, is answered with an EV_ERROR entry while the eventlist has room. Without room
     * the call ends there and the changes after it are not applied: -1 with the errno for a
     * failed change, 0 for a receipt ("if (nevents == 0) return (error);", and FreeBSD's system
     * call entry starts the return value at 0). XNU agrees for a failure; a receipt without room
     * it skips and carries on. */
    int n = 0;
    for (int i = 0; i < nchanges; i++) {
        struct kevent kev = changelist[i]; /* the lists may be the same array */
        if (kev.filter == 0) continue;
        int err = kql_change(kq, &kev);
        if (!err && !(kev.flags & EV_RECEIPT)) continue;
        if (n == nevents) {
            if (!err) return 0;
            errno = err;
            return -1;
        }
        kev.flags = EV_ERROR;
        kev.data = err;
        eventlist[n++] = kev;
    }
    /* Entries written: returned without looking for events. No room: "When nevents is zero,
     * kevent() will return immediately even if there is a timeout specified" (kqueue(2)). */
    if (n > 0 || nevents == 0) return n;
    /* FreeBSD's kqueue_scan checks the timeout only now, after the changes (XNU before them). */
    if (timeout &&
        (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000)) {
        errno = EINVAL;
        return -1;
    }

    /* epoll's share of the eventlist, allocated once per size. A huge nevents is taken in
     * batches of KQL_BATCH_MAX: fewer events per call, never fewer than are ready in total. */
    int want = nevents < KQL_BATCH_MAX ? nevents : KQL_BATCH_MAX;
    if (kq->cap < want) {
        struct epoll_event *buf = realloc(kq->buf, (size_t)want * sizeof *buf);
        if (!buf) {
            errno = ENOMEM;
            return -1;
        }
        kq->buf = buf;
        kq->cap = want;
    }

    int ms = kql_ms(timeout);
    struct timespec deadline = {0};
    if (ms > 0) {
        bool capped = timeout->tv_sec >= KQL_MAX_TIMEOUT_S;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += capped ? KQL_MAX_TIMEOUT_S : timeout->tv_sec;
        deadline.tv_nsec += capped ? 0 : timeout->tv_nsec;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    for (;;) {
        n = kql_report_signals(kq, eventlist, nevents);
        if (n == nevents) return n;
        unsigned long gen = atomic_load(&kql_sig_gen);
        unsigned long calls = atomic_load(&kql_sig_user_calls);
        int room = nevents - n < kq->cap ? nevents - n : kq->cap;
        int ready = epoll_wait(kq->epfd, kq->buf, room, n ? 0 : ms);
        if (ready == -1) {
            if (errno != EINTR) return -1;
            /* Interrupted. BSD kevent returns EINTR when a handler ran; a signal the program
             * ignores (only the layer's handler ran) just wakes us to report it. */
            if (atomic_load(&kql_sig_gen) == gen || atomic_load(&kql_sig_user_calls) != calls) {
                if (n > 0) return n;
                errno = EINTR;
                return -1;
            }
            ready = 0;
        }
        /* Every event epoll handed over is looked at, even when the eventlist is full: an
         * edge-triggered one would otherwise be lost (kql_report_fd re-arms it). */
        for (int i = 0; i < ready; i++) {
            void *p = kq->buf[i].data.ptr;
            switch (*(const enum kql_tag *)p) {
            case KQL_WAKE: {
                uint64_t count;
                ssize_t r = read(kql_wake_fd, &count, sizeof count); /* drained; scanned below */
                (void)r;
                break;
            }
            case KQL_PENDING: /* a watched signal became pending: count it if it is blocked */
                kql_sig_note_pending();
                break;
            case KQL_TIMER: /* level-triggered: if it does not fit, epoll reports it again */
                if (n < nevents) n += kql_report_timer(kq, p, eventlist + n);
                break;
            case KQL_FD:
                n += kql_report_fd(p, kq->buf[i].events, eventlist + n, nevents - n);
                break;
            }
        }
        n += kql_report_signals(kq, eventlist + n, nevents - n);
        if (n > 0 || ms == 0) return n;
        if (ms > 0 && (ms = kql_ms_left(&deadline)) == 0) return 0;
    }
}
