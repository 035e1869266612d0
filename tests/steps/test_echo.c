/*
 * test_echo.c - every step is an echo server: a greeting, one byte, a
 * mebibyte byte for byte, every byte value.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdlib.h>
#include <unistd.h>

Test(echo, hello_parrot, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "Hello Parrot");
    close(c);
    h_kill(s);
}

Test(echo, one_byte, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    h_echo(c, "!");
    close(c);
    h_kill(s);
}

Test(echo, one_mib_byte_identical, .timeout = 40) {
    h_server *s = start();
    h_round_trip(s->port, 1 << 20, 1);
    h_kill(s);
}

Test(echo, all_256_byte_values, .timeout = 20) {
    h_server *s = start();
    int c = h_connect(s->port);
    unsigned char out[512];
    for (int i = 0; i < 512; i++)
        out[i] = (unsigned char)(i < 256 ? i : 511 - i); /* up, then down */
    h_send_all(c, out, sizeof out);
    h_expect(c, out, sizeof out, "all 256 byte values, up and down");
    close(c);
    h_kill(s);
}
