/*
 * metrics.c - see metrics.h. One section per system that has its own
 * interface, then the fallback that runs ps and lsof (compiled everywhere,
 * so that PARROT_PORTABLE_METRICS=1 can choose it), then the functions the
 * tests call, which pick one of the two.
 */
#if !defined(__APPLE__) && !defined(__FreeBSD__)
/* glibc shows POSIX under -std=c11 only when asked. macOS and FreeBSD show
 * it anyway, and asking for strict POSIX there would hide the interfaces
 * used below (libproc, kinfo_proc). */
#define _POSIX_C_SOURCE 200809L
#endif

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* =========================================================================
 * Each system's own interface: native_rss_kb, native_fd_count,
 * native_cpu_seconds, native_stopped and native_cpu_resolution (and on
 * Linux native_sleeping, with HAVE_NATIVE_SLEEPING), with
 * HAVE_NATIVE and NATIVE_SOURCE (a few words for messages).
 * ========================================================================= */

#if defined(__linux__)

/* Linux: the proc filesystem, read directly (cheap enough to poll every
 * few milliseconds). */
#define HAVE_NATIVE   1
#define NATIVE_SOURCE "Linux /proc"

#include <dirent.h>

/* utime and stime are counted in clock ticks (sysconf(_SC_CLK_TCK),
 * normally 100 a second). */
static double native_cpu_resolution(void) {
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) cr_fatal("sysconf(_SC_CLK_TCK): %s", errno ? strerror(errno) : "no value");
    return 1.0 / (double)hz;
}

/* /proc/PID/stat into buf; returns a pointer to field 3 (the state). The
 * command name, field 2, may hold spaces and parentheses: the fields after
 * it start after the last ')'. */
static const char *proc_stat(pid_t pid, char *buf, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) cr_fatal("open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0) cr_fatal("read %s: %s", path, strerror(e));
    buf[n] = '\0';
    const char *end = strrchr(buf, ')');
    if (!end || end[1] != ' ') cr_fatal("%s: unexpected format: %s", path, buf);
    return end + 2;
}

/* Field `index` of /proc/PID/stat (1-based, as proc(5) numbers them). */
static unsigned long long proc_stat_number(pid_t pid, int index) {
    char buf[1024];
    const char *p = proc_stat(pid, buf, sizeof buf);
    for (int field = 3; field < index; field++) {
        p = strchr(p, ' ');
        if (!p) cr_fatal("/proc/%d/stat has no field %d: %s", (int)pid, index, buf);
        p++;
    }
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p) cr_fatal("/proc/%d/stat: field %d is not a number: %s", (int)pid, index, buf);
    return v;
}

static double native_cpu_seconds(pid_t pid) {
    unsigned long long utime = proc_stat_number(pid, 14), stime = proc_stat_number(pid, 15);
    return (double)(utime + stime) * native_cpu_resolution();
}

static int native_stopped(pid_t pid) {
    char buf[1024];
    return *proc_stat(pid, buf, sizeof buf) == 'T';
}

#define HAVE_NATIVE_SLEEPING 1
static int native_sleeping(pid_t pid) {
    char buf[1024];
    return *proc_stat(pid, buf, sizeof buf) == 'S';
}

static long native_rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) cr_fatal("fopen %s: %s", path, strerror(errno));
    long kb = -1;
    while (kb < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    if (kb < 0) cr_fatal("%s: no VmRSS line (has the process exited?)", path);
    return kb;
}

