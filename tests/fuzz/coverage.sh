#!/bin/sh
# coverage.sh - which lines and branches of final/src the fuzz inputs reach.
#
# Rebuilds each target with llvm-cov instrumentation (no sanitizers), replays
# its seeds and whatever the last `make fuzz` found (work/TARGET/), and prints
# for each function of final/src the targets call, the lines that ran.
# The I/O around them (log.c, net.c) is not fuzzed: the integration tests
# cover it.
set -eu
cd "$(dirname "$0")"
CC=${FUZZ_CC:-clang}
PROFDATA=${LLVM_PROFDATA:-llvm-profdata}
COV=${LLVM_COV:-llvm-cov}
SRC=../../final/src
OUT=work/cov
rm -rf "$OUT"
mkdir -p "$OUT"

build() {
    name=$1
    shift
    "$CC" -std=c11 -O1 -g -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
        -o "$OUT/fuzz_$name" "fuzz_$name.c" "$@"
    mkdir -p "work/fuzz_$name"
    LLVM_PROFILE_FILE="$OUT/$name.profraw" "./$OUT/fuzz_$name" -runs=0 \
        "corpus/$name" "work/fuzz_$name" >"$OUT/$name.log" 2>&1
}
build clf $SRC/clf.c
build flags go_model.c ../support/cmdline.c ../support/tool_flags.c $SRC/config.c $SRC/flag.c
build duration go_model.c $SRC/flag.c
build buffer $SRC/buffer.c

"$PROFDATA" merge -o "$OUT/all.profdata" "$OUT"/*.profraw
# Per function of final/src that a target calls: lines run / lines. The
# inline functions of buffer.h are compiled into fuzz_buffer.c too. A static
# function is named FILE.c:NAME, so the harnesses' own (go_model.c's, the
# targets') are left out by the file name.
"$COV" show -instr-profile="$OUT/all.profdata" "$OUT/fuzz_clf" -object "$OUT/fuzz_flags" \
    -object "$OUT/fuzz_duration" -object "$OUT/fuzz_buffer" \
    -name-regex='^((flag|config|clf|buffer)\.c:)?(clf_.*|put_decimal|build_escapes|buffer_.*|config_.*|flag_.*|set_value|find|is_zero|print_usage_text|failv|fail_quoted|underscore_ok|leading_int|leading_fraction|unit_ns|lower|utf8_len)$|^fuzz_buffer\.c:buffer_(head|len|commit)$' |
    awk '/^[^ ].*:$/ { name = $0; sub(/:$/, "", name); sub(/^[a-z_]+\.c:/, "", name); next }
         /^ *[0-9]+\| *[0-9.]+[kMG]?\|/ {
             # A line counts as run if any copy of the function ran it
             # (header inlines appear once per file that uses them).
             split($0, f, "|"); gsub(/ /, "", f[1]); gsub(/ /, "", f[2])
             if (!((name, f[1]) in seen)) { seen[name, f[1]] = 1; total[name]++ }
             if (f[2] != "0" && !((name, f[1]) in hit)) { hit[name, f[1]] = 1; run[name]++ } }
         END { for (n in total) { printf "  %-16s %3d/%-3d lines\n", n, run[n], total[n]
                                  all += total[n]; ran += run[n] }
               printf "  %-16s %3d/%-3d lines (%.1f%%)\n", "(all)", ran, all, 100 * ran / all }' |
    sort -k1,1
