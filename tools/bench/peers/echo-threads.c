/*
 * echo-threads.c - peer: a thread per connection, blocking I/O (pthreads).
 *
 * Models the first server most C programmers write: accept, start a thread, and let it loop
 * on blocking read() and write(). The kernel schedules the connections; each costs a thread
 * (a 64 KiB stack instead of the 8 MiB default, as any server with thousands of threads sets)
 * and a context switch per request.
 *
 * Build: cc -std=c11 -O2 -pthread -o echo-threads echo-threads.c   (make -C tools/bench)
 * Run:   ./echo-threads [PORT]   (default 1512; 0 picks a free port; listens on 127.0.0.1)
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) goto done;
            off += w;
        }
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 1512;
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("echo-threads: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    /* Not INADDR_LOOPBACK: POSIX does not define it, and macOS and FreeBSD hide it under
     * _POSIX_C_SOURCE. */
    if (inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr) != 1) {
        fprintf(stderr, "echo-threads: inet_pton failed for 127.0.0.1\n");
        return 1;
    }
    socklen_t len = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
        perror("echo-threads: bind/listen");
        return 1;
    }
    fprintf(stderr, "echo-threads: listening on 127.0.0.1 port %d\n", ntohs(sa.sin_port));

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);

    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("echo-threads: accept");
            /* EMFILE and friends: back off instead of spinning. */
            nanosleep(&(struct timespec){0, 10000000}, NULL);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        int rc = pthread_create(&t, &attr, serve, (void *)(intptr_t)fd);
        if (rc != 0) {
            fprintf(stderr, "echo-threads: pthread_create: %s\n", strerror(rc));
            close(fd);
        }
    }
}
