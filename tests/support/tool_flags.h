/*
 * tool_flags.h - a flag table shaped like one of parrot's tools, read by
 * final/src/flag.c in its unit tests (tests/final/test_flag.c) and its
 * fuzzer (tests/fuzz/fuzz_flags.c), besides parrot's own table: a uint
 * whose usage names its value in backquotes, an int (its default -1) and
 * a duration with no range, a string whose default needs quoting, a
 * one-letter bool, a usage of two lines and an about text. Plain C: no
 * Criterion.
 */
#ifndef PARROT_TOOL_FLAGS_H
#define PARROT_TOOL_FLAGS_H

#include <stdint.h>
#include <stdio.h>

#include "../../final/src/flag.h"

/* Where flag_parse puts the values: -count, -n, -name, -v, -wait. */
struct tool_values {
    uint64_t count;
    long long n;
    const char *name;
    int v;
    long long wait;
};
extern struct tool_values tool;

/* The table as a flag_set for the program "tool", printing to out. */
flag_set tool_flags(FILE *out);

#endif
