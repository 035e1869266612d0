/*
 * test_hist.c - the latency histogram of parrot-bench (tools/bench/hist.c): bucket arithmetic,
 * percentiles on known distributions, and the edges (empty, one sample, the largest value).
 */
#include "hist.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdlib.h>

static struct hist h; /* 58 KiB: not on the stack */

static void setup(void) {
    hist_reset(&h);
}

TestSuite(hist, .init = setup, .timeout = 10);

/* The exact answer: the smallest value with at least ceil(p% of n) values at or below it. */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_percentile(uint64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)((p * (double)n + 99.999999) / 100.0); /* ceil, for these p and n */
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

/* The promise of hist.h: never below the true value, above it by at most 1/HIST_SUB of it. */
static void assert_bounded(uint64_t reported, uint64_t truth, double p) {
    cr_assert(ge(u64, reported, truth), "p%g: reported %llu below the true %llu", p,
              (unsigned long long)reported, (unsigned long long)truth);
    cr_assert(le(u64, reported - truth, truth / HIST_SUB), "p%g: reported %llu, true %llu", p,
              (unsigned long long)reported, (unsigned long long)truth);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void) { /* xorshift64: the same sequence on every run */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_distribution(uint64_t *values, size_t n) {
    for (size_t i = 0; i < n; i++)
        hist_record(&h, values[i]);
    qsort(values, n, sizeof *values, cmp_u64);
    static const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        assert_bounded(hist_percentile(&h, ps[i]), exact_percentile(values, n, ps[i]), ps[i]);
    cr_assert(eq(u64, hist_percentile(&h, 0), values[0]));
    cr_assert(eq(u64, hist_percentile(&h, 100), values[n - 1]));
    cr_assert(eq(u64, h.count, n));
}

Test(hist, empty_histogram_reports_zero) {
    cr_assert(eq(u64, h.count, 0));
    cr_assert(eq(u64, hist_percentile(&h, 0), 0));
    cr_assert(eq(u64, hist_percentile(&h, 50), 0));
    cr_assert(eq(u64, hist_percentile(&h, 100), 0));
    cr_assert(eq(dbl, hist_mean(&h), 0.0));
}

Test(hist, one_sample_is_every_percentile) {
    hist_record(&h, 123456789);
    static const double ps[] = {0, 0.1, 50, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        cr_assert(eq(u64, hist_percentile(&h, ps[i]), 123456789), "p%g", ps[i]);
    cr_assert(eq(dbl, hist_mean(&h), 123456789.0));
}

Test(hist, small_values_are_exact) {
    /* Below 2 * HIST_SUB every value has its own bucket. */
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    cr_assert(eq(u64, hist_percentile(&h, 50), 50));
    cr_assert(eq(u64, hist_percentile(&h, 90), 90));
    cr_assert(eq(u64, hist_percentile(&h, 99), 99));
    cr_assert(eq(u64, hist_percentile(&h, 99.5), 100));
    cr_assert(eq(u64, hist_percentile(&h, 0), 1));
    cr_assert(eq(dbl, hist_mean(&h), 50.5));
}

Test(hist, rank_is_not_pushed_up_by_decimal_percentiles) {
    /* 99.9 has no exact binary form: 99.9% of 1000 samples must still be the 999th. */
    for (uint64_t v = 1; v <= 1000; v++)
        hist_record(&h, v * 1000);
    assert_bounded(hist_percentile(&h, 99.9), 999000, 99.9);
    cr_assert(lt(u64, hist_percentile(&h, 99.9), 1000000));
    assert_bounded(hist_percentile(&h, 99), 990000, 99);
}

Test(hist, largest_value_is_recorded_exactly) {
    hist_record(&h, 1);
    hist_record(&h, UINT64_MAX);
    cr_assert(eq(u64, h.max, UINT64_MAX));
    cr_assert(eq(u64, hist_percentile(&h, 100), UINT64_MAX));
    cr_assert(eq(u64, hist_percentile(&h, 50), 1));
    cr_assert(eq(u64, hist_percentile(&h, 51), UINT64_MAX));
    cr_assert(eq(u32, hist_index(UINT64_MAX), HIST_BUCKETS - 1));
}

Test(hist, buckets_tile_the_whole_range) {
    cr_assert(eq(u32, hist_index(0), 0));
    cr_assert(eq(u64, hist_bucket_low(0), 0));
    cr_assert(eq(u64, hist_bucket_high(HIST_BUCKETS - 1), UINT64_MAX));
    for (unsigned i = 1; i < HIST_BUCKETS; i++) {
        /* Each bucket starts right after the previous one ends, and is narrow. */
        cr_assert(eq(u64, hist_bucket_low(i), hist_bucket_high(i - 1) + 1), "bucket %u", i);
        uint64_t width = hist_bucket_high(i) - hist_bucket_low(i) + 1;
        cr_assert(le(u64, width, hist_bucket_low(i) / HIST_SUB + 1), "bucket %u", i);
        cr_assert(eq(u32, hist_index(hist_bucket_low(i)), i));
        cr_assert(eq(u32, hist_index(hist_bucket_high(i)), i));
    }
}

Test(hist, every_value_lands_in_its_bucket) {
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rng() >> (rng() % 64); /* all magnitudes */
        unsigned b = hist_index(v);
        cr_assert(lt(u32, b, HIST_BUCKETS));
        cr_assert(le(u64, hist_bucket_low(b), v));
        cr_assert(ge(u64, hist_bucket_high(b), v));
    }
}

Test(hist, uniform_distribution_within_bound) {
    enum { N = 100000 };
    static uint64_t values[N];
    for (size_t i = 0; i < N; i++)
        values[i] = 1000 + rng() % 10000000; /* 1 us to 10 ms, in ns */
    check_distribution(values, N);
}

Test(hist, long_tailed_distribution_within_bound) {
    /* Mostly fast, a few very slow: what a loaded server looks like. */
    enum { N = 100000 };
    static uint64_t values[N];
    for (size_t i = 0; i < N; i++) {
        uint64_t base = 20000 + rng() % 30000;
        values[i] = (rng() % 1000 == 0) ? base * 1000 : (rng() % 100 == 0) ? base * 20 : base;
    }
    check_distribution(values, N);
}

Test(hist, identical_values) {
    for (int i = 0; i < 1000; i++)
        hist_record(&h, 777777);
    cr_assert(eq(u64, hist_percentile(&h, 1), 777777));
    cr_assert(eq(u64, hist_percentile(&h, 99.9), 777777));
}

Test(hist, reset_forgets_everything) {
    hist_record(&h, 5);
    hist_record(&h, 5000000);
    hist_reset(&h);
    cr_assert(eq(u64, h.count, 0));
    cr_assert(eq(u64, hist_percentile(&h, 99), 0));
    hist_record(&h, 42);
    cr_assert(eq(u64, hist_percentile(&h, 0), 42));
    cr_assert(eq(u64, hist_percentile(&h, 100), 42));
}