static int native_fd_count(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) cr_fatal("opendir %s: %s", path, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

#elif defined(__APPLE__)

/* macOS: libproc's proc_pidinfo, part of libSystem. */
#define HAVE_NATIVE   1
#define NATIVE_SOURCE "macOS libproc"

#include <libproc.h>
#include <mach/kern_return.h>
#include <mach/mach_time.h>
#include <sys/proc.h> /* SSTOP */
#include <sys/proc_info.h>

/* The totals are kept in units far finer than this; 0.01 s is a margin
 * for how far a running thread's share may lag behind, which has not been
 * measured (nothing here runs on macOS). */
static double native_cpu_resolution(void) {
    return 0.01;
}

/* proc_pidinfo returns how many bytes it filled in, 0 with errno set on
 * failure. */
static void pidinfo(pid_t pid, int flavor, const char *name, void *buf, int size) {
    int n = proc_pidinfo(pid, flavor, 0, buf, size);
    if (n <= 0) cr_fatal("proc_pidinfo(%d, %s): %s", (int)pid, name, strerror(errno));
    if (n != size) cr_fatal("proc_pidinfo(%d, %s): %d of %d bytes", (int)pid, name, n, size);
}

static double native_cpu_seconds(pid_t pid) {
    struct proc_taskinfo ti;
    pidinfo(pid, PROC_PIDTASKINFO, "PROC_PIDTASKINFO", &ti, (int)sizeof ti);
    /* pti_total_user and pti_total_system are in Mach absolute time units:
     * nanoseconds on Intel, 125/3 ns ticks on Apple silicon. */
    mach_timebase_info_data_t tb;
    kern_return_t kr = mach_timebase_info(&tb);
    if (kr != KERN_SUCCESS) cr_fatal("mach_timebase_info: error %d", (int)kr);
    double units = (double)(ti.pti_total_user + ti.pti_total_system);
    return units * (double)tb.numer / (double)tb.denom / 1e9;
}

static long native_rss_kb(pid_t pid) {
    struct proc_taskinfo ti;
    pidinfo(pid, PROC_PIDTASKINFO, "PROC_PIDTASKINFO", &ti, (int)sizeof ti);
    return (long)(ti.pti_resident_size / 1024);
}

static int native_stopped(pid_t pid) {
    struct proc_bsdinfo bi;
    pidinfo(pid, PROC_PIDTBSDINFO, "PROC_PIDTBSDINFO", &bi, (int)sizeof bi);
    return bi.pbi_status == SSTOP;
}

static int native_fd_count(pid_t pid) {
    /* Without a buffer, PROC_PIDLISTFDS answers how many bytes to offer (the
     * table's size, with room to spare); with one, how many it filled, one
     * struct proc_fdinfo per open descriptor. A full buffer may mean that
     * more were opened meanwhile: ask again with twice the room. */
    int size = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, NULL, 0);
    if (size <= 0) cr_fatal("proc_pidinfo(%d, PROC_PIDLISTFDS): %s", (int)pid, strerror(errno));
    for (;;) {
        struct proc_fdinfo *fds = malloc((size_t)size);
        if (!fds) cr_fatal("metrics: out of memory");
        int n = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds, size);
        int e = errno;
        free(fds);
        if (n <= 0) cr_fatal("proc_pidinfo(%d, PROC_PIDLISTFDS): %s", (int)pid, strerror(e));
        if (n < size) return n / (int)sizeof(struct proc_fdinfo);
        size *= 2;
    }
}

#elif defined(__FreeBSD__)

/* FreeBSD: sysctl kern.proc.pid.PID (struct kinfo_proc) and
 * kern.proc.filedesc.PID. (kern.proc.nfds counts only the caller's own
 * descriptors.) */
#define HAVE_NATIVE   1
#define NATIVE_SOURCE "FreeBSD sysctl"

#include <stddef.h>
#include <sys/param.h>
#include <sys/proc.h> /* SSTOP */
#include <sys/sysctl.h>
#include <sys/user.h>

/* ki_runtime gets a thread's time when the thread is switched out (as the
 * kernel source reads: not measured here): a thread that never blocks is
 * switched once a time slice, about 0.1 s. */
static double native_cpu_resolution(void) {
    return 0.1;
}

static void kinfo(pid_t pid, struct kinfo_proc *kp) {
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
    size_t len = sizeof *kp;
    if (sysctl(mib, 4, kp, &len, NULL, 0) != 0)
        cr_fatal("sysctl kern.proc.pid.%d: %s", (int)pid, strerror(errno));
    if (len != sizeof *kp) cr_fatal("sysctl kern.proc.pid.%d: no such process", (int)pid);
}

static double native_cpu_seconds(pid_t pid) {
    struct kinfo_proc kp;
    kinfo(pid, &kp);
    return (double)kp.ki_runtime / 1e6; /* microseconds, user + system, as ps shows it */
}

static long native_rss_kb(pid_t pid) {
    struct kinfo_proc kp;
    kinfo(pid, &kp);
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) cr_fatal("sysconf(_SC_PAGESIZE): %s", strerror(errno));
    return (long)kp.ki_rssize * (page / 1024);
}

static int native_stopped(pid_t pid) {
    struct kinfo_proc kp;
    kinfo(pid, &kp);
    return kp.ki_stat == SSTOP;
}

