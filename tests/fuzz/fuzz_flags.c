/*
 * fuzz_flags.c - the command line, as final/src/flag.c reads it: parrot's
 * own (config_parse, final/src/config.c's table), and the same arguments
 * read by a second table the way parrot's tools use flag.c (a uint, an int
 * and a duration with no range, a one-letter bool, arguments left over:
 * tests/support/tool_flags.c, which tests/final/test_flag.c reads too).
 *
 * Input: the arguments after argv[0], separated by NUL bytes.
 *
 * What must hold, against a model of Go's flag package written here from
 * Go's documents (the values: go_model.c), not from flag.c:
 *   - the outcome: run, -h (main() exits 0) or a mistake (exit 2);
 *   - on a run: every value as the model computed it, nothing printed, and
 *     for the tool table the index of the first argument left;
 *   - on -h: the usage, exactly as -h alone prints it;
 *   - on a mistake: exactly Go's error line, then that same usage (so the
 *     defaults, never values parsed so far).
 * Every argument is also given alone to flag_parse_int, _uint, _bool,
 * _duration and flag_quote, against go_model.c.
 *
 * The model works in three steps, where flag.c has one loop:
 *   1. read_steps: the arguments become steps (a flag and the text of its
 *      value, -h, a mistake of syntax), stopping where Go stops;
 *   2. apply_steps: each value text becomes a value, in order; the first
 *      that fails is the outcome;
 *   3. what is left: parrot refuses it, the tool table leaves it.
 *
 * Where each rule comes from:
 *   [flag]     the flag package's documentation, "Command line flag syntax":
 *              "-flag", "-flag=x", "-flag x  // non-boolean flags only";
 *              "One or two minus signs may be used; they are equivalent";
 *              a bool flag is turned off only by "-flag=false"; "Flag parsing
 *              stops just before the first non-flag argument ("-" is a
 *              non-flag argument) or after the terminator "--""; "Integer
 *              flags accept 1234, 0664, 0x1234 and may be negative"; boolean
 *              and duration values as strconv.ParseBool and
 *              time.ParseDuration read them (go_model.c).
 *   [ErrHelp]  its documentation: "the error returned if the -help or -h
 *              flag is invoked but no such flag is defined"; flag.Parse
 *              then exits 0, for any other error 2 (ExitOnError).
 *   [flag.go]  Go's source, src/flag/flag.go, for what the documentation
 *              does not spell out: the error lines word for word (parseOne,
 *              failf: the line, a newline, then the usage); an argument of
 *              three minuses or "-=x" is "bad flag syntax" (Var refuses a
 *              name that begins with "-" or contains "="); the name ends at
 *              the first "="; a value's error is "parse error" for
 *              ErrSyntax, "value out of range" for ErrRange, and
 *              "parse error" for any error of ParseDuration.
 *   [parrot]   parrot's own rules (config.c): an argument left after the
 *              flags is refused with `unexpected argument "x"`; the ranges
 *              of its flags (-port 0..65535, -max-conns 1..INT_MAX,
 *              -max-pending 1..2^30, -idle-timeout 0..1000h) and their
 *              defaults; out of range is "value out of range".
 *
 * Go's documents fix a duration only to within a nanosecond per fraction
 * (go_model.h); inside that window the model takes the parser's value, after
 * checking that it lies in the window.
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../final/src/config.h"
#include "../../final/src/flag.h"
#include "../support/cmdline.h"
#include "../support/tool_flags.h"
#include "go_model.h"

#define MAX_ARGS          64
#define DEFAULT_MAX_CONNS 1000
#define SECOND_NS         1000000000LL

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) fail("check failed at line %d: %s", __LINE__, #cond);                         \
    } while (0)

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz_flags: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* --- the model's tables ---------------------------------------------------------- */

typedef enum { M_BOOL, M_INT, M_UINT, M_STRING, M_DURATION } m_kind;

typedef struct m_flag {
    const char *name;
    m_kind kind;
    go_i128 min, max;     /* the values accepted (a bool: 0..1, a string: unused) */
    go_i128 def;          /* the default, but for a string */
    const char *def_text; /* a string's default */
} m_flag;

/* A flag's value: a number (a bool is 0 or 1, a duration ns) or a text. */
typedef struct m_value {
    go_i128 num;
    const char *text;
} m_value;

