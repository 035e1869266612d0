/*
 * echo-uv.c - peer: libuv, written the way a performance-aware libuv user would.
 *
 * One event loop thread. Every read lands in one static buffer (the data is used before the
 * callback returns), is echoed at once with uv_try_write, and only the part the socket did not
 * take is copied into a write request; while such a write is pending the connection stops
 * reading, so memory per client stays bounded. (The naive libuv echo, a malloc of
 * suggested_size = 64 KiB per read and a uv_write per message, is several times slower and
 * would not be a fair comparison.) Each connection costs one uv_tcp_t.
 *
 * Build: cc -std=c11 -O2 -o echo-uv echo-uv.c $(pkg-config --cflags --libs libuv)
 *        (make -C tools/bench; Debian/Ubuntu: apt-get install libuv1-dev)
 * Run:   ./echo-uv [PORT]   (default 1512; 0 picks a free port; listens on 127.0.0.1)
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct pending_write {
    uv_write_t req;
    char data[]; /* the bytes the socket did not take */
};

static char read_buf[65536];

static void on_close(uv_handle_t *handle) {
    free(handle);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status) {
    uv_stream_t *stream = req->handle;
    free(req);
    if (status < 0) {
        uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    uv_read_start(stream, on_alloc, on_read);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    if (nread < 0) { /* UV_EOF or an error */
        uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    if (nread == 0) return;
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    int sent = uv_try_write(stream, &out, 1);
    if (sent == UV_EAGAIN) sent = 0;
    if (sent < 0) {
        uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    if (sent == nread) return;

    size_t rest = (size_t)nread - (size_t)sent;
    struct pending_write *w = malloc(sizeof *w + rest);
    if (!w) {
        uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    memcpy(w->data, buf->base + sent, rest);
    uv_buf_t wbuf = uv_buf_init(w->data, (unsigned)rest);
    if (uv_write(&w->req, stream, &wbuf, 1, on_written) < 0) {
        free(w);
        uv_close((uv_handle_t *)stream, on_close);
        return;
    }
    uv_read_stop(stream); /* resume in on_written */
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    uv_tcp_t *client = malloc(sizeof *client);
    if (!client) return;
    uv_tcp_init(server->loop, client);
    if (uv_accept(server, (uv_stream_t *)client) != 0) {
        uv_close((uv_handle_t *)client, on_close);
        return;
    }
    uv_tcp_nodelay(client, 1);
    uv_read_start((uv_stream_t *)client, on_alloc, on_read);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 1512;
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&server, 511, on_connection);
    if (rc != 0) {
        fprintf(stderr, "echo-uv: %s\n", uv_strerror(rc));
        return 1;
    }
    int len = sizeof addr;
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    fprintf(stderr, "echo-uv: listening on 127.0.0.1 port %d\n", ntohs(addr.sin_port));
    return uv_run(loop, UV_RUN_DEFAULT);
}
