/*
 * harness.h - drive a Parrot server binary from a Criterion test.
 *
 * Every server in this repository accepts port 0 and, once it can accept,
 * prints a line to stderr containing "listening on" and "port N". The
 * harness starts a server, waits for that line (with a deadline), reads the
 * port from it; client.h (included below) has what the test needs to talk
 * to it. Nothing here sleeps to synchronise: every wait is a poll with a
 * deadline.
 *
 * The server's stdout (its log) and stderr go to temporary files, not
 * pipes, so a test that never reads them can never stall the server.
 *
 * Servers never outlive their test, however it ends: an atexit handler
 * kills them when the test process exits (a failed assertion included:
 * Criterion runs each test in its own process), and a small watcher
 * process kills them when the test process dies without exiting (killed
 * by Criterion's timeout, a crash): see watch_group() in harness.c.
 *
 * The first server the harness starts, or the first connection it makes,
 * sets SIGPIPE to be ignored in the test process: a write to a connection
 * the server has reset then fails with EPIPE (and the test says so)
 * instead of killing the test, on every system.
 *
 * Helpers that cannot go on (fork fails, connect fails, a deadline passes
 * while waiting for "listening") fail the current test with cr_fatal and a
 * message that says what happened, including the server's stderr.
 */
#ifndef PARROT_HARNESS_H
#define PARROT_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Default deadline for a single wait, in milliseconds. Generous on purpose:
 * CI machines are slow and sanitizer builds slower; a passing test never
 * waits this long. */
#define H_DEADLINE_MS 10000

/* Room for a path: the largest PATH_MAX of the systems the tests run on
 * (Linux 4096; macOS and the BSDs 1024). A number, not PATH_MAX itself,
 * so that every file including this header sees the same h_server
 * whatever feature macros it defines. A temporary file's path is $TMPDIR
 * and a few characters, and macOS's $TMPDIR alone is about 50. */
#define H_PATH_CAP 4096

typedef struct h_server {
    pid_t pid;                 /* the server process */
    int port;                  /* from its "listening on ... port N" line */
    int exited;                /* 1 once the process has been reaped */
    int status;                /* waitpid() status, valid when exited */
    char out_path[H_PATH_CAP]; /* temp file holding its stdout (the log) */
    char err_path[H_PATH_CAP]; /* temp file holding its stderr */
    char *out;                 /* stdout read so far, NUL-terminated (h_log_*) */
    size_t out_len;
    char *err; /* stderr read so far, NUL-terminated (h_err_*) */
    size_t err_len;
} h_server;

/* Options for h_start_opts; zero-initialise and set what you need. */
typedef struct h_opts {
    const char *const *args; /* arguments after argv[0], NULL-terminated; NULL = none */
    long nofile;             /* > 0: RLIMIT_NOFILE (soft) for the server */
    long fsize;              /* > 0: RLIMIT_FSIZE (soft) for the server, in bytes, with
                                SIGXFSZ ignored: a write that would take a file past it
                                fails with EFBIG instead of killing the server. It holds
                                for every file the server writes, its stderr included */
    int signal_on_listening; /* > 0: send this signal the moment the listening line
                                appears (the wait for it then polls without pausing) */
    int stdout_fd;           /* > 0: use this descriptor as the server's stdout
                                instead of a temp file (e.g. a pipe the test
                                controls); it is dup2'ed in the child */
    int deadline_ms;         /* 0 = H_DEADLINE_MS */
    /* Socket activation as systemd does it (sd_listen_fds(3)): listen_fd > 0
     * becomes the server's descriptor 3, and the server's environment says
     * LISTEN_FDS=1 and LISTEN_PID=<its own pid> (set in the child, after
     * fork, before exec). listen_fds and listen_pid, when not NULL, replace
     * those two values, to hand over badly or to another process. Without
     * listen_fd the three LISTEN_ variables are removed: the server is
     * started by hand. */
    int listen_fd;
    const char *listen_fds;
    const char *listen_pid;
} h_opts;

/* The binary under test, from the environment: PARROT_BIN (fails the test
 * if unset). PARROT_STEP ("01".."10") and PARROT_BACKEND ("epoll",
 * "kqueue") describe it where a suite needs to know; h_env returns NULL
 * when unset. */
const char *h_bin(void);
const char *h_env(const char *name);

/* Start the server under test (h_bin()) with the arguments that follow
 * opts, a NULL-terminated list, and wait until it is listening:
 * h_start(NULL, "-port", "0", NULL). opts (NULL: none) holds the other
 * settings; its args must be NULL. h_start_opts starts any binary, with
 * everything in opts. Both fail the test if the server exits or the
 * deadline passes first. */
