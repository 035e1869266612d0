/*
 * hist.h - a log-linear latency histogram (the idea of HdrHistogram, cut down).
 *
 * Values (nanoseconds here, but any unsigned 64-bit quantity) below 2 * HIST_SUB are counted
 * exactly. Above that, every power-of-two range [2^k, 2^(k+1)) is split into HIST_SUB equal
 * buckets, so a bucket is never wider than 1/HIST_SUB of the values in it. The histogram covers
 * the whole uint64_t range in a fixed HIST_BUCKETS counters (58 KiB): recording is an index
 * computation and an increment, with no allocation and no overflow case.
 *
 * Percentiles are reported as the highest value of the bucket that holds the sample of that
 * rank, clipped to the largest value recorded: never below the true sample, and above it by at
 * most 1/HIST_SUB of it (0.79%). Min, max and the mean are exact.
 */
#ifndef PARROT_BENCH_HIST_H
#define PARROT_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    double sum; /* for the mean; a double cannot overflow on any real run */
    uint64_t counts[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t value);

/* The value at percentile p (0..100): the smallest recorded value v such that at least
 * ceil(p / 100 * count) values are <= v, reported as described above. p <= 0 gives the exact
 * minimum, p >= 100 the exact maximum. 0 when the histogram is empty. */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h); /* 0 when empty */

/* Bucket arithmetic, exposed for the tests. */
unsigned hist_index(uint64_t value);
uint64_t hist_bucket_low(unsigned index);
uint64_t hist_bucket_high(unsigned index);

#endif