/* [parrot] config.c's flags, sorted by name as Go sorts them. */
static const m_flag parrot_flags[] = {
    {"host", M_STRING, 0, 0, 0, ""},
    {"idle-timeout", M_DURATION, 0, 1000 * 3600 * SECOND_NS, 0, NULL},
    {"log", M_STRING, 0, 0, 0, "-"},
    {"max-conns", M_INT, 1, INT_MAX, DEFAULT_MAX_CONNS, NULL},
    {"max-pending", M_INT, 1, 1 << 30, 65536, NULL},
    {"port", M_INT, 0, 65535, 1512, NULL},
    {"version", M_BOOL, 0, 1, 0, NULL},
};
#define PARROT_FLAGS (sizeof(parrot_flags) / sizeof(parrot_flags[0]))

/* The tool's table (tests/support/tool_flags.c): every value the type can
 * hold, as Go's own flags take. */
static const m_flag tool_model[] = {
    {"count", M_UINT, 0, UINT64_MAX, 0, NULL},
    {"n", M_INT, INT64_MIN, INT64_MAX, -1, NULL},
    {"name", M_STRING, 0, 0, 0, "a \"bird\""},
    {"v", M_BOOL, 0, 1, 0, NULL},
    {"wait", M_DURATION, INT64_MIN, INT64_MAX, 90 * SECOND_NS, NULL},
};
#define TOOL_FLAGS (sizeof(tool_model) / sizeof(tool_model[0]))

/* --- step 1: read the arguments ----------------------------------------------------- */

typedef enum { S_SET, S_HELP, S_BAD_SYNTAX, S_UNDEFINED, S_NEEDS_VALUE } s_kind;

typedef struct step {
    s_kind kind;
    const char *arg;    /* the argument itself */
    const m_flag *flag; /* S_SET, S_NEEDS_VALUE */
    const char *name;   /* S_UNDEFINED: the name as given, */
    size_t name_len;    /* which ends at the first "=" */
    const char *value;  /* S_SET: the value's text, or NULL for a bool alone */
} step;

static const m_flag *lookup(const m_flag *table, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

/* Fills steps (room for argc) and returns how many; *rest is the index of
 * the first argument not read. Reading stops at a step Go stops at. */
static int read_steps(const m_flag *table, size_t n, int argc, char **argv, step *steps,
                      int *rest) {
    int count = 0, i = 1;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) { /* [flag] stops after the terminator */
            i++;
            break;
        }
        if (arg[0] != '-' || strcmp(arg, "-") == 0) break; /* [flag] a non-flag argument */
        step *s = &steps[count++];
        memset(s, 0, sizeof(*s));
        s->arg = arg;
        i++;
        const char *body = arg + (arg[1] == '-' ? 2 : 1); /* [flag] one or two minus signs */
        if (body[0] == '-' || body[0] == '=') {           /* [flag.go] */
            s->kind = S_BAD_SYNTAX;
            break;
        }
        size_t len = strcspn(body, "="); /* [flag] -flag=x; [flag.go] the first "=" */
        const m_flag *f = lookup(table, n, body, len);
        const char *value = body[len] == '=' ? body + len + 1 : NULL;
        if (f == NULL) {
            int help = (len == 1 && body[0] == 'h') || (len == 4 && strncmp(body, "help", 4) == 0);
            s->kind = help ? S_HELP : S_UNDEFINED; /* [ErrHelp] */
            s->name = body;
            s->name_len = len;
            break;
        }
        s->flag = f;
        if (value == NULL && f->kind != M_BOOL) { /* [flag] -flag x, whatever x looks like */
            if (i == argc) {
                s->kind = S_NEEDS_VALUE;
                break;
            }
            value = argv[i++];
        }
        s->kind = S_SET;
        s->value = value;
    }
    *rest = i;
    return count;
}

/* --- step 2: apply them -------------------------------------------------------------- */

enum { M_RUN, M_HELP, M_MISTAKE };

static int same_error(int flag_rc, int go_rc) {
    return (flag_rc == 0 && go_rc == GO_OK) || (flag_rc == FLAG_SYNTAX && go_rc == GO_SYNTAX) ||
           (flag_rc == FLAG_RANGE && go_rc == GO_RANGE);
}

