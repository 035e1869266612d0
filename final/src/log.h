/*
 * log.h - the access log: one Common-Log-Format-style line per message
 * received (a "message" is what one read returned: TCP has no boundaries):
 *
 *   127.0.0.1:50432 - - [26/Nov/2026:23:12:15 +0000] "hello\n" 6
 *
 * Lines go into one bounded buffer that is written once per loop turn. The
 * log never stalls the echo: a sink that is slow (a full pipe) or broken (a
 * full disk, a closed pipe) costs dropped lines, counted and reported once
 * on stderr, never a blocked loop.
 */
#ifndef PARROT_LOG_H
#define PARROT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "net.h"

/* The message part of a line shows at most this many bytes, then "...". */
#define CLF_MAX_MESSAGE 256
/* "[26/Nov/2026:23:12:15 +0000]" */
#define CLF_STAMP_LEN 28
/* The longest line clf_format can produce. */
#define CLF_LINE_MAX (NET_ADDR_TEXT + 5 + CLF_STAMP_LEN + 2 + 4 * CLF_MAX_MESSAGE + 3 + 2 + 20 + 1)

/* --- pure formatting (no state, no I/O) ---------------------------------- */

/* The bracketed local time of t, like "[26/Nov/2026:23:12:15 +0000]".
 * Writes CLF_STAMP_LEN bytes and a NUL. */
void clf_timestamp(char *dst, time_t t);

/* The message between the quotes: printable ASCII as is, \" \\ \n \r \t,
 * every other byte as \xNN; at most CLF_MAX_MESSAGE bytes of it, then "..."
 * if it was longer. Returns the length written (at most 4*256+3). */
size_t clf_escape(char *dst, const unsigned char *msg, size_t len);

/* One whole line, '\n' included. Returns its length (< CLF_LINE_MAX). */
size_t clf_format(char *dst, const net_addr *peer, const char *stamp, const unsigned char *msg,
                  size_t len);

/* --- the log ------------------------------------------------------------- */

/* spec: "-" (stdout), "off", or a path opened for appending. Returns 0, or
 * -1 with errno set (the caller names the path). */
int log_open(const char *spec);
int log_enabled(void);

/* Format one line into the buffer (or count it as dropped). */
void log_message(const net_addr *peer, const char *msg, size_t len);

/* Write what is buffered; now_ms paces retries after an error. Call once
 * per loop turn. */
void log_flush(long long now_ms);

/* Reopen the path (SIGHUP, after logrotate moved the file). On failure the
 * old file stays in use and one line on stderr says why. */
void log_reopen(void);

/* Flush what can be flushed without waiting, then close. */
void log_close(void);

uint64_t log_dropped(void);

#endif
