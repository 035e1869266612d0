#!/usr/bin/env bash
# bench.sh - the Parrot benchmark: final/parrot against the peers, one command, one report.
#
# For every server (final/parrot -log off, final/parrot logging to a file, every peer that was
# built) and every concurrency level, start the server fresh, pin it to one CPU and
# parrot-bench to another, let parrot-bench ramp up, warm up and measure, then stop the server.
# parrot-bench samples the server's CPU and memory and the rest of the machine itself, over
# exactly its measured window (-pid). A cell where something else used more than NOISE cores
# is run once more. Then the idle test: server RSS with no connection and with IDLE idle ones.
# Raw results go to results/<date>/raw.tsv; report.sh turns them into the report.
#
#   bash tools/bench/bench.sh            full run (about 15 minutes), writes docs/benchmarks.md
#   QUICK=1 bash tools/bench/bench.sh    smoke run (about a minute), report stays in results/
#
# Settings (environment): REPS; DURATION, WARMUP and IDLE_HOLD in seconds, such as 8 or 1.5
# (parrot-bench gets them as Go durations: 8s); LEVELS ("50 1000 10000"); IDLE (connections);
# SERVERS (names, see below); NOISE (cores); SERVER_CPU and GEN_CPU; OUT (the report to write).
# Do not run it on a machine doing other work: the numbers would say more about that work than
# about the servers.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bench="$here/parrot-bench"

if [ -n "${QUICK:-}" ] && [ "${QUICK}" != 0 ]; then
    quick=1
    REPS=${REPS:-1}
    DURATION=${DURATION:-1.5}
    WARMUP=${WARMUP:-0.5}
    LEVELS=${LEVELS:-"50 1000"}
    IDLE=${IDLE:-1000}
    IDLE_HOLD=${IDLE_HOLD:-0.5}
    RERUN_NOISY=${RERUN_NOISY:-0}
else
    quick=0
    REPS=${REPS:-3}
    DURATION=${DURATION:-8}
    WARMUP=${WARMUP:-2}
    LEVELS=${LEVELS:-"50 1000 10000"}
    IDLE=${IDLE:-10000}
    IDLE_HOLD=${IDLE_HOLD:-1}
    RERUN_NOISY=${RERUN_NOISY:-1}
fi
NOISE=${NOISE:-0.10}
SERVERS=${SERVERS:-"parrot parrot-log threads go node libuv libevent"}

stamp=$(date -u +%Y%m%d-%H%M%S)
[ "$quick" = 1 ] && stamp="$stamp-quick"
results="$here/results/$stamp"
if [ -z "${OUT:-}" ]; then
    if [ "$quick" = 1 ]; then OUT="$results/benchmarks.md"; else OUT="$root/docs/benchmarks.md"; fi
fi
mkdir -p "$results" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parrot-bench.XXXXXX") || exit 1

spid=
cleanup() {
    if [ -n "$spid" ]; then kill -KILL "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

say() { printf '%s\n' "$*" | tee -a "$results/run.log" >&2; }

# --- servers ---------------------------------------------------------------------------------

# Sets cmd (an array) for server $1, or prints why it cannot run and returns 1.
server_cmd() {
    case "$1" in
    parrot | parrot-log)
        [ -x "$root/final/parrot" ] || { echo "final/parrot is not built (make final)"; return 1; }
        if [ "$1" = parrot ]; then
            cmd=("$root/final/parrot" -host 127.0.0.1 -port 0 -log off)
        else
            cmd=("$root/final/parrot" -host 127.0.0.1 -port 0 -log "$tmp/parrot.log")
        fi ;;
    threads)
        [ -x "$here/peers/echo-threads" ] || { echo "peers/echo-threads is not built (make -C tools/bench)"; return 1; }
        cmd=("$here/peers/echo-threads" 0) ;;
    go)
        [ -x "$here/peers/echo-go" ] || { echo "peers/echo-go is not built: no go toolchain (make bench-deps)"; return 1; }
        cmd=("$here/peers/echo-go" 0) ;;
    node)
        command -v node >/dev/null 2>&1 || { echo "node is not installed (make bench-deps)"; return 1; }
        cmd=(node "$here/peers/echo-node.js" 0) ;;
    libuv)
        [ -x "$here/peers/echo-uv" ] || { echo "peers/echo-uv is not built: libuv not found (make bench-deps)"; return 1; }
        cmd=("$here/peers/echo-uv" 0) ;;
    libevent)
        [ -x "$here/peers/echo-libevent" ] || { echo "peers/echo-libevent is not built: libevent not found (make bench-deps)"; return 1; }
        cmd=("$here/peers/echo-libevent" 0) ;;
    *)
        echo "unknown server (known: parrot parrot-log threads go node libuv libevent)"; return 1 ;;
    esac
}

