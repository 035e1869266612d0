/*
 * test_slow_reader.c - a client that sends and does not read: from
 * step 05 (write buffering) the others are served; before it they stall.
 * The server's memory stays bounded either way.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdlib.h>
#include <unistd.h>

Test(slow_reader, others_served_memory_bounded, .timeout = 60) {
    h_server *s = start();
    int warm = h_connect(s->port);
    h_echo(warm, "warm up");
    close(warm);
    long rss_before = h_rss_kb(s->pid);

    int a = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 4);
    size_t sent = h_send_until_stalled(a, data, len);
    cr_assert(lt(sz, sent, len), "the server took all 32 MiB without them being read");
    long grown = h_rss_kb(s->pid) - rss_before;
    cr_assert(lt(long, grown, 4096L), "RSS grew by %ld KiB for a client that does not read", grown);

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