static int native_fd_count(pid_t pid) {
    /* One struct kinfo_file per open file, packed: each says its own size.
     * Besides descriptors (kf_fd >= 0) the list holds the working and root
     * directories and the like, with negative kf_fd. Asked without a
     * buffer, the kernel says how much room to offer, with some to spare; if
     * more files were opened meanwhile, the call fails with ENOMEM. */
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, (int)pid};
    size_t len = 0;
    if (sysctl(mib, 4, NULL, &len, NULL, 0) != 0)
        cr_fatal("sysctl kern.proc.filedesc.%d: %s", (int)pid, strerror(errno));
    for (;;) {
        len = len * 2 + 4096;
        char *buf = malloc(len);
        if (!buf) cr_fatal("metrics: out of memory");
        if (sysctl(mib, 4, buf, &len, NULL, 0) != 0) {
            int e = errno;
            free(buf);
            if (e == ENOMEM) continue;
            cr_fatal("sysctl kern.proc.filedesc.%d: %s", (int)pid, strerror(e));
        }
        int n = 0;
        for (size_t at = 0; at < len;) {
            int size, fd;
            if (len - at < offsetof(struct kinfo_file, kf_fd) + sizeof fd) break;
            memcpy(&size, buf + at + offsetof(struct kinfo_file, kf_structsize), sizeof size);
            memcpy(&fd, buf + at + offsetof(struct kinfo_file, kf_fd), sizeof fd);
            if (size <= 0) break;
            n += fd >= 0;
            at += (size_t)size;
        }
        free(buf);
        return n;
    }
}

#else

#define HAVE_NATIVE 0 /* every metric comes from ps and lsof */

#endif

/* =========================================================================
 * The fallback: ps and lsof (fstat where lsof is missing), on any system.
 * ========================================================================= */

/* Run argv[0], found through PATH, with stdout and stderr into out (cap
 * bytes, NUL-terminated). Returns its exit status (128+N if signal N ended
 * it), or -1 with errno set if it could not be started at all (ENOENT: it
 * is not installed). Fails the test if it runs past the deadline or says
 * more than cap bytes. */
static int run_tool(const char *const argv[], char *out, size_t cap) {
    int data[2], report[2];
    if (pipe(data) != 0 || pipe(report) != 0) cr_fatal("pipe: %s", strerror(errno));
    /* exec closes the report pipe on success: a byte on it is exec's errno. */
    if (fcntl(report[1], F_SETFD, FD_CLOEXEC) != 0)
        cr_fatal("fcntl F_SETFD FD_CLOEXEC: %s", strerror(errno));
    pid_t child = fork();
    if (child < 0) cr_fatal("fork (to run %s): %s", argv[0], strerror(errno));
    if (child == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0 && dup2(devnull, 0) >= 0 && dup2(data[1], 1) >= 0 &&
            dup2(data[1], 2) >= 0) {
            /* Nothing else of the test's: its sockets stay its own. */
            long maxfd = sysconf(_SC_OPEN_MAX);
            for (int fd = 3; fd < maxfd && fd < 65536; fd++)
                if (fd != report[1]) close(fd);
            execvp(argv[0], (char *const *)argv);
        }
        int e = errno;
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    close(data[1]);
    close(report[1]);

    int exec_errno = 0;
    ssize_t r;
    while ((r = read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    close(report[0]);

    size_t len = 0;
    long long deadline = h_now_ms() + H_DEADLINE_MS;
    for (;;) {
        long long left = deadline - h_now_ms();
        struct pollfd p = {.fd = data[0], .events = POLLIN};
        int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) cr_fatal("poll (output of %s): %s", argv[0], strerror(errno));
        if (ready == 0) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
            cr_fatal("%s did not finish within %d ms", argv[0], H_DEADLINE_MS);
        }
        /* Once out is full, one byte more (not end of file) is too much. */
        char spare;
        int full = len + 1 >= cap;
        ssize_t n = read(data[0], full ? &spare : out + len, full ? 1 : cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) cr_fatal("read (output of %s): %s", argv[0], strerror(errno));
        if (n == 0) break;
        if (full) cr_fatal("%s said more than %zu bytes", argv[0], cap - 1);
        len += (size_t)n;
    }
    out[len] = '\0';
    close(data[0]);

    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) cr_fatal("waitpid (%s): %s", argv[0], strerror(errno));
    if (r == (ssize_t)sizeof exec_errno) {
        errno = exec_errno;
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* `ps -o KEY= -p PID` into out: the value alone, no header. Fails the test
 * if ps cannot be run or finds no such process. */
static void ps_value(pid_t pid, const char *key, char *out, size_t cap) {
    char format[32], pid_text[24];
    snprintf(format, sizeof format, "%s=", key);
    snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
    const char *argv[] = {"ps", "-o", format, "-p", pid_text, NULL};
    int status = run_tool(argv, out, cap);
    if (status < 0)
        cr_fatal("execvp ps: %s (Debian: apt-get install procps; make test-deps installs it "
                 "when PARROT_PORTABLE_METRICS=1)",
                 strerror(errno));
    if (status != 0 || strspn(out, " \t\n") == strlen(out))
        cr_fatal("ps -o %s -p %d: exit status %d, output: \"%s\"", format, (int)pid, status, out);
}

/* Reads a run of decimal digits at *p into *value; 0 if there was none. */
static int digits(const char **p, long *value, int *count) {
    long v = 0;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++)
        v = v * 10 + (**p - '0');
    *value = v;
    if (count) *count = n;
    return n > 0;
}

