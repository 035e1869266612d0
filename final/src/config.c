/*
 * config.c - flags the way Go's flag package does them, so that Parrot
 * behaves like the Go server it comes from: the same forms, the same error
 * lines, the same usage layout, exit 2 on a bad flag and 0 on -h.
 */
#include "platform.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

/* --- numbers and durations ---------------------------------------------- */

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

int parse_int(const char *s, long long *out) {
    int neg = 0;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (*s == '\0') return -1;
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
            return -1;
        }
        if (d >= base) return -1;
        /* Go's ParseUint counts in all 64 bits and stops early only when
         * they overflow: "10000000000000000000x" is a syntax error. */
        if (v > (UINT64_MAX - d) / base) return -2;
        v = v * base + d;
    }
    if (underscores && !underscore_ok(digits0)) return -1;
    if (v > (neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX)) return -2;
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

int parse_duration(const char *s, long long *ns) {
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

/* --- the flags ----------------------------------------------------------- */

enum kind { K_STRING, K_INT, K_DURATION, K_BOOL };

typedef struct flag_def {
    const char *name;
    enum kind kind;
    const char *usage;
} flag_def;

/* In Go's order for the usage: sorted by name. */
static const flag_def flags[] = {
    {"host", K_STRING,
     "bind address: an IPv4 or IPv6 address or a host name; \"::\" also\n"
     "accepts IPv4 where the system allows it"},
    {"idle-timeout", K_DURATION,
     "close a client after this long without traffic, e.g. 30s or 5m; 0 = never"},
    {"log", K_STRING, "access log: \"-\" = stdout, a file path (appended to), or \"off\""},
    {"max-conns", K_INT,
     "most clients served at once; more are accepted and closed at once;\n"
     "the default is the open-files limit minus a reserve"},
    {"max-pending", K_INT,
     "bytes of unsent echo held per client before the server stops reading from it"},
    {"port", K_INT, "TCP port to listen on; 0 picks a free port"},
    {"version", K_BOOL, "print the version and exit"},
};

void config_init(config *cfg, long default_max_conns) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = DEFAULT_HOST;
    cfg->port = DEFAULT_PORT;
    cfg->log = DEFAULT_LOG;
    cfg->max_conns = default_max_conns;
    cfg->default_max_conns = default_max_conns;
    cfg->max_pending = DEFAULT_MAX_PENDING;
    cfg->argv0 = "parrot";
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

/* Go's %q for the bytes of a flag value: printable ASCII as is, the usual
 * backslash escapes, other bytes as \xNN (valid UTF-8 is kept as is). */
static void go_quote(FILE *out, const char *s) {
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

static void print_default(const config *cfg, const flag_def *f, FILE *out) {
    const char *name = f->name;
    if (strcmp(name, "host") == 0) {
        fputs(" (default ", out);
        go_quote(out, DEFAULT_HOST);
        fputc(')', out);
    } else if (strcmp(name, "log") == 0) {
        fputs(" (default ", out);
        go_quote(out, DEFAULT_LOG);
        fputc(')', out);
    } else if (strcmp(name, "max-conns") == 0) {
        fprintf(out, " (default %ld)", cfg->default_max_conns);
    } else if (strcmp(name, "max-pending") == 0) {
        fprintf(out, " (default %d)", DEFAULT_MAX_PENDING);
    } else if (strcmp(name, "port") == 0) {
        fprintf(out, " (default %d)", DEFAULT_PORT);
    }
}

/* The layout of Go's flag.PrintDefaults, defaults included (never the
 * values parsed so far). */
void config_usage(const config *cfg, FILE *out) {
    static const char *type_names[] = {"string", "int", "duration", ""};
    fprintf(out, "Usage of %s:\n", cfg->argv0);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const flag_def *f = &flags[i];
        fprintf(out, "  -%s", f->name);
        if (f->kind != K_BOOL) fprintf(out, " %s", type_names[f->kind]);
        fputs("\n    \t", out);
        for (const char *u = f->usage; *u; u++) {
            if (*u == '\n')
                fputs("\n    \t", out);
            else
                fputc(*u, out);
        }
        print_default(cfg, f, out);
        fputc('\n', out);
    }
}

static int fail(const config *cfg, FILE *err) {
    config_usage(cfg, err);
    return CONFIG_ERROR;
}

static int bad_value(const config *cfg, FILE *err, const char *name, const char *value,
                     const char *why) {
    fputs("invalid value ", err);
    go_quote(err, value);
    fprintf(err, " for flag -%s: %s\n", name, why);
    return fail(cfg, err);
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, int *out) {
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int int_in(const char *value, long long lo, long long hi, long long *out, const char **why) {
    int rc = parse_int(value, out);
    if (rc == -1)
        *why = "parse error";
    else if (rc == -2 || *out < lo || *out > hi)
        *why = "value out of range";
    else
        return 0;
    return -1;
}

/* Store value into the flag called name; on error set *why. */
static int set_value(config *cfg, const char *name, const char *value, const char **why) {
    long long v;
    if (strcmp(name, "host") == 0) {
        cfg->host = value;
    } else if (strcmp(name, "log") == 0) {
        cfg->log = value;
    } else if (strcmp(name, "port") == 0) {
        if (int_in(value, 0, 65535, &v, why) == -1) return -1;
        cfg->port = (int)v;
    } else if (strcmp(name, "max-conns") == 0) {
        if (int_in(value, 1, INT_MAX, &v, why) == -1) return -1;
        cfg->max_conns = (long)v;
    } else if (strcmp(name, "max-pending") == 0) {
        /* Pending bytes are counted in 32 bits; 1 GiB is far beyond sane. */
        if (int_in(value, 1, 1L << 30, &v, why) == -1) return -1;
        cfg->max_pending = (long)v;
    } else if (strcmp(name, "idle-timeout") == 0) {
        if (parse_duration(value, &v) == -1) {
            *why = "parse error";
            return -1;
        }
        if (v < 0 || v > MAX_IDLE_TIMEOUT_NS) {
            *why = "value out of range";
            return -1;
        }
        cfg->idle_ns = v;
    }
    return 0;
}

static const flag_def *find_flag(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

/* Go's flag.FlagSet.parseOne, one argument (or two) at a time. */
int config_parse(config *cfg, int argc, char *const argv[], FILE *err) {
    if (argc > 0 && argv[0]) cfg->argv0 = argv[0];
    int i = 1;
    while (i < argc) {
        const char *s = argv[i];
        if (strlen(s) < 2 || s[0] != '-') break; /* first non-flag argument */
        int minuses = 1;
        if (s[1] == '-') {
            minuses = 2;
            if (s[2] == '\0') { /* "--" ends the flags */
                i++;
                break;
            }
        }
        const char *name = s + minuses;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=') {
            fprintf(err, "bad flag syntax: %s\n", s);
            return fail(cfg, err);
        }
        i++;
        const char *eq = strchr(name + 1, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const flag_def *f = find_flag(name, len);
        if (f == NULL) {
            if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0)) {
                config_usage(cfg, err);
                return CONFIG_HELP;
            }
            fprintf(err, "flag provided but not defined: -%.*s\n", (int)len, name);
            return fail(cfg, err);
        }
        if (f->kind == K_BOOL) {
            int b = 1;
            if (value && parse_bool(value, &b) == -1) {
                fputs("invalid boolean value ", err);
                go_quote(err, value);
                fprintf(err, " for -%s: parse error\n", f->name);
                return fail(cfg, err);
            }
            cfg->version = b;
            continue;
        }
        if (value == NULL) {
            if (i >= argc) {
                fprintf(err, "flag needs an argument: -%s\n", f->name);
                return fail(cfg, err);
            }
            value = argv[i++];
        }
        const char *why = NULL;
        if (set_value(cfg, f->name, value, &why) == -1)
            return bad_value(cfg, err, f->name, value, why);
    }
    if (i < argc) {
        /* Go would leave these in flag.Args(); a server has no use for them,
         * and silently ignoring "parrot 1512" would surprise. */
        fputs("unexpected argument ", err);
        go_quote(err, argv[i]);
        fputc('\n', err);
        return fail(cfg, err);
    }
    return CONFIG_OK;
}
