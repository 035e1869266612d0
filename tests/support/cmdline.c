/*
 * cmdline.c - see cmdline.h.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what) {
    fprintf(stderr, "cmdline: %s: %s\n", what, strerror(errno));
    abort();
}

cmdline cmdline_from(const char *argv0, const char *first, va_list ap) {
    cmdline c = {.argc = 1, .argv = {(char *)argv0}};
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        if (c.argc > CMDLINE_MAX) {
            errno = E2BIG;
            die("more arguments than CMDLINE_MAX");
        }
        c.argv[c.argc++] = (char *)a;
    }
    c.argv[c.argc] = NULL;
    return c;
}

sink *sink_open(void) {
    sink *s = calloc(1, sizeof *s);
    if (!s) die("calloc");
    s->f = open_memstream(&s->text, &s->len);
    if (!s->f) die("open_memstream");
    return s;
}

const char *sink_text(sink *s) {
    if (s->f) {
        if (fclose(s->f) != 0) die("fclose");
        s->f = NULL;
    }
    return s->text ? s->text : "";
}

void sink_free(sink *s) {
    if (!s) return;
    sink_text(s);
    free(s->text);
    free(s);
}
