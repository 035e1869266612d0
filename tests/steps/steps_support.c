/*
 * steps_support.c - see steps_support.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- what each step can do ------------------------------------------------ */

/* One row per step: clang-format would fold it. */
/* clang-format off */
static const struct caps table[] = {
    /* step  multi nonblk sleeps wbuf bounded halfcl log flags signals idle */
    {"01",    0,    0,     1,    0,    1,      1,    0,   0,    0,      0},
    {"02",    0,    1,     0,    0,    1,      1,    0,   0,    0,      0},
    {"03",    0,    1,     1,    0,    1,      1,    0,   0,    0,      0},
    {"04",    1,    1,     1,    0,    1,      1,    0,   0,    0,      0},
    {"05",    1,    1,     1,    1,    0,      0,    0,   0,    0,      0},
    {"06",    1,    1,     1,    1,    1,      1,    0,   0,    0,      0},
    {"07",    1,    1,     1,    1,    1,      1,    1,   0,    0,      0},
    {"08",    1,    1,     1,    1,    1,      1,    1,   1,    0,      0},
    {"09",    1,    1,     1,    1,    1,      1,    1,   1,    1,      0},
    {"10",    1,    1,     1,    1,    1,      1,    1,   1,    1,      1},
};
/* clang-format on */

const struct caps *step(void) {
    const char *name = h_env("PARROT_STEP");
    if (!name) cr_fatal("PARROT_STEP is not set: run this suite through its Makefile");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].step, name) == 0) return &table[i];
    cr_fatal("PARROT_STEP=%s is not in the capability table", name);
    return NULL;
}

/* --- starting a step --------------------------------------------------------- */

const char *const *port_args(const char *port) {
    static const char *args[4];
    memset(args, 0, sizeof args);
    if (step()->flags) {
        args[0] = "-port";
        args[1] = port;
    } else {
        args[0] = port;
    }
    return args;
}

h_server *start_nofile(long nofile) {
    h_opts o = {.args = port_args("0"), .nofile = nofile};
    return h_start_opts(h_bin(), &o);
}

h_server *start(void) {
    return start_nofile(0);
}

h_server *start_with(const char *flag, const char *value) {
    cr_assert(step()->flags, "step %s takes no flags", step()->step);
    const char *args[] = {"-port", "0", flag, value, NULL};
    h_opts o = {.args = args};
    return h_start_opts(h_bin(), &o);
}

/* --- the log of steps 07 and later ------------------------------------------- */

/* The shape of one line; the parts are then compared exactly. */
#define LOG_RE                                                                                     \
    "^127\\.0\\.0\\.1:([0-9]{1,5}) - - "                                                           \
    "\\[([0-9]{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:"                     \
    "[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\\] "                                                 \
    "\"(([^\"\\\\]|\\\\[\"\\\\nrt]|\\\\x[0-9a-f]{2})*(\\.\\.\\.)?)\" ([0-9]+)$"

int parse_log(const char *log, struct log_line *lines, int max) {
    regex_t re;
    cr_assert(eq(int, regcomp(&re, LOG_RE, REG_EXTENDED), 0));
    int n = 0;
    const char *p = log;
    const char *eol;
    while ((eol = strchr(p, '\n')) != NULL) {
        size_t len = (size_t)(eol - p);
        cr_assert(lt(sz, len, sizeof lines[0].quoted), "log line of %zu bytes", len);
        char line[1300];
        memcpy(line, p, len);
        line[len] = '\0';
        regmatch_t m[8];
        cr_assert(eq(int, regexec(&re, line, 8, m, 0), 0), "log line has the wrong shape:\n%s",
                  line);
        cr_assert(lt(int, n, max));
        struct log_line *l = &lines[n++];
        l->port = atoi(line + m[1].rm_so);
        snprintf(l->stamp, sizeof l->stamp, "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
                 line + m[2].rm_so);
        snprintf(l->quoted, sizeof l->quoted, "%.*s", (int)(m[4].rm_eo - m[4].rm_so),
                 line + m[4].rm_so);
        l->count = (size_t)strtoull(line + m[7].rm_so, NULL, 10);
        p = eol + 1;
    }
    regfree(&re);
    return n;
}
