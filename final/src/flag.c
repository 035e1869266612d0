/*
 * flag.c - see flag.h. The parsers follow Go's source (strconv and time),
 * one function for each of Go's, and the messages are Go's, word for word.
 */
#include "platform.h"

#include <stdarg.h>
#include <string.h>

#include "flag.h"

/* --- values --------------------------------------------------------------- */

static int lower(int c) {
    return c | 0x20; /* ASCII letters only; callers compare with letters */
}

/* Go's strconv.underscoreOK: '_' may only sit between digits, or between a
 * base prefix and a digit. */
static int underscore_ok(const char *s) {
    char saw = '^';
    int hex = 0;
    size_t i = 0, n = strlen(s);
    if (n >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = lower(s[1]) == 'x';
    }
    for (; i < n; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
            saw = '0';
        } else if (c == '_') {
            if (saw != '0') return 0;
            saw = '_';
        } else {
            if (saw == '_') return 0;
            saw = '!';
        }
    }
    return saw != '_';
}

/* Go's strconv.ParseUint(s, 0, 64): no sign; a 0b, 0o or 0x prefix, or a
 * leading 0 for octal; '_' only between digits. */
int flag_parse_uint(const char *s, uint64_t *out) {
    if (*s == '\0') return FLAG_SYNTAX;
    const char *digits0 = s;
    unsigned base = 10;
    if (s[0] == '0') {
        size_t n = strlen(s);
        if (n >= 3 && lower(s[1]) == 'b')
            base = 2, s += 2;
        else if (n >= 3 && lower(s[1]) == 'o')
            base = 8, s += 2;
        else if (n >= 3 && lower(s[1]) == 'x')
            base = 16, s += 2;
        else
            base = 8, s += 1;
    }
    uint64_t v = 0;
    int underscores = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s == '_') {
            underscores = 1;
            continue;
        } else if (*s >= '0' && *s <= '9') {
            d = (unsigned)(*s - '0');
        } else if (lower(*s) >= 'a' && lower(*s) <= 'z') {
            d = (unsigned)(lower(*s) - 'a' + 10);
        } else {
            return FLAG_SYNTAX;
        }
        if (d >= base) return FLAG_SYNTAX;
        /* Go counts in all 64 bits and stops early only when they overflow:
         * "10000000000000000000x" is a syntax error, "1" and 20 zeros then
         * "x" a range error. */
        if (v > (UINT64_MAX - d) / base) return FLAG_RANGE;
        v = v * base + d;
    }
    if (underscores && !underscore_ok(digits0)) return FLAG_SYNTAX;
    *out = v;
    return 0;
}

/* Go's strconv.ParseInt(s, 0, 64): an optional sign, then ParseUint. */
int flag_parse_int(const char *s, long long *out) {
    int neg = 0;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    uint64_t v;
    int rc = flag_parse_uint(s, &v);
    if (rc != 0) return rc;
    if (v > (neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX)) return FLAG_RANGE;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* Go's time.leadingInt: digits up to overflow of 1<<63. */
static int leading_int(const char **sp, uint64_t *out) {
    const char *s = *sp;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > ((uint64_t)1 << 63) / 10) return -1;
        x = x * 10 + (uint64_t)(*s - '0');
        if (x > (uint64_t)1 << 63) return -1;
    }
    *sp = s;
    *out = x;
    return 0;
}

/* Go's time.leadingFraction: digits after '.', extra precision ignored. */
static void leading_fraction(const char **sp, uint64_t *out, double *scale) {
    const char *s = *sp;
    uint64_t x = 0;
    double sc = 1;
    int overflow = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (overflow) continue;
        if (x > (uint64_t)INT64_MAX / 10) {
            overflow = 1;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t)(*s - '0');
        if (y > (uint64_t)1 << 63) {
            overflow = 1;
            continue;
        }
        x = y;
        sc *= 10;
    }
    *sp = s;
    *out = x;
    *scale = sc;
}

static uint64_t unit_ns(const char *u, size_t len) {
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek small letter mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", 60ULL * 1000000000},
        {"h", 3600ULL * 1000000000},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0) return units[i].ns;
    return 0;
}

