/*
 * go_model.h - what Go's documents say a command-line value means, for the
 * fuzz targets to hold final/src/flag.c to. Written from the documents, not
 * from flag.c, and in another shape (go_model.c says which document each
 * rule comes from):
 *
 *   - integers: matched against the Go spec's grammar for integer literals,
 *     then valued in 128 bits (flag.c counts digit by digit in 64 bits);
 *   - durations: matched against time.ParseDuration's grammar and valued
 *     exactly in integers (flag.c follows Go's float arithmetic);
 *   - quoting: UTF-8 decoded to code points (flag.c checks byte ranges).
 */
#ifndef PARROT_GO_MODEL_H
#define PARROT_GO_MODEL_H

#include <stdio.h>

typedef __int128 go_i128; /* gcc and clang have it on every 64-bit target */

/* strconv's two errors: ErrSyntax and ErrRange. */
enum { GO_OK = 0, GO_SYNTAX = 1, GO_RANGE = 2 };

/* strconv.ParseInt(s, 0, 64) (is_signed) or strconv.ParseUint(s, 0, 64):
 * GO_OK and *value, or the error. */
int go_parse_int(const char *s, int is_signed, go_i128 *value);

/* strconv.ParseBool: GO_OK and *value (0 or 1), or GO_SYNTAX. */
int go_parse_bool(const char *s, int *value);

/* time.ParseDuration, as far as its documents fix the answer. */
typedef struct go_duration {
    int grammatical; /* s is a duration string */
    int negative;
    go_i128 ns;    /* the magnitude in ns, each fraction rounded down (saturates far past int64) */
    int fractions; /* parts with a fraction: Go's value may be off by one ns for each */
} go_duration;

go_duration go_parse_duration(const char *s);

/* Whether a parser that returned rc (0, or not 0 for an error) and ns for
 * the text d came from gave one of the answers Go's documents allow. */
int go_duration_allows(const go_duration *d, int rc, long long ns);

/* s between double quotes as Go's %q writes it, with parrot's one change
 * (flag.h): valid UTF-8 beyond ASCII is written as it is. */
void go_quote(FILE *out, const char *s);

#endif