/* One value text: NULL and *v, or the reason in Go's words. */
static const char *convert(const m_flag *f, const char *text, m_value *v) {
    int b;
    long long ns;
    go_i128 x = 0;
    switch (f->kind) {
    case M_STRING:
        v->text = text;
        return NULL;
    case M_BOOL: /* a bool alone means true: [flag] */
        if (text != NULL && go_parse_bool(text, &b) != GO_OK) return "parse error";
        v->num = text == NULL ? 1 : b;
        return NULL;
    case M_INT:
    case M_UINT: {
        int rc = go_parse_int(text, f->kind == M_INT, &x);
        if (rc == GO_SYNTAX) return "parse error";
        if (rc == GO_RANGE) return "value out of range";
        break;
    }
    case M_DURATION: {
        /* The parser's value, where Go's documents allow it (see the top). */
        int rc = flag_parse_duration(text, &ns);
        go_duration d = go_parse_duration(text);
        if (!go_duration_allows(&d, rc, ns))
            fail("duration \"%s\": flag_parse_duration says %d, %lld; not Go's", text, rc, ns);
        if (rc != 0) return "parse error"; /* [flag.go] */
        x = ns;
        break;
    }
    }
    if (x < f->min || x > f->max) return "value out of range"; /* [parrot] */
    v->num = x;
    return NULL;
}

/* Returns M_RUN, M_HELP or M_MISTAKE, with the error line (no newline) in line. */
static int apply_steps(const step *steps, int count, const m_flag *table, m_value *values,
                       FILE *line) {
    for (int i = 0; i < count; i++) {
        const step *s = &steps[i];
        const char *why;
        switch (s->kind) {
        case S_HELP:
            return M_HELP;
        case S_BAD_SYNTAX:
            fprintf(line, "bad flag syntax: %s", s->arg);
            return M_MISTAKE;
        case S_UNDEFINED:
            fprintf(line, "flag provided but not defined: -%.*s", (int)s->name_len, s->name);
            return M_MISTAKE;
        case S_NEEDS_VALUE:
            fprintf(line, "flag needs an argument: -%s", s->flag->name);
            return M_MISTAKE;
        case S_SET:
            why = convert(s->flag, s->value, &values[s->flag - table]);
            if (why == NULL) break;
            if (s->flag->kind == M_BOOL) {
                fputs("invalid boolean value ", line);
                go_quote(line, s->value);
                fprintf(line, " for -%s: %s", s->flag->name, why);
            } else {
                fputs("invalid value ", line);
                go_quote(line, s->value);
                fprintf(line, " for flag -%s: %s", s->flag->name, why);
            }
            return M_MISTAKE;
        }
    }
    return M_RUN;
}

/* Steps 1 and 2 with the table's defaults: the outcome, values and *rest. */
static int model(const m_flag *table, size_t n, int argc, char **argv, m_value *values, int *rest,
                 FILE *line) {
    step steps[MAX_ARGS + 1];
    for (size_t i = 0; i < n; i++) {
        values[i].num = table[i].def;
        values[i].text = table[i].def_text;
    }
    int count = read_steps(table, n, argc, argv, steps, rest);
    return apply_steps(steps, count, table, values, line);
}

/* --- checking what flag.c did ---------------------------------------------------------- */

/* What was printed for the outcome want: nothing, the usage, or the line
 * and the usage. Closes out and line. */
static void check_output(const char *who, int want, sink *out, sink *line, sink *usage) {
    const char *o = sink_text(out), *l = sink_text(line), *u = sink_text(usage);
    int ok;
    if (want == M_RUN)
        ok = out->len == 0;
    else if (want == M_HELP)
        ok = out->len == usage->len && memcmp(o, u, usage->len) == 0;
    else
        ok = out->len == line->len + 1 + usage->len && memcmp(o, l, line->len) == 0 &&
             o[line->len] == '\n' && memcmp(o + line->len + 1, u, usage->len) == 0;
    if (!ok) fail("%s wrote\n%s\nGo's rules say\n%s", who, o, l);
}

/* What -h prints: the same for every input, so read once. */
static sink *parrot_usage(void) {
    static sink *usage;
    if (usage == NULL) {
        config cfg;
        char *help_argv[] = {"parrot", "-h", NULL};
        usage = sink_open();
        CHECK(config_parse(&cfg, DEFAULT_MAX_CONNS, 2, help_argv, usage->f) == CONFIG_HELP);
        sink_text(usage);
    }
    return usage;
}

