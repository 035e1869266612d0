/*
 * procstat.c - see procstat.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "procstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

double self_cpu_s(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int read_process(pid_t pid, struct proc_sample *out);

int proc_sample(pid_t pid, struct proc_sample *out) {
    memset(out, 0, sizeof *out);
    out->hwm_kb = -1; /* unknown, unless the system says */
    if (read_process(pid, out) != 0) return -1;
    out->ok = 1;
    return 0;
}

#ifdef __linux__

static double ticks_per_s(void) {
    static double hz;
    if (hz == 0) {
        long t = sysconf(_SC_CLK_TCK);
        hz = t > 0 ? (double)t : 100.0;
    }
    return hz;
}

/* CPU time from /proc/PID/stat, memory from /proc/PID/status. */
static int read_process(pid_t pid, struct proc_sample *out) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields start after the last ')'.
     * utime and stime are fields 14 and 15, the 12th and 13th after it. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long long utime = 0, stime = 0;
    /* NOLINTNEXTLINE(cert-err34-c): the kernel's own numbers, checked by count */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return -1;
    out->cpu_s = (double)(utime + stime) / ticks_per_s();

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            out->rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            out->hwm_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return 0;
}

int sys_sample(struct sys_sample *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                       steal = 0;
    /* NOLINTNEXTLINE(cert-err34-c): the kernel's own numbers, checked by count */
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
                     &iowait, &irq, &softirq, &steal);
    fclose(f);
    if (got < 7) return -1;
    out->busy_s = (double)(user + nice + sys + irq + softirq + steal) / ticks_per_s();
    out->irq_s = (double)(irq + softirq) / ticks_per_s();
    out->ok = 1;
    return 0;
}

#else /* not Linux: ps, which every POSIX system has */

/* ps prints CPU time as [[dd-]hh:]mm:ss[.ff]. */
static double parse_cpu_time(const char *s) {
    double total = 0, part = 0;
    long days = 0;
    const char *dash = strchr(s, '-');
    if (dash) {
        days = strtol(s, NULL, 10);
        s = dash + 1;
    }
    for (;;) {
        char *end;
        part = strtod(s, &end);
        if (end == s) break;
        if (*end == ':') {
            total = (total + part) * 60;
            s = end + 1;
        } else {
            total += part;
            break;
        }
    }
    return total + (double)days * 86400;
}

/* CPU time and memory from ps; no peak. */
static int read_process(pid_t pid, struct proc_sample *out) {
    char cmd[96], line[256];
    snprintf(cmd, sizeof cmd, "ps -o time= -o rss= -p %ld 2>/dev/null", (long)pid);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char *got = fgets(line, sizeof line, f);
    pclose(f);
    if (!got) return -1;
    char *time = strtok(line, " \t\n");
    char *rss = strtok(NULL, " \t\n");
    if (!time || !rss) return -1;
    out->cpu_s = parse_cpu_time(time);
    out->rss_kb = strtol(rss, NULL, 10);
    return 0;
}

int sys_sample(struct sys_sample *out) {
    memset(out, 0, sizeof *out);
    return -1;
}

#endif
