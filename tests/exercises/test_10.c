/*
 * test_10.c - step 10's exercises (steps/10-idle-timeout/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exercise_support.h"

#define IDLE_MS 400 /* -idle-timeout here */

/* The data of the first "parrot: tick (data N)" line in stderr at or after
 * offset from, or -1 if there is none yet. */
static long tick_after(h_server *s, size_t from) {
    h_err_refresh(s);
    if (s->err == NULL || s->err_len <= from) return -1;
    const char *line = strstr(s->err + from, "parrot: tick (data ");
    if (line == NULL || strchr(line, '\n') == NULL) return -1;
    return strtol(line + strlen("parrot: tick (data "), NULL, 10);
}

struct tick_wait {
    h_server *s;
    size_t from;
    long data;
};

static int ticked(void *arg) {
    struct tick_wait *w = arg;
    w->data = tick_after(w->s, w->from);
    return w->data != -1;
}

/* Exercise 1: a periodic timer (no EV_ONESHOT) of one second. While the
 * server is stopped, the timer goes on expiring; the first event after it
 * resumes reports every period it missed in data, not one event each. */
Test(step10, periodic_timer_reports_missed_periods, .timeout = 40) {
    h_server *s = start_bin_flags(answer_bin("10-tick"), 0);
    int c = h_connect(s->port);
    h_echo(c, "one client\n");
    cr_assert(h_err_wait(s, "): 1 clients connected\n", H_DEADLINE_MS), "stderr:\n%s", s->err);
    cr_assert(eq(int, kill(s->pid, SIGSTOP), 0));
    wait_stopped(s);
    h_pause_ms(2500); /* a window: two and a half periods pass while it cannot run */
    h_err_refresh(s);
    struct tick_wait w = {.s = s, .from = s->err_len, .data = -1};
    cr_assert(eq(int, kill(s->pid, SIGCONT), 0));
    cr_assert(h_poll_until(ticked, &w, H_DEADLINE_MS, 5), "no tick after the stop; stderr:\n%s",
              s->err);
    cr_assert(ge(long, w.data, 2), "the first tick after the stop; stderr:\n%s", s->err);
    h_echo(c, "served after it\n");
    close(c);
    h_kill(s);
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

struct count_wait {
    h_server *s;
    const char *needle;
    int n;
};

static int counted(void *arg) {
    struct count_wait *w = arg;
    h_err_refresh(w->s);
    return count(w->s->err, w->needle) >= w->n;
}

/* Wait (deadline) until stderr holds needle n times or more. */
static int wait_count(h_server *s, const char *needle, int n) {
    struct count_wait w = {.s = s, .needle = needle, .n = n};
    return h_poll_until(counted, &w, H_DEADLINE_MS, 5);
}

/* Exercise 2: one EVFILT_TIMER per client instead of the list. The quiet
 * client is closed once it has been silent for -idle-timeout, as with the
 * step; the trace shows the cost: a timer change when the client arrives,
 * and at every read and every write. A client that leaves before its timer
 * fires must not be heard of again: close() does not delete a timer whose
 * ident is only the descriptor's number (FreeBSD knote_fdclose() walks the
 * descriptor's list kq_knlist[fd]; timer_filtops has f_isfd 0, its knotes
 * are in kq_knhash), and the answer deletes it itself. Without that, the
 * timer fires for a struct conn already freed: on Linux glibc then aborted
 * the server ("double free or corruption"). */
Test(step10, one_timer_per_client, .timeout = 30) {
    setenv("PARROT_TRACE", "1", 1);
    char ms[16];
    snprintf(ms, sizeof ms, "%dms", IDLE_MS);
    h_server *s = start_args(answer_bin("10-timer-per-client"),
                             (const char *const[]){"-port", "0", "-idle-timeout", ms, NULL});
    char armed[64];
    snprintf(armed, sizeof armed, "TIMER  ADD|ONESHOT    fflags 0 data %d ", IDLE_MS);

    /* A client that says one thing, is echoed, and says no more. */
    int quiet = h_connect(s->port);
    long long silent_from = h_now_ms();
    h_echo(quiet, "then silence\n");
    cr_assert(h_wait_eof(quiet, H_DEADLINE_MS, NULL), "the quiet client was not closed");
    long long closed_after = h_now_ms() - silent_from;
    cr_assert(ge(llong, closed_after, IDLE_MS), "closed after %lld ms", closed_after);
    close(quiet);
    h_err_refresh(s);
    cr_assert(ge(int, count(s->err, armed), 3), "accept, read, write: a timer change each;\n%s",
              s->err);

    /* A client that leaves on its own, long before its timer would fire. */
    int deleted = count(s->err, "TIMER  DELETE");
    int leaving = h_connect(s->port);
    h_echo(leaving, "bye\n");
    close(leaving);
    cr_assert(wait_count(s, "TIMER  DELETE", deleted + 1), "its timer was not deleted;\n%s",
              s->err);
    h_pause_ms(IDLE_MS + 300); /* a window: past the moment its timer would have fired */
    cr_assert(h_alive(s), "the server died; stderr:\n%s", s->err);
    int next = h_connect(s->port);
    h_echo(next, "served after it\n");
    close(next);
    h_kill(s);
}

/* Exercise 3: a client that sends and never reads stops at the high-water
 * mark: neither side moves a byte, so it is idle, and is closed. It has
 * unread input in the server's socket, so close() resets the connection
 * (Linux tcp_close(); XNU tcp_disconnect(): so_rcv.sb_cc != 0, tcp_drop()):
 * what the server still owed is lost. Had it not been closed, reading now
 * would bring every byte back. */
Test(step10, client_stuck_at_the_high_water_mark_is_idle, .timeout = 30) {
    h_server *s = start_args(step_bin("10"),
                             (const char *const[]){"-port", "0", "-idle-timeout", "500ms", NULL});
    int alone = h_fd_count(s->pid);           /* what it holds without the client */
    int c = h_connect_rcvbuf(s->port, 16384); /* a small window: stuck sooner */
    size_t len = 64u << 20;                   /* more than the buffers between us hold */
    char *junk = calloc(1, len);
    cr_assert(junk != NULL);
    size_t sent = h_send_until_stalled(c, junk, len);
    free(junk);
    cr_assert(lt(sz, sent, len), "all %zu bytes went: the client never got stuck", len);
    /* Read nothing (reading would unstick it) until the server has closed
     * it: back to the descriptors it held alone. */
    int now;
    cr_assert(h_wait_fd_count_below(s->pid, alone + 1, H_DEADLINE_MS, &now),
              "the stuck client was not closed: %d descriptors, %d without it", now, alone);
    size_t echoed = 0;
    cr_assert(h_wait_eof(c, H_DEADLINE_MS, &echoed), "the stuck client was not closed");
    cr_assert(lt(sz, echoed, sent), "all %zu bytes came back: it was not closed while stuck", sent);
    close(c);
    int next = h_connect(s->port);
    h_echo(next, "served after it\n");
    close(next);
    cr_assert(h_alive(s));
    h_kill(s);
}
