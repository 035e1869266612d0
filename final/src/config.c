/*
 * config.c - parrot's flags, one row each: name, kind, where the value
 * goes, default, accepted range and usage. flag.c does the rest, as Go's
 * flag package would.
 */
#include "platform.h"

#include <limits.h>
#include <stdio.h>

#include "config.h"
#include "flag.h"

/* The per-connection clock counts milliseconds in 32 bits (server.c): an
 * idle timeout of 1000h keeps well inside it. */
#define MAX_IDLE_TIMEOUT_NS (1000LL * 3600 * 1000000000)
/* Pending bytes are counted in 32 bits (buffer.h); 1 GiB is far beyond sane. */
#define MAX_PENDING (1LL << 30)

int config_parse(config *cfg, long default_max_conns, int argc, char *const argv[], FILE *err) {
    char max_conns[24];
    snprintf(max_conns, sizeof(max_conns), "%ld", default_max_conns);
    /* Sorted by name: the usage lists them in this order, as Go does. */
    flag flags[] = {
        {"host", FLAG_STRING, &cfg->host, "", 0, 0,
         "bind address: an IPv4 or IPv6 address or a host name; empty, the default,\n"
         "is every address of both families, IPv6 and IPv4"},
        {"idle-timeout", FLAG_DURATION, &cfg->idle_ns, "0", 0, MAX_IDLE_TIMEOUT_NS,
         "close a client after this long without traffic, e.g. 30s or 5m; 0 = never"},
        {"log", FLAG_STRING, &cfg->log, "-", 0, 0,
         "access log: \"-\" = stdout, a file path (appended to), or \"off\""},
        {"max-conns", FLAG_INT, &cfg->max_conns, max_conns, 1, INT_MAX,
         "most clients served at once; more are accepted and closed at once;\n"
         "the default is the open-files limit minus a reserve"},
        {"max-pending", FLAG_INT, &cfg->max_pending, "65536", 1, MAX_PENDING,
         "bytes of unsent echo held per client before the server stops reading from it"},
        {"port", FLAG_INT, &cfg->port, "1512", 0, 65535,
         "TCP port to listen on; 0 picks a free port"},
        {"version", FLAG_BOOL, &cfg->version, "false", 0, 0, "print the version and exit"},
    };
    flag_set fs = {.program = argc > 0 && argv[0] ? argv[0] : "parrot",
                   .flags = flags,
                   .count = sizeof(flags) / sizeof(flags[0]),
                   .out = err};
    int rest, rc = flag_parse(&fs, argc, argv, &rest);
    if (rc == FLAG_OK && rest < argc) {
        /* Go would leave these in flag.Args(); a server has no use for them,
         * and silently ignoring "parrot 1512" would surprise. */
        fputs("unexpected argument ", err);
        flag_quote(err, argv[rest]);
        return flag_fail(&fs, "");
    }
    return rc == FLAG_OK ? CONFIG_OK : rc == FLAG_HELP ? CONFIG_HELP : CONFIG_ERROR;
}
