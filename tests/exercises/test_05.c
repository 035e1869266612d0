/*
 * test_05.c - step 05's exercises (steps/05-write-buffering/README.md).
 */
/* Feature macros: POSIX, and the calls that count a socket's unsent bytes,
 * which POSIX lacks: glibc shows SIOCOUTQ's ioctl under POSIX, macOS
 * SO_NWRITE with _DARWIN_C_SOURCE; the BSDs show FIONWRITE by default, and
 * asking for strict POSIX there would hide it (as in ../support/client.c). */
#if !defined(__FreeBSD__) && !defined(__OpenBSD__) && !defined(__NetBSD__) &&                      \
    !defined(__DragonFly__)
#define _POSIX_C_SOURCE  200809L
#define _DARWIN_C_SOURCE /* macOS: SO_NWRITE */
#endif

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/sockios.h> /* SIOCOUTQ */
#elif !defined(__APPLE__)
#include <sys/filio.h> /* FIONWRITE */
#endif

#include "exercise_support.h"

/* Built with AddressSanitizer (make test SANITIZE=1 builds the answers and
 * this file with the same flags)? */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

/* --- exercise 1: free the buffer when it drains ---------------------------- */

enum { IDLE_CLIENTS = 1000 };

/* How much the server's resident memory grows while IDLE_CLIENTS clients
 * each say hello, get the echo, and then stay connected saying nothing. */
static long growth_with_idle_clients(const char *bin) {
    h_need_fds(IDLE_CLIENTS + 64);
    h_server *s = start_bin(bin, IDLE_CLIENTS + 64);
    long before = h_rss_kb(s->pid);
    int *fds = calloc(IDLE_CLIENTS, sizeof *fds);
    cr_assert(ne(ptr, fds, NULL));
    for (int i = 0; i < IDLE_CLIENTS; i++) {
        fds[i] = h_connect(s->port);
        h_echo(fds[i], "hello\n");
    }
    long grown = h_rss_kb(s->pid) - before;
    for (int i = 0; i < IDLE_CLIENTS; i++)
        close(fds[i]);
    free(fds);
    h_kill(s);
    return grown;
}

/* With the buffer freed once it drains, 1000 quiet clients cost the server
 * little: under 1 KiB each (measured: 220 KiB for all 1000). The step keeps
 * a 16 KiB buffer per client, of which the page that "hello" was read into
 * is resident: at least 4 KiB each (measured: 4220 KiB for 1000 on Linux).
 * Under AddressSanitizer freed memory waits in its quarantine first
 * (H_RSS_SLACK_KB), so there only the answer's bound is checked. */
Test(step05, freed_buffers_keep_quiet_clients_small, .timeout = 60) {
    long answer = growth_with_idle_clients(answer_bin("05-free-drained-buffer"));
    cr_assert(lt(long, answer, IDLE_CLIENTS * 1L + H_RSS_SLACK_KB),
              "%d quiet clients grew the answer by %ld KiB", IDLE_CLIENTS, answer);
    if (!ASAN) {
        long step = growth_with_idle_clients(step_bin("05"));
        cr_assert(ge(long, step, IDLE_CLIENTS * 3L),
                  "%d quiet clients grew step 05 by only %ld KiB: does it still keep a "
                  "buffer per client?",
                  IDLE_CLIENTS, step);
    }
}

/* --- exercise 2: a client closed twice in one batch ------------------------ */

/* Bytes written to fd that the peer has not acknowledged yet. */
static int unacked(int fd) {
    int n = 0;
#if defined(__linux__)
    cr_assert(eq(int, ioctl(fd, SIOCOUTQ, &n), 0), "ioctl SIOCOUTQ: %s", strerror(errno));
#elif defined(SO_NWRITE)
    socklen_t len = sizeof n;
    cr_assert(eq(int, getsockopt(fd, SOL_SOCKET, SO_NWRITE, &n, &len), 0),
              "getsockopt SO_NWRITE: %s", strerror(errno));
#elif defined(FIONWRITE)
    cr_assert(eq(int, ioctl(fd, FIONWRITE, &n), 0), "ioctl FIONWRITE: %s", strerror(errno));
#else
#error "no way to ask for the bytes a socket has not sent yet"
#endif
    return n;
}