/* ps prints CPU time as [DD-][HH:]MM:SS[.ff]: Linux's procps as HH:MM:SS
 * (whole seconds), macOS and the BSDs as M:SS.ss. Returns 0 and the
 * seconds, and the step they were printed in, or -1 if text is not that. */
static int parse_cpu_time(const char *text, double *seconds, double *step) {
    const char *p = text + strspn(text, " \t");
    long v, days = 0, total = 0;
    if (!digits(&p, &v, NULL)) return -1;
    if (*p == '-') { /* that was the days */
        days = v;
        p++;
        if (!digits(&p, &v, NULL)) return -1;
    }
    total = v;
    int groups = 1;
    while (*p == ':') {
        p++;
        if (!digits(&p, &v, NULL) || ++groups > 3) return -1;
        total = total * 60 + v;
    }
    if (groups < 2) return -1;
    double fraction = 0, unit = 1;
    if (*p == '.') {
        p++;
        int n;
        if (!digits(&p, &v, &n)) return -1;
        for (int i = 0; i < n; i++)
            unit /= 10;
        fraction = (double)v * unit;
    }
    if (p[strspn(p, " \t\n")] != '\0') return -1;
    *seconds = (double)days * 86400 + (double)total + fraction;
    *step = unit;
    return 0;
}

static double ps_cpu_seconds(pid_t pid, double *step) {
    char out[256];
    ps_value(pid, "time", out, sizeof out);
    double seconds = 0, unit = 0;
    if (parse_cpu_time(out, &seconds, &unit) != 0)
        cr_fatal("ps -o time= -p %d: cannot read \"%s\" as [DD-][HH:]MM:SS[.ff]", (int)pid, out);
    if (step) *step = unit;
    return seconds;
}

static long ps_rss_kb(pid_t pid) {
    char out[256], *end;
    ps_value(pid, "rss", out, sizeof out);
    long kb = strtol(out, &end, 10);
    if (end == out || end[strspn(end, " \t\n")] != '\0' || kb < 0)
        cr_fatal("ps -o rss= -p %d: cannot read \"%s\" as KiB", (int)pid, out);
    return kb;
}

/* Linux's procps prints one letter; macOS and the BSDs add flags after it
 * ("Ss", "T+"). T is stopped everywhere. */
static int ps_stopped(pid_t pid) {
    char out[256];
    ps_value(pid, "state", out, sizeof out);
    return out[strspn(out, " \t")] == 'T';
}

/* S sleeping everywhere; I idle, asleep for more than 20 s (macOS, the
 * BSDs); procps's I is an idle kernel thread, never one of ours. */
static int ps_sleeping(pid_t pid) {
    char out[256];
    ps_value(pid, "state", out, sizeof out);
    char c = out[strspn(out, " \t")];
    return c == 'S' || c == 'I';
}

/* lsof -F f prints one line per open file, "f" and its descriptor: f0, f1,
 * ... for descriptors, fcwd, ftxt, fmem and the like for the rest. */
static int count_lsof(const char *out) {
    int n = 0;
    for (const char *line = out; *line;) {
        size_t len = strcspn(line, "\n");
        if (line[0] == 'f' && line[1] >= '0' && line[1] <= '9') n++;
        line += len + (line[len] != '\0');
    }
    return n;
}

/* fstat -p PID (the BSDs) prints a header, then one line per open file:
 * USER CMD PID FD ..., where FD is a number (with a '*' after it for a
 * socket on some systems) or a word for the rest: text, wd, root, ... */
static int count_fstat(const char *out, pid_t pid) {
    char pid_text[24];
    snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
    int n = 0;
    for (const char *line = out; *line;) {
        size_t len = strcspn(line, "\n");
        char copy[512];
        snprintf(copy, sizeof copy, "%.*s", (int)len, line);
        line += len + (line[len] != '\0');
        /* The FD column is the word after the PID (the command may hold spaces). */
        char *save = NULL, *word = strtok_r(copy, " \t", &save);
        while (word && strcmp(word, pid_text) != 0)
            word = strtok_r(NULL, " \t", &save);
        if (!word) continue; /* the header */
        word = strtok_r(NULL, " \t", &save);
        if (word && word[0] >= '0' && word[0] <= '9') n++;
    }
    return n;
}

