/*
 * cli.h - how parrot-bench and parrot-chaos read their command line: each tool lists its flags
 * in one table, read by final/src/flag.c exactly as Go's flag package reads flags, and these
 * calls add what both tools need on top: the exit statuses of a command-line tool, an error for
 * an argument left after the flags, and the two flags that name the server.
 *
 * Exit statuses, as a Go program that uses flag.CommandLine: 0 after -h or -help (the usage
 * on stderr, where Go prints it), 2 after a mistake (Go's line and the usage on stderr).
 */
#ifndef PARROT_TOOLS_CLI_H
#define PARROT_TOOLS_CLI_H

#include "flag.h"

/* The rows for -host and -port, the same in both tools (p: where the value goes, a
 * const char * and a long long). */
#define CLI_HOST_FLAG(p)                                                                           \
    {                                                                                              \
        "host", FLAG_STRING, (p), "127.0.0.1", 0, 0,                                               \
            "server `address`: an IPv4 or IPv6 address or a host name"                             \
    }
#define CLI_PORT_FLAG(p)                                                                           \
    { "port", FLAG_INT, (p), "1512", 1, 65535, "server TCP port" }

/* The longest duration a flag of either tool takes, in nanoseconds: a year, which no run
 * needs, and which keeps every deadline far from overflowing the clocks' arithmetic. */
#define CLI_MAX_DURATION (365LL * 24 * 3600 * 1000000000)

/* The flag set of a tool's table: flags (count rows, sorted by name), about under the usage's
 * first line, the program named as it was run (argv[0], or name where there is none), errors
 * and the usage on stderr, where Go's flag.CommandLine prints them. */
flag_set cli_flags(const char *name, flag *flags, size_t count, const char *about,
                   char *const argv[]);

/* Read argv[1..argc-1] into the table of fs. Returns only if the tool is to run; exits 0 after
 * -h or -help, and 2 after a mistake, an argument left after the flags, or an empty -host
 * (host: where CLI_HOST_FLAG puts its value). */
void cli_parse(flag_set *fs, int argc, char *const argv[], const char *const *host);

/* A mistake the table cannot express (two flags that exclude each other, say): print it as Go
 * prints a flag error, then the usage, and exit 2. */
_Noreturn void cli_fail(const flag_set *fs, const char *fmt, ...);

#endif
