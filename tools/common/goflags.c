/*
 * goflags.c - see goflags.h.
 */
#include "goflags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int listed(const char *const *names, const char *name) {
    for (int i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

_Noreturn void goflags_fail(const goflags *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    f->usage(stderr);
    exit(2);
}

_Noreturn void goflags_bad_value(const goflags *f, const char *name, const char *value) {
    goflags_fail(f, "invalid value \"%s\" for flag -%s", value, name);
}

int goflags_next(goflags *f, const char **name, const char **value) {
    if (f->next == 0) f->next = 1; /* argv[0] is the program */
    if (f->next >= f->argc) return 0;
    const char *arg = f->argv[f->next++];
    if (arg[0] != '-' || arg[1] == '\0') goflags_fail(f, "unexpected argument: %s", arg);
    const char *n = arg + 1;
    if (*n == '-') n++; /* -flag and --flag are the same, as in Go */
    const char *eq = strchr(n, '=');
    size_t len = eq ? (size_t)(eq - n) : strlen(n);
    if (len == 0 || len >= sizeof f->name)
        goflags_fail(f, "flag provided but not defined: %s", arg);
    memcpy(f->name, n, len);
    f->name[len] = '\0';
    *name = f->name;
    *value = eq ? eq + 1 : NULL;

    if (strcmp(f->name, "h") == 0 || strcmp(f->name, "help") == 0) {
        f->usage(stdout);
        exit(0);
    }
    if (listed(f->bools, f->name)) {
        if (*value && goflags_bool(*value) == -1)
            goflags_fail(f, "invalid boolean value \"%s\" for -%s", *value, f->name);
        return 1;
    }
    if (!listed(f->valued, f->name)) goflags_fail(f, "flag provided but not defined: -%s", f->name);
    if (!*value) {
        if (f->next >= f->argc) goflags_fail(f, "flag needs an argument: -%s", f->name);
        *value = f->argv[f->next++];
    }
    return 1;
}

int goflags_long(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int goflags_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return -1; /* strtoull would take "-1" as 2^64-1 */
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) return -1;
    *out = (uint64_t)v;
    return 0;
}

int goflags_time(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || v > 86400.0 * 365) return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60;
    else if (strcmp(end, "h") == 0)
        v *= 3600;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return -1;
    if (v > 86400.0 * 365) return -1;
    *out = v;
    return 0;
}

int goflags_bool(const char *value) {
    if (value == NULL || strcmp(value, "true") == 0) return 1;
    return strcmp(value, "false") == 0 ? 0 : -1;
}
