/*
 * steps_support.h - what the files of the workshop suite share: the
 * capability table, how a step is started, and how its log is read.
 *
 * One suite of behaviour checks runs against every workshop step: the
 * Makefile builds one program, test_steps, from steps_support.c and one
 * file per topic (test_TOPIC.c holds the Criterion suite TOPIC), and runs
 * it once per step with PARROT_BIN and PARROT_STEP set.
 *
 * The capability table (steps_support.c) says what each step can do, as
 * its lesson says. Every test runs on every step: where a step has the
 * capability the test checks it; where it does not, the test checks the
 * limitation the lesson describes instead (step 01 serves one client at a
 * time, so a second client must get nothing until the first leaves).
 * Nothing is skipped.
 */
#ifndef PARROT_STEPS_SUPPORT_H
#define PARROT_STEPS_SUPPORT_H

#include <stddef.h>

#include "harness.h"

/* --- what each step can do ------------------------------------------------ */

struct caps {
    const char *step;
    int multi_client;     /* serves many clients at once (else one at a time) */
    int nonblocking;      /* non-blocking sockets (02 polls them in a loop) */
    int sleeps_when_idle; /* uses no CPU while nobody talks (01 blocks, 03+ kevent) */
    int write_buffering;  /* a client that does not read cannot stall the others */
    int bounded;          /* memory stays bounded while a client does not read (05 buffers
                             all it sends; 01-04 stall instead, 06+ stop reading) */
    int half_close;       /* a client that has finished sending still gets every byte
                             of its echo (05 closes at its EOF and loses the rest) */
    int clf_log;          /* one log line per message on stdout */
    int flags;            /* -port and friends, Go style (else ./parrot [port]) */
    int signals;          /* SIGINT/SIGTERM: finish, exit 0 (else the signal kills it) */
    int idle_timeout;     /* -idle-timeout closes a client that stays silent */
};

/* The row of the step under test (PARROT_STEP); fails the test if there
 * is none. */
const struct caps *step(void);

/* --- starting a step --------------------------------------------------------- */

/* The port argument in the step's own syntax: {"0"} or {"-port", "0"}. */
const char *const *port_args(const char *port);

/* The step on port 0; start_nofile with its open-files limit at nofile;
 * start_with with one more flag and its value (step 08 and later). */
h_server *start(void);
h_server *start_nofile(long nofile);
h_server *start_with(const char *flag, const char *value);

/* Milliseconds of silence that count as "not served". Long enough for an
 * idle loopback echo (well under a millisecond) on a loaded machine. */
#define SILENCE_MS 300

/* --- the log of steps 07 and later ------------------------------------------- */

/* One line of the log, in parts: the client's port, the time stamp, the
 * message as quoted, the byte count. */
struct log_line {
    int port;
    char stamp[40];
    char quoted[1200];
    size_t count;
};

/* Split the log into lines, check each against the format of the lesson,
 * and fill lines[] (at most max); returns how many. A last line without
 * its newline is still being written: left out. */
int parse_log(const char *log, struct log_line *lines, int max);

#endif
