/*
 * stream.c - the per-connection byte stream: generate, check, and say what went wrong.
 */
#include "stream.h"

#include "rng.h"

#include <stdlib.h>
#include <string.h>

#define DIAG_WINDOW (1u << 20) /* how far before and after a bad byte its bytes are looked for */
#define DIAG_NEEDLE 32         /* bytes compared at each place */
#define DIAG_MIN    4          /* fewer bytes than this cannot be placed with confidence */

/* Words are laid out in memory as the machine stores them: the same bytes for the sender and
 * the receiver, which run in one process. Whole words are copied at once; a word cut by the
 * start or end of the range goes through the same layout, so the stream does not depend on
 * where it is cut. */
void stream_fill(uint64_t key, uint64_t offset, unsigned char *out, size_t len) {
    while (len > 0) {
        uint64_t word = mix64(key + (offset >> 3) * RNG_GOLDEN);
        unsigned skip = (unsigned)(offset & 7);
        if (skip == 0 && len >= 8) {
            memcpy(out, &word, 8);
            out += 8;
            offset += 8;
            len -= 8;
            continue;
        }
        unsigned char bytes[8];
        memcpy(bytes, &word, 8);
        size_t take = 8 - skip;
        if (take > len) take = len;
        memcpy(out, bytes + skip, take);
        out += take;
        offset += take;
        len -= take;
    }
}

size_t stream_check(uint64_t key, uint64_t offset, const unsigned char *got, size_t len,
                    unsigned char *scratch) {
    stream_fill(key, offset, scratch, len);
    if (memcmp(got, scratch, len) == 0) return len;
    size_t i = 0;
    while (got[i] == scratch[i])
        i++;
    return i;
}

void stream_diagnose(uint64_t key, uint64_t offset, const unsigned char *got, size_t len,
                     uint64_t sent, struct diagnosis *d) {
    unsigned char want;
    stream_fill(key, offset, &want, 1);
    *d = (struct diagnosis){.damage = DAMAGE_CORRUPTED, .got = got[0], .want = want};

    size_t needle = len < DIAG_NEEDLE ? len : DIAG_NEEDLE;
    if (needle < DIAG_MIN) return;
    uint64_t behind = offset < DIAG_WINDOW ? offset : DIAG_WINDOW;
    uint64_t ahead = 0; /* bytes that were never sent cannot have come back */
    if (sent >= offset + needle) ahead = sent - needle - offset;
    if (ahead > DIAG_WINDOW) ahead = DIAG_WINDOW;

    size_t span = (size_t)(behind + ahead) + needle;
    unsigned char *window = malloc(span);
    if (window == NULL) return; /* cannot look: call it corrupted */
    stream_fill(key, offset - behind, window, span);
    const unsigned char *here = window + behind;
    uint64_t far = behind > ahead ? behind : ahead;
    /* The nearest place wins: a 32-byte match elsewhere by chance is out of the question. */
    for (uint64_t dist = 1; dist <= far; dist++) {
        if (dist <= ahead && memcmp(here + dist, got, needle) == 0) {
            d->damage = DAMAGE_LOST;
            d->distance = dist;
            break;
        }
        if (dist <= behind && memcmp(here - dist, got, needle) == 0) {
            d->damage = DAMAGE_REORDERED;
            d->distance = dist;
            break;
        }
    }
    free(window);
}

const char *damage_name(enum damage damage) {
    switch (damage) {
    case DAMAGE_LOST:
        return "lost";
    case DAMAGE_REORDERED:
        return "reordered";
    case DAMAGE_CORRUPTED:
        return "corrupted";
    }
    return "?";
}
