/*
 * stream_test.c - the chaos client's byte check must see every kind of damage, and name it
 * right: a stream cut short, bytes skipped, repeated, flipped, or taken from another
 * connection. Run by `make check`; prints one line per check that fails, then a summary.
 */
#define _POSIX_C_SOURCE 200809L

#include "rng.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "stream-test: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                                          \
    } while (0)

#define N (3 * 1024 * 1024)

static unsigned char whole[N], piece[N], scratch[N];

/* The stream does not depend on how it is cut: any offset, any length. */
static void test_fill_is_seekable(void) {
    uint64_t key = 42, rng = 7;
    stream_fill(key, 0, whole, N);
    for (int i = 0; i < 1000; i++) {
        uint64_t off = rng_range(&rng, 0, N - 1);
        uint64_t len = rng_range(&rng, 1, N - off < 100000 ? N - off : 100000);
        stream_fill(key, off, piece, (size_t)len);
        CHECK(memcmp(piece, whole + off, (size_t)len) == 0);
    }
    stream_fill(key + 1, 0, piece, 4096);
    CHECK(memcmp(piece, whole, 4096) != 0); /* another connection, other bytes */
}

static void test_check(void) {
    uint64_t key = 9;
    stream_fill(key, 1000, piece, 5000);
    CHECK(stream_check(key, 1000, piece, 5000, scratch) == 5000);
    piece[1234] ^= 0x01;
    CHECK(stream_check(key, 1000, piece, 5000, scratch) == 1234);
    CHECK(stream_check(key, 1001, piece, 5000, scratch) == 0); /* off by one: wrong at once */
}

static void diagnose_at(uint64_t key, uint64_t offset, uint64_t from, size_t len, uint64_t sent,
                        struct diagnosis *d) {
    stream_fill(key, from, piece, len);
    stream_diagnose(key, offset, piece, len, sent, d);
}

static void test_diagnosis(void) {
    uint64_t key = 1234567;
    struct diagnosis d;

    /* 700 bytes dropped at offset 5000: what arrives there is the stream from 5700. */
    diagnose_at(key, 5000, 5700, 1000, 10000, &d);
    CHECK(d.damage == DAMAGE_LOST && d.distance == 700);

    /* The rest of a 64 KiB short write dropped, far into a 1 MiB message. */
    diagnose_at(key, 2000000, 2000000 + 65000, 30000, 2100000, &d);
    CHECK(d.damage == DAMAGE_LOST && d.distance == 65000);

    /* Bytes sent twice: at offset 9000 comes the stream from 8000 again. */
    diagnose_at(key, 9000, 8000, 500, 20000, &d);
    CHECK(d.damage == DAMAGE_REORDERED && d.distance == 1000);

    /* A flipped byte: nowhere nearby. */
    stream_fill(key, 300, piece, 100);
    unsigned char want = piece[0];
    piece[0] ^= 0x80;
    stream_diagnose(key, 300, piece, 100, 1000, &d);
    CHECK(d.damage == DAMAGE_CORRUPTED && d.got == (want ^ 0x80) && d.want == want);

    /* Another connection's bytes. */
    stream_fill(key + 1, 300, piece, 100);
    stream_diagnose(key, 300, piece, 100, 1000, &d);
    CHECK(d.damage == DAMAGE_CORRUPTED);

    /* Bytes that were never sent cannot have been skipped to: the window ends at sent. */
    diagnose_at(key, 100, 600, 64, 600, &d);
    CHECK(d.damage == DAMAGE_CORRUPTED);
    diagnose_at(key, 100, 600, 64, 664, &d);
    CHECK(d.damage == DAMAGE_LOST && d.distance == 500);

    /* Three bytes are too few to place: called corrupted, not guessed. */
    diagnose_at(key, 100, 200, 3, 1000, &d);
    CHECK(d.damage == DAMAGE_CORRUPTED);

    CHECK(strcmp(damage_name(DAMAGE_LOST), "lost") == 0);
}

/* Draws stay in range, and log-uniform draws reach both ends. */
static void test_rng(void) {
    uint64_t s = 1;
    int saw_lo = 0, saw_hi = 0, out = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rng_log(&s, 1, 1 << 20);
        out |= v < 1 || v > (1 << 20);
        saw_lo |= v == 1;
        saw_hi |= v >= (1 << 20) - 1000;
    }
    CHECK(!out && saw_lo && saw_hi);
    uint64_t a = 5, b = 5;
    CHECK(rng_next(&a) == rng_next(&b)); /* same seed, same plan */
    CHECK(seed_of(1, 1, 2, 3) != seed_of(1, 1, 3, 2));
}

int main(void) {
    test_fill_is_seekable();
    test_check();
    test_diagnosis();
    test_rng();
    printf("stream-test: %d of %d checks passed\n", checks - failures, checks);
    return failures ? 1 : 0;
}