# --- CPU pinning -----------------------------------------------------------------------------

pin_server=()
pin_gen=()
if [ "$(uname -s)" = Linux ] && command -v taskset >/dev/null 2>&1; then
    # The first two CPUs this process may use.
    cpus=$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status | tr ',' '\n' |
        awk -F- '{ hi = ($2 == "") ? $1 : $2; for (c = $1; c <= hi; c++) print c }' | head -2)
    # shellcheck disable=SC2086 # split the list into words on purpose
    set -- $cpus
    if [ $# -ge 2 ]; then
        SERVER_CPU=${SERVER_CPU:-$1}
        GEN_CPU=${GEN_CPU:-$2}
        pin_server=(taskset -c "$SERVER_CPU")
        pin_gen=(taskset -c "$GEN_CPU")
        pinning="server on CPU $SERVER_CPU, parrot-bench on CPU $GEN_CPU (taskset)"
    else
        pinning="not pinned: only one CPU available"
    fi
    set --
elif [ "$(uname -s)" = Linux ]; then
    pinning="not pinned: taskset not found (install util-linux)"
else
    pinning="not pinned: $(uname -s) has no taskset; server and parrot-bench share the CPUs"
fi

# --- one server's life -----------------------------------------------------------------------

# Start server $1 fresh; sets spid and sport. Returns 1 (and says why) if it does not come up.
start_server() {
    server_cmd "$1" >/dev/null || return 1
    rm -f "$tmp/parrot.log"
    : >"$tmp/server.err"
    # Every server gets the whole open-files limit, as parrot-bench does.
    # (${a[@]+"${a[@]}"}: an empty array under set -u, for bash 3.2 as macOS ships it.)
    (ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin_server[@]+"${pin_server[@]}"} "${cmd[@]}") \
        </dev/null >/dev/null 2>"$tmp/server.err" &
    spid=$!
    local i
    for ((i = 0; i < 200; i++)); do
        if grep -q 'listening on' "$tmp/server.err"; then
            sport=$(sed -n 's/.*listening on.* port \([0-9][0-9]*\).*/\1/p' "$tmp/server.err" | head -1)
            [ -n "$sport" ] && return 0
        fi
        if ! kill -0 "$spid" 2>/dev/null; then
            say "  $1 exited at start: $(head -1 "$tmp/server.err")"
            wait "$spid" 2>/dev/null; spid=
            return 1
        fi
        sleep 0.05
    done
    say "  $1 did not say 'listening on ... port N' within 10 s"
    stop_server
    return 1
}

stop_server() {
    [ -n "$spid" ] || return 0
    kill -TERM "$spid" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    spid=
    rm -f "$tmp/parrot.log"
}

# --- results ---------------------------------------------------------------------------------

fields="rps lat_p50_us lat_p90_us lat_p99_us lat_p999_us lat_max_us lat_mean_us server_cores"
fields="$fields server_us_per_req server_rss_kb server_hwm_kb server_rss0_kb gen_cores"
fields="$fields gen_us_per_req other_cores irq_cores errors up duration_s ramp_s"
printf 'server\tmode\tconns\trep\tstatus\tnoisy\t%s\n' "$(echo "$fields" | tr ' ' '\t')" \
    >"$results/raw.tsv"

