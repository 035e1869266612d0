/*
 * clf.h - the access log's line, formatted: pure functions, no state and no
 * I/O (log.c is the sink that writes them; the fuzzers and unit tests link
 * this file alone). One line per message received, where a message is what
 * one read returned (TCP has no boundaries):
 *
 *   127.0.0.1:50432 - - [26/Nov/2026:23:12:15 +0000] "hello\n" 6
 *   [::1]:50433 - - [26/Nov/2026:23:12:16 +0000] "\x00\xff" 2
 */
#ifndef PARROT_CLF_H
#define PARROT_CLF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "net.h"

/* The message part of a line shows at most this many bytes, then "...". */
#define CLF_MAX_MESSAGE 256
/* "[26/Nov/2026:23:12:15 +0000]" */
#define CLF_STAMP_LEN 28
/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" and a NUL fit. */
#define CLF_ADDR_MAX 56
/* The longest line clf_format can produce. */
#define CLF_LINE_MAX (CLF_ADDR_MAX + 5 + CLF_STAMP_LEN + 2 + 4 * CLF_MAX_MESSAGE + 3 + 2 + 20 + 1)

/* The peer: "ip:port" or "[ipv6]:port" ("-" when unknown), NUL-terminated.
 * Returns its length (< CLF_ADDR_MAX). */
size_t clf_addr(char *dst, const net_addr *a);

/* The bracketed local time of t, like "[26/Nov/2026:23:12:15 +0000]".
 * Writes CLF_STAMP_LEN bytes and a NUL. */
void clf_timestamp(char *dst, time_t t);

/* The message between the quotes: printable ASCII as is, \" \\ \n \r \t,
 * every other byte as \xNN; at most CLF_MAX_MESSAGE bytes of it, then "..."
 * if it was longer. Returns the length written (at most 4*256+3). */
size_t clf_escape(char *dst, const unsigned char *msg, size_t len);

/* One whole line, '\n' included, not NUL-terminated. Returns its length
 * (< CLF_LINE_MAX). */
size_t clf_format(char *dst, const net_addr *peer, const char *stamp, const unsigned char *msg,
                  size_t len);

#endif
