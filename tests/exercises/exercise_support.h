/*
 * exercise_support.h - what the checks of the lessons' answers share.
 *
 * A lesson's exercise either asks you to run a step as it is and look
 * (a test starts that step: step_bin) or to change its code (a test starts
 * the answer, the step with patches/NN-what.patch applied, which the
 * Makefile built: answer_bin). Either way the test asserts what the
 * folded answer in the lesson says you will see.
 */
#ifndef PARROT_EXERCISE_SUPPORT_H
#define PARROT_EXERCISE_SUPPORT_H

#include "harness.h"

/* The workshop step NN as `make steps` built it: steps/NN-*\/parrot.
 * Fails the test if it is not there. */
const char *step_bin(const char *nn);

/* The answer patches/NAME.patch built into a program: build/NAME/parrot.
 * Fails the test if it is not there. */
const char *answer_bin(const char *name);

/* Start a program built from a step before 08 (./parrot PORT) on a free
 * port, or one from 08 on (-port PORT); nofile > 0 sets its open-files limit. */
h_server *start_bin(const char *path, long nofile);
h_server *start_bin_flags(const char *path, long nofile);

/* Start path with exactly these arguments (NULL-terminated), as it would
 * be run by hand: a step from 08 on with flags of the exercise's own. */
h_server *start_args(const char *path, const char *const *args);

/* A client that sends until the server stops reading from it, reading
 * nothing itself: the server then owes it more than the buffers between
 * them hold (a step before 05 is stuck inside write()). Returns its fd. */
int stalled_client(int port);

/* Wait (deadline) until the server is stopped (SIGSTOP). */
void wait_stopped(h_server *s);

#endif
