/*
 * fuzz_duration.c - Go durations (final/src/flag.c: flag_parse_duration),
 * the value of -idle-timeout and of every duration flag of parrot's tools.
 *
 * Two kinds of input:
 *   - text (no NUL byte): parsed, and held to go_model.c's model, written
 *     from time.ParseDuration's documented grammar ([+-], then one or more
 *     "digits[.digits]unit", or the bare "0") and valued exactly in 128-bit
 *     integers: the parser must accept what the grammar accepts unless the
 *     value is past int64, and its value may differ from the exact one only
 *     by the rounding Go itself does (a ns per part with a fraction); within
 *     that of the int64 limits either answer is allowed.
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
#include "go_model.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_duration: check failed at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_text(const char *s) {
    long long got = 0;
    int rc = flag_parse_duration(s, &got);
    CHECK(rc == 0 || rc == FLAG_SYNTAX);
    go_duration d = go_parse_duration(s);
    if (!go_duration_allows(&d, rc, got)) {
        fprintf(stderr, "fuzz_duration: \"%s\" gave %d, %lld; Go's grammar: %s, %s%lld ns\n", s, rc,
                got, d.grammatical ? "grammatical" : "not grammatical", d.negative ? "-" : "",
                (long long)d.ns);
        abort();
    }
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
