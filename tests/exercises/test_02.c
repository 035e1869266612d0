/*
 * test_02.c - step 02's exercises (steps/02-nonblocking-poll/README.md).
 *
 * Exercise 2 (a 1 ms sleep when nothing was ready: CPU use against echo
 * time) and exercise 3 (strace -c) are measurements of time and CPU: the
 * lesson quotes what was measured, and no test claims a number.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <unistd.h>

#include "exercise_support.h"

/* The step as it is: while it keeps asking its one client, a second one
 * connects (the kernel completes the handshake and queues it) but is never
 * read. */
Test(step02, the_step_serves_one_client_at_a_time) {
    h_server *s = start_bin(step_bin("02"), 0);
    int first = h_connect(s->port);
    h_echo(first, "first\n");
    int second = h_connect(s->port);
    h_send_all(second, "second\n", 7);
    cr_assert(h_silent_for(second, 500),
              "the second client got an answer while the first was connected");
    close(first); /* the server takes the next client: the waiting bytes come back */
    h_expect(second, "second\n", 7, "second client, once the first left");
    close(second);
    h_kill(s);
}

/* Exercise 1: an array of clients, each asked in turn. Both are served
 * while both are connected, in either order. */
Test(step02, an_array_of_clients_serves_two_at_once) {
    h_server *s = start_bin(answer_bin("02-many-clients"), 0);
    int first = h_connect(s->port);
    int second = h_connect(s->port);
    h_echo(second, "second\n");
    h_echo(first, "first\n");
    h_echo(second, "second again\n");
    close(first);
    h_echo(second, "still here\n"); /* the first one leaving does not end the others */
    close(second);
    cr_assert(h_alive(s));
    h_kill(s);
}
