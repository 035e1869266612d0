/*
 * procstat.h - what the server, parrot-bench itself and the rest of the machine cost.
 *
 * On Linux everything comes from /proc: a process's CPU time is utime + stime from
 * /proc/PID/stat (all its threads), its memory VmRSS and VmHWM (peak RSS) from
 * /proc/PID/status, and the machine's from the first line of /proc/stat. Elsewhere a process is
 * sampled with `ps -o time=,rss=` (no peak, coarser) and the machine is not sampled.
 */
#ifndef PARROT_BENCH_PROCSTAT_H
#define PARROT_BENCH_PROCSTAT_H

#include <sys/types.h>

struct proc_sample {
    int ok;
    double cpu_s; /* user + system seconds since the process started */
    long rss_kb;  /* resident set size now */
    long hwm_kb;  /* peak resident set size, -1 if unknown */
};

struct sys_sample {
    int ok;
    double busy_s; /* every CPU's time not idle (nor waiting for I/O), in seconds since boot:
                      user + nice + system + irq + softirq + steal */
    double irq_s;  /* of which hard and soft interrupts: on loopback, much of TCP's receive
                      path. Unless the kernel has CONFIG_IRQ_TIME_ACCOUNTING, this time is also
                      in the times of the processes it interrupted. */
};

int proc_sample(pid_t pid, struct proc_sample *out); /* 0, or -1 if the process is gone */
int sys_sample(struct sys_sample *out);              /* 0, or -1 where not supported */
double self_cpu_s(void);                             /* this process, from getrusage */

#endif