static int portable_fd_count(pid_t pid) {
    static char out[1 << 18];
    char pid_text[24];
    snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
    /* -n -P: no name lookups (slow, and beside the point); -w: no warnings
     * about file systems it cannot look into. */
    const char *lsof[] = {"lsof", "-n", "-P", "-w", "-F", "f", "-p", pid_text, NULL};
    int status = run_tool(lsof, out, sizeof out);
    if (status == 0) return count_lsof(out);
    if (status > 0) cr_fatal("lsof -p %d: exit status %d, output:\n%s", (int)pid, status, out);
    int lsof_errno = errno;
    const char *fstat[] = {"fstat", "-p", pid_text, NULL};
    status = run_tool(fstat, out, sizeof out);
    if (status == 0) return count_fstat(out, pid);
    if (status > 0) cr_fatal("fstat -p %d: exit status %d, output:\n%s", (int)pid, status, out);
    cr_fatal("neither lsof (%s) nor fstat (%s) could be run to count descriptors (Debian: "
             "apt-get install lsof; make test-deps installs it when PARROT_PORTABLE_METRICS=1)",
             strerror(lsof_errno), strerror(errno));
    return -1;
}

/* =========================================================================
 * What the tests call.
 * ========================================================================= */

#if HAVE_NATIVE
/* PARROT_PORTABLE_METRICS=1: ps and lsof even where the system has its own
 * interface. (Elsewhere they are the only way.) */
static int portable(void) {
    static int decided = -1;
    if (decided < 0) {
        const char *v = getenv("PARROT_PORTABLE_METRICS");
        if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0)
            decided = !HAVE_NATIVE;
        else if (strcmp(v, "1") == 0)
            decided = 1;
        else
            cr_fatal("PARROT_PORTABLE_METRICS=%s: expected 1 (ps and lsof) or 0", v);
    }
    return decided;
}
#endif

const char *h_metrics_source(void) {
#if HAVE_NATIVE
    if (!portable()) return NATIVE_SOURCE;
#endif
    return "ps and lsof";
}

long h_rss_kb(pid_t pid) {
#if HAVE_NATIVE
    if (!portable()) return native_rss_kb(pid);
#endif
    return ps_rss_kb(pid);
}

int h_fd_count(pid_t pid) {
#if HAVE_NATIVE
    if (!portable()) return native_fd_count(pid);
#endif
    return portable_fd_count(pid);
}

double h_cpu_seconds(pid_t pid) {
#if HAVE_NATIVE
    if (!portable()) return native_cpu_seconds(pid);
#endif
    return ps_cpu_seconds(pid, NULL);
}

int h_stopped(pid_t pid) {
#if HAVE_NATIVE
    if (!portable()) return native_stopped(pid);
#endif
    return ps_stopped(pid);
}

int h_sleeping(pid_t pid) {
#ifdef HAVE_NATIVE_SLEEPING
    if (!portable()) return native_sleeping(pid);
#endif
    return ps_sleeping(pid);
}

double h_cpu_resolution(void) {
#if HAVE_NATIVE
    if (!portable()) return native_cpu_resolution();
#endif
    /* However this system's ps prints it: ask it about ourselves. */
    static double step;
    if (step == 0) ps_cpu_seconds(getpid(), &step);
    return step;
}

int h_cpu_window_ms(int ms) {
    int coarse = (int)(5 * 1000 * h_cpu_resolution() + 0.5);
    return ms > coarse ? ms : coarse;
}

double h_cpu_used(pid_t pid, int ms, double *seconds) {
    long long start = h_now_ms();
    double before = h_cpu_seconds(pid);
    h_pause_ms(h_cpu_window_ms(ms));
    double used = h_cpu_seconds(pid) - before;
    *seconds = (double)(h_now_ms() - start) / 1000;
    return used;
}

struct fd_wait {
    pid_t pid;
    int before, now;
};

static int fd_count_fell(void *arg) {
    struct fd_wait *w = arg;
    w->now = h_fd_count(w->pid);
    return w->now < w->before;
}

int h_wait_fd_count_below(pid_t pid, int before, int deadline_ms, int *now) {
    struct fd_wait w = {.pid = pid, .before = before, .now = before};
    int fell = h_poll_until(fd_count_fell, &w, deadline_ms, 5);
    if (now) *now = w.now;
    return fell;
}
