/*
 * client.h - the test's end of a connection to the server under test:
 * connecting, sending and receiving with deadlines, checking what comes
 * back, and the misbehaviour tests need (a half-close, a reset, a client
 * that stops reading). Every suite uses these; a suite's own files add
 * only what is particular to it.
 *
 * Every wait is a poll with a deadline. A helper that cannot go on (the
 * connect fails, the echo differs, a deadline passes) fails the current
 * test with cr_fatal and a message that says what happened.
 */
#ifndef PARROT_CLIENT_H
#define PARROT_CLIENT_H

#include <stddef.h>

/* --- connecting --------------------------------------------------------- */

/* Connect to 127.0.0.1:port (h_connect6: [::1]:port). Blocking socket,
 * TCP_NODELAY set. Fails the test on error. */
int h_connect(int port);
int h_connect6(int port);

/* Connect to 127.0.0.1:port again and again, closing each connection made,
 * until a connect is refused: 1, or 0 if connections are still accepted
 * at the deadline. A connect reset while it is made (the listener closed
 * under it) is tried again; any other error fails the test. Used to see a
 * server stop accepting. */
int h_wait_refused(int port, int deadline_ms);

/* h_connect with SO_RCVBUF set to bytes before connecting, so that the
 * receive window is small from the start. */
int h_connect_rcvbuf(int port, int bytes);

/* A listening socket of the test's own on 127.0.0.1, on a port the system
 * picks (*port). */
int h_listen_loopback(int *port);

/* The port of fd's own end, IPv4 or IPv6. */
int h_local_port(int fd);

/* --- bytes ------------------------------------------------------------- */

/* Write all len bytes (loops over short writes); fails the test on error
 * or if the deadline passes with the peer not reading. */
void h_send_all(int fd, const void *buf, size_t len);

/* Read until len bytes have arrived, EOF, an error or the deadline.
 * Returns how many bytes were read (== len on success). */
size_t h_recv_exact(int fd, void *buf, size_t len, int deadline_ms);

/* Fill buf with a deterministic pseudo-random pattern from seed; h_pattern
 * returns len such bytes in memory from malloc (free it). */
void h_fill_pattern(void *buf, size_t len, unsigned seed);
void *h_pattern(size_t len, unsigned seed);

/* --- echoes ------------------------------------------------------------ */

/* The next len bytes on fd are exactly want. Fails the test, naming who
 * ("second client"), if fewer arrive (EOF, the deadline) or they differ. */
void h_expect(int fd, const void *want, size_t len, const char *who);

/* Send msg and expect exactly msg back. */
void h_echo(int fd, const char *msg);

/* The echo of msg, already sent, comes back (1), or the connection is
 * closed or reset before a byte of it does (0: a refused client). Fails
 * the test on silence, or on a partial or wrong echo. */
int h_echo_or_closed(int fd, const char *msg, const char *who);

/* Send buf[sent..len) while reading the echo of all of buf[0..len): the
 * first `sent` bytes went out already, and none of their echo has been
 * read. One poll loop, in chunks of random sizes, reading while it writes
 * as a real client must (one that writes everything before reading can
 * deadlock any echo server whose writes wait for the client). Checks
 * every byte; fails the test on EOF, an error, a difference, or a stall
 * of 30 s. */
void h_exchange(int fd, const void *buf, size_t len, size_t sent);

/* Connect, exchange size bytes of h_pattern(size, seed), close. */
void h_round_trip(int port, size_t size, unsigned seed);

/* --- misbehaving -------------------------------------------------------- */

/* Send buf without reading until the peer has taken nothing for 300 ms
 * (every buffer between us is full) or all len bytes went. Returns the
 * bytes sent. */
size_t h_send_until_stalled(int fd, const void *buf, size_t len);

/* Returns 1 if nothing at all arrives on fd for ms milliseconds (the
 * connection is still open and silent), 0 if a byte or EOF arrived. Used to
 * prove that something does NOT happen, e.g. a second client is not served. */
int h_silent_for(int fd, int ms);

/* Wait for EOF from the peer. Returns 1 on EOF (read returned 0 or
 * ECONNRESET), 0 if data or nothing arrived before the deadline. Data that
 * arrives first is read and discarded, its length added to *extra if not
 * NULL. */
int h_wait_eof(int fd, int deadline_ms, size_t *extra);

void h_shutdown_write(int fd);

/* Close with SO_LINGER {1, 0}: the peer gets a RST, not a FIN. */
void h_reset(int fd);

#endif
