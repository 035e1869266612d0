/*
 * harness.c - see harness.h. Starts servers, waits for them with
 * deadlines, and makes sure none outlives its test.
 */
/* Feature macros. glibc shows POSIX under -std=c11 only when asked, and
 * closefrom (glibc 2.34 and later) only with _DEFAULT_SOURCE; macOS keeps
 * its own names (sysctlbyname) with _DARWIN_C_SOURCE. The BSDs show POSIX
 * and their own names by default, and asking for strict POSIX there would
 * hide closefrom: they are asked for nothing. */
#if !defined(__FreeBSD__) && !defined(__OpenBSD__) && !defined(__NetBSD__) &&                      \
    !defined(__DragonFly__)
#define _POSIX_C_SOURCE  200809L
#define _DEFAULT_SOURCE  /* glibc: closefrom */
#define _DARWIN_C_SOURCE /* macOS: BSD names next to POSIX */
#endif

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

/* closefrom(3): the BSDs, and glibc from 2.34 (__GLIBC__ comes with any
 * libc header). Not macOS, nor musl. */
#if defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) ||                         \
    defined(__DragonFly__) ||                                                                      \
    (defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)))
#define HAVE_CLOSEFROM 1
#endif

/* --- sanitizers -------------------------------------------------------- */

/* Under `make test SANITIZE=1` on Linux the test programs run under
 * LeakSanitizer too. Criterion 2.4.1's runner leaks a few hundred bytes of its own (more
 * when tests with a timeout overlap): not ours, and it must not fail a
 * suite. Only the test runner is affected: the server under test is a
 * separate program with no such suppression. print_suppressions=0 keeps
 * Criterion's synthesis the last line of a run. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libcriterion.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) {
    return "print_suppressions=0";
}

/* --- bookkeeping: every server we started, so none is left behind ------- */

#define MAX_SERVERS 64
static h_server *live[MAX_SERVERS];
static int cleanup_registered;

static void kill_all_servers(void) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (live[i] && !live[i]->exited) kill(live[i]->pid, SIGKILL);
    }
}

static void track(h_server *s) {
    if (!cleanup_registered) {
        atexit(kill_all_servers);
        cleanup_registered = 1;
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (!live[i]) {
            live[i] = s;
            return;
        }
    }
    kill(s->pid, SIGKILL);
    cr_fatal("harness: more than %d servers in one test", MAX_SERVERS);
}

static void untrack(h_server *s) {
    for (int i = 0; i < MAX_SERVERS; i++)
        if (live[i] == s) live[i] = NULL;
}

/* --- time --------------------------------------------------------------- */

long long h_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long h_deadline(int ms) {
    return h_now_ms() + (ms > 0 ? ms : H_DEADLINE_MS);
}

void h_pause_ms(int ms) {
    long long end = h_now_ms() + ms;
    while (h_now_ms() < end) /* poll() on nothing: a portable millisecond timer */
        poll(NULL, 0, (int)(end - h_now_ms()));
}

int h_poll_until(int (*cond)(void *), void *arg, int deadline_ms, int ms_step) {
    long long deadline = h_deadline(deadline_ms);
    int v;
    while (!(v = cond(arg)) && h_now_ms() < deadline)
        h_pause_ms(ms_step > 0 ? ms_step : 5);
    return v;
}

/* --- environment -------------------------------------------------------- */

const char *h_env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *h_bin(void) {
    const char *bin = h_env("PARROT_BIN");
    if (!bin) cr_fatal("PARROT_BIN is not set: run this suite through its Makefile (make check)");
    if (access(bin, X_OK) != 0) cr_fatal("PARROT_BIN=%s: %s", bin, strerror(errno));
    return bin;
}

/* --- output files --------------------------------------------------------- */

/* Append whatever is new in the file at path to *buf (NUL-terminated). */
static void slurp_new(const char *path, char **buf, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    for (;;) {
        char chunk[65536];
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)*len);
        if (n <= 0) break;
        char *grown = realloc(*buf, *len + (size_t)n + 1);
        if (!grown) cr_fatal("harness: out of memory reading %s", path);
        *buf = grown;
        memcpy(*buf + *len, chunk, (size_t)n);
        *len += (size_t)n;
        (*buf)[*len] = '\0';
    }
    close(fd);
}

