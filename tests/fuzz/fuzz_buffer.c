/*
 * fuzz_buffer.c - a connection's unsent echo (final/src/buffer.c), under a
 * random sequence of the calls server.c makes, checked byte for byte
 * against a model.
 *
 * The bytes that go in are one endless stream whose byte k is a hash of k,
 * so the model is two counters: how much went in and how much came out.
 * The buffer must hold exactly stream[out, in), in order: every byte is
 * compared with the stream when it is consumed, and whatever is left at
 * the end. Besides:
 *   - buffer_reserve gives at least the room asked for, right after the data;
 *   - start <= end <= cap, and an emptied buffer starts again at 0;
 *   - buffer_consume returns what is left; buffer_len(NULL) is 0;
 *   - memory stays bounded: the capacity is never more than twice the most
 *     the buffer was ever asked to hold, or one page.
 *
 * Input: 3 bytes per operation. Byte 0 picks the operation (low 2 bits)
 * and a size scale (high bit: x4); bytes 1-2 are a size or a fraction.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../final/src/buffer.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_buffer: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_HELD (8u << 20) /* keep a run fast: at most 8 MiB in the buffer */
#define PAGE     4096

enum { OP_APPEND, OP_RESERVE_COMMIT, OP_CONSUME, OP_DRAIN_AND_FREE };

static uint8_t stream_byte(uint64_t k) {
    uint64_t x = k * 0x9E3779B97F4A7C15ULL;
    return (uint8_t)(x >> 56 ^ x >> 29 ^ k);
}

static void fill(char *dst, uint64_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)stream_byte(from + i);
}

static void expect(const char *got, uint64_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)got[i] != stream_byte(from + i)) {
            fprintf(stderr, "fuzz_buffer: byte %llu of the stream is wrong\n",
                    (unsigned long long)(from + i));
            abort();
        }
}

typedef struct model {
    uint64_t in, out; /* stream bytes appended, consumed */
    size_t most;      /* the most the buffer was asked to hold */
} model;

static void check_shape(const buffer *b, const model *m) {
    CHECK(buffer_len(b) == m->in - m->out);
    if (b == NULL) return;
    CHECK(b->start <= b->end && b->end <= b->cap);
    CHECK(b->start < b->end || b->start == 0); /* empty means reset */
    CHECK(b->cap <= PAGE || b->cap <= 2 * m->most);
}

/* Before growing to len + want bytes: note the need, for the memory bound. */
static void need(model *m, size_t len, size_t want) {
    if (len + want > m->most) m->most = len + want;
}

static void consume(buffer *b, model *m, size_t n) {
    expect(buffer_head(b), m->out, n);
    size_t left = buffer_consume(b, n);
    m->out += n;
    CHECK(left == m->in - m->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    buffer *b = NULL;
    model m = {0, 0, 0};
    char *scratch = malloc(4 * 65536);
    CHECK(scratch != NULL);
    CHECK(buffer_len(b) == 0);
    for (size_t i = 0; i + 3 <= size; i += 3) {
        unsigned op = data[i] & 3;
        size_t n = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
        if (data[i] & 0x80) n *= 4;
        size_t len = buffer_len(b);
        switch (op) {
        case OP_APPEND: /* what conn_read does after a short write */
            if (n == 0 || len + n > MAX_HELD) break;
            need(&m, len, n);
            fill(scratch, m.in, n);
            CHECK(buffer_append(&b, scratch, n) == 0);
            m.in += n;
            break;
        case OP_RESERVE_COMMIT: { /* a read straight into the buffer, maybe short */
            if (n == 0 || len + n > MAX_HELD) break;
            need(&m, len, n);
            size_t room = 0;
            char *dst = buffer_reserve(&b, n, &room);
            CHECK(dst != NULL && b != NULL);
            CHECK(room >= n && dst == buffer_head(b) + len);
            CHECK(b->end + room == b->cap);                   /* the room is all of the tail */
            size_t got = (data[i] >> 2 & 7) == 0 ? n / 2 : n; /* sometimes a short read */
            fill(dst, m.in, got);
            buffer_commit(b, got);
            m.in += got;
            break;
        }
        case OP_CONSUME: /* a write took part of it: n/65536 of what is there, at least 1 */
            if (len == 0) break;
            n = len * n / (4 * 65536) + 1;
            consume(b, &m, n > len ? len : n);
            break;
        case OP_DRAIN_AND_FREE: /* the socket took everything: conn_write frees */
            if (b == NULL) break;
            if (len) consume(b, &m, len);
            buffer_free(b);
            b = NULL;
            break;
        }
        check_shape(b, &m);
    }
    if (b) expect(buffer_head(b), m.out, buffer_len(b));
    buffer_free(b);
    free(scratch);
    return 0;
}
