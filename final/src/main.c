/*
 * main.c - Parrot, a single-threaded event-driven TCP echo server.
 *
 * Parses the flags, sets the server up, runs it until SIGINT or SIGTERM,
 * and prints a one-line summary. Exit codes: 0 after a clean shutdown or
 * -h, 1 when the server cannot start or its loop fails, 2 for a bad flag.
 */
#include "platform.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "ae.h"
#include "config.h"
#include "log.h"
#include "server.h"

/* The descriptors the process may hold: the size of the per-descriptor
 * tables. Capped so that an "unlimited" limit does not reserve gigabytes of
 * address space (only touched entries ever become resident). */
static int open_files_limit(void) {
    struct rlimit rl;
    const rlim_t cap = 1 << 24;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > cap)
        return (int)cap;
    return (int)rl.rlim_cur;
}

static const char *plural(unsigned long long n, const char *one, const char *many) {
    return n == 1 ? one : many;
}

static const char *signal_name(int signo) {
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "an error";
}

int main(int argc, char *argv[]) {
    int setsize = open_files_limit();
    config cfg;
    switch (
        config_parse(&cfg, setsize > FD_RESERVE ? setsize - FD_RESERVE : 1, argc, argv, stderr)) {
    case CONFIG_HELP:
        return 0;
    case CONFIG_ERROR:
        return 2;
    }
    if (cfg.version) {
        printf("parrot %s (%s)\n", PARROT_VERSION, ae_backend_name());
        return fflush(stdout) == 0 ? 0 : 1;
    }

    char why[256];
    if (server_init(&cfg, setsize, why, sizeof(why)) == -1) {
        fprintf(stderr, "parrot: %s\n", why);
        return 1;
    }
    int rc = server_run(why, sizeof(why));
    const server_stats *st = server_stats_get();
    if (rc == -1) fprintf(stderr, "parrot: %s\n", why);
    fprintf(stderr,
            "parrot: stopped by %s: %llu %s served, %llu bytes echoed, %llu log %s dropped, %llu "
            "%s refused\n",
            signal_name(st->signal), (unsigned long long)st->served,
            plural(st->served, "connection", "connections"), (unsigned long long)st->bytes,
            (unsigned long long)log_dropped(), plural(log_dropped(), "line", "lines"),
            (unsigned long long)st->refused, plural(st->refused, "connection", "connections"));
    return rc == -1 ? 1 : 0;
}
