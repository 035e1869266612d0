/*
 * test_06.c - step 06's exercise (steps/06-backpressure/README.md).
 *
 * How many kevent() changes the low-water mark saves is a count the lesson
 * measures (strace -c, or the PARROT_TRACE lines), and depends on how much
 * room each WRITE event finds: no test. What a test can check is that the
 * answer still does the job: it stops reading when a client does not read,
 * starts again when the client catches up, and every byte comes back.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <unistd.h>

#include "exercise_support.h"

/* A client sends without reading until the server stops taking its bytes
 * (every buffer between them full: the server has stopped reading), then
 * half-closes, reads everything and the end of file. Reading resumes only
 * below the low-water mark; if it never did, the exchange would stall. */
Test(step06, low_water_mark_pauses_and_resumes, .timeout = 60) {
    h_server *s = start_bin(answer_bin("06-low-water"), 0);
    long before = h_rss_kb(s->pid);
    int c = h_connect(s->port);
    size_t len = 16 << 20;
    unsigned char *data = h_pattern(len, 6);
    size_t sent = h_send_until_stalled(c, data, len);
    cr_assert(lt(sz, sent, len), "the server took all %zu bytes without being read", len);
    /* Stalled with megabytes unread, the server holds at most its 64 KiB
     * buffer for us (1 MiB of room for the rest of its memory). */
    long grown = h_rss_kb(s->pid) - before;
    cr_assert(lt(long, grown, 1024L + H_RSS_SLACK_KB), "grew by %ld KiB while stalled", grown);
    /* Now read: the server resumes, every byte comes back, then EOF. */
    h_exchange(c, data, len, sent);
    h_shutdown_write(c);
    size_t extra = 0;
    cr_assert(h_wait_eof(c, 0, &extra), "no EOF after the echo");
    cr_assert(eq(sz, extra, 0));
    free(data);
    close(c);
    cr_assert(h_alive(s));
    h_kill(s);
}
