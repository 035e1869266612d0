/*
 * stream.h - the bytes a connection sends, and the check of what comes back.
 *
 * Each connection sends a pseudo-random stream that depends on its key alone, and any byte of
 * it can be computed from its offset (a counter-based generator: the 8 bytes at offset 8k are
 * the word mix64(key + k * golden)). The sender generates the bytes at its offset; the receiver
 * regenerates them at its own offset and compares. Nothing sent is kept, however much is in
 * flight, and a byte that comes back lost, out of order, from another connection or flipped
 * cannot match by accident.
 */
#ifndef PARROT_CHAOS_STREAM_H
#define PARROT_CHAOS_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* Write the len bytes at offset of stream key into out. */
void stream_fill(uint64_t key, uint64_t offset, unsigned char *out, size_t len);

/* Compare got[0..len) with the stream at offset, using scratch (len bytes) to generate it.
 * Returns len if every byte matches, else the index of the first byte that does not. */
size_t stream_check(uint64_t key, uint64_t offset, const unsigned char *got, size_t len,
                    unsigned char *scratch);

enum damage {
    DAMAGE_LOST,      /* the stream resumes further on: bytes are missing (or come later) */
    DAMAGE_REORDERED, /* the bytes belong further back: repeated, or out of order */
    DAMAGE_CORRUPTED, /* the bytes are not in the stream nearby: changed, or not ours */
};

struct diagnosis {
    enum damage damage;
    uint64_t distance; /* LOST: bytes skipped; REORDERED: how far back they belong */
    unsigned char got, want;
};

/* got[0..len) arrived at offset and got[0] is wrong. Looks for those bytes up to 1 MiB before
 * and after offset (never past sent, the bytes sent so far) to tell the damages apart.
 * Allocates its window; it runs once per failed connection. */
void stream_diagnose(uint64_t key, uint64_t offset, const unsigned char *got, size_t len,
                     uint64_t sent, struct diagnosis *d);

const char *damage_name(enum damage damage);

#endif
