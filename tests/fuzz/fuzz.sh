#!/bin/sh
# fuzz.sh SECONDS TARGET... - run each libFuzzer target for SECONDS, starting
# from its seed corpus, and print one line per target:
#
#   fuzz_clf        60 s   1234567 runs   20576/s  cov 231  ft 890  corpus 12+77  ok
#
# runs and /s are libFuzzer's executions; cov is the code edges reached, ft
# the finer features libFuzzer tracks; corpus is seeds + inputs it found
# (kept in work/TARGET/, not committed). SECONDS=0 only replays the seeds.
# A crash, a failed check or a hang (10 s on one input) stops that target:
# its log and the input (artifacts/) are printed, the other targets still
# run, and the exit status is 1.
set -u
seconds=$1
shift
cd "$(dirname "$0")" || exit 1
mkdir -p work artifacts
failed=0
for t in "$@"; do
    name=${t#fuzz_}
    case $name in
    clf) opts="-max_len=1100" ;;
    buffer) opts="-max_len=600" ;;
    *) opts="-max_len=256 -dict=$name.dict" ;;
    esac
    rm -rf "work/$t"
    mkdir -p "work/$t"
    log=work/$t.log
    start=$(date +%s)
    if [ "$seconds" -gt 0 ]; then
        # New inputs go to the first directory; the seeds stay as committed.
        # shellcheck disable=SC2086
        ./"$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 $opts \
            -artifact_prefix="artifacts/$t-" "work/$t" "corpus/$name" >"$log" 2>&1
    else
        ./"$t" -runs=0 -timeout=10 "corpus/$name" >"$log" 2>&1
    fi
    rc=$?
    took=$(($(date +%s) - start))
    seeds=$(find "corpus/$name" -type f | wc -l)
    found=$(find "work/$t" -type f | wc -l)
    awk -v t="$t" -v s="$took" -v rc="$rc" -v seeds="$seeds" -v found="$found" '
        /cov: / { for (i = 1; i < NF; i++) { if ($i == "cov:") cov = $(i + 1); if ($i == "ft:") ft = $(i + 1) } }
        /^stat::number_of_executed_units:/ { runs = $2 }
        /^stat::average_exec_per_sec:/ { rate = $2 }
        /^Done [0-9]+ runs/ { runs = $2 }
        END {
            printf "%-14s %4d s %10s runs %8s/s  cov %-4s ft %-5s corpus %d+%d  %s\n", t, s,
                   runs == "" ? "?" : runs, rate == "" ? "-" : rate, cov == "" ? "-" : cov,
                   ft == "" ? "-" : ft, seeds, found, rc == 0 ? "ok" : "FAILED"
        }' "$log"
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "---- $log (last 40 lines)"
        tail -n 40 "$log"
        for f in artifacts/"$t"-*; do [ -e "$f" ] && echo "input: tests/fuzz/$f"; done
    fi
done
exit $failed