static int all_acked(void *arg) {
    return unacked(*(int *)arg) == 0;
}

/* The one way to get the same client twice in one kevent() batch, every
 * time: the server is asleep, owes the client bytes (its EVFILT_WRITE is
 * enabled and its send buffer full) and has read everything it sent; then
 * the client resets. A reset makes the socket readable (EV_EOF) and
 * writable (EV_EOF) at once, and both events come back from the same
 * kevent() call. If the server is still busy reading when the reset
 * arrives (a client that sends for as long as it runs), the read event's
 * write meets the reset first, closes the client, and no WRITE event was in
 * that batch: that is why "a client that resets while we owe it data" does
 * not always show it. */
static void reset_while_owed_and_idle(h_server *s) {
    enum { SENT = 32 << 20, READ_SIZE = 16 * 1024 };
    /* A small receive buffer, so that the server cannot hand the client
     * much: what does not fit in the server's send buffer (4 MiB at most
     * with Linux's default tcp_wmem) stays owed, with EVFILT_WRITE on. */
    int a = h_connect_rcvbuf(s->port, 16 * 1024);
    void *data = h_pattern(SENT, 5);
    h_send_all(a, data, SENT); /* step 05 never stops reading: this ends */
    free(data);
    /* Every byte has reached the server's socket... */
    cr_assert(h_poll_until(all_acked, &a, 0, 5), "%d bytes never left the client", unacked(a));
    /* ...and the server has read them all: it reads READ_SIZE per turn of
     * its loop, and each echo to another client takes at least one turn. */
    int b = h_connect(s->port);
    for (int i = 0; i < SENT / READ_SIZE + 16; i++)
        h_echo(b, "turn\n");
    close(b);
    h_reset(a);
}

/* The answer: without the check, the second event serves a client closed
 * earlier in the batch: its descriptor is -1, so its read() or write()
 * fails with EBADF, and close_conn() puts it on the closed list a second
 * time (a loop in the list). free_closed() then frees it and reads it
 * again: ASan reports a heap-use-after-free and the server exits; without
 * ASan what happens is undefined (a crash, here). The EBADF line comes
 * either way, on every system: which of the two events is first (READ on
 * Linux's layer: "write: Bad file descriptor") only changes its prefix. */
Test(step05, without_the_check_a_closed_client_is_served_again, .timeout = 60) {
    h_server *s = start_bin(answer_bin("05-no-closed-check"), 0);
    reset_while_owed_and_idle(s);
    cr_assert(h_err_wait(s, strerror(EBADF), H_DEADLINE_MS),
              "no sign of the client served after it was closed; stderr:\n%s", s->err);
    if (ASAN) {
        cr_assert(h_err_wait(s, "heap-use-after-free", H_DEADLINE_MS), "stderr:\n%s", s->err);
        cr_assert(ne(int, h_stop(s, 0, H_DEADLINE_MS), 0));
    }
    h_kill(s);
}

/* The same client, the same reset, and the step as it is: the second event
 * is skipped (fd -1), the client is closed once, and the server serves on. */
Test(step05, with_the_check_the_second_event_is_skipped, .timeout = 60) {
    h_server *s = start_bin(step_bin("05"), 0);
    reset_while_owed_and_idle(s);
    int next = h_connect(s->port);
    h_echo(next, "still here\n");
    close(next);
    h_err_refresh(s);
    cr_assert(eq(ptr, strstr(s->err, strerror(EBADF)), NULL), "stderr:\n%s", s->err);
    cr_assert(h_alive(s));
    h_kill(s);
}
