/*
 * echo-libevent.c - peer: libevent 2 with bufferevents.
 *
 * The idiomatic libevent echo: a listener hands each connection to a bufferevent, and the read
 * callback moves the whole input buffer to the output buffer (evbuffer_add_buffer moves its
 * chains without copying the bytes). When more than 64 KiB is waiting to go out the
 * connection stops reading until the output drains, so memory per client stays bounded. Each
 * connection costs a bufferevent and its two evbuffers.
 *
 * Build: cc -std=c11 -O2 -o echo-libevent echo-libevent.c $(pkg-config --cflags --libs libevent)
 *        (make -C tools/bench; Debian/Ubuntu: apt-get install libevent-dev)
 * Run:   ./echo-libevent [PORT]   (default 1512; 0 picks a free port; listens on 127.0.0.1)
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_PENDING 65536

static void on_read(struct bufferevent *bev, void *ctx) {
    (void)ctx;
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    if (evbuffer_get_length(out) > MAX_PENDING) bufferevent_disable(bev, EV_READ);
}

/* Called when the output buffer has drained (the default low watermark is 0). */
static void on_drained(struct bufferevent *bev, void *ctx) {
    (void)ctx;
    if (!(bufferevent_get_enabled(bev) & EV_READ)) bufferevent_enable(bev, EV_READ);
}

static void on_drained_then_close(struct bufferevent *bev, void *ctx) {
    (void)ctx;
    bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *ctx) {
    (void)ctx;
    /* The client shut its write side: finish echoing what is owed, then close. */
    if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setcb(bev, NULL, on_drained_then_close, on_event, NULL);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ctx) {
    (void)sa;
    (void)socklen;
    (void)ctx;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct event_base *base = evconnlistener_get_base(listener);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    bufferevent_setcb(bev, on_read, on_drained, on_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 1512;
    signal(SIGPIPE, SIG_IGN);

    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "echo-libevent: event_base_new failed\n");
        return 1;
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct evconnlistener *listener =
        evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                -1, (struct sockaddr *)&sin, sizeof sin);
    if (!listener) {
        perror("echo-libevent: bind/listen");
        return 1;
    }
    socklen_t len = sizeof sin;
    getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&sin, &len);
    fprintf(stderr, "echo-libevent: listening on 127.0.0.1 port %d (%s)\n", ntohs(sin.sin_port),
            event_base_get_method(base));
    return event_base_dispatch(base);
}
