/*
 * fuzz_flags.c - the command line (final/src/config.c: config_parse and
 * parse_int), driven the way tests/final/test_unit.c drives it: config_parse
 * returns what main() turns into an exit status and writes its messages to
 * a FILE we hand it, so nothing exits and nothing reaches the terminal.
 *
 * Input: the arguments after argv[0] ("parrot"), separated by NUL bytes.
 * A model of Go's flag.FlagSet.parseOne, written here from Go's source and
 * config.h's ranges, says what must happen, and the parser must agree:
 *   - the outcome: run (exit status depends on the server), -h (exit 0) or
 *     a bad flag (exit 2); nothing else;
 *   - on success: every field as the model computed it, nothing printed;
 *   - on -h: exactly the usage text;
 *   - on a bad flag: exactly one of Go's error lines, then the usage text
 *     (the defaults, never values parsed so far). Values in error lines are
 *     quoted Go-style: printable ASCII as is, \a \b \f \n \r \t \v \" \\,
 *     other control bytes and bytes that are not UTF-8 as \xNN.
 * Every argument is also given to parse_int, against a model of Go's
 * strconv.ParseInt(s, 0, 64).
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../final/src/config.h"
#include "../../final/src/flag.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_flags: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_ARGS          64
#define DEFAULT_MAX_CONNS 1000

/* --- a model of strconv.ParseInt(s, 0, 64) --------------------------------- */

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c;
}

/* Go's underscoreOK, on the unsigned part. */
static int model_underscores_ok(const char *s) {
    char saw = '^';
    size_t i = 0, n = strlen(s);
    int hex = 0;
    if (n >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
        hex = lower(s[1]) == 'x';
        i = 2;
        saw = '0';
    }
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
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

/* 0 and *v, -1 syntax error, -2 out of range: ParseUint's loop runs on the
 * full uint64 range (a range error there wins over a later syntax error),
 * then ParseInt narrows to int64. */
static int model_int(const char *s0, long long *v) {
    const char *s = s0;
    int neg = 0;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    const char *digits = s;
    if (*s == '\0') return -1;
    unsigned base = 10;
    size_t n = strlen(s);
    if (s[0] == '0') {
        if (n >= 3 && lower(s[1]) == 'b')
            base = 2, s += 2;
        else if (n >= 3 && lower(s[1]) == 'o')
            base = 8, s += 2;
        else if (n >= 3 && lower(s[1]) == 'x')
            base = 16, s += 2;
        else
            base = 8, s += 1;
    }
    unsigned __int128 u = 0;
    int underscores = 0;
    for (; *s; s++) {
        int c = (unsigned char)*s, d;
        if (c == '_') {
            underscores = 1;
            continue;
        }
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (lower(c) >= 'a' && lower(c) <= 'z')
            d = lower(c) - 'a' + 10;
        else
            return -1;
        if ((unsigned)d >= base) return -1;
        u = u * base + (unsigned)d;
        if (u > UINT64_MAX) return -2;
    }
    if (underscores && !model_underscores_ok(digits)) return -1;
    if (neg ? u > (unsigned __int128)INT64_MAX + 1 : u > INT64_MAX) return -2;
    *v = neg ? (long long)(0 - (uint64_t)u) : (long long)u;
    return 0;
}

/* --- a model of the flags ------------------------------------------------------ */

/* The length of a valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p) {
    if (p[0] >= 0xc2 && p[0] <= 0xdf) return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (p[0] >= 0xe0 && p[0] <= 0xef) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
        if (p[0] == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
        if (p[0] == 0xed && p[1] >= 0xa0) return 0; /* a surrogate */
        return 3;
    }
    if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
        if (p[0] == 0xf0 && p[1] < 0x90) return 0;  /* overlong */
        if (p[0] == 0xf4 && p[1] >= 0x90) return 0; /* beyond U+10FFFF */
        return 4;
    }
    return 0;
}

