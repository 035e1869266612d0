/*
 * test_robust.c - hostile clients do not take any step down: a reset,
 * a reset while the server writes, a half-close with little or a lot
 * still owed (step 05 loses what it still owes at the client's EOF).
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(robust, survives_reset_and_serves_next, .timeout = 20) {
    h_server *s = start();
    int a = h_connect(s->port);
    h_echo(a, "about to vanish");
    h_send_all(a, "unanswered", 10); /* the echo may be in flight when the RST comes */
    h_reset(a);
    int b = h_connect(s->port);
    h_echo(b, "Hello Parrot");
    cr_assert(h_alive(s));
    close(b);
    h_kill(s);
}

Test(robust, survives_reset_while_writing, .timeout = 30) {
    h_server *s = start();
    int a = h_connect(s->port);
    size_t len = 8 << 20;
    unsigned char *data = h_pattern(len, 2);
    /* Fill every buffer between us: the server is now writing to a client
     * that does not read. Then reset: its write fails (EPIPE/ECONNRESET,
     * never a SIGPIPE death). */
    size_t sent = h_send_until_stalled(a, data, len);
    cr_assert(gt(sz, sent, 0));
    h_reset(a);
    int b = h_connect(s->port);
    h_echo(b, "Hello Parrot");
    cr_assert(h_alive(s));
    free(data);
    close(b);
    h_kill(s);
}

Test(robust, half_close_small, .timeout = 20) {
    /* What `printf 'Hello Parrot' | nc -N host port` does. */
    h_server *s = start();
    int c = h_connect(s->port);
    h_send_all(c, "Hello Parrot", 12);
    h_shutdown_write(c);
    h_expect(c, "Hello Parrot", 12, "half-closed client");
    size_t extra = 0;
    cr_assert(h_wait_eof(c, 0, &extra), "no EOF after the echo");
    cr_assert(eq(sz, extra, 0));
    close(c);
    h_kill(s);
}

Test(robust, half_close_gets_every_byte_then_eof, .timeout = 30) {
    /* Send until nothing more fits (the server owes us a lot by then: in
     * its buffers, or blocked in write), shut down our sending side, then
     * read: every byte must come back, then EOF, never a reset. */
    h_server *s = start();
    int c = h_connect(s->port);
    size_t len = 32 << 20;
    unsigned char *data = h_pattern(len, 3);
    /* Step 05 takes all 32 MiB (h_send_all fails the test if it stops
     * taking them); the others stop reading long before. */
    size_t sent = len;
    if (step()->bounded)
        sent = h_send_until_stalled(c, data, len);
    else
        h_send_all(c, data, len);
    int before = h_fd_count(s->pid), now;
    h_shutdown_write(c);
    if (step()->half_close) {
        h_exchange(c, data, sent, sent);
        size_t extra = 0;
        cr_assert(h_wait_eof(c, 0, &extra), "no EOF after %zu echoed bytes", sent);
        cr_assert(eq(sz, extra, 0));
    } else {
        /* The limitation of step 05: it closes at our EOF, and what it
         * still owed us is lost. It read all 32 MiB (it never stops
         * reading) while we read nothing, so all it could send before
         * closing is what the kernel's buffers hold, a few MiB: the echo
         * stops short, then EOF. What does come is right. */
        /* Read only once the server has closed our connection (it holds
         * one descriptor fewer), so once it has read up to our EOF: while
         * some of our bytes still wait for it, each read lets it send more
         * echo, and a fast reader could get all of it. */
        cr_assert(h_wait_fd_count_below(s->pid, before, 0, &now), "it held %d descriptors, then %d",
                  before, now);
        unsigned char *got = malloc(sent);
        cr_assert(ne(ptr, got, NULL));
        size_t n = h_recv_exact(c, got, sent, 0);
        cr_assert(lt(sz, n, sent), "all %zu bytes came back after a half-close", sent);
        cr_assert(gt(sz, n, 0), "not even the first bytes came back");
        cr_assert(eq(int, memcmp(got, data, n), 0), "the %zu bytes that came back differ", n);
        cr_assert(h_wait_eof(c, 0, NULL), "no EOF after %zu of %zu bytes", n, sent);
        free(got);
    }
    free(data);
    close(c);
    h_kill(s);
}
