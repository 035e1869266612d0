/*
 * config.h - command-line flags, parsed the way Go's flag package parses
 * them (-port 1512, -port=1512, --port 1512), with Go's error lines and
 * exit codes, and Go duration values ("300ms", "1m30s").
 */
#ifndef PARROT_CONFIG_H
#define PARROT_CONFIG_H

#include <stdio.h>

#define PARROT_VERSION "1.0.0"

#define DEFAULT_PORT        1512
#define DEFAULT_HOST        "0.0.0.0"
#define DEFAULT_LOG         "-"
#define DEFAULT_MAX_PENDING 65536
#define MAX_IDLE_TIMEOUT_NS (1000LL * 3600 * 1000000000) /* 1000h: see server.c */

typedef struct config {
    const char *host;
    int port;
    const char *log; /* "-" = stdout, "off", or a file path */
    long max_conns;  /* clients served at once */
    long default_max_conns;
    long max_pending;  /* bytes of unsent echo per client before reading pauses */
    long long idle_ns; /* close a client idle this long; 0 = never */
    int version;       /* -version was given */
    const char *argv0; /* for "Usage of ..." */
} config;

/* What config_parse found. */
enum { CONFIG_OK = 0, CONFIG_HELP = 1, CONFIG_ERROR = 2 };

/* Fill in the defaults; max_conns's default comes from the caller, who
 * knows the open-files limit. */
void config_init(config *cfg, long default_max_conns);

/* Parse argv[1..argc-1] into cfg. On -h/-help prints the usage to err and
 * returns CONFIG_HELP (exit 0); on a bad flag prints Go's error line and the
 * usage to err and returns CONFIG_ERROR (exit 2). */
int config_parse(config *cfg, int argc, char *const argv[], FILE *err);

void config_usage(const config *cfg, FILE *out);

/* Go's time.ParseDuration: "1h2m3.5s", "300ms", "-1.5h", "0". Returns 0 and
 * stores nanoseconds, or -1 on a syntax error or overflow. */
int parse_duration(const char *s, long long *ns);

/* Go's strconv.ParseInt(s, 0, 64): decimal, 0x.., 0o.., 0b.., leading-0
 * octal, '_' between digits. Returns 0, or -1 for a syntax error and -2 when
 * out of range. */
int parse_int(const char *s, long long *out);

#endif
