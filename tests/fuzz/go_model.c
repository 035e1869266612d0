/*
 * go_model.c - see go_model.h. Each rule names the document it comes from:
 *
 *   [ParseInt]   strconv.ParseInt's documentation: "If the base argument is
 *                0, the true base is implied by the string's prefix: 2 for
 *                "0b", 8 for "0" or "0o", 16 for "0x", and 10 otherwise.
 *                Also, for argument base 0 only, underscore characters are
 *                permitted as defined by the Go syntax for integer literals."
 *                "If s is empty or contains invalid digits, err.Err =
 *                ErrSyntax"; a value the type cannot hold is ErrRange. The
 *                string may begin with a sign, "+" or "-".
 *   [ParseUint]  "ParseUint is like ParseInt but for unsigned numbers. A sign
 *                prefix is not permitted."
 *   [spec]       The Go Programming Language Specification, "Integer
 *                literals": int_lit, decimal_lit, binary_lit, octal_lit,
 *                hex_lit and the digits rules, copied as comments below.
 *   [atoi.go]    Go's source (src/strconv/atoi.go), for the one thing the
 *                documentation leaves open: which error wins when a string
 *                both overflows and is malformed. ParseUint reads left to
 *                right and says ErrRange as soon as the digits so far pass
 *                2^64 - 1, before it sees a later bad byte or checks the
 *                underscores ("100000000000000000000x" is ErrRange,
 *                "10000000000000000000x" ErrSyntax).
 *   [ParseBool]  strconv.ParseBool's documentation, and the flag package's:
 *                "1, 0, t, f, T, F, true, false, TRUE, FALSE, True, False".
 *   [Duration]   time.ParseDuration's documentation: "A duration string is a
 *                possibly signed sequence of decimal numbers, each with
 *                optional fraction and a unit suffix, such as "300ms", "-1.5h"
 *                or "2h45m". Valid time units are "ns", "us" (or "µs"), "ms",
 *                "s", "m", "h"." A value must fit time.Duration (int64 ns).
 *   [format.go]  Go's source (src/time/format.go), where the documentation is
 *                silent: a bare "0" needs no unit; "5." and ".5" are numbers
 *                but "." is not; "μs" (Greek mu, U+03BC) is a unit too; and a
 *                fraction is converted through float64, which the document
 *                does not promise to the nanosecond: the model allows Go's
 *                answer to differ by one ns for each part with a fraction.
 *   [Quote]      strconv.Quote's documentation (what %q writes): "uses Go
 *                escape sequences (\t, \n, \xFF, \u0100) for control
 *                characters and non-printable characters"; the spec's escapes
 *                \a \b \f \n \r \t \v \\ \"; a byte that is not valid UTF-8
 *                (unicode/utf8: overlong forms, surrogates and values past
 *                U+10FFFF are not) as \xNN.
 *   [parrot]     parrot's own rules, where it differs from Go on purpose:
 *                valid UTF-8 beyond ASCII is quoted as it is (flag.h: telling
 *                printable from not needs Unicode's tables); a duration whose
 *                parts add up past int64 is an error (Go's source wraps a sum
 *                of two 2^63 ns parts to 0; tests/fuzz/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include "go_model.h"

#include <stdint.h>
#include <string.h>

typedef unsigned __int128 go_u128;

/* --- integers ---------------------------------------------------------------- */

/* c's value as a digit of base (2, 8, 10 or 16), or -1. */
static int digit(char c, int base) {
    int v = -1;
    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v < base ? v : -1;
}

/* [spec] decimal_digits = decimal_digit { [ "_" ] decimal_digit } .
 * (and the same for binary, octal and hex): is all of s one? */
static int all_digits(const char *s, int base) {
    if (digit(*s, base) < 0) return 0;
    while (*++s != '\0') {
        if (*s == '_') s++;
        if (digit(*s, base) < 0) return 0;
    }
    return 1;
}

/* [ "_" ] digits, to the end of s. */
static int underscore_then_digits(const char *s, int base) {
    return all_digits(*s == '_' ? s + 1 : s, base);
}

