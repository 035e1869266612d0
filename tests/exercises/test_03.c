/*
 * test_03.c - step 03's exercises and its level/edge section
 * (steps/03-kqueue/README.md).
 *
 * Level- and edge-triggered, as the kernels implement them:
 * - FreeBSD sys/kern/kern_event.c, kqueue_scan(): after copying an event
 *   out, a knote with EV_CLEAR (or EV_DISPATCH) is taken off the queue,
 *   `kn->kn_status &= ~(KN_QUEUED | KN_ACTIVE)`, its data and fflags reset;
 *   any other knote goes back on it, `TAILQ_INSERT_TAIL(&kq->kq_head, kn,
 *   kn_tqe)`, and the next scan runs the filter again (`f_event(kn, 0) ==
 *   0` drops it only when nothing is left). An EV_CLEAR knote is queued
 *   again only by knote(), `if (kn->kn_fop->f_event(kn, hint))
 *   KNOTE_ACTIVATE(kn, 1)`, which the socket calls when bytes arrive.
 * - XNU bsd/kern/kern_event.c, knote_process(): "Cleared: just leave it
 *   deactivated. Others: re-activate as there may be more events to
 *   handle": `else if ((kn->kn_flags & EV_CLEAR) == 0) knote_activate(...)`.
 * - The Linux layer maps EV_CLEAR to EPOLLET (tools/kqueue-linux).
 * So with EV_CLEAR, bytes left unread after an event are not reported
 * again until more bytes arrive.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <unistd.h>

#include "exercise_support.h"

/* How long "nothing more comes" is watched. Only a window to look at: the
 * stall it proves lasts forever. */
#define SILENCE_MS 500

/* The step as it is reads up to 4096 bytes per event, and its entries are
 * level-triggered: 64 KiB sent at once (16 reads' worth) all come back. */
Test(step03, the_step_echoes_more_than_one_reads_worth) {
    h_server *s = start_bin(step_bin("03"), 0);
    h_round_trip(s->port, 64u << 10, 3);
    h_kill(s);
}

/* 03-small-reads.patch: 5 bytes per event, level-triggered. 13 bytes come
 * back whole: the entry is reported again while bytes wait (13, 8, 3). */
Test(step03, small_reads_level_triggered_echo_everything) {
    h_server *s = start_bin(answer_bin("03-small-reads"), 0);
    int fd = h_connect(s->port);
    h_echo(fd, "Hello Parrot\n");
    h_echo(fd, "again\n");
    close(fd);
    h_kill(s);
}

/* 03-edge-triggered.patch: the same 5-byte reads with EV_CLEAR. One event
 * for the 13 bytes, one read of 5, and then silence while 8 bytes wait in
 * the socket. A new byte is a new arrival: one more event, 5 more bytes. */
Test(step03, edge_triggered_small_reads_stall_until_more_bytes_arrive) {
    h_server *s = start_bin(answer_bin("03-edge-triggered"), 0);
    int fd = h_connect(s->port);
    h_send_all(fd, "Hello Parrot\n", 13); /* one send: one segment, one arrival */
    h_expect(fd, "Hello", 5, "echo of the first event");
    cr_assert(h_silent_for(fd, SILENCE_MS),
              "more echo came without new bytes: the entry was reported again");
    h_send_all(fd, "x", 1);
    h_expect(fd, " Parr", 5, "echo of the event the new byte caused");
    cr_assert(h_silent_for(fd, SILENCE_MS), "more echo came without new bytes");
    close(fd);
    h_kill(s);
}

/* Exercise 1: event.data for the listener is the number of connections
 * waiting to be accepted (kqueue(2): "data contains the size of the listen
 * backlog"; FreeBSD filt_solisten: `kn->kn_data = so->so_qlen`, "not
 * counting partial (incomplete) connections"; XNU filt_soread_common, for
 * a socket with SO_ACCEPTCONN: `kn->kn_data = so->so_qlen`; the Linux layer
 * reads the accept queue's length from TCP_INFO). Three clients queue while the
 * first is served; when it leaves, the listener is enabled again and
 * reports all three. */
Test(step03, the_listener_event_counts_the_waiting_clients) {
    h_server *s = start_bin(answer_bin("03-listener-backlog"), 0);
    int first = h_connect(s->port);
    h_echo(first, "first\n");
    cr_assert(h_err_wait(s, "parrot: 1 waiting\n", H_DEADLINE_MS), "stderr:\n%s", s->err);
    int waiting[3];
    for (int i = 0; i < 3; i++)
        waiting[i] = h_connect(s->port);
    close(first);
    cr_assert(h_err_wait(s, "parrot: 3 waiting\n", H_DEADLINE_MS), "stderr:\n%s", s->err);
    h_echo(waiting[0], "next\n");
    for (int i = 0; i < 3; i++)
        close(waiting[i]);
    h_kill(s);
}

/* Exercise 2: with a one-second timeout, kevent() returns 0 events when
 * nothing happened for a second, and the server prints a dot; it still
 * echoes. */
Test(step03, a_one_second_timeout_returns_with_no_events) {
    h_server *s = start_bin(answer_bin("03-timeout"), 0);
    cr_assert(h_err_wait(s, ".", H_DEADLINE_MS), "no dot; stderr:\n%s", s->err);
    int fd = h_connect(s->port);
    h_echo(fd, "Hello Parrot\n");
    close(fd);
    cr_assert(h_alive(s));
    h_kill(s);
}
