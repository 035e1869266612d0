/*
 * cli.c - see cli.h.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define EXIT_USAGE 2 /* bad usage, as Go's flag.ExitOnError */

_Noreturn void cli_fail(const flag_set *fs, const char *fmt, ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    flag_fail(fs, "%s", message);
    exit(EXIT_USAGE);
}

flag_set cli_flags(const char *name, flag *flags, size_t count, const char *about,
                   char *const argv[]) {
    flag_set fs = {.program = argv[0] ? argv[0] : name,
                   .flags = flags,
                   .count = count,
                   .about = about,
                   .out = stderr};
    return fs;
}

void cli_parse(flag_set *fs, int argc, char *const argv[], const char *const *host) {
    int rest;
    switch (flag_parse(fs, argc, argv, &rest)) {
    case FLAG_OK:
        break;
    case FLAG_HELP:
        exit(0);
    default:
        exit(EXIT_USAGE);
    }
    if (rest < argc) {
        /* Go would leave these in flag.Args(); neither tool has a use for them, and ignoring
         * "parrot-bench 1512" silently would surprise. The same words as parrot's. */
        fputs("unexpected argument ", fs->out);
        flag_quote(fs->out, argv[rest]);
        cli_fail(fs, "");
    }
    if (**host == '\0') cli_fail(fs, "invalid value \"\" for flag -host: no address");
}