static void quote(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *named = strchr("\a\b\f\n\r\t\v\"\\", *p);
        if (named != NULL) {
            fputc('\\', out);
            fputc("abfnrtv\"\\"[named - "\a\b\f\n\r\t\v\"\\"], out);
        } else if (*p >= 0x20 && *p < 0x7f) {
            fputc(*p, out);
        } else if (*p >= 0x80 && utf8_len(p) > 0) {
            size_t n = utf8_len(p);
            fwrite(p, 1, n, out);
            p += n - 1;
        } else {
            fprintf(out, "\\x%02x", *p);
        }
    }
    fputc('"', out);
}

static const char *const names[] = {"host",        "idle-timeout", "log",    "max-conns",
                                    "max-pending", "port",         "version"};

static int known(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return 1;
    return 0;
}

/* An int flag's value: NULL if fine, else Go's reason. */
static const char *int_value(const char *value, long long lo, long long hi, long long *v) {
    int rc = model_int(value, v);
    if (rc == -1) return "parse error";
    if (rc == -2 || *v < lo || *v > hi) return "value out of range";
    return NULL;
}

/* What config_parse must do with argv: the outcome, the config, and the
 * error line (without its '\n') written to line. */
static int model_parse(config *cfg, int argc, char *argv[], FILE *line) {
    int i = 1;
    while (i < argc) {
        const char *s = argv[i];
        if (strlen(s) < 2 || s[0] != '-') break;
        size_t minuses = s[1] == '-' ? 2 : 1;
        if (minuses == 2 && s[2] == '\0') {
            i++;
            break;
        }
        const char *name = s + minuses;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=') {
            fprintf(line, "bad flag syntax: %s", s);
            return CONFIG_ERROR;
        }
        i++;
        size_t len = strlen(name);
        const char *value = NULL;
        for (size_t k = 1; k < len; k++) /* '=' cannot be first */
            if (name[k] == '=') {
                value = name + k + 1;
                len = k;
                break;
            }
        char flag[64];
        if (!known(name, len)) {
            if ((len == 1 && name[0] == 'h') || (len == 4 && memcmp(name, "help", 4) == 0))
                return CONFIG_HELP;
            fprintf(line, "flag provided but not defined: -%.*s", (int)len, name);
            return CONFIG_ERROR;
        }
        snprintf(flag, sizeof(flag), "%.*s", (int)len, name);
        if (strcmp(flag, "version") == 0) {
            if (value == NULL) {
                cfg->version = 1;
            } else if (strlen(value) == 1 && strchr("1tT", value[0]) != NULL) {
                cfg->version = 1;
            } else if (strlen(value) == 1 && strchr("0fF", value[0]) != NULL) {
                cfg->version = 0;
            } else if (!strcmp(value, "true") || !strcmp(value, "TRUE") || !strcmp(value, "True")) {
                cfg->version = 1;
            } else if (!strcmp(value, "false") || !strcmp(value, "FALSE") ||
                       !strcmp(value, "False")) {
                cfg->version = 0;
            } else {
                fputs("invalid boolean value ", line);
                quote(line, value);
                fputs(" for -version: parse error", line);
                return CONFIG_ERROR;
            }
            continue;
        }
        if (value == NULL) {
            if (i == argc) {
                fprintf(line, "flag needs an argument: -%s", flag);
                return CONFIG_ERROR;
            }
            value = argv[i++];
        }
        const char *why = NULL;
        long long v = 0;
        if (strcmp(flag, "host") == 0) {
            cfg->host = value;
        } else if (strcmp(flag, "log") == 0) {
            cfg->log = value;
        } else if (strcmp(flag, "port") == 0) {
            if ((why = int_value(value, 0, 65535, &v)) == NULL) cfg->port = (int)v;
        } else if (strcmp(flag, "max-conns") == 0) {
            if ((why = int_value(value, 1, INT_MAX, &v)) == NULL) cfg->max_conns = (long)v;
        } else if (strcmp(flag, "max-pending") == 0) {
            if ((why = int_value(value, 1, 1L << 30, &v)) == NULL) cfg->max_pending = (long)v;
        } else { /* idle-timeout: any error of ParseDuration is Go's "parse error" */
            if (flag_parse_duration(value, &v) != 0)
                why = "parse error";
            else if (v < 0 || v > 1000LL * 3600 * 1000000000)
                why = "value out of range";
            else
                cfg->idle_ns = v;
        }
        if (why != NULL) {
            fputs("invalid value ", line);
            quote(line, value);
            fprintf(line, " for flag -%s: %s", flag, why);
            return CONFIG_ERROR;
        }
    }
    if (i < argc) {
        fputs("unexpected argument ", line);
        quote(line, argv[i]);
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

/* --- the target ----------------------------------------------------------------- */

/* A FILE that collects into a malloc'd string; read it with done(). */
typedef struct sink {
    FILE *f;
    char *text;
    size_t len;
} sink;

static void open_sink(sink *s) {
    s->text = NULL;
    s->len = 0;
    s->f = open_memstream(&s->text, &s->len);
    CHECK(s->f != NULL);
}

static void close_sink(sink *s) {
    CHECK(fclose(s->f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* argv from the input: NUL-separated, at most MAX_ARGS; one copy of the
     * bytes with a NUL at the end keeps every argument a C string. */
    char *bytes = malloc(size + 1);
    CHECK(bytes != NULL);
    memcpy(bytes, data, size);
    bytes[size] = '\0';
    char *argv[MAX_ARGS + 2] = {"parrot"};
    int argc = 1;
    if (size > 0)
        for (char *p = bytes; argc <= MAX_ARGS && p <= bytes + size; p += strlen(p) + 1)
            argv[argc++] = p;
    argv[argc] = NULL;

    for (int i = 1; i < argc; i++) {
        long long got = 7, want = 7;
        int rc = flag_parse_int(argv[i], &got), mrc = model_int(argv[i], &want);
        if (rc != mrc || (rc == 0 && got != want)) {
            fprintf(stderr, "fuzz_flags: parse_int(\"%s\") = %d, %lld; Go: %d, %lld\n", argv[i], rc,
                    got, mrc, want);
            abort();
        }
    }

    config cfg, want = {.host = "",
                        .port = 1512,
                        .log = "-",
                        .max_conns = DEFAULT_MAX_CONNS,
                        .max_pending = 65536};
    sink out, line, usage;
    open_sink(&out);
    open_sink(&line);
    open_sink(&usage);
    int rc = config_parse(&cfg, DEFAULT_MAX_CONNS, argc, argv, out.f);
    int mrc = model_parse(&want, argc, argv, line.f);
    config help;
    char *help_argv[] = {"parrot", "-h", NULL};
    CHECK(config_parse(&help, DEFAULT_MAX_CONNS, 2, help_argv, usage.f) == CONFIG_HELP);
    close_sink(&out);
    close_sink(&line);
    close_sink(&usage);

    if (rc != mrc) {
        fprintf(stderr, "fuzz_flags: config_parse returned %d, Go's rules say %d\n%s", rc, mrc,
                out.text);
        abort();
    }
    /* What main() makes of it: the only exit statuses before the server
     * starts are 0 (-h, -version) and 2. */
    CHECK(rc == CONFIG_OK || rc == CONFIG_HELP || rc == CONFIG_ERROR);
    if (rc == CONFIG_OK) {
        CHECK(out.len == 0);
        CHECK(strcmp(cfg.host, want.host) == 0 && strcmp(cfg.log, want.log) == 0);
        CHECK(cfg.port == want.port && cfg.max_conns == want.max_conns);
        CHECK(cfg.max_pending == want.max_pending && cfg.idle_ns == want.idle_ns);
        CHECK(cfg.version == want.version);
    } else if (rc == CONFIG_HELP) {
        CHECK(out.len == usage.len && memcmp(out.text, usage.text, usage.len) == 0);
    } else {
        /* Go's line, then the usage with the defaults. */
        int ok = out.len == line.len + 1 + usage.len &&
                 memcmp(out.text, line.text, line.len) == 0 && out.text[line.len] == '\n' &&
                 memcmp(out.text + line.len + 1, usage.text, usage.len) == 0;
        if (!ok) {
            fprintf(stderr, "fuzz_flags: wrote\n%s\nGo's rules say\n%s\n", out.text, line.text);
            abort();
        }
    }
    free(out.text);
    free(line.text);
    free(usage.text);
    free(bytes);
    return 0;
}
