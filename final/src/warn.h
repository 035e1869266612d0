/*
 * warn.h - a line on stderr about trouble that can repeat (clients refused,
 * a log that cannot keep up), at most once a minute for each kind of
 * trouble: a flood of the same problem costs one line a minute, not a disk.
 */
#ifndef PARROT_WARN_H
#define PARROT_WARN_H

#define WARN_INTERVAL_MS 60000

/* One per kind of trouble; zero-initialised, so the first warning prints. */
typedef struct warn_limit {
    long long next_ms; /* the loop's clock when this kind may speak again */
} warn_limit;

/* Print "parrot: " and the printf-style message on stderr, unless this kind
 * printed less than a minute before now_ms. Returns 1 if it printed. */
int warn_limited(warn_limit *w, long long now_ms, const char *fmt, ...);

#endif
