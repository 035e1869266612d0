/*
 * activation.c - see activation.h.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <launch.h>
#endif

#include "activation.h"

#define SD_LISTEN_FDS_START 3 /* sd_listen_fds(3): "starting with file descriptor 3" */

/* A passed descriptor must be a listening stream socket; it becomes
 * non-blocking and close-on-exec, as parrot's own. */
static int adopt(int fd, char *why, size_t why_cap, const char *from) {
    int type = 0, listening = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
        snprintf(why, why_cap, "descriptor %d from %s: %s", fd, from, strerror(errno));
        return -1;
    }
    len = sizeof(listening);
    if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
        !listening) {
        snprintf(why, why_cap, "descriptor %d from %s is not a listening TCP socket", fd, from);
        return -1;
    }
    if (net_set_nonblocking(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        snprintf(why, why_cap, "descriptor %d from %s: fcntl: %s", fd, from, strerror(errno));
        return -1;
    }
    return 0;
}

/* systemd: sd_listen_fds(3) with unset_environment set, written out. */
static int from_systemd(net_listeners *ls, char *why, size_t why_cap) {
    const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
    if (pid_text == NULL) return 0;
    char *end;
    errno = 0;
    long pid = strtol(pid_text, &end, 10);
    /* "If [LISTEN_PID] is not set to the PID of the current process, the
     * file descriptors are not for us": a parent's, passed down. */
    if (errno || *end || end == pid_text || pid != (long)getpid()) return 0;
    errno = 0;
    long n = fds_text ? strtol(fds_text, &end, 10) : -1;
    if (fds_text == NULL || errno || *end || end == fds_text || n < 1 || n > NET_MAX_LISTENERS) {
        snprintf(why, why_cap, "LISTEN_FDS=%s from systemd: want 1 to %d descriptors",
                 fds_text ? fds_text : "(unset)", NET_MAX_LISTENERS);
        return -1;
    }
    /* Not for a child we might start: the descriptors are ours. */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
        if (adopt(fd, why, why_cap, "systemd") == -1) return -1;
        ls->fd[ls->count++] = fd;
    }
    snprintf(ls->families, sizeof(ls->families), "from systemd");
    return 1;
}

#if defined(__APPLE__)
/* launchd: the sockets of the plist's "Listeners" entry. ESRCH: this
 * process is not a launchd job; ENOENT: the job has no such socket. */
static int from_launchd(net_listeners *ls, char *why, size_t why_cap) {
    int *fds = NULL;
    size_t n = 0;
    int err = launch_activate_socket("Listeners", &fds, &n);
    if (err == ESRCH || err == ENOENT) return 0;
    if (err != 0) {
        snprintf(why, why_cap, "launch_activate_socket: %s", strerror(err));
        return -1;
    }
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++) {
        if (ls->count == NET_MAX_LISTENERS || adopt(fds[i], why, why_cap, "launchd") == -1)
            rc = -1;
        else
            ls->fd[ls->count++] = fds[i];
    }
    if (rc == 1 && n == 0) {
        snprintf(why, why_cap, "launchd passed no socket for \"Listeners\"");
        rc = -1;
    }
    free(fds);
    snprintf(ls->families, sizeof(ls->families), "from launchd");
    return rc;
}
#endif

int activation_listeners(net_listeners *ls, char *why, size_t why_cap) {
    memset(ls, 0, sizeof(*ls));
    int rc = from_systemd(ls, why, why_cap);
#if defined(__APPLE__)
    if (rc == 0) rc = from_launchd(ls, why, why_cap);
#endif
    if (rc != 1) return rc;
    /* What the listening line shows: the first socket's address and port. */
    if (net_describe_listener(ls->fd[0], ls) == -1) {
        snprintf(why, why_cap, "descriptor %d: getsockname: %s", ls->fd[0], strerror(errno));
        return -1;
    }
    return 1;
}
