/*
 * log.c - the access log's sink. Per message it adds one clf_format into a
 * buffer; the timestamp is formatted once per second and the buffer written
 * once per loop turn.
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clf.h"
#include "log.h"
#include "warn.h"

#define LOG_BUF_SIZE (64 * 1024)
#define RETRY_MS     1000 /* after a write error, wait this long before trying again */

static struct {
    int fd;          /* -1: logging is off */
    int owned;       /* fd was opened from a path (and SIGHUP reopens it) */
    int saved_flags; /* fd's file status flags to restore at exit, or -1 */
    const char *path;
    size_t len;       /* bytes in buf */
    int head_partial; /* part of buf's first line was already written */
    int mid_line;     /* the file ends inside a line we had to drop */
    long long now_ms; /* from the last log_flush */
    long long retry_at;
    warn_limit warned;
    int in_trouble; /* dropping since the last complete flush */
    int said;       /* ... and a complaint about it went to stderr */
    uint64_t dropped;
    time_t stamp_time;
    char stamp[CLF_STAMP_LEN + 1];
    char buf[LOG_BUF_SIZE];
} lg = {.fd = -1, .saved_flags = -1, .stamp_time = -1};

/* --- the sink ------------------------------------------------------------ */

/* A pipe or socket can block the writer; regular files and terminals are
 * left as they are (O_NONBLOCK on a shared terminal would upset the shell). */
static void make_nonblocking_if_pipe(int fd) {
    struct stat st;
    if (fstat(fd, &st) == -1 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return;
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || (flags & O_NONBLOCK)) return;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && !lg.owned) lg.saved_flags = flags;
}

static int open_path(const char *path) {
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int log_open(const char *spec) {
    if (strcmp(spec, "off") == 0) return 0;
    tzset();
    if (strcmp(spec, "-") == 0) {
        lg.fd = STDOUT_FILENO;
    } else {
        int fd = open_path(spec);
        if (fd == -1) return -1;
        lg.fd = fd;
        lg.owned = 1;
        lg.path = spec;
    }
    make_nonblocking_if_pipe(lg.fd);
    return 0;
}

int log_enabled(void) {
    return lg.fd != -1;
}

uint64_t log_dropped(void) {
    return lg.dropped;
}

static void complain(const char *what, int err) {
    lg.in_trouble = 1;
    if (err)
        lg.said |=
            warn_limited(&lg.warned, lg.now_ms, "log: %s: %s; dropping log lines until it recovers",
                         what, strerror(err));
    else
        lg.said |= warn_limited(&lg.warned, lg.now_ms,
                                "log: %s; dropping log lines until it catches up", what);
}

static uint64_t count_lines(const char *p, size_t len) {
    uint64_t n = 0;
    for (const char *end = p + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        n++;
    return n;
}

/* One write of everything buffered. Returns 1 if the buffer emptied. */
static int write_out(void) {
    if (lg.len == 0) return 1;
    if (lg.now_ms < lg.retry_at) return 0;
    ssize_t w = -1;
    if (lg.mid_line) { /* end the line that was cut when the sink broke */
        w = write(lg.fd, "\n", 1);
        if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
        if (w != 1) goto failed;
        lg.mid_line = 0;
    }
    w = write(lg.fd, lg.buf, lg.len);
    if (w == (ssize_t)lg.len) {
        lg.len = 0;
        lg.head_partial = 0;
        lg.in_trouble = 0;
        if (lg.said) { /* only after a complaint: a flapping sink costs two lines a minute */
            lg.said = 0;
            fprintf(stderr, "parrot: log: writing again (%llu lines dropped so far)\n",
                    (unsigned long long)lg.dropped);
        }
        return 1;
    }
    if (w > 0) { /* a pipe that took part of it: keep the rest */
        lg.head_partial = lg.buf[w - 1] != '\n';
        memmove(lg.buf, lg.buf + w, lg.len - (size_t)w);
        lg.len -= (size_t)w;
        return 0;
    }
    if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
failed:;
    /* Broken (full disk, closed pipe, I/O error): drop what is buffered
     * rather than keep it forever, and try again later. */
    int err = w == 0 ? EIO : errno;
    lg.dropped += count_lines(lg.buf, lg.len);
    lg.mid_line = lg.mid_line || lg.head_partial;
    lg.head_partial = 0;
    lg.len = 0;
    lg.retry_at = lg.now_ms + RETRY_MS;
    complain("write", err);
    return 0;
}

void log_message(const net_addr *peer, const char *msg, size_t len) {
    if (lg.fd == -1) return;
    if (LOG_BUF_SIZE - lg.len < CLF_LINE_MAX) {
        write_out(); /* a busy turn filled the buffer: write now */
        if (LOG_BUF_SIZE - lg.len < CLF_LINE_MAX) {
            lg.dropped++;
            if (!lg.in_trouble) complain("the log is not keeping up", 0);
            return;
        }
    }
    time_t now = time(NULL);
    if (now != lg.stamp_time) {
        clf_timestamp(lg.stamp, now);
        lg.stamp_time = now;
    }
    lg.len += clf_format(lg.buf + lg.len, peer, lg.stamp, (const unsigned char *)msg, len);
}

void log_flush(long long now_ms) {
    lg.now_ms = now_ms;
    if (lg.len) write_out();
}

void log_reopen(void) {
    if (!lg.owned) return;
    int fd = open_path(lg.path);
    if (fd == -1) {
        fprintf(stderr, "parrot: log: cannot reopen %s: %s; still writing to the old file\n",
                lg.path, strerror(errno));
        return;
    }
    write_out(); /* the old file gets what was logged before the signal */
    close(lg.fd);
    lg.fd = fd;
    lg.retry_at = 0; /* a new file deserves a try at once */
    lg.mid_line = 0;
    make_nonblocking_if_pipe(fd);
}

void log_close(void) {
    if (lg.fd == -1) return;
    lg.retry_at = 0;
    write_out();
    lg.dropped += count_lines(lg.buf, lg.len); /* what a stuck pipe never took */
    lg.len = 0;
    if (lg.saved_flags != -1) (void)fcntl(lg.fd, F_SETFL, lg.saved_flags); /* best effort */
    if (lg.owned) close(lg.fd);
    lg.fd = -1;
}
