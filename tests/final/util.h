/*
 * util.h - helpers shared by final/'s integration tests, on top of the
 * harness (tests/support/harness.h).
 */
#ifndef PARROT_FINAL_TEST_UTIL_H
#define PARROT_FINAL_TEST_UTIL_H

#include <stddef.h>

#include "../support/harness.h"

/* Start the server under test with "-port 0" and the given arguments
 * (NULL-terminated). opts may be NULL. */
h_server *start(const h_opts *opts, const char *first, ...);

/* Send size bytes of a seeded pattern in random chunks while reading the
 * echo in random chunks (the client never stops reading, as a real client
 * must not), and check every byte. fd is made non-blocking. */
void round_trip_fd(int fd, size_t size, unsigned seed);
void round_trip(int port, size_t size, unsigned seed);

/* h_connect with SO_RCVBUF set before connecting (so the window is small
 * from the start). */
int connect_with_rcvbuf(int port, int bytes);

/* A listening TCP socket of the test's own on 127.0.0.1, on a port the
 * system picks (*port). */
int listen_loopback(int *port);

/* Send msg and read its echo; fails the test if it does not come back. */
void echo_ok(int fd, const char *msg);

/* Send msg: 1 if it is echoed, 0 if the server closed the connection
 * instead (a refused client). Fails the test on anything else. */
int served(int fd, const char *msg);

/* Poll until the server holds n descriptors or fewer (or the deadline). */
int wait_fds_at_most(h_server *s, int n, int deadline_ms);

/* Stop the server with SIGSTOP and wait until it is stopped (it then reads
 * nothing, while the kernel still queues what clients send it); resume it
 * with SIGCONT. */
void freeze(h_server *s);
void thaw(h_server *s);

/* Wait ms milliseconds without busy-waiting. Only for measuring over a
 * window (CPU use), never to wait for something to happen. */
void window_ms(int ms);

/* Count lines of a file, -1 if it does not exist. */
int file_lines(const char *path);

#endif