/* [spec] int_lit = decimal_lit | binary_lit | octal_lit | hex_lit . */
static int int_literal(const char *s) {
    /* binary_lit = "0" ( "b" | "B" ) [ "_" ] binary_digits . */
    if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) return underscore_then_digits(s + 2, 2);
    /* hex_lit = "0" ( "x" | "X" ) [ "_" ] hex_digits . */
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return underscore_then_digits(s + 2, 16);
    /* octal_lit = "0" [ "o" | "O" ] [ "_" ] octal_digits . */
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) return underscore_then_digits(s + 2, 8);
    if (s[0] == '0') return s[1] == '\0' || underscore_then_digits(s + 1, 8); /* or decimal "0" */
    /* decimal_lit = "0" | ( "1" … "9" ) [ [ "_" ] decimal_digits ] . */
    return s[0] >= '1' && s[0] <= '9' && (s[1] == '\0' || underscore_then_digits(s + 1, 10));
}

/* [ParseInt] The base the prefix implies, and where the digits start. */
static int prefix_base(const char *s, const char **digits) {
    *digits = s;
    if (s[0] != '0') return 10;
    *digits = s + 2;
    if (s[1] == 'b' || s[1] == 'B') return 2;
    if (s[1] == 'o' || s[1] == 'O') return 8;
    if (s[1] == 'x' || s[1] == 'X') return 16;
    *digits = s + 1;
    return 8;
}

/* [atoi.go] The value of the digits (underscores skipped) before the first
 * byte that is neither, saturated at 2^64. */
static go_u128 leading_value(const char *s, int base) {
    const go_u128 past_uint64 = (go_u128)1 << 64;
    go_u128 v = 0;
    for (; *s == '_' || digit(*s, base) >= 0; s++)
        if (*s != '_' && v < past_uint64) v = v * (unsigned)base + (unsigned)digit(*s, base);
    return v;
}

int go_parse_int(const char *s, int is_signed, go_i128 *value) {
    int negative = 0;
    if (is_signed && (*s == '+' || *s == '-')) negative = *s++ == '-'; /* [ParseInt] */
    const char *digits;
    int base = prefix_base(s, &digits);
    go_u128 v = leading_value(digits, base);
    if (v > UINT64_MAX) return GO_RANGE;             /* [atoi.go] */
    if (!int_literal(s)) return GO_SYNTAX;           /* [ParseInt], [spec]; [ParseUint]: a sign */
    go_i128 x = negative ? -(go_i128)v : (go_i128)v; /* a literal is all digits: v is its value */
    if (is_signed && (x < INT64_MIN || x > INT64_MAX)) return GO_RANGE;
    *value = x;
    return GO_OK;
}

/* --- booleans ------------------------------------------------------------------ */

int go_parse_bool(const char *s, int *value) {
    static const struct {
        const char *text;
        int value;
    } words[] = {
        {"1", 1},    {"0", 0},     {"t", 1},    {"f", 0},     {"T", 1},    {"F", 0},
        {"true", 1}, {"false", 0}, {"TRUE", 1}, {"FALSE", 0}, {"True", 1}, {"False", 0},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(s, words[i].text) == 0) {
            *value = words[i].value;
            return GO_OK;
        }
    return GO_SYNTAX;
}

/* --- durations ------------------------------------------------------------------ */

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* [Duration] A unit at s, followed by the end or by the next number: its
 * length in *len and its ns, or 0 if there is none. */
static long long unit_at(const char *s, size_t *len) {
    static const struct {
        const char *name;
        long long ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* µs, micro sign U+00B5 */
        {"\xce\xbcs", 1000}, /* μs, Greek mu U+03BC: [format.go] */
        {"ms", 1000 * 1000},
        {"s", 1000 * 1000 * 1000},
        {"m", 60LL * 1000 * 1000 * 1000},
        {"h", 3600LL * 1000 * 1000 * 1000},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(s, units[i].name, n) == 0 && (s[n] == '\0' || s[n] == '.' || is_digit(s[n]))) {
            *len = n;
            return units[i].ns;
        }
    }
    return 0;
}

