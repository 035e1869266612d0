/*
 * hist.c - the log-linear histogram described in hist.h.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

/* Position of the highest set bit; value must not be 0. */
static unsigned top_bit(uint64_t value) {
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(value);
#else
    unsigned bit = 0;
    while (value >>= 1)
        bit++;
    return bit;
#endif
}

unsigned hist_index(uint64_t value) {
    if (value < 2 * HIST_SUB) return (unsigned)value;
    /* value >> shift lands in [HIST_SUB, 2 * HIST_SUB): the bucket within the power of two. */
    unsigned shift = top_bit(value) - HIST_SUB_BITS;
    return shift * HIST_SUB + (unsigned)(value >> shift);
}

uint64_t hist_bucket_low(unsigned index) {
    if (index < 2 * HIST_SUB) return index;
    unsigned shift = index / HIST_SUB - 1;
    return (uint64_t)(index % HIST_SUB + HIST_SUB) << shift;
}

uint64_t hist_bucket_high(unsigned index) {
    if (index < 2 * HIST_SUB) return index;
    unsigned shift = index / HIST_SUB - 1;
    return hist_bucket_low(index) + ((uint64_t)1 << shift) - 1;
}

void hist_reset(struct hist *h) {
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t value) {
    h->counts[hist_index(value)]++;
    h->count++;
    h->sum += (double)value;
    if (value < h->min) h->min = value;
    if (value > h->max) h->max = value;
}

uint64_t hist_percentile(const struct hist *h, double p) {
    if (h->count == 0) return 0;
    if (p <= 0) return h->min;
    if (p >= 100) return h->max;

    /* rank = ceil(p% of count), with a little slack so that 99.9% of 1000 is 999 and not 1000
     * because 99.9 has no exact binary representation. */
    double exact = p * (double)h->count / 100.0;
    uint64_t rank = (uint64_t)ceil(exact - (exact * 1e-12 + 1e-9));
    if (rank < 1) rank = 1;
    if (rank > h->count) rank = h->count;

    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_high(i);
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max; /* not reached: the counts add up to count */
}

double hist_mean(const struct hist *h) {
    return h->count ? h->sum / (double)h->count : 0.0;
}