# Print the fields of parrot-bench's JSON line $1 as tab-separated values ("-" when null).
json_fields() {
    printf '%s\n' "$1" | awk -v fields="$fields" '
        { n = split(fields, f, " ")
          for (i = 1; i <= n; i++) {
              v = "-"
              if (match($0, "\"" f[i] "\":[^,}]*")) {
                  v = substr($0, RSTART + length(f[i]) + 3, RLENGTH - length(f[i]) - 3)
                  if (v == "null") v = "-"
              }
              printf "%s%s", (i > 1 ? "\t" : ""), v
          } print "" }'
}

json_get() { # key line
    printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"
}

# Run one cell: server $1, mode $2 (load|idle), connections $3, repetition $4.
# Sets line (parrot-bench's JSON) and status.
run_once() {
    line=
    status=ok
    if ! start_server "$1"; then status=no-start; return; fi
    local args
    if [ "$2" = idle ]; then
        args=(-idle "$3" -d "${IDLE_HOLD}s")
    else
        args=(-c "$3" -w "${WARMUP}s" -d "${DURATION}s")
    fi
    ${pin_gen[@]+"${pin_gen[@]}"} "$bench" -port "$sport" -pid "$spid" -json "${args[@]}" \
        >"$tmp/bench.out" 2>"$tmp/bench.err"
    local rc=$?
    line=$(grep '^{' "$tmp/bench.out" | tail -1)
    if ! kill -0 "$spid" 2>/dev/null; then
        status='server-died'
        say "  $1 died during the run: $(tail -1 "$tmp/server.err")"
    elif [ -z "$line" ]; then
        status=failed
        say "  parrot-bench failed: $(grep -v 'idle connections open' "$tmp/bench.err" | tail -1)"
    elif [ "$rc" != 0 ]; then
        status=errors
        say "  parrot-bench saw errors: $(json_get errors "$line") (exit $rc)"
    fi
    stop_server
}

