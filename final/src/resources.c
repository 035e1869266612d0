/*
 * resources.c - see resources.h. Each system says how much memory a process
 * has resident in its own way: /proc on Linux, proc_pidinfo on macOS, the
 * kern.proc sysctl on FreeBSD and DragonFly; elsewhere the answer is -1.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <libproc.h>
#elif defined(__FreeBSD__) || defined(__DragonFly__)
#include <sys/types.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

#include "resources.h"

long long resources_resident(void) {
#if defined(__linux__)
    /* /proc/self/statm: "size resident shared ..." in pages. */
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd == -1) return -1;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = '\0';
    char *resident;
    (void)strtoll(text, &resident, 10); /* the first field, the size, is skipped */
    long long pages = strtoll(resident, NULL, 10);
    return pages * sysconf(_SC_PAGESIZE);
#elif defined(__APPLE__)
    struct proc_taskinfo ti;
    if (proc_pidinfo(getpid(), PROC_PIDTASKINFO, 0, &ti, sizeof(ti)) != (int)sizeof(ti)) return -1;
    return (long long)ti.pti_resident_size;
#elif defined(__FreeBSD__) || defined(__DragonFly__)
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)getpid()};
    struct kinfo_proc kp;
    size_t len = sizeof(kp);
    if (sysctl(mib, 4, &kp, &len, NULL, 0) == -1 || len != sizeof(kp)) return -1;
#if defined(__FreeBSD__)
    return (long long)kp.ki_rssize * getpagesize();
#else
    return (long long)kp.kp_vm_rssize * getpagesize();
#endif
#else
    return -1;
#endif
}

int resources_descriptors(int below) {
    int open = 0;
    for (int fd = 0; fd < below; fd++)
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) open++;
    return open;
}
