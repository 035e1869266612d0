/*
 * flag.h - command-line flags read exactly as Go's flag package reads them,
 * for parrot and for its tools (parrot-bench, parrot-chaos), so that all
 * three take their flags, and report mistakes, in the same words as a Go
 * program: "-name value", "-name=value", "--name" the same as "-name", a
 * bool flag bare or as "-name=false", "--" ending the flags, "-h" and
 * "-help" printing the usage; Go's error lines, the layout of Go's
 * flag.PrintDefaults, and Go's syntax for the values (strconv.ParseInt and
 * ParseUint with base 0, strconv.ParseBool, time.ParseDuration).
 *
 * A program lists its flags in one table, a row per flag, sorted by name
 * (the usage shows them in that order, as Go does):
 *
 *     static flag flags[] = {
 *         {"port", FLAG_INT, &cfg.port, "1512", 0, 65535,
 *          "TCP port to listen on; 0 picks a free port"},
 *     };
 *
 * One known difference from Go: a value quoted in a message keeps valid
 * UTF-8 as it is, where Go's %q writes a non-printable character such as
 * U+200B as \u200b (telling those apart needs Unicode's tables).
 */
#ifndef PARROT_FLAG_H
#define PARROT_FLAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    FLAG_BOOL,     /* int: 0 or 1 */
    FLAG_INT,      /* long long */
    FLAG_UINT,     /* uint64_t */
    FLAG_STRING,   /* const char * (points into argv, or at the default) */
    FLAG_DURATION, /* long long nanoseconds */
} flag_kind;

typedef struct flag {
    const char *name;
    flag_kind kind;
    void *value;       /* where the value goes: see flag_kind for its type */
    const char *def;   /* the default, written the way Go prints it: "1512", "10s" */
    long long min;     /* FLAG_INT, FLAG_UINT, FLAG_DURATION (ns): the values */
    long long max;     /*   accepted; min == max == 0: any the type can hold */
    const char *usage; /* a `word` in backquotes names the value in the usage */
} flag;

typedef struct flag_set {
    const char *program; /* "Usage of <program>:" */
    flag *flags;         /* sorted by name; 64 at most */
    size_t count;
    const char *about;        /* printed under the "Usage of" line, or NULL */
    FILE *out;                /* where errors and the usage go (Go: stderr) */
    unsigned long long given; /* set by flag_parse: bit i, flags[i] was on the command line */
} flag_set;

/* What flag_parse found: run, -h or -help (exit 0), a mistake (exit 2). */
enum { FLAG_OK = 0, FLAG_HELP = 1, FLAG_ERROR = 2 };

/* Set every flag to its default, then read argv[1..argc-1]. The first
 * argument that is not a flag, or the one after "--", is left: *rest is
 * its index (argc when none is left). On a mistake, prints Go's line and
 * the usage to out. */
int flag_parse(flag_set *fs, int argc, char *const argv[], int *rest);

/* After flag_parse: did the command line name this flag (Go's flag.Visit)? A
 * flag given its default value was given; one left out was not. */
int flag_given(const flag_set *fs, const char *name);

/* The usage, in the layout of Go's flag.PrintDefaults, with the defaults
 * (never values parsed so far). */
void flag_usage(const flag_set *fs, FILE *out);

/* For checks a table cannot express: print the printf-style message as Go
 * would print an error, then the usage; returns FLAG_ERROR. */
int flag_fail(const flag_set *fs, const char *fmt, ...);

/* The value parsers, also used alone. Each returns 0, or FLAG_SYNTAX or
 * FLAG_RANGE (Go's strconv.ErrSyntax and ErrRange). */
enum { FLAG_SYNTAX = -1, FLAG_RANGE = -2 };
int flag_parse_int(const char *s, long long *out);     /* strconv.ParseInt(s, 0, 64) */
int flag_parse_uint(const char *s, uint64_t *out);     /* strconv.ParseUint(s, 0, 64) */
int flag_parse_bool(const char *s, int *out);          /* strconv.ParseBool */
int flag_parse_duration(const char *s, long long *ns); /* time.ParseDuration */

/* s between double quotes, escaped the way Go's %q escapes it. */
void flag_quote(FILE *out, const char *s);

#endif
