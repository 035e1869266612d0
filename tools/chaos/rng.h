/*
 * rng.h - the chaos client's random numbers: splitmix64, small, fast and good enough to pick
 * sizes and delays. Every connection draws from its own generator, seeded from -seed and the
 * connection's place in the schedule, so the same seed gives the same plan whatever the
 * kernel's timing does to the order in which connections come and go.
 */
#ifndef PARROT_CHAOS_RNG_H
#define PARROT_CHAOS_RNG_H

#include <stdint.h>

#define RNG_GOLDEN 0x9e3779b97f4a7c15u

/* splitmix64's output function: a bijective mix of 64 bits. */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A seed for the n-th thing of a kind: mixing keeps neighbouring seeds unrelated. */
static inline uint64_t seed_of(uint64_t seed, uint64_t kind, uint64_t a, uint64_t b) {
    return mix64(mix64(mix64(seed ^ kind) + a) + b);
}

static inline uint64_t rng_next(uint64_t *s) {
    *s += RNG_GOLDEN;
    return mix64(*s);
}

/* Uniform in [lo, hi]. The modulo bias (under 2^-40 for our ranges) does not matter here. */
static inline uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi) {
    return lo + rng_next(s) % (hi - lo + 1);
}

/* True with probability percent/100. */
static inline int rng_chance(uint64_t *s, unsigned percent) {
    return rng_next(s) % 100 < percent;
}

/* Log-uniform in [lo, hi] (lo >= 1): every power of two is as likely as any other, so a draw
 * between 1 B and 1 MiB gives as many 1-15 byte messages as 64-128 KiB ones. */
static inline uint64_t rng_log(uint64_t *s, uint64_t lo, uint64_t hi) {
    if (lo >= hi) return lo;
    int blo = 0, bhi = 0; /* bit lengths */
    while (blo < 64 && (lo >> blo) != 0)
        blo++;
    while (bhi < 64 && (hi >> bhi) != 0)
        bhi++;
    int b = (int)rng_range(s, (uint64_t)blo, (uint64_t)bhi);
    uint64_t from = (uint64_t)1 << (b - 1), to = b >= 64 ? UINT64_MAX : ((uint64_t)1 << b) - 1;
    if (from < lo) from = lo;
    if (to > hi) to = hi;
    return rng_range(s, from, to);
}

#endif
