/*
 * fuzz_duration.c - Go durations (final/src/config.c: parse_duration), the
 * value of -idle-timeout.
 *
 * Two kinds of input:
 *   - text (no NUL byte): parsed, and compared with a model written here
 *     from Go's grammar: [+-] then one or more "digits[.digits]unit", or the
 *     bare "0". The model adds exactly (128-bit integers for the whole parts,
 *     long double for fractions); the parser must accept what the grammar
 *     accepts unless the sum overflows int64, and its value may differ from
 *     the exact sum only by the rounding Go itself does (under 2 ns per
 *     fractional component). Near the int64 limits either answer is allowed
 *     within that rounding.
 *   - a NUL byte and 8 more bytes: an int64 d, written as Go's
 *     Duration.String() writes it ("1h2m3.5s", "1.5µs", "-2562047h47m16.854775808s")
 *     and as plain nanoseconds; both must parse back to d exactly.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../final/src/flag.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_duration: check failed at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef __int128 i128; /* clang and gcc both have it on 64-bit targets */

static const struct {
    const char *name;
    long long ns;
} units[] = {
    {"ns", 1},       {"us", 1000},        {"\xc2\xb5s", 1000},  {"\xce\xbcs", 1000},
    {"ms", 1000000}, {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL},
};

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* The model. Returns 0 if s is grammatical (then *whole is the exact sum of
 * the whole parts, saturated far above int64, *frac the sum of the
 * fractional parts and *nfrac how many there were), -1 if not. */
static int model(const char *s, int *neg, i128 *whole, long double *frac, int *nfrac) {
    const i128 huge = (i128)1 << 70; /* far above int64, and huge * unit fits 128 bits */
    *neg = 0, *whole = 0, *frac = 0, *nfrac = 0;
    if (*s == '+' || *s == '-') *neg = *s++ == '-';
    if (strcmp(s, "0") == 0) return 0;
    if (*s == '\0') return -1;
    while (*s) {
        i128 ip = 0;
        size_t ni = 0, nf = 0;
        for (; is_digit(s[ni]); ni++)
            if (ip < huge) ip = ip * 10 + (s[ni] - '0');
        s += ni;
        i128 fp = 0;
        size_t fdigits = 0;
        if (*s == '.') {
            s++;
            for (; is_digit(s[nf]); nf++)
                if (fdigits < 25) fp = fp * 10 + (s[nf] - '0'), fdigits++;
            s += nf;
        }
        if (ni == 0 && nf == 0) return -1;
        size_t ul = 0;
        while (s[ul] && s[ul] != '.' && !is_digit(s[ul]))
            ul++;
        long long unit = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].name) == ul && memcmp(units[i].name, s, ul) == 0)
                unit = units[i].ns;
        if (unit == 0) return -1;
        s += ul;
        *whole += ip * unit;
        if (*whole > huge) *whole = huge;
        if (fp > 0) {
            long double scale = 1;
            for (size_t i = 0; i < fdigits; i++)
                scale *= 10;
            *frac += (long double)fp * (long double)unit / scale;
            (*nfrac)++;
        }
    }
    return 0;
}

static void check_text(const char *s) {
    long long got = 0;
    int rc = flag_parse_duration(s, &got);
    CHECK(rc == 0 || rc == -1);
    int neg, nfrac;
    i128 whole;
    long double frac;
    if (model(s, &neg, &whole, &frac, &nfrac) == -1) {
        CHECK(rc == -1); /* not the grammar: never a value */
        return;
    }
    const long double tol = 2.0L * nfrac;
    const long double limit = neg ? 9223372036854775808.0L : 9223372036854775807.0L;
    long double exact = (long double)whole + frac; /* 64-bit mantissa: exact near 2^63 */
    if (exact > limit + tol) {
        CHECK(rc == -1); /* overflow */
        return;
    }
    if (exact <= limit - tol) CHECK(rc == 0);
    if (rc == -1) return; /* within rounding of the limit: either answer */
    /* Compare in the magnitude's terms: got may be INT64_MIN. */
    i128 mag = neg ? -(i128)got : (i128)got;
    CHECK(mag >= 0);
    long double diff = (long double)(mag - whole) - frac;
    CHECK(diff <= tol && diff >= -tol);
    if (nfrac == 0) CHECK(mag == whole); /* no fraction: no rounding at all */
}

/* Go's Duration.String(). */
static void go_string(char *dst, size_t cap, int64_t d) {
    uint64_t u = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    const char *sign = d < 0 ? "-" : "";
    char frac[16] = "";
    if (u == 0) {
        snprintf(dst, cap, "0s");
    } else if (u < 1000) {
        snprintf(dst, cap, "%s%" PRIu64 "ns", sign, u);
    } else if (u < 1000000000) {
        const char *unit = u < 1000000 ? "\xc2\xb5s" : "ms";
        uint64_t div = u < 1000000 ? 1000 : 1000000;
        int prec = u < 1000000 ? 3 : 6;
        if (u % div) snprintf(frac, sizeof(frac), ".%0*" PRIu64, prec, u % div);
        for (size_t n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
        snprintf(dst, cap, "%s%" PRIu64 "%s%s", sign, u / div, frac, unit);
    } else {
        const uint64_t sec = 1000000000;
        if (u % sec) snprintf(frac, sizeof(frac), ".%09" PRIu64, u % sec);
        for (size_t n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
        uint64_t s = u / sec % 60, m = u / sec / 60 % 60, h = u / sec / 3600;
        char hm[48] = "";
        if (h)
            snprintf(hm, sizeof(hm), "%" PRIu64 "h%" PRIu64 "m", h, m);
        else if (m)
            snprintf(hm, sizeof(hm), "%" PRIu64 "m", m);
        snprintf(dst, cap, "%s%s%" PRIu64 "%ss", sign, hm, s, frac);
    }
}

static void check_round_trip(int64_t d) {
    char text[64];
    long long got = 0;
    go_string(text, sizeof(text), d);
    if (flag_parse_duration(text, &got) != 0 || got != d) {
        fprintf(stderr, "fuzz_duration: \"%s\" (%" PRId64 ") parsed as %lld\n", text, d, got);
        abort();
    }
    snprintf(text, sizeof(text), "%" PRId64 "ns", d);
    CHECK(flag_parse_duration(text, &got) == 0 && got == d);
    check_text(text); /* and the model agrees on both */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 9 && data[0] == 0) {
        int64_t d;
        memcpy(&d, data + 1, sizeof(d));
        check_round_trip(d);
        return 0;
    }
    if (memchr(data, 0, size) != NULL) return 0;
    char *s = malloc(size + 1); /* exactly the string: ASan sees any over-read */
    CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    check_text(s);
    free(s);
    return 0;
}