void h_log_refresh(h_server *s) {
    if (s->out_path[0]) slurp_new(s->out_path, &s->out, &s->out_len);
}

void h_err_refresh(h_server *s) {
    slurp_new(s->err_path, &s->err, &s->err_len);
}

int h_temp_file(char *path, size_t cap, const char *what) {
    const char *dir = h_env("TMPDIR");
    if (!dir) dir = "/tmp";
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') /* macOS's ends in '/' */
        len--;
    int n = snprintf(path, cap, "%.*s/parrot-%s-XXXXXX", (int)len, dir, what);
    if (n < 0 || (size_t)n >= cap)
        cr_fatal("harness: TMPDIR=%s is too long for a temporary file's name (room for %zu bytes)",
                 dir, cap);
    int fd = mkstemp(path);
    if (fd < 0) cr_fatal("harness: mkstemp(%s): %s", path, strerror(errno));
    return fd;
}

/* --- the test process: SIGPIPE, descriptors, the watcher ----------------- */

void h_ignore_sigpipe(void) {
    static int done;
    if (done) return;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        cr_fatal("harness: signal SIGPIPE: %s", strerror(errno));
    done = 1;
}

void h_need_fds(long n) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        cr_fatal("harness: getrlimit RLIMIT_NOFILE: %s", strerror(errno));
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)n) return;
    rlim_t cap = rl.rlim_max; /* RLIM_INFINITY: no cap */
    const char *cap_name = "the hard open-files limit (ulimit -Hn)";
#if defined(__APPLE__)
    /* macOS refuses a soft limit above kern.maxfilesperproc (10240 unless
     * changed); read it, and assume 10240 if it cannot be read. */
    int per_process = 0;
    size_t len = sizeof per_process;
    rlim_t apple_cap = 10240;
    if (sysctlbyname("kern.maxfilesperproc", &per_process, &len, NULL, 0) == 0 && per_process > 0)
        apple_cap = (rlim_t)per_process;
    if (cap == RLIM_INFINITY || apple_cap < cap) {
        cap = apple_cap;
        cap_name = "kern.maxfilesperproc (sysctl)";
    }
#endif
    if (cap != RLIM_INFINITY && cap < (rlim_t)n)
        cr_fatal("this test needs %ld open descriptors, but %s is %llu: raise it and run the "
                 "tests again",
                 n, cap_name, (unsigned long long)cap);
    rl.rlim_cur = (rlim_t)n;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        cr_fatal("harness: setrlimit RLIMIT_NOFILE %ld: %s", n, strerror(errno));
    /* FreeBSD lowers a soft limit above kern.maxfilesperproc without a
     * word: check what was granted. */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        cr_fatal("harness: getrlimit RLIMIT_NOFILE: %s", strerror(errno));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n)
        cr_fatal("this test needs %ld open descriptors, but the system granted %llu", n,
                 (unsigned long long)rl.rlim_cur);
}

/* Close every descriptor from low up: closefrom where the system has it,
 * else one close() per descriptor the open-files limit allows, up to
 * 65536 (Linux containers may allow a million; no test holds that many). */
static void close_from(int low) {
#ifdef HAVE_CLOSEFROM
    closefrom(low);
#else
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = low; fd < max; fd++)
        close(fd);
#endif
}

/* The watcher: no server outlives its test process, however that ends.
 *
 * A test process that exits (a test returns, an assertion fails) kills its
 * servers in an atexit handler. One that dies without exiting does not run
 * it: Criterion's timeout kills it with SIGPROF, a crash with SIGSEGV.
 * Linux and FreeBSD could be asked to signal a child when its parent dies,
 * macOS cannot; so, the same way on every system:
 *
 *   - the first server started forks a watcher, which becomes a process
 *     group of its own and blocks reading a pipe whose write end only the
 *     test process holds (close-on-exec; every child closes it too);
 *   - every server joins the watcher's group;
 *   - however the test process ends, the kernel closes its descriptors,
 *     the watcher's read returns end of file, and the watcher kills its
 *     whole group: every server still running, and itself.
 *
 * A group, not a list of pids: a process group exists as long as one of
 * its members does (the watcher, until the end), so no pid can have been
 * reaped and reused by another program when the kill comes. The servers
 * are not in the terminal's foreground group; nothing needs them there
 * (Ctrl-C reaches the test process, whose death then ends them).
 *
 * The watcher is forked by the first server start, so for a moment (until
 * it has run close_from) it holds a copy of every descriptor the test had
 * open then: a test that needs the last copy of one closed (a pipe with no
 * reader left) must allow for that moment. */