int flag_parse_duration(const char *s, long long *ns) {
    const uint64_t max = (uint64_t)1 << 63;
    uint64_t d = 0;
    int neg = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (*s == '\0') return -1;
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9'))) return -1;
        const char *before = s;
        if (leading_int(&s, &v) == -1) return -1;
        int pre = s != before, post = 0;
        if (*s == '.') {
            s++;
            before = s;
            leading_fraction(&s, &f, &scale);
            post = s != before;
        }
        if (!pre && !post) return -1;
        size_t i = 0;
        while (s[i] && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        if (i == 0) return -1; /* missing unit */
        uint64_t unit = unit_ns(s, i);
        if (unit == 0) return -1; /* unknown unit */
        s += i;
        if (v > max / unit) return -1;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > max) return -1;
        }
        /* Checked before adding: Go adds first, and 2^63 + 2^63 wraps to 0. */
        if (v > max - d) return -1;
        d += v;
    }
    if (neg) {
        *ns = (long long)(0 - d);
        return 0;
    }
    if (d > max - 1) return -1;
    *ns = (long long)d;
    return 0;
}

/* Go's strconv.ParseBool. */
int flag_parse_bool(const char *s, int *out) {
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return FLAG_SYNTAX;
}

/* The length of the UTF-8 sequence at p, or 0 if it is not one (overlong
 * forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *p) {
    unsigned c = p[0], n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c < 0xc2 || c > 0xf4) return 0;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (p[1] < lo || p[1] > hi) return 0;
    for (unsigned i = 2; i < n; i++) /* stops at the NUL: it is no continuation */
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* Go's %q: printable ASCII as is, the usual backslash escapes, other bytes
 * as \xNN; valid UTF-8 is kept as it is (see flag.h). */
void flag_quote(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\a':
            fputs("\\a", out);
            break;
        case '\b':
            fputs("\\b", out);
            break;
        case '\f':
            fputs("\\f", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '\v':
            fputs("\\v", out);
            break;
        default:
            if (*p >= 0x20 && *p < 0x7f) {
                fputc(*p, out);
            } else if (*p >= 0x80 && utf8_len(p) > 0) {
                size_t n = utf8_len(p);
                fwrite(p, 1, n, out);
                p += n - 1;
            } else {
                fprintf(out, "\\x%02x", *p);
            }
        }
    }
    fputc('"', out);
}

/* --- the table ------------------------------------------------------------- */

/* Parse text into the flag's value, range included. Returns 0 or the
 * reason, in Go's words ("parse error", "value out of range"). */
static const char *set_value(const flag *f, const char *text) {
    long long i = 0;
    uint64_t u = 0;
    int rc = 0;
    int limited = f->min != 0 || f->max != 0;
    switch (f->kind) {
    case FLAG_BOOL:
        rc = flag_parse_bool(text, (int *)f->value);
        break;
    case FLAG_STRING:
        *(const char **)f->value = text;
        break;
    case FLAG_INT:
    case FLAG_DURATION:
        rc = f->kind == FLAG_INT ? flag_parse_int(text, &i) : flag_parse_duration(text, &i);
        /* Go's flag.Duration says "parse error" for any error of ParseDuration. */
        if (rc == FLAG_RANGE && f->kind == FLAG_DURATION) rc = FLAG_SYNTAX;
        if (rc == 0 && limited && (i < f->min || i > f->max)) rc = FLAG_RANGE;
        if (rc == 0) *(long long *)f->value = i;
        break;
    case FLAG_UINT:
        rc = flag_parse_uint(text, &u);
        if (rc == 0 && limited && (u < (uint64_t)f->min || u > (uint64_t)f->max)) rc = FLAG_RANGE;
        if (rc == 0) *(uint64_t *)f->value = u;
        break;
    }
    return rc == 0 ? NULL : rc == FLAG_RANGE ? "value out of range" : "parse error";
}

static const flag *find(const flag_set *fs, const char *name, size_t len) {
    for (size_t i = 0; i < fs->count; i++)
        if (strlen(fs->flags[i].name) == len && memcmp(fs->flags[i].name, name, len) == 0)
            return &fs->flags[i];
    return NULL;
}

int flag_given(const flag_set *fs, const char *name) {
    const flag *f = find(fs, name, strlen(name));
    return f != NULL && (fs->given >> (f - fs->flags) & 1);
}

/* Go's isZeroValue: a default that is the type's zero is not shown. */
static int is_zero(const flag *f) {
    long long i;
    uint64_t u;
    int b;
    switch (f->kind) {
    case FLAG_BOOL:
        return flag_parse_bool(f->def, &b) == 0 && b == 0;
    case FLAG_STRING:
        return f->def[0] == '\0';
    case FLAG_INT:
        return flag_parse_int(f->def, &i) == 0 && i == 0;
    case FLAG_UINT:
        return flag_parse_uint(f->def, &u) == 0 && u == 0;
    case FLAG_DURATION:
        return flag_parse_duration(f->def, &i) == 0 && i == 0;
    }
    return 0;
}

