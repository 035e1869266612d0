/*
 * test_04.c - step 04's exercises (steps/04-multi-client/README.md).
 *
 * Exercise 2 (where EV_EOF first shows) and exercise 4 (draining a client
 * until EAGAIN) have answers only: which event carries the end of file, and
 * whether a flooding client starves the others, depend on timing.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exercise_support.h"

/* Exercise 1: with MAX_EVENTS 1 each kevent() call returns one event, and
 * everything still works: 20 clients, interleaved, each gets its own echo
 * every round. (What it costs, one kevent() per event, is a count of calls
 * the lesson measures with strace, not a test.) */
Test(step04, max_events_1_still_serves_everyone, .timeout = 30) {
    enum { N = 20, ROUNDS = 3 };
    h_server *s = start_bin(answer_bin("04-max-events-1"), 0);
    int fds[N];
    char msg[64];
    for (int i = 0; i < N; i++)
        fds[i] = h_connect(s->port);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++) {
            snprintf(msg, sizeof msg, "round %d client %d\n", r, i);
            h_send_all(fds[i], msg, strlen(msg));
        }
        for (int i = 0; i < N; i++) {
            snprintf(msg, sizeof msg, "round %d client %d\n", r, i);
            h_expect(fds[i], msg, strlen(msg), msg);
        }
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    cr_assert(h_alive(s));
    h_kill(s);
}

/* Exercise 3: the spare descriptor. With the open-files limit low, the
 * clients take every descriptor; the next callers are hung up on at once
 * (EOF, or a reset: they had sent a line the server never read), where the
 * step itself leaves them waiting in the backlog until a client leaves
 * (tests/steps/test_clients.c, out_of_descriptors_no_spin). The server does
 * not spin, and once a client leaves the next caller is served. On macOS
 * the first caller may be dropped by the kernel itself (xnu accept_nocancel
 * drops the connection when falloc fails): a close or reset just the same. */
Test(step04, spare_descriptor_hangs_up_at_once, .timeout = 40) {
    enum { NOFILE = 16 };
    h_server *s = start_bin(answer_bin("04-spare-descriptor"), NOFILE);
    int served[NOFILE];
    int n = 0, refused = -1;
    char who[64];
    /* Connect one client at a time until one is hung up on instead of served.
     * h_echo_or_closed fails the test if a caller is left waiting. */
    while (n < NOFILE) {
        int fd = h_connect(s->port);
        snprintf(who, sizeof who, "client %d (open-files limit %d)", n + 1, NOFILE);
        h_send_all(fd, "x\n", 2);
        if (!h_echo_or_closed(fd, "x\n", who)) {
            refused = fd;
            break;
        }
        served[n++] = fd;
    }
    cr_assert(ne(int, refused, -1), "%d clients served under an open-files limit of %d", n, NOFILE);
    cr_assert(gt(int, n, 0), "not even the first client was served");
    close(refused);
    cr_assert(h_err_wait(s, strerror(EMFILE), 0), "never ran out of descriptors?\n%s", s->err);

    /* Every further caller is hung up on too, each at once. */
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(s->port);
        h_send_all(fd, "x\n", 2);
        snprintf(who, sizeof who, "caller %d beyond the limit", i + 2);
        cr_assert(eq(int, h_echo_or_closed(fd, "x\n", who), 0), "%s was served", who);
        close(fd);
    }

    /* No spin: at most a tenth of a core, give or take the clock's resolution. */
    double seconds, used = h_cpu_used(s->pid, 500, &seconds);
    cr_assert(lt(dbl, used, 0.1 * seconds + h_cpu_resolution()),
              "out of descriptors, it used %.2fs of CPU in %.1fs (%s)", used, seconds,
              h_metrics_source());

    /* A client leaves; once the server has closed its end, the next caller
     * is served, and the others still are. */
    int before = h_fd_count(s->pid), now;
    close(served[0]);
    cr_assert(h_wait_fd_count_below(s->pid, before, 0, &now), "it held %d descriptors, then %d",
              before, now);
    int next = h_connect(s->port);
    h_echo(next, "served again\n");
    for (int i = 1; i < n; i++) {
        snprintf(who, sizeof who, "client %d, still connected", i + 1);
        h_send_all(served[i], "y\n", 2);
        h_expect(served[i], "y\n", 2, who);
        close(served[i]);
    }
    close(next);
    cr_assert(h_alive(s));
    h_kill(s);
}