go_duration go_parse_duration(const char *s) {
    /* Far past int64, and low enough that nothing below overflows 128 bits:
     * whole parts stop at 2^64, fractions keep 25 digits (10^25 * 3.6e12 ns
     * is under 2^125). Digits past the 25th weigh under 10^-12 ns. */
    const go_i128 whole_cap = (go_i128)1 << 64, sum_cap = (go_i128)1 << 100;
    go_duration d = {0, 0, 0, 0};
    if (*s == '+' || *s == '-') d.negative = *s++ == '-';
    if (strcmp(s, "0") == 0) { /* [format.go] */
        d.grammatical = 1;
        return d;
    }
    if (*s == '\0') return d;
    while (*s != '\0') {
        /* A number: digits [ "." [ digits ] ], or "." digits ([format.go]). */
        go_i128 whole = 0, fraction = 0, scale = 1;
        int whole_digits = 0, fraction_digits = 0;
        for (; is_digit(*s); s++, whole_digits++)
            if (whole < whole_cap) whole = whole * 10 + (*s - '0');
        if (*s == '.')
            for (s++; is_digit(*s); s++, fraction_digits++)
                if (fraction_digits < 25) fraction = fraction * 10 + (*s - '0'), scale *= 10;
        if (whole_digits == 0 && fraction_digits == 0) return d;
        size_t len;
        long long unit = unit_at(s, &len);
        if (unit == 0) return d;
        s += len;
        d.ns += whole * unit + fraction * unit / scale;
        if (d.ns > sum_cap) d.ns = sum_cap;
        if (fraction != 0) d.fractions++;
    }
    d.grammatical = 1;
    return d;
}

int go_duration_allows(const go_duration *d, int rc, long long ns) {
    if (!d->grammatical) return rc != 0;
    /* [Duration] int64 ns; [parrot] for the sum as well as for each part. */
    const go_i128 limit = d->negative ? (go_i128)1 << 63 : ((go_i128)1 << 63) - 1;
    go_i128 low = d->ns - d->fractions, high = d->ns + d->fractions; /* [format.go] */
    if (low < 0) low = 0;
    if (rc != 0) return high > limit; /* an error only where the value may be past int64 */
    go_i128 magnitude = d->negative ? -(go_i128)ns : (go_i128)ns;
    return magnitude >= low && magnitude <= high;
}

/* --- quoting -------------------------------------------------------------------- */

/* The length of the UTF-8 encoding at p (1 for ASCII), or 0 if the bytes
 * there are not one: decoded to a code point, which must need exactly that
 * many bytes and be a Unicode scalar value. */
static size_t utf8_sequence(const unsigned char *p) {
    size_t n;
    unsigned long cp, least;
    if (p[0] < 0x80) return 1;
    if ((p[0] & 0xe0) == 0xc0)
        n = 2, cp = p[0] & 0x1fu, least = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, cp = p[0] & 0x0fu, least = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4, cp = p[0] & 0x07u, least = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) { /* a NUL is no continuation byte: never reads past it */
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* [Quote] The letter of c's named escape, or 0. */
static char escape_letter(unsigned char c) {
    static const char named[][2] = {{'\a', 'a'}, {'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'},
                                    {'\t', 't'}, {'\v', 'v'}, {'"', '"'},  {'\\', '\\'}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (c == (unsigned char)named[i][0]) return named[i][1];
    return 0;
}

void go_quote(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        size_t n = utf8_sequence(p);
        if (escape_letter(*p) != 0)
            fprintf(out, "\\%c", escape_letter(*p));
        else if (n == 1 && *p >= 0x20 && *p != 0x7f) /* printable ASCII */
            fputc(*p, out);
        else if (n > 1) /* [parrot] */
            fwrite(p, 1, n, out);
        else /* a control byte, DEL, or a byte that is not UTF-8 */
            fprintf(out, "\\x%02x", *p);
        p += n > 1 ? n : 1;
    }
    fputc('"', out);
}
