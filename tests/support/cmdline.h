/*
 * cmdline.h - running a command-line parser in-process: the argv it
 * reads, built from a list, and a sink, a FILE that keeps in memory what
 * the parser prints (open_memstream). For the tests and the fuzzers of
 * final/src/flag.c and config.c, so plain C: no Criterion. What cannot be
 * had (memory, a stream) aborts, naming it.
 */
#ifndef PARROT_CMDLINE_H
#define PARROT_CMDLINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The arguments a cmdline holds after argv[0], at the most. */
#define CMDLINE_MAX 30

typedef struct cmdline {
    int argc;
    char *argv[CMDLINE_MAX + 2]; /* argv[argc] is NULL */
} cmdline;

/* argv = {argv0, then the NULL-terminated list that starts with first and
 * goes on in ap}: parse("-port", "0", NULL) hands its own list on as
 * cmdline_from("parrot", first, ap). */
cmdline cmdline_from(const char *argv0, const char *first, va_list ap);

typedef struct sink {
    FILE *f;    /* hand this to the code under test */
    char *text; /* after sink_text: all that was written, NUL-terminated */
    size_t len; /* and its length */
} sink;

/* A new sink, open for writing. */
sink *sink_open(void);

/* Close the sink's FILE (the first time) and return everything written to
 * it: "" if nothing was. */
const char *sink_text(sink *s);

/* Close if still open, and free. */
void sink_free(sink *s);

#endif