static pid_t watcher;     /* its pid, which is its group's id */
static int watch_fd = -1; /* the pipe's write end: never written, only its closing matters */

static pid_t watch_group(void) {
    if (watcher > 0) return watcher;
    int p[2];
    if (pipe(p) != 0) cr_fatal("harness: pipe: %s", strerror(errno));
    if (fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0)
        cr_fatal("harness: fcntl FD_CLOEXEC: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) cr_fatal("harness: fork (the watcher): %s", strerror(errno));
    if (pid == 0) {
        /* Once the test process is gone, a group holding a stopped server
         * is sent SIGHUP by the kernel (an orphaned group): not for us. */
        signal(SIGHUP, SIG_IGN);
        setpgid(0, 0); /* the parent does it too, whichever runs first */
        if (dup2(p[0], 0) < 0) _exit(127);
        close_from(3); /* the write end among them */
        char c;
        for (;;) {
            ssize_t n = read(0, &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR)) break;
        }
        kill(-getpid(), SIGKILL); /* the group whose id is our pid: never anyone else's */
        _exit(0);
    }
    close(p[0]);
    if (setpgid(pid, pid) != 0) cr_fatal("harness: setpgid (the watcher): %s", strerror(errno));
    watcher = pid;
    watch_fd = p[1];
    return watcher;
}

/* --- processes ---------------------------------------------------------- */

static void reap(h_server *s, int hang) {
    if (s->exited) return;
    int status;
    pid_t r = waitpid(s->pid, &status, hang ? 0 : WNOHANG);
    if (r == s->pid) {
        s->exited = 1;
        s->status = status;
    }
}

int h_alive(h_server *s) {
    reap(s, 0);
    return !s->exited;
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/* In the child, after fork: lower one resource limit (soft) to value.
 * stderr is already the server's: a failure is said there, and the
 * harness shows it when the server does not start. */
static void limit(int resource, const char *name, long value) {
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0) {
        dprintf(2, "harness: getrlimit %s: %s\n", name, strerror(errno));
        _exit(127);
    }
    rl.rlim_cur = (rlim_t)value;
    if (setrlimit(resource, &rl) != 0) {
        dprintf(2, "harness: setrlimit %s %ld: %s\n", name, value, strerror(errno));
        _exit(127);
    }
}

/* In the child, after fork: set or remove one environment variable. */
static void set_env(const char *name, const char *value) {
    if ((value ? setenv(name, value, 1) : unsetenv(name)) != 0) {
        dprintf(2, "harness: %s %s: %s\n", value ? "setenv" : "unsetenv", name, strerror(errno));
        _exit(127);
    }
}

/* In the child, after fork: systemd's side of socket activation. The
 * descriptor becomes 3 (dup2 leaves it open across exec; if it is 3
 * already, close-on-exec is cleared by hand), and the variables name this
 * process, which exec keeps: sd_listen_fds(3). */
