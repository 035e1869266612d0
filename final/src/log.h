/*
 * log.h - the access log's sink: one line per message received (formatted
 * by clf.h) goes into one bounded buffer, written once per loop turn. The
 * log never stalls the echo: a sink that is slow (a full pipe) or broken (a
 * full disk, a closed pipe) costs dropped lines, counted and reported on
 * stderr at most once a minute, never a blocked loop.
 */
#ifndef PARROT_LOG_H
#define PARROT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

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
