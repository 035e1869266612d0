/*
 * test_slow_reader.c - a client that sends and does not read: from
 * step 05 (write buffering) the others are served; before it they stall.
 * Memory stays bounded, except in step 05, which buffers everything such
 * a client sends: there it grows by what the client sent.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdlib.h>
#include <unistd.h>

struct growth {
    pid_t pid;
    long from_kb, at_least_kb, now_kb;
};

static int rss_grown(void *arg) {
    struct growth *g = arg;
    g->now_kb = h_rss_kb(g->pid);
    return g->now_kb - g->from_kb >= g->at_least_kb;
}

Test(slow_reader, others_served_memory_bounded, .timeout = 60) {
    h_server *s = start();
    int warm = h_connect(s->port);
    h_echo(warm, "warm up");
    close(warm);
    long rss_before = h_rss_kb(s->pid);

    int a = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 4);
    size_t sent = len;
    if (step()->bounded) {
        sent = h_send_until_stalled(a, data, len);
        cr_assert(lt(sz, sent, len), "the server took all 32 MiB without them being read");
        long grown = h_rss_kb(s->pid) - rss_before;
        cr_assert(lt(long, grown, 4096L + H_RSS_SLACK_KB),
                  "RSS grew by %ld KiB for a client that does not read", grown);
    } else {
        /* The limitation of step 05: it reads on, whatever it owes, so it
         * takes all 32 MiB (h_send_all fails the test if it stops taking
         * them) and holds what the kernel's buffers could not (they hold a
         * few MiB at most): its memory grows by at least half of it. The
         * test sends no more than 32 MiB, so it stays bounded here; a
         * client that sends without end would not. */
        h_send_all(a, data, len);
        struct growth g = {.pid = s->pid, .from_kb = rss_before, .at_least_kb = 16 << 10};
        cr_assert(h_poll_until(rss_grown, &g, 0, 10),
                  "RSS grew by only %ld KiB while it owed a client %zu bytes",
                  g.now_kb - rss_before, sent);
    }

    int b = h_connect(s->port);
    h_send_all(b, "Hello Parrot", 12);
    if (step()->write_buffering) {
        h_expect(b, "Hello Parrot", 12, "another client while one does not read");
    } else {
        cr_assert(h_silent_for(b, SILENCE_MS),
                  "without write buffering a client that does not read stalls the others");
    }
    /* Now read: everything comes back, in order, while the rest is sent. */
    h_exchange(a, data, len, sent);
    close(a);
    if (!step()->write_buffering) h_expect(b, "Hello Parrot", 12, "the stalled client, at last");
    free(data);
    close(b);
    h_kill(s);
}
