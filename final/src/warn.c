/*
 * warn.c - see warn.h.
 */
#include "platform.h"

#include <stdarg.h>
#include <stdio.h>

#include "warn.h"

int warn_limited(warn_limit *w, long long now_ms, const char *fmt, ...) {
    if (now_ms < w->next_ms) return 0;
    w->next_ms = now_ms + WARN_INTERVAL_MS;
    va_list ap;
    va_start(ap, fmt);
    fputs("parrot: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}
