/*
 * test_cpu.c - CPU while idle: step 02 polls and burns a core; the
 * others sleep, step 10 with an idle timeout armed too.
 */
#define _POSIX_C_SOURCE 200809L

#include "steps_support.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Test(cpu, idle, .timeout = 60) {
    /* Step 10 with -idle-timeout: kevent() then sleeps with a timeout, for
     * the client below, and must sleep as well as without one. */
    h_server *s = step()->idle_timeout ? start_with("-idle-timeout", "1h") : start();
    int c = h_connect(s->port);
    h_echo(c, "then silence"); /* a connected client that says nothing */
    double resolution = h_cpu_resolution();
    if (step()->sleeps_when_idle) {
        /* Under 5% of a core, give or take the CPU clock's resolution. */
        double seconds, used = h_cpu_used(s->pid, 1000, &seconds);
        cr_assert(lt(dbl, used, 0.05 * seconds + resolution),
                  "idle, it used %.3fs of CPU in %.1fs (%s)", used, seconds, h_metrics_source());
    } else {
        /* Polling non-blocking sockets burns a core. On a busy machine (other
         * tests, other work) no process gets a whole core, so the yardstick
         * is a plain busy loop measured in the same window: the server must
         * get at least half of what it gets. A server that sleeps gets
         * nothing near either. Each reading may be off by the resolution,
         * so the window lasts until the busy loop has been charged four
         * times that (1 s at least; up to 30 s where ps counts whole seconds
         * and the machine is busy). */
        cr_assert(step()->nonblocking);
        pid_t spinner = fork();
        cr_assert(ge(int, spinner, 0), "fork: %s", strerror(errno));
        if (spinner == 0) { /* busy for 40 s at most, even if nobody kills it */
            long long end = h_now_ms() + 40000;
            while (h_now_ms() < end) {
            }
            _exit(0);
        }
        long long start = h_now_ms();
        double before = h_cpu_seconds(s->pid), spin_before = h_cpu_seconds(spinner);
        h_pause_ms(1000);
        double spin = h_cpu_seconds(spinner) - spin_before;
        while (spin < 4 * resolution && h_now_ms() - start < 30000) {
            h_pause_ms(100);
            spin = h_cpu_seconds(spinner) - spin_before;
        }
        double used = h_cpu_seconds(s->pid) - before;
        double seconds = (double)(h_now_ms() - start) / 1000;
        kill(spinner, SIGKILL);
        waitpid(spinner, NULL, 0);
        cr_assert(ge(dbl, spin, 4 * resolution),
                  "a busy loop got only %.2fs of CPU in %.0fs: too little to compare with at a "
                  "resolution of %.2fs (%s)",
                  spin, seconds, resolution, h_metrics_source());
        double want = 0.5 * (spin < seconds ? spin : seconds) - 1.5 * resolution;
        cr_assert(gt(dbl, used, want),
                  "a polling server should burn a core: it used %.3fs of CPU in %.1fs "
                  "(a busy loop got %.3fs; %s)",
                  used, seconds, spin, h_metrics_source());
    }
    h_echo(c, "still awake");
    close(c);
    h_kill(s);
}