# Run a cell, and once more if the rest of the machine was busy; record it.
cell() {
    local server=$1 mode=$2 conns=$3 rep=$4 noisy=0
    run_once "$server" "$mode" "$conns"
    if [ "$status" = ok ] && [ "$mode" = load ]; then
        local other
        other=$(json_get other_cores "$line")
        if awk -v o="${other:-0}" -v t="$NOISE" 'BEGIN { exit !(o > t) }'; then
            noisy=1
            if [ "$RERUN_NOISY" = 1 ]; then
                say "  noisy ($other cores used by other processes): running the cell again"
                local first=$line
                run_once "$server" "$mode" "$conns"
                if [ "$status" = ok ]; then
                    other=$(json_get other_cores "$line")
                    awk -v o="${other:-0}" -v t="$NOISE" 'BEGIN { exit !(o > t) }' || noisy=0
                else
                    line=$first; status=ok
                fi
            fi
        fi
    fi
    local values
    if [ -n "$line" ]; then
        values=$(json_fields "$line")
        printf '%s\n' "$line" >>"$results/raw.jsonl"
    else
        values=$(echo "$fields" | awk '{ for (i = 1; i <= NF; i++) printf "%s-", (i > 1 ? "\t" : "") }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$mode" "$conns" "$rep" "$status" "$noisy" \
        "$values" >>"$results/raw.tsv"
    # One progress line from the row just written (columns as in the header).
    [ -n "$line" ] || return 0
    printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$mode" "$conns" "$rep" "$values" | awk -F'\t' \
        -v noisy="$noisy" -v names="$fields" '
        { n = split(names, f, " "); for (i = 1; i <= n; i++) v[f[i]] = $(i + 4) }
        $2 == "load" {
            printf "  %-10s %6s conns  rep %s: %9.0f req/s  p99 %8.2f ms  server %5.2f us/req %7.1f MB  gen %.2f cores  other %.2f%s\n",
                $1, $3, $4, v["rps"], v["lat_p99_us"] / 1000, v["server_us_per_req"],
                v["server_rss_kb"] / 1024, v["gen_cores"], v["other_cores"], noisy == 1 ? "  NOISY" : ""
        }
        $2 == "idle" {
            printf "  %-10s %6s idle   rep %s: RSS %.1f MB with none, %.1f MB with %s\n",
                $1, $3, $4, v["server_rss0_kb"] / 1024, v["server_rss_kb"] / 1024, $3
        }' | tee -a "$results/run.log" >&2
}

# --- the run ---------------------------------------------------------------------------------

if [ ! -x "$bench" ]; then
    echo "bench: $bench is not built (make -C tools/bench)" >&2
    exit 1
fi

runnable=()
: >"$results/skipped.txt"
for s in $SERVERS; do
    if why=$(server_cmd "$s"); then
        runnable+=("$s")
    else
        say "skip $s: $why"
        printf '%s\t%s\n' "$s" "$why" >>"$results/skipped.txt"
    fi
done
if [ ${#runnable[@]} -eq 0 ]; then
    say "bench: no server to measure"
    exit 1
fi

nlevels=$(echo "$LEVELS" | wc -w)
ncells=$((${#runnable[@]} * (nlevels + 1) * REPS))
say "bench: ${runnable[*]}; levels $LEVELS; idle $IDLE; $REPS repetition(s); ${WARMUP}s warm-up + ${DURATION}s measured per cell ($ncells cells)"
say "bench: $pinning"
say "bench: raw results in $results"
[ "$quick" = 1 ] && say "bench: QUICK run: a smoke test of the tooling, not a measurement"

# What the report says about the machine and the run.
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
    [ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string hw.model 2>/dev/null | head -1)
    echo "cpu: ${cpu:-unknown}"
    echo "cpus: $(getconf _NPROCESSORS_ONLN 2>/dev/null)"
    echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
    echo "kernel: $(uname -srm)"
    # shellcheck disable=SC1091
    echo "os: $( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)"
    echo "cc: $(${CC:-cc} --version 2>/dev/null | head -1)"
    echo "gcc: $(gcc --version 2>/dev/null | head -1)"
    echo "clang: $(clang --version 2>/dev/null | head -1)"
    echo "go: $(go version 2>/dev/null)"
    echo "node: $(node --version 2>/dev/null)"
    echo "libuv: $(pkg-config --modversion libuv 2>/dev/null)"
    echo "libevent: $(pkg-config --modversion libevent 2>/dev/null)"
    echo "parrot: $("$root/final/parrot" -version 2>&1 | head -1)"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "pinning: $pinning"
    echo "command: ${BENCH_COMMAND:-$([ "$quick" = 1 ] && echo 'QUICK=1 ')bash tools/bench/bench.sh}"
    echo "quick: $quick"
    echo "reps: $REPS"
    echo "duration: $DURATION"
    echo "warmup: $WARMUP"
    echo "levels: $LEVELS"
    echo "idle: $IDLE"
    echo "noise: $NOISE"
    echo "rerun: $RERUN_NOISY"
    echo "servers: ${runnable[*]}"
} >"$results/machine.txt"

start=$(date +%s)
for level in $LEVELS; do
    for ((rep = 1; rep <= REPS; rep++)); do
        # Servers take turns within a repetition, so slow drift on the machine spreads
        # over all of them instead of landing on one.
        for s in "${runnable[@]}"; do
            cell "$s" load "$level" "$rep"
        done
    done
done
for ((rep = 1; rep <= REPS; rep++)); do
    for s in "${runnable[@]}"; do
        cell "$s" idle "$IDLE" "$rep"
    done
done
say "bench: measured in $(($(date +%s) - start)) s"

bash "$here/report.sh" "$results" "$OUT"
