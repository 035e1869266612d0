/*
 * test_harness.c - the harness's own promises (tests/support/harness.h),
 * with final/parrot as the server: no server outlives a test process that
 * is killed, a write to a reset connection fails instead of killing the
 * test, temporary files stay apart under a long $TMPDIR, and a test that
 * needs many descriptors gets them from a limit as low as macOS's 256.
 * Every suite relies on these; Linux runs the same code as macOS here.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Criterion ends a test that runs past its .timeout with SIGPROF, which
 * runs no atexit handler. A child of this test plays such a test process:
 * it starts a server, says its port, and dies of SIGPROF. The server must
 * go with it: soon nothing listens on its port. */
Test(harness, a_test_killed_by_its_timeout_leaves_no_server, .timeout = 30) {
    int p[2];
    cr_assert(eq(int, pipe(p), 0), "pipe: %s", strerror(errno));
    pid_t child = fork();
    cr_assert(ge(int, child, 0), "fork: %s", strerror(errno));
    if (child == 0) {
        close(p[0]);
        h_server *s = h_start(NULL, "-port", "0", "-log", "off", NULL);
        if (write(p[1], &s->port, sizeof(s->port)) != (ssize_t)sizeof(s->port)) _exit(1);
        signal(SIGPROF, SIG_DFL);
        raise(SIGPROF);
        _exit(1); /* not reached */
    }
    close(p[1]);
    int port = 0;
    ssize_t n = read(p[0], &port, sizeof(port));
    close(p[0]);
    int status = 0;
    cr_assert(eq(int, waitpid(child, &status, 0), child), "waitpid: %s", strerror(errno));
    cr_assert(eq(sz, (size_t)n, sizeof(port)), "the child did not start its server (status %#x)",
              status);
    int by_sigprof = WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF;
    cr_assert(by_sigprof, "the child's status: %#x", status);

    cr_assert(h_wait_refused(port, 0), "the server on port %d outlived its test process by %d ms",
              port, H_DEADLINE_MS);
}

/* After the peer's reset, a write fails: with ECONNRESET, then EPIPE.
 * EPIPE also raises SIGPIPE (on the BSDs already the first time), whose
 * default action would end this process: the harness ignores it. */
Test(harness, a_write_to_a_reset_connection_fails_instead_of_killing, .timeout = 20) {
    int port;
    int lfd = h_listen_loopback(&port);
    int fd = h_connect(port);
    int peer = accept(lfd, NULL, NULL);
    cr_assert(peer >= 0, "accept: %s", strerror(errno));
    h_reset(peer);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    cr_assert(eq(int, poll(&pfd, 1, H_DEADLINE_MS), 1), "the reset did not arrive");
    for (int i = 0; i < 3; i++) {
        ssize_t w = send(fd, "x", 1, 0);
        int e = errno;
        cr_assert(eq(sz, (size_t)w, (size_t)-1), "send %d after a reset succeeded", i + 1);
        cr_assert(e == EPIPE || e == ECONNRESET, "send %d after a reset: %s", i + 1, strerror(e));
    }
    close(fd);
    close(lfd);
}

/* macOS's $TMPDIR is about 50 characters and ends in '/'; others are
 * longer. Two servers' temporary files must still get names of their own,
 * with all six random characters. */
Test(harness, a_long_tmpdir_keeps_temporary_files_apart, .timeout = 20) {
    char base[H_PATH_CAP];
    int fd = h_temp_file(base, sizeof(base), "long-tmpdir");
    close(fd);
    cr_assert(eq(int, unlink(base), 0), "unlink %s: %s", base, strerror(errno));
    cr_assert(eq(int, mkdir(base, 0700), 0), "mkdir %s: %s", base, strerror(errno));
    char name[201], dir[H_PATH_CAP];
    memset(name, 'd', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    int len = snprintf(dir, sizeof(dir), "%s/%s", base, name); /* 200 characters more */
    cr_assert(lt(int, len, (int)sizeof(dir)), "%s/%s is too long", base, name);
    cr_assert(eq(int, mkdir(dir, 0700), 0), "mkdir %s: %s", dir, strerror(errno));
    char tmpdir[H_PATH_CAP + 1];
    snprintf(tmpdir, sizeof(tmpdir), "%s/", dir);
    cr_assert(eq(int, setenv("TMPDIR", tmpdir, 1), 0), "setenv: %s", strerror(errno));

    h_server *a = h_start(NULL, "-port", "0", "-log", "off", NULL);
    h_server *b = h_start(NULL, "-port", "0", "-log", "off", NULL);
    char want[H_PATH_CAP + 32];
    snprintf(want, sizeof(want), "%s/parrot-err-XXXXXX", dir);
    cr_assert(eq(sz, strlen(a->err_path), strlen(want)), "%s", a->err_path);
    cr_assert(eq(int, strncmp(a->err_path, want, strlen(want) - 6), 0), "%s", a->err_path);
    cr_assert(ne(str, a->err_path, b->err_path));
    cr_assert(ne(str, a->out_path, b->out_path));
    int c = h_connect(a->port);
    h_echo(c, "long");
    close(c);
    h_kill(a);
    h_kill(b);
    cr_assert(eq(int, rmdir(dir), 0), "rmdir %s: %s", dir, strerror(errno));
    cr_assert(eq(int, rmdir(base), 0), "rmdir %s: %s", base, strerror(errno));
}

/* From macOS's default soft limit of 256, h_need_fds gets this process
 * 1000 descriptors it can really open. */
Test(harness, need_fds_raises_a_soft_limit_of_256, .timeout = 20) {
    enum { WANT = 1000 };
    struct rlimit rl;
    cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &rl), 0), "getrlimit: %s", strerror(errno));
    rl.rlim_cur = 256;
    cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &rl), 0), "setrlimit 256: %s", strerror(errno));
    h_need_fds(WANT);
    cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &rl), 0), "getrlimit: %s", strerror(errno));
    cr_assert(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= WANT, "soft limit %llu",
              (unsigned long long)rl.rlim_cur);
    static int fds[WANT];
    int n = 0;
    while (n < WANT - 64) { /* what a test may hold, beside Criterion's own */
        fds[n] = dup(2);
        cr_assert(fds[n] >= 0, "dup number %d: %s", n + 1, strerror(errno));
        n++;
    }
    while (n > 0)
        close(fds[--n]);
}
