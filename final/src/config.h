/*
 * config.h - parrot's command-line flags: one table (config.c) read by the
 * Go-compatible parser in flag.h, so that parrot takes its flags like the
 * Go server it comes from (-port 1512, -port=1512, --port 1512, durations
 * such as 1m30s), with Go's error lines and exit codes.
 */
#ifndef PARROT_CONFIG_H
#define PARROT_CONFIG_H

#include <stdio.h>

#define PARROT_VERSION "1.0.0"

typedef struct config {
    const char *host;
    long long port;
    const char *log;       /* "-" = stdout, "off", or a file path */
    long long max_conns;   /* clients served at once */
    long long max_pending; /* bytes of unsent echo per client before reading pauses */
    long long idle_ns;     /* close a client idle this long; 0 = never */
    int version;           /* -version was given */
} config;

/* What config_parse found: run, -h (exit 0), a bad flag (exit 2). */
enum { CONFIG_OK = 0, CONFIG_HELP = 1, CONFIG_ERROR = 2 };

/* Parse argv into cfg, starting from the defaults; -max-conns's default is
 * the caller's, who knows the open-files limit. On -h/-help prints the
 * usage to err; on a bad flag prints Go's error line and the usage to err. */
int config_parse(config *cfg, long default_max_conns, int argc, char *const argv[], FILE *err);

#endif
