/*
 * goflags.h - command-line flags the way Go's flag package reads them, for
 * the C tools (parrot-bench, parrot-chaos): "-name value", "-name=value",
 * "--name" the same as "-name", "-h" and "-help" print the usage.
 *
 * Each tool keeps its own table of names and its own usage text; this file
 * only splits argv and parses the values, so that both tools take their
 * flags, and report mistakes, in the same words.
 */
#ifndef PARROT_GOFLAGS_H
#define PARROT_GOFLAGS_H

#include <stdint.h>
#include <stdio.h>

typedef struct goflags {
    int argc;
    char **argv;
    int next;                  /* index of the next argument to look at */
    void (*usage)(FILE *out);  /* the tool's usage text */
    const char *const *valued; /* names that take a value, NULL-terminated */
    const char *const *bools;  /* names that take none, or "=true"/"=false" */
    char name[32];
} goflags;

/* The next flag: 1 with *name and *value set (value NULL for a bool flag
 * given bare), 0 when the arguments are used up. Prints Go's message and
 * the usage and exits 2 on anything malformed or unknown; prints the usage
 * on stdout and exits 0 for -h and -help. */
int goflags_next(goflags *f, const char **name, const char **value);

/* Print "msg" and the usage on stderr, exit 2. */
_Noreturn void goflags_fail(const goflags *f, const char *fmt, ...);
/* The same, in Go's words for a value that did not parse. */
_Noreturn void goflags_bad_value(const goflags *f, const char *name, const char *value);

/* Decimal integers in [min, max]; 0 on success, -1 if s is not one. */
int goflags_long(const char *s, long min, long max, long *out);
int goflags_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "10", "2.5", "500ms", "10s", "5m", "1h" -> seconds (at most a year). */
int goflags_time(const char *s, double *out);

/* A bool flag's value: 1 for bare or "true", 0 for "false", -1 otherwise. */
int goflags_bool(const char *value);

#endif