static void check_parrot(int argc, char **argv) {
    config cfg;
    m_value want[PARROT_FLAGS];
    sink *out = sink_open(), *line = sink_open();
    int rc = config_parse(&cfg, DEFAULT_MAX_CONNS, argc, argv, out->f);
    int rest, m = model(parrot_flags, PARROT_FLAGS, argc, argv, want, &rest, line->f);
    if (m == M_RUN && rest < argc) { /* [parrot] */
        fputs("unexpected argument ", line->f);
        go_quote(line->f, argv[rest]);
        m = M_MISTAKE;
    }

    int expected = m == M_RUN ? CONFIG_OK : m == M_HELP ? CONFIG_HELP : CONFIG_ERROR;
    if (rc != expected)
        fail("config_parse returned %d, Go's rules say %d\n%s", rc, expected, sink_text(out));
    check_output("config_parse", m, out, line, parrot_usage());
    if (m == M_RUN) { /* in parrot_flags' order */
        CHECK(strcmp(cfg.host, want[0].text) == 0);
        CHECK(cfg.idle_ns == want[1].num);
        CHECK(strcmp(cfg.log, want[2].text) == 0);
        CHECK(cfg.max_conns == want[3].num && cfg.max_pending == want[4].num);
        CHECK(cfg.port == want[5].num && cfg.version == want[6].num);
    }
    sink_free(out);
    sink_free(line);
}

static sink *tool_usage(void) {
    static sink *usage;
    if (usage == NULL) {
        usage = sink_open();
        flag_set fs = tool_flags(usage->f);
        flag_usage(&fs, usage->f);
        sink_text(usage);
    }
    return usage;
}

static void check_tool(int argc, char **argv) {
    m_value want[TOOL_FLAGS];
    sink *out = sink_open(), *line = sink_open();
    flag_set fs = tool_flags(out->f);
    int rest = -1, want_rest;
    int rc = flag_parse(&fs, argc, argv, &rest);
    int m = model(tool_model, TOOL_FLAGS, argc, argv, want, &want_rest, line->f);

    int expected = m == M_RUN ? FLAG_OK : m == M_HELP ? FLAG_HELP : FLAG_ERROR;
    if (rc != expected)
        fail("flag_parse returned %d, Go's rules say %d\n%s", rc, expected, sink_text(out));
    check_output("flag_parse", m, out, line, tool_usage());
    if (m == M_RUN) { /* in tool_model's order */
        if (rest != want_rest) fail("flag_parse left %d, Go's rules say %d", rest, want_rest);
        CHECK(tool.count == want[0].num && tool.n == want[1].num);
        CHECK(strcmp(tool.name, want[2].text) == 0);
        CHECK(tool.v == want[3].num && tool.wait == want[4].num);
    }
    sink_free(out);
    sink_free(line);
}

/* One argument, given to each value parser alone, and quoted by flag_quote
 * into got and by the model into quoted. */
static void check_values(const char *s, FILE *got, FILE *quoted) {
    long long i = 0, ns = 0;
    uint64_t u = 0;
    int b = 0, go_b = 0, rc, go_rc;
    go_i128 want = 0;

    rc = flag_parse_int(s, &i);
    go_rc = go_parse_int(s, 1, &want);
    if (!same_error(rc, go_rc) || (rc == 0 && i != want))
        fail("flag_parse_int(\"%s\") = %d, %lld; Go: %d, %lld", s, rc, i, go_rc, (long long)want);
    rc = flag_parse_uint(s, &u);
    go_rc = go_parse_int(s, 0, &want);
    if (!same_error(rc, go_rc) || (rc == 0 && u != want))
        fail("flag_parse_uint(\"%s\") = %d, %llu; Go: %d, %llu", s, rc, (unsigned long long)u,
             go_rc, (unsigned long long)want);
    rc = flag_parse_bool(s, &b);
    go_rc = go_parse_bool(s, &go_b);
    if (!same_error(rc, go_rc) || (rc == 0 && b != go_b))
        fail("flag_parse_bool(\"%s\") = %d, %d; Go: %d, %d", s, rc, b, go_rc, go_b);
    go_duration d = go_parse_duration(s);
    rc = flag_parse_duration(s, &ns);
    if (!go_duration_allows(&d, rc, ns))
        fail("flag_parse_duration(\"%s\") = %d, %lld; not Go's", s, rc, ns);
    flag_quote(got, s);
    go_quote(quoted, s);
    fputc('\n', got);
    fputc('\n', quoted);
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

    sink *got = sink_open(), *quoted = sink_open();
    for (int i = 1; i < argc; i++)
        check_values(argv[i], got->f, quoted->f);
    const char *g = sink_text(got), *q = sink_text(quoted);
    if (got->len != quoted->len || memcmp(g, q, got->len) != 0)
        fail("flag_quote wrote, a line each:\n%sGo's %%q:\n%s", g, q);
    sink_free(got);
    sink_free(quoted);
    check_parrot(argc, argv);
    check_tool(argc, argv);
    free(bytes);
    return 0;
}
