/*
 * tool_flags.c - see tool_flags.h.
 */
#include "tool_flags.h"

struct tool_values tool;

/* Sorted by name, as flag.h asks. */
static flag table[] = {
    {"count", FLAG_UINT, &tool.count, "0", 0, 0, "how many `times` to try"},
    {"n", FLAG_INT, &tool.n, "-1", 0, 0, "a number"},
    {"name", FLAG_STRING, &tool.name, "a \"bird\"", 0, 0, "what to call it"},
    {"v", FLAG_BOOL, &tool.v, "false", 0, 0, "say more"},
    {"wait", FLAG_DURATION, &tool.wait, "1m30s", 0, 0, "how long to wait,\nat most"},
};

flag_set tool_flags(FILE *out) {
    flag_set fs = {.program = "tool",
                   .flags = table,
                   .count = sizeof(table) / sizeof(table[0]),
                   .about = "Reads its flags as a Go program would.\n",
                   .out = out};
    return fs;
}