static void hand_over(const h_opts *opts) {
    if (opts->listen_fd <= 0) {
        set_env("LISTEN_PID", NULL);
        set_env("LISTEN_FDS", NULL);
        set_env("LISTEN_FDNAMES", NULL);
        return;
    }
    if ((opts->listen_fd != 3 && dup2(opts->listen_fd, 3) < 0) || fcntl(3, F_SETFD, 0) != 0) {
        dprintf(2, "harness: descriptor %d as 3: %s\n", opts->listen_fd, strerror(errno));
        _exit(127);
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    set_env("LISTEN_PID", opts->listen_pid ? opts->listen_pid : pid);
    set_env("LISTEN_FDS", opts->listen_fds ? opts->listen_fds : "1");
    set_env("LISTEN_FDNAMES", NULL);
}

static pid_t spawn(const char *path, const h_opts *opts, int out_fd, int err_fd) {
    const char *argv[64];
    int argc = 0;
    argv[argc++] = path;
    for (int i = 0; opts->args && opts->args[i]; i++) {
        if (argc >= 63) cr_fatal("harness: too many arguments");
        argv[argc++] = opts->args[i];
    }
    argv[argc] = NULL;

    h_ignore_sigpipe();
    pid_t group = watch_group();
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) cr_fatal("harness: fork: %s", strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
            _exit(127);
        /* Into the watcher's group; then, had the test process died before
         * that, the watcher may have killed the group already: go too. */
        if (setpgid(0, group) != 0) {
            dprintf(2, "harness: setpgid %ld: %s\n", (long)group, strerror(errno));
            _exit(127);
        }
        if (getppid() != parent) _exit(127);
        hand_over(opts);
        /* The test process may hold many descriptors (the watcher's pipe
         * among them); the server starts with only stdin, stdout, stderr
         * and what it is handed. Before the limits: with a lowered
         * RLIMIT_NOFILE the loop would miss descriptors above it. */
        close_from(opts->listen_fd > 0 ? 4 : 3);
        if (opts->nofile > 0) limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", opts->nofile);
        if (opts->fsize > 0) limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", opts->fsize);
        /* Start the server as a shell would start it in a terminal: every
         * signal at its default and none blocked. A test runner started in
         * the background inherits SIGINT and SIGQUIT ignored, and an ignored
         * disposition survives exec: without this, "SIGINT stops the
         * server" would depend on how the tests were launched. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < 32; sig++)
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        /* Past RLIMIT_FSIZE the kernel sends SIGXFSZ, whose default action
         * kills; ignored (which survives exec), the write fails with EFBIG
         * instead, as a write to a full disk fails with ENOSPC. */
        if (opts->fsize > 0) signal(SIGXFSZ, SIG_IGN);
        execv(path, (char *const *)argv);
        dprintf(2, "harness: execv %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Find "listening on ... port N" in text; returns N or -1. */
static int parse_port(const char *text) {
    const char *at = strstr(text, "listening on");
    if (!at) return -1;
    const char *eol = strchr(at, '\n');
    if (!eol) return -1; /* wait for the whole line */
    for (const char *p = at; p + 5 < eol; p++) {
        if (strncmp(p, "port ", 5) == 0 && p[5] >= '0' && p[5] <= '9') {
            long port = strtol(p + 5, NULL, 10);
            return port > 0 && port < 65536 ? (int)port : -1;
        }
    }
    return -1;
}

h_server *h_start_opts(const char *path, const h_opts *opts) {
    h_server *s = calloc(1, sizeof *s);
    if (!s) cr_fatal("harness: out of memory");
    int out_fd;
    if (opts->stdout_fd > 0) {
        out_fd = opts->stdout_fd;
    } else {
        out_fd = h_temp_file(s->out_path, sizeof s->out_path, "out");
    }
    int err_fd = h_temp_file(s->err_path, sizeof s->err_path, "err");

    s->pid = spawn(path, opts, out_fd, err_fd);
    track(s);
    if (opts->stdout_fd <= 0) close(out_fd);
    close(err_fd);

    long long deadline = h_deadline(opts->deadline_ms);
    for (;;) {
        h_err_refresh(s);
        if (s->err && (s->port = parse_port(s->err)) > 0) {
            if (opts->signal_on_listening > 0 && kill(s->pid, opts->signal_on_listening) != 0)
                cr_fatal("kill %d: %s", opts->signal_on_listening, strerror(errno));
            return s;
        }
        if (!h_alive(s)) {
            h_err_refresh(s);
            cr_fatal("%s exited (code %d) before listening; stderr:\n%s", path,
                     exit_code(s->status), s->err ? s->err : "");
        }
        if (h_now_ms() >= deadline) {
            h_err_refresh(s);
            h_kill(s);
            cr_fatal("%s did not print 'listening on ... port N' in time; stderr:\n%s", path,
                     s->err ? s->err : "");
        }
        /* A signal for the listening line goes the moment it appears: a
         * server that is not ready for it yet must be caught out. */
        if (opts->signal_on_listening <= 0) h_pause_ms(2);
    }
}

h_server *h_start(const h_opts *opts, ...) {
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, opts);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        if (n >= 63) cr_fatal("harness: too many arguments");
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    h_opts o = {0};
    if (opts) {
        if (opts->args) cr_fatal("harness: h_start takes its arguments in the list, not in opts");
        o = *opts;
    }
    o.args = args;
    return h_start_opts(h_bin(), &o);
}

static void copy_out(const char *src, size_t len, char *dst, size_t cap) {
    if (!dst || cap == 0) return;
    size_t n = len < cap - 1 ? len : cap - 1;
    if (src) memcpy(dst, src, n);
    dst[n] = '\0';
}

static void wait_exit(h_server *s, int deadline_ms, const char *what) {
    long long deadline = h_deadline(deadline_ms);
    while (h_alive(s)) {
        if (h_now_ms() >= deadline) {
            kill(s->pid, SIGKILL);
            reap(s, 1);
            h_err_refresh(s);
            cr_fatal("server did not exit %s in time; stderr:\n%s", what, s->err ? s->err : "");
        }
        h_pause_ms(2);
    }
}

int h_run_opts(const char *path, const h_opts *opts, char *out, size_t outcap, char *err,
               size_t errcap) {
    /* On the heap, not the stack: the atexit cleanup may look at it after a
     * failed assertion has unwound this frame. */
    h_server *s = calloc(1, sizeof *s);
    if (!s) cr_fatal("harness: out of memory");
    int out_fd = h_temp_file(s->out_path, sizeof s->out_path, "out");
    int err_fd = h_temp_file(s->err_path, sizeof s->err_path, "err");
    h_opts o = *opts;
    o.stdout_fd = 0;
    o.signal_on_listening = 0;
    s->pid = spawn(path, &o, out_fd, err_fd);
    close(out_fd);
    close(err_fd);
    track(s);
    wait_exit(s, opts->deadline_ms, "on its own");
    h_log_refresh(s);
    h_err_refresh(s);
    copy_out(s->out, s->out_len, out, outcap);
    copy_out(s->err, s->err_len, err, errcap);
    int code = exit_code(s->status);
    h_kill(s);
    return code;
}

int h_run(const char *path, const char *const *args, char *out, size_t outcap, char *err,
          size_t errcap, int deadline_ms) {
    h_opts o = {.args = args, .deadline_ms = deadline_ms};
    return h_run_opts(path, &o, out, outcap, err, errcap);
}

int h_stop(h_server *s, int sig, int deadline_ms) {
    if (!s->exited) kill(s->pid, sig);
    wait_exit(s, deadline_ms, "after the signal");
    h_log_refresh(s);
    h_err_refresh(s);
    return exit_code(s->status);
}

void h_kill(h_server *s) {
    if (!s) return;
    if (!s->exited) {
        kill(s->pid, SIGKILL);
        reap(s, 1);
    }
    untrack(s);
    if (s->out_path[0]) unlink(s->out_path);
    if (s->err_path[0]) unlink(s->err_path);
    free(s->out);
    free(s->err);
    free(s);
}

/* --- what it says ------------------------------------------------------- */

int h_count_lines(const char *text) {
    int n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

int h_log_wait_lines(h_server *s, int n, int deadline_ms) {
    long long deadline = h_deadline(deadline_ms);
    for (;;) {
        h_log_refresh(s);
        int have = h_count_lines(s->out);
        if (have >= n || h_now_ms() >= deadline) return have;
        h_pause_ms(2);
    }
}

int h_err_wait(h_server *s, const char *needle, int deadline_ms) {
    long long deadline = h_deadline(deadline_ms);
    for (;;) {
        h_err_refresh(s);
        if (s->err && strstr(s->err, needle)) return 1;
        if (h_now_ms() >= deadline) return 0;
        h_pause_ms(2);
    }
}

int h_clf_stamp_between(const char *stamp, time_t from, time_t to) {
    for (time_t t = from; t <= to; t++) {
        struct tm tm;
        char want[40];
        localtime_r(&t, &tm);
        strftime(want, sizeof want, "%d/%b/%Y:%H:%M:%S %z", &tm);
        if (strcmp(stamp, want) == 0) return 1;
    }
    return 0;
}
