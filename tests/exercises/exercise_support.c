/*
 * exercise_support.c - find the programs the checks start; start them.
 */
#define _POSIX_C_SOURCE 200809L

#include "exercise_support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char path_buf[H_PATH_CAP];

static const char *existing(const char *path) {
    cr_assert(access(path, X_OK) == 0, "%s is not built: run make check in tests/exercises", path);
    return path;
}

const char *step_bin(const char *nn) {
    const char *steps = h_env("PARROT_STEPS_DIR");
    cr_assert(steps != NULL, "PARROT_STEPS_DIR is not set: run make check in tests/exercises");
    DIR *d = opendir(steps);
    cr_assert(d != NULL, "opendir %s", steps);
    struct dirent *e;
    path_buf[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, nn, 2) == 0 && e->d_name[2] == '-') {
            snprintf(path_buf, sizeof path_buf, "%s/%s/parrot", steps, e->d_name);
            break;
        }
    }
    closedir(d);
    cr_assert(path_buf[0] != '\0', "no step %s in %s", nn, steps);
    return existing(path_buf);
}

const char *answer_bin(const char *name) {
    const char *build = h_env("EXERCISES_BUILD");
    cr_assert(build != NULL, "EXERCISES_BUILD is not set: run make check in tests/exercises");
    snprintf(path_buf, sizeof path_buf, "%s/%s/parrot", build, name);
    return existing(path_buf);
}

h_server *start_bin(const char *path, long nofile) {
    const char *args[] = {"0", NULL};
    h_opts o = {.args = args, .nofile = nofile};
    return h_start_opts(path, &o);
}

h_server *start_bin_flags(const char *path, long nofile) {
    const char *args[] = {"-port", "0", NULL};
    h_opts o = {.args = args, .nofile = nofile};
    return h_start_opts(path, &o);
}

h_server *start_args(const char *path, const char *const *args) {
    h_opts o = {.args = args};
    return h_start_opts(path, &o);
}

int stalled_client(int port) {
    int fd = h_connect(port);
    size_t len = 8u << 20;
    char *junk = calloc(1, len);
    cr_assert(junk != NULL);
    h_send_until_stalled(fd, junk, len);
    free(junk);
    return fd;
}

static int stopped(void *pid) {
    return h_stopped(*(pid_t *)pid);
}

void wait_stopped(h_server *s) {
    cr_assert(h_poll_until(stopped, &s->pid, H_DEADLINE_MS, 5), "the server did not stop");
}
