/*
 * fuzz_buffer.c - a connection's unsent echo (final/src/buffer.c), under a
 * random sequence of the calls server.c makes, checked byte for byte
 * against a model.
 *
 * The bytes that go in are one endless stream, a pseudo-random sequence
 * that repeats only every 999983 bytes (a prime, so no power-of-two shift
 * lines it up with itself), so the model is two counters: how much went in
 * and how much came out.
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
 * and a size scale (high bit: x16); bytes 1-2 are a size (under 4 KiB,
 * around the first block's size; under 64 KiB scaled; the buffer holds at
 * most 120 KiB) or a fraction.
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

#define MAX_HELD (120u << 10) /* under 128 KiB: blocks ASan recycles; fast runs */
#define MAX_OP   (4096 * 16)
#define PAGE     4096
#define PERIOD   999983 /* the stream repeats after this many bytes */

enum { OP_APPEND, OP_RESERVE_COMMIT, OP_CONSUME, OP_DRAIN_AND_FREE };

/* The stream, unrolled far enough that any MAX_HELD bytes of it are one
 * contiguous piece of the table: stream[k] = table[k % PERIOD]. */
static uint8_t table[PERIOD + MAX_HELD];

static void make_table(void) {
    static int made;
    if (made) return;
    made = 1;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        table[i] = (uint8_t)(x >> 32);
    }
    memcpy(table + PERIOD, table, MAX_HELD);
}

static const uint8_t *stream_at(uint64_t k) {
    return table + k % PERIOD;
}

static void fill(char *dst, uint64_t from, size_t n) {
    memcpy(dst, stream_at(from), n);
}

static void expect(const char *got, uint64_t from, size_t n) {
    if (memcmp(got, stream_at(from), n) == 0) return;
    size_t i = 0;
    while ((uint8_t)got[i] == stream_at(from)[i])
        i++;
    fprintf(stderr, "fuzz_buffer: byte %llu of the stream is wrong\n",
            (unsigned long long)(from + i));
    abort();
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
    make_table();
    buffer *b = NULL;
    model m = {0, 0, 0};
    CHECK(buffer_len(b) == 0);
    for (size_t i = 0; i + 3 <= size; i += 3) {
        unsigned op = data[i] & 3;
        size_t n = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) & 4095;
        if (data[i] & 0x80) n *= 16;
        size_t len = buffer_len(b);
        switch (op) {
        case OP_APPEND: /* what conn_read does after a short write */
            if (n == 0 || len + n > MAX_HELD) break;
            need(&m, len, n);
            CHECK(buffer_append(&b, stream_at(m.in), n) == 0);
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
        case OP_CONSUME: /* a write took part of it: n/MAX_OP of what is there, at least 1 */
            if (len == 0) break;
            n = len * n / MAX_OP + 1;
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
    return 0;
}