/* Go's flag.UnquoteUsage: the name of the value is the first `word` in
 * backquotes (`` names nothing), else the type's name ("" for a bool); a
 * lone backquote is not a pair, and stays in the text. */
static void print_usage_text(const flag *f, FILE *out) {
    static const char *type_names[] = {"", "int", "uint", "string", "duration"};
    const char *open = strchr(f->usage, '`'), *close = open ? strchr(open + 1, '`') : NULL;
    const char *name = type_names[f->kind];
    int name_len = (int)strlen(name);
    if (close) {
        name = open + 1;
        name_len = (int)(close - name);
    }
    size_t width = (size_t)fprintf(out, "  -%s", f->name);
    if (name_len > 0) width += (size_t)fprintf(out, " %.*s", name_len, name);
    /* "Boolean flags of one ASCII letter are so common we treat them
     * specially, putting their usage on the same line." */
    fputs(width <= 4 ? "\t" : "\n    \t", out);
    for (const char *u = f->usage; *u; u++) {
        if (close && (u == open || u == close)) continue;
        if (*u == '\n')
            fputs("\n    \t", out);
        else
            fputc(*u, out);
    }
}

void flag_usage(const flag_set *fs, FILE *out) {
    fprintf(out, "Usage of %s:\n", fs->program);
    if (fs->about) fputs(fs->about, out);
    for (size_t i = 0; i < fs->count; i++) {
        const flag *f = &fs->flags[i];
        print_usage_text(f, out);
        if (!is_zero(f)) {
            fputs(" (default ", out);
            if (f->kind == FLAG_STRING)
                flag_quote(out, f->def);
            else
                fputs(f->def, out);
            fputc(')', out);
        }
        fputc('\n', out);
    }
}

/* Go's FlagSet.failf: the message, then the usage. */
static int failv(const flag_set *fs, const char *fmt, va_list ap) {
    vfprintf(fs->out, fmt, ap);
    fputc('\n', fs->out);
    flag_usage(fs, fs->out);
    return FLAG_ERROR;
}

int flag_fail(const flag_set *fs, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(fs, fmt, ap);
    va_end(ap);
    return rc;
}

/* A message with a quoted value in it: prefix "value" suffix. */
static int fail_quoted(const flag_set *fs, const char *prefix, const char *value, const char *fmt,
                       ...) {
    fputs(prefix, fs->out);
    flag_quote(fs->out, value);
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(fs, fmt, ap);
    va_end(ap);
    return rc;
}

/* Go's FlagSet.parseOne, one argument (or two) at a time. */
int flag_parse(flag_set *fs, int argc, char *const argv[], int *rest) {
    fs->given = 0;
    if (fs->count > 64) return flag_fail(fs, "more than 64 flags"); /* a mistake in the table */
    for (size_t i = 0; i < fs->count; i++) {
        if (set_value(&fs->flags[i], fs->flags[i].def) != NULL)
            return flag_fail(fs, "bad default %s for flag -%s", fs->flags[i].def,
                             fs->flags[i].name); /* a mistake in the table */
    }
    int i = 1;
    while (i < argc) {
        const char *s = argv[i];
        if (strlen(s) < 2 || s[0] != '-') break; /* the first argument that is not a flag */
        int minuses = 1;
        if (s[1] == '-') {
            minuses = 2;
            if (s[2] == '\0') { /* "--" ends the flags */
                i++;
                break;
            }
        }
        const char *name = s + minuses;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=')
            return flag_fail(fs, "bad flag syntax: %s", s);
        i++;
        const char *eq = strchr(name + 1, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const flag *f = find(fs, name, len);
        if (f == NULL) {
            if ((len == 1 && name[0] == 'h') || (len == 4 && memcmp(name, "help", 4) == 0)) {
                flag_usage(fs, fs->out);
                return FLAG_HELP;
            }
            return flag_fail(fs, "flag provided but not defined: -%.*s", (int)len, name);
        }
        fs->given |= 1ULL << (f - fs->flags);
        if (f->kind == FLAG_BOOL) {
            if (value && set_value(f, value) != NULL)
                return fail_quoted(fs, "invalid boolean value ", value, " for -%s: parse error",
                                   f->name);
            if (!value) *(int *)f->value = 1;
            continue;
        }
        if (value == NULL) {
            if (i >= argc) return flag_fail(fs, "flag needs an argument: -%s", f->name);
            value = argv[i++];
        }
        const char *why = set_value(f, value);
        if (why) return fail_quoted(fs, "invalid value ", value, " for flag -%s: %s", f->name, why);
    }
    *rest = i;
    return FLAG_OK;
}
