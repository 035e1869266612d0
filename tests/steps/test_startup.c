/*
 * test_startup.c - every step starts on port 0 and says so in one line,
 * and refuses a port in use with one line and exit status 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

Test(startup, port_zero_and_listening_line, .timeout = 20) {
    h_server *s = start();
    cr_assert(gt(int, s->port, 0));
    char want[64];
    snprintf(want, sizeof want, "listening on port %d\n", s->port);
    cr_assert(eq(str, s->err, want), "stderr should be exactly the listening line");
    int c = h_connect(s->port);
    h_echo(c, "port zero works");
    close(c);
    h_kill(s);
}

Test(startup, port_in_use_is_one_clear_line, .timeout = 20) {
    h_server *s = start();
    char port[16], out[256], err[1024];
    snprintf(port, sizeof port, "%d", s->port);
    int code = h_run(h_bin(), port_args(port), out, sizeof out, err, sizeof err, 0);
    cr_assert(eq(int, code, 1), "a refused start exits 1 (got %d); stderr: %s", code, err);
    cr_assert(ne(ptr, strstr(err, strerror(EADDRINUSE)), NULL), "stderr: %s", err);
    cr_assert(eq(int, (int)(strchr(err, '\n') - err), (int)strlen(err) - 1),
              "one line on stderr, got: %s", err);
    cr_assert(eq(str, out, ""));
    /* The first server is unharmed. */
    int c = h_connect(s->port);
    h_echo(c, "still here");
    close(c);
    h_kill(s);
}
