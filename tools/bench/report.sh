#!/usr/bin/env bash
# report.sh - write the benchmark report from bench.sh's raw results.
#
#   bash tools/bench/report.sh RESULTS_DIR [OUT]
#
# OUT (default docs/benchmarks.md) keeps its hand-written text: only the part between the
# BEGIN GENERATED and END GENERATED markers is replaced. A new OUT starts from a copy of
# docs/benchmarks.md. The charts go to the directory named like OUT without .md
# (docs/benchmarks/*.svg), drawn by gnuplot; their script is kept in RESULTS_DIR/charts.gp.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ $# -lt 1 ] || [ ! -f "$1/raw.tsv" ]; then
    echo "usage: report.sh RESULTS_DIR [OUT]  (RESULTS_DIR holds raw.tsv from bench.sh)" >&2
    exit 2
fi
results=$(cd "$1" && pwd)
out=${2:-$root/docs/benchmarks.md}
chartdir=${out%.md}
chartrel=$(basename "$chartdir")
begin='<!-- BEGIN GENERATED'
end='<!-- END GENERATED -->'

mkdir -p "$chartdir" || exit 1
if command -v gnuplot >/dev/null 2>&1; then
    charts=1
else
    charts="gnuplot is not installed (make bench-deps)."
fi

touch "$results/skipped.txt"
awk -f "$here/report.awk" -v machine="$results/machine.txt" -v skipped="$results/skipped.txt" \
    -v gp="$results/charts.gp" -v svgdir="$chartdir" -v chartrel="$chartrel" \
    -v charts_ok="$charts" "$results/raw.tsv" >"$results/generated.md" || exit 1

if [ "$charts" = 1 ] && ! gnuplot "$results/charts.gp" 2>"$results/gnuplot.err"; then
    echo "report: gnuplot failed; see $results/gnuplot.err" >&2
    head -5 "$results/gnuplot.err" >&2
    exit 1
fi

template=$out
[ -f "$template" ] || template=$root/docs/benchmarks.md
if [ -f "$template" ] && grep -q "^$begin" "$template"; then
    awk -v gen="$results/generated.md" -v begin="$begin" -v end="$end" '
        index($0, begin) == 1 { print; while ((getline l < gen) > 0) print l; skip = 1; next }
        index($0, end) == 1 { skip = 0 }
        !skip' "$template" >"$out.tmp" && mv "$out.tmp" "$out"
else
    {
        echo "# Parrot benchmarks"
        echo
        echo "## Results"
        echo
        echo "$begin: tools/bench/report.sh writes everything down to END GENERATED -->"
        cat "$results/generated.md"
        echo "$end"
    } >"$out"
fi
echo "report: $out" >&2