h_server *h_start(const h_opts *opts, ...);
h_server *h_start_opts(const char *path, const h_opts *opts);

/* Run a server that is expected NOT to start (bad flag, port in use, -h):
 * waits for it to exit (fails the test after the deadline) and returns its
 * exit code (or 128+signal if it was killed). Its stdout and stderr are
 * copied, NUL-terminated, into out/err when those are not NULL. */
int h_run(const char *path, const char *const *args, char *out, size_t outcap, char *err,
          size_t errcap, int deadline_ms);

/* The same with options (args, nofile, fsize, listen_*, deadline_ms;
 * signal_on_listening and stdout_fd are not used). */
int h_run_opts(const char *path, const h_opts *opts, char *out, size_t outcap, char *err,
               size_t errcap);

/* Send sig and wait (deadline) for the server to exit. Returns the exit
 * code, or 128+signal if a signal killed it; reads the rest of its output
 * into s->out / s->err. Fails the test if it does not exit in time. */
int h_stop(h_server *s, int sig, int deadline_ms);

/* Is the process still alive (not exited, not a zombie)? */
int h_alive(h_server *s);

/* Kill (SIGKILL), reap and free. Safe to call on NULL or twice. */
void h_kill(h_server *s);

/* --- what the test process needs ------------------------------------------ */

/* Make sure this test process may hold n open descriptors: raise its soft
 * RLIMIT_NOFILE to n if it is lower. The soft limit is 256 on a stock
 * macOS, too few for a test with hundreds of clients. Never above the hard
 * limit, nor on macOS above kern.maxfilesperproc (setrlimit refuses more
 * there); fails the test, naming the limit and the ulimit to raise, if n is
 * beyond them. Only this test's process changes (Criterion runs each test
 * in its own). A server that must hold as many gets h_opts.nofile = n. */
void h_need_fds(long n);

/* Create an empty temporary file $TMPDIR/parrot-WHAT-XXXXXX (/tmp without
 * TMPDIR) and return its descriptor; path (cap bytes, H_PATH_CAP is
 * enough) receives its name. Fails the test if the name does not fit or
 * mkstemp fails. */
int h_temp_file(char *path, size_t cap, const char *what);

/* Ignore SIGPIPE in this test process (once; later calls do nothing).
 * h_start and the connects of client.h call it themselves. */
void h_ignore_sigpipe(void);

/* --- what it says ------------------------------------------------------- */

/* Read whatever the server has written to stdout (the log) / stderr so far
 * into s->out / s->err. */
void h_log_refresh(h_server *s);
void h_err_refresh(h_server *s);

/* The complete lines ('\n'-terminated) in text; 0 for NULL. */
int h_count_lines(const char *text);

/* Wait until the log holds at least n complete lines ('\n'-terminated).
 * Returns the number of complete lines seen (< n if the deadline passed). */
int h_log_wait_lines(h_server *s, int n, int deadline_ms);

/* Wait until stderr contains needle. Returns 1 if it does. */
int h_err_wait(h_server *s, const char *needle, int deadline_ms);

/* Is stamp, a log line's time as Common Log Format writes it
 * ("06/Dec/2026:15:26:29 +0000"), the local time at some second in
 * [from, to]? */
int h_clf_stamp_between(const char *stamp, time_t from, time_t to);

/* --- what it costs: memory, descriptors, CPU time (see metrics.h) ------ */

#include "metrics.h"

/* --- the connections: see client.h ------------------------------------- */

#include "client.h"

/* --- time --------------------------------------------------------------- */

long long h_now_ms(void); /* monotonic clock */

/* The time (h_now_ms) ms milliseconds from now; H_DEADLINE_MS from now if
 * ms is 0 or less. */
long long h_deadline(int ms);

/* Wait (poll, no busy loop) until cond() returns non-zero or the deadline
 * passes; checks every ms_step milliseconds. Returns the last cond() value. */
int h_poll_until(int (*cond)(void *), void *arg, int deadline_ms, int ms_step);

/* Let ms milliseconds pass without using the CPU. Only to measure over a
 * window (CPU time, a silence) or to pace a loop that checks its own
 * deadline; never as the wait for something to happen (that is a poll
 * with a deadline: h_poll_until, h_recv_exact, h_log_wait_lines). */
void h_pause_ms(int ms);

#endif
