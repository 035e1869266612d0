/*
 * test_clients.c - one client at a time (steps 01-03) or many at once
 * (04 and later): a second client, 200 at once or in turn, one hanging
 * up, and more clients than descriptors.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Are all of fds[0..n) silent (no byte, no EOF) for ms? */
static int all_silent(const int *fds, int n, int ms) {
    struct pollfd p[16];
    cr_assert(le(int, n, 16));
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    return poll(p, (nfds_t)n, ms) == 0;
}

Test(clients, second_client_while_first_connected, .timeout = 20) {
    h_server *s = start();
    int a = h_connect(s->port);
    h_echo(a, "first");
    int b = h_connect(s->port);
    h_send_all(b, "second", 6);
    if (step()->multi_client) {
        h_expect(b, "second", 6, "second client");
        h_echo(a, "first again");
    } else {
        cr_assert(h_silent_for(b, SILENCE_MS),
                  "one client at a time: the second got an answer while the first was connected");
        h_echo(a, "first again"); /* the first is still served */
        close(a);
        h_expect(b, "second", 6, "second client, after the first left");
        a = -1;
    }
    if (a != -1) close(a);
    close(b);
    h_kill(s);
}

/* Round trips on n clients, interleaved: everyone sends, then everyone reads. */
static void rounds(const int *fds, int n, int count, const char *tag) {
    char msg[64];
    for (int r = 0; r < count; r++) {
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            snprintf(msg, sizeof msg, "%s round %d client %d\n", tag, r, i);
            h_send_all(fds[i], msg, strlen(msg));
        }
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            snprintf(msg, sizeof msg, "%s round %d client %d\n", tag, r, i);
            h_expect(fds[i], msg, strlen(msg), msg);
        }
    }
}

Test(clients, many_at_once_or_in_turn, .timeout = 60) {
    /* A descriptor per client here and in the server, and room to spare
     * under macOS's default soft limit of 256. */
    enum { MANY = 200, FDS = MANY + 64 };
    h_need_fds(FDS);
    h_server *s = start_nofile(FDS);
    if (step()->multi_client) {
        /* 200 clients connected at the same time, 3 interleaved rounds. */
        int fds[MANY];
        for (int i = 0; i < MANY; i++)
            fds[i] = h_connect(s->port);
        rounds(fds, MANY, 3, "many");
        for (int i = 0; i < MANY; i++)
            close(fds[i]);
    } else {
        /* One at a time: of 4 waiting clients only the first is served;
         * each of the others is served once the one before it leaves. */
        enum { N = 4 };
        int fds[N];
        char msg[2] = "0";
        for (int i = 0; i < N; i++) {
            fds[i] = h_connect(s->port);
            msg[0] = (char)('0' + i);
            h_send_all(fds[i], msg, 1);
        }
        h_expect(fds[0], "0", 1, "first client");
        cr_assert(all_silent(fds + 1, N - 1, SILENCE_MS),
                  "one client at a time: a waiting client was served early");
        for (int i = 1; i < N; i++) {
            close(fds[i - 1]);
            msg[0] = (char)('0' + i);
            h_expect(fds[i], msg, strlen(msg), "next client in line");
        }
        close(fds[N - 1]);
    }
    h_kill(s);
}

Test(clients, one_hangs_up_others_unharmed, .timeout = 30) {
    h_server *s = start();
    if (step()->multi_client) {
        enum { N = 20 };
        int fds[N];
        for (int i = 0; i < N; i++)
            fds[i] = h_connect(s->port);
        rounds(fds, N, 1, "before");
        close(fds[5]); /* a polite hang-up (FIN) */
        fds[5] = -1;
        h_send_all(fds[6], "half a mess", 11);
        h_reset(fds[6]); /* a rude one (RST) with data in flight */
        fds[6] = -1;
        rounds(fds, N, 2, "after");
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0) close(fds[i]);
    } else {
        /* The one being served hangs up rudely: the next in line gets its turn. */
        int a = h_connect(s->port);
        h_echo(a, "a");
        int b = h_connect(s->port);
        h_send_all(b, "b", 1);
        h_reset(a);
        h_expect(b, "b", 1, "next client after a reset");
        close(b);
    }
    cr_assert(h_alive(s));
    h_kill(s);
}

/* When accept() fails for want of a descriptor, Linux and FreeBSD have not
 * taken the caller off the listen queue yet (FreeBSD's kern_accept4
 * allocates the descriptor first): it waits there and is served once a
 * descriptor frees. macOS has already taken it off, and drops it (xnu,
 * accept_nocancel: "Don't put this back on the socket like we used to,
 * that just causes the client to spin. Drop the socket."): the caller sees
 * its connection closed or reset. */
#if defined(__APPLE__)
#define ACCEPT_DROPS_CALLER_WITHOUT_FD 1
#else
#define ACCEPT_DROPS_CALLER_WITHOUT_FD 0
#endif

/* Descriptor exhaustion: with a small open-files limit, more clients than
 * descriptors connect. The server must not spin on a listener it cannot
 * accept from, and must serve the waiting clients as others leave (those
 * the kernel has not dropped: see ACCEPT_DROPS_CALLER_WITHOUT_FD). */
Test(clients, out_of_descriptors_no_spin, .timeout = 40) {
    enum { NOFILE = 24, N = 32 };
    h_server *s = start_nofile(NOFILE);
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = h_connect(s->port);
        h_send_all(fds[i], "x", 1);
    }
    if (step()->multi_client) {
        /* The first ones are answered; wait for one to know the server
         * has been through its accept loop. */
        h_expect(fds[0], "x", 1, "first client");
        cr_assert(h_err_wait(s, strerror(EMFILE), 0), "never ran out of descriptors?");
    }
    if (step()->sleeps_when_idle) {
        /* At most a tenth of a core, give or take the CPU clock's resolution. */
        double seconds, used = h_cpu_used(s->pid, 500, &seconds);
        cr_assert(lt(dbl, used, 0.1 * seconds + h_cpu_resolution()),
                  "out of descriptors, it used %.2fs of CPU in %.1fs (%s)", used, seconds,
                  h_metrics_source());
    }
    for (int i = 0; i < N; i++) {
        char who[64];
        snprintf(who, sizeof who, "client %d of %d (open-files limit %d)", i, N, NOFILE);
        if (step()->multi_client && i == 0) {
            /* answered above */
        } else if (ACCEPT_DROPS_CALLER_WITHOUT_FD && step()->multi_client) {
            h_echo_or_closed(fds[i], "x", who);
        } else {
            h_expect(fds[i], "x", 1, who);
        }
        close(fds[i]);
    }
    cr_assert(h_alive(s));
    h_kill(s);
}
