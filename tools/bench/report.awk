# report.awk - turn bench.sh's raw.tsv into the generated part of docs/benchmarks.md.
#
# Input: raw.tsv (one row per cell and repetition). Variables: machine (machine.txt),
# skipped (skipped.txt), chartrel (how the report links the charts), gp (gnuplot script to
# write), svgdir (where gnuplot writes the SVGs). POSIX awk (mawk, BSD awk, gawk).
#
# Every figure is a median over the repetitions that completed, shown with its min-max range
# when there is more than one. Nothing is invented: a figure that was not measured says so.

BEGIN {
    FS = "\t"
    order = "parrot parrot-log threads go node libuv libevent"
    nserv = split(order, serv, " ")
    name["parrot"] = "parrot (-log off)"
    name["parrot-log"] = "parrot (-log file)"
    name["threads"] = "C threads"
    name["go"] = "Go net"
    name["node"] = "Node.js net"
    name["libuv"] = "libuv"
    name["libevent"] = "libevent"
    while ((getline l < machine) > 0) {
        i = index(l, ": ")
        if (i) m[substr(l, 1, i - 1)] = substr(l, i + 2)
    }
    while ((getline l < skipped) > 0) {
        split(l, p, "\t")
        skip[p[1]] = p[2]
    }
}

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }

{
    s = $col["server"]; mode = $col["mode"]; c = $col["conns"]
    seen[s] = 1
    if (mode == "load") levels[c] = 1
    else idle_conns = c
    k = s SUBSEP mode SUBSEP c
    runs[k]++
    if ($col["noisy"] == 1) { noisy[k]++; any_noisy = 1 }
    if ($col["status"] != "ok") { failed[k]++; why[k] = $col["status"]; next }
    okruns[k]++
    for (f in col) {
        v = $col[f]
        if (v == "-" || v == "") continue
        n = ++cnt[k, f]
        val[k, f, n] = v + 0
    }
}

# --- statistics ----------------------------------------------------------------------------

function sorted(k, f,    n, i, j, t) {
    n = cnt[k, f]
    for (i = 1; i <= n; i++) tmp[i] = val[k, f, i]
    for (i = 2; i <= n; i++) {
        t = tmp[i]
        for (j = i - 1; j >= 1 && tmp[j] > t; j--) tmp[j + 1] = tmp[j]
        tmp[j + 1] = t
    }
    return n
}
function has(s, mode, c, f) { return cnt[s SUBSEP mode SUBSEP c, f] > 0 }
function med(s, mode, c, f,    k, n) {
    k = s SUBSEP mode SUBSEP c
    n = sorted(k, f)
    if (n == 0) return ""
    return (n % 2) ? tmp[(n + 1) / 2] : (tmp[n / 2] + tmp[n / 2 + 1]) / 2
}
function lo(s, mode, c, f,    n) { n = sorted(s SUBSEP mode SUBSEP c, f); return n ? tmp[1] : "" }
function hi(s, mode, c, f,    n) { n = sorted(s SUBSEP mode SUBSEP c, f); return n ? tmp[n] : "" }

# --- formatting ----------------------------------------------------------------------------

function commas(x,    s, neg, out) {
    x = sprintf("%.0f", x)
    neg = (substr(x, 1, 1) == "-")
    if (neg) x = substr(x, 2)
    out = ""
    while (length(x) > 3) {
        out = "," substr(x, length(x) - 2) out
        x = substr(x, 1, length(x) - 3)
    }
    return (neg ? "-" : "") x out
}
# Numbers with about three significant digits.
function num(x) {
    if (x == "") return "n/a"
    if (x >= 100000) return commas(x)
    if (x >= 100) return sprintf("%.0f", x)
    if (x >= 10) return sprintf("%.1f", x)
    if (x >= 1) return sprintf("%.2f", x)
    return sprintf("%.3f", x)
}
# kind: rps, ms (from us), us, cores, mb (from kB), bytes
function show(kind, x) {
    if (x == "") return "n/a"
    if (kind == "rps") return commas(x)
    if (kind == "ms") return num(x / 1000)
    if (kind == "mb") return num(x / 1024)
    if (kind == "cores") return sprintf("%.2f", x)
    if (kind == "bytes") return commas(x)
    return num(x)
}
function cell(s, mode, c, f, kind,    a, b, z) {
    if (!has(s, mode, c, f)) return "n/a"
    z = show(kind, med(s, mode, c, f))
    a = lo(s, mode, c, f); b = hi(s, mode, c, f)
    if (cnt[s SUBSEP mode SUBSEP c, f] > 1 && show(kind, a) != show(kind, b))
        z = z " <sub>" show(kind, a) "–" show(kind, b) "</sub>"
    return z
}
function ratio(x) { return sprintf("%.2f×", x) }
function lvl(c) { return commas(c) }

# --- sections ------------------------------------------------------------------------------

function header(   s, list, names, n, i, j) {
    if (m["quick"] == 1) {
        print "> **QUICK run: a smoke test of the tooling, not a measurement.** One short"
        print "> repetition per cell; do not quote these numbers."
        print ""
    }
    printf "Measured on %s. Machine: %s, %s CPUs, %s; %s; %s.\n", m["date"], m["cpu"], \
        m["cpus"], m["memory"], m["kernel"], m["os"]
    printf "Pinning: %s. Each cell starts the server fresh, opens the connections (64 at a " \
        "time, each proving itself with one round trip), warms up for %s s and measures for " \
        "%s s; %s repetition%s per cell, shown as the median with the range (min–max) " \
        "below it. Messages are 12 bytes (`Hello Parrot`), one in flight per connection.\n", \
        m["pinning"], m["warmup"], m["duration"], m["reps"], (m["reps"] == 1 ? "" : "s")
    print ""
    printf "Command: `%s` (commit %s).  \n", m["command"], m["commit"]
    printf "Compilers and runtimes: %s; %s; %s; Node.js %s; libuv %s; libevent %s.  \n", \
        m["gcc"], m["clang"], m["go"], m["node"], m["libuv"], m["libevent"]
    printf "Server under test: `%s`.\n", m["parrot"]
    # In name order: "for (s in skip)" visits keys in an order each awk chooses for itself.
    n = 0
    for (s in skip) names[++n] = s
    for (i = 2; i <= n; i++) { s = names[i]; for (j = i - 1; j >= 1 && names[j] > s; j--) names[j + 1] = names[j]; names[j + 1] = s }
    list = ""
    for (i = 1; i <= n; i++) list = list (list == "" ? "" : "; ") names[i] ": " skip[names[i]]
    if (list != "") printf "\nNot measured: %s.\n", list
    print ""
}

# One row of the targets table: figure "" where this run did not measure it; ok 1 (met), 0
# (missed) or "" (not judged).
function target_row(what, figure, ok) {
    if (figure == "") figure = "not measured in this run"
    # The ternary in parentheses: BWK awk (macOS's /usr/bin/awk) does not parse it bare in printf.
    printf "| %s | %s | %s |\n", what, figure, (ok == "" ? "not measured" : ok ? "**met**" : "**missed**")
}

# " ‡" when a cell the figure comes from was noisy.
function nz(s1, s2, c) {
    return (noisy[s1 SUBSEP "load" SUBSEP c] || (s2 != "" && noisy[s2 SUBSEP "load" SUBSEP c])) ? " ‡" : ""
}

# A row per load level: server a's CPU per request at most bound times server b's. fmt shows
# a's, b's, the ratio and the noise mark.
function cpu_rows(what, a, b, bound, fmt,    i, c, x, y, have) {
    for (i = 1; i <= 3; i++) {
        c = L[i]
        x = med(a, "load", c, "server_us_per_req")
        y = med(b, "load", c, "server_us_per_req")
        have = x != "" && y != ""
        target_row(what ", " lvl(c) " connections", \
            have ? sprintf(fmt, num(x), num(y), ratio(x / y), nz(a, b, c)) : "", \
            have ? (x <= bound * y) : "")
    }
}

function targets(   i, c, p, best, bestname, bestkey, j, v, r, pp, have) {
    print "### Targets"
    print ""
    print "From issue 5, for `final/parrot -log off` against the peers of the same run (medians)."
    print ""
    print "| target | figure | result |"
    print "|---|---|---|"
    split("50 1000 10000", L, " ")
    cpu_rows("server CPU per request ≤ 0.70× Go net's", "parrot", "go", 0.70, "parrot %s µs, Go %s µs: %s%s")
    for (i = 1; i <= 3; i++) {
        c = L[i]
        p = med("parrot", "load", c, "server_us_per_req")
        best = ""; bestname = ""
        split("threads libuv libevent", C, " ")
        for (j = 1; j <= 3; j++) {
            v = med(C[j], "load", c, "server_us_per_req")
            if (v != "" && (best == "" || v < best)) { best = v; bestname = name[C[j]]; bestkey = C[j] }
        }
        have = p != "" && best != ""
        target_row("server CPU per request ≤ the best C peer's, " lvl(c) " connections", \
            have ? sprintf("parrot %s µs, best C peer %s %s µs%s", num(p), bestname, num(best), nz("parrot", bestkey, c)) : "", \
            have ? (p <= best) : "")
    }
    v = med("parrot", "load", 10000, "server_hwm_kb")
    r = med("parrot", "load", 10000, "server_rss_kb")
    target_row("RSS with 10,000 active clients ≤ 2 MB (judged on the peak)", \
        v != "" ? sprintf("%s MB at the end, %s MB peak%s", num(r / 1024), num(v / 1024), nz("parrot", "", 10000)) : "", \
        v != "" ? (v <= 2048) : "")
    v = perconn("parrot")
    target_row("userspace memory per idle connection ≤ 64 bytes", \
        v != "" ? sprintf("%s bytes (RSS with %s idle connections minus RSS with none, ÷ %s)", num(v), lvl(idle_conns), lvl(idle_conns)) : "", \
        v != "" && idle_conns >= 10000 ? (v <= 64) : "")
    p = med("parrot", "load", 10000, "lat_p99_us")
    pp = med("parrot", "load", 10000, "lat_p50_us")
    have = p != "" && pp > 0
    target_row("fairness at 10,000 connections: p99 ÷ p50 ≤ 1.3", \
        have ? sprintf("p99 %s ms ÷ p50 %s ms = %.2f%s", num(p / 1000), num(pp / 1000), p / pp, nz("parrot", "", 10000)) : "", \
        have ? (p / pp <= 1.3) : "")
    cpu_rows("logging every message to a file: ≤ 1.20× the CPU per request of -log off", \
        "parrot-log", "parrot", 1.20, "%s µs vs %s µs: %s%s")
    if (idle_conns != "" && idle_conns < 10000)
        print "\nThe idle test ran with " lvl(idle_conns) " connections, not 10,000: its target is not judged."
    if (any_noisy)
        print "\n‡ from a cell where other processes used more than " m["noise"] " cores: treat with care."
    print ""
}

function perconn(s,    a, b) {
    a = med(s, "idle", idle_conns, "server_rss_kb")
    b = med(s, "idle", idle_conns, "server_rss0_kb")
    if (a == "" || b == "") return ""
    return (a - b) * 1024 / idle_conns
}

function empty_cells(n,    z) {
    z = ""
    while (n-- > 0) z = z " |"
    return z
}

function level_tables(   i, c, j, s, k, mark, dagger, ddagger, g) {
    for (i = 1; i <= nlv; i++) {
        c = lv[i]
        printf "### %s connections\n\n", lvl(c)
        print "| server | req/s | p50 ms | p99 ms | p99.9 ms | server CPU, cores | server CPU µs/request | RSS MB (end) | RSS MB (peak) | parrot-bench CPU, cores | other CPU, cores |"
        print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
        dagger = ddagger = 0
        for (j = 1; j <= nserv; j++) {
            s = serv[j]
            if (!seen[s]) continue
            k = s SUBSEP "load" SUBSEP c
            if (!okruns[k]) {
                printf "| %s | failed (%s) |%s\n", name[s], why[k], empty_cells(9)
                continue
            }
            mark = ""
            g = med(s, "load", c, "gen_cores")
            if (g != "" && g >= 0.95) { mark = mark " †"; dagger = 1 }
            if (noisy[k]) { mark = mark " ‡"; ddagger = 1 }
            if (failed[k]) { mark = mark " (" failed[k] " of " runs[k] " runs failed: " why[k] ")" }
            printf "| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name[s], mark,
                cell(s, "load", c, "rps", "rps"), cell(s, "load", c, "lat_p50_us", "ms"),
                cell(s, "load", c, "lat_p99_us", "ms"), cell(s, "load", c, "lat_p999_us", "ms"),
                cell(s, "load", c, "server_cores", "cores"), cell(s, "load", c, "server_us_per_req", "us"),
                cell(s, "load", c, "server_rss_kb", "mb"), cell(s, "load", c, "server_hwm_kb", "mb"),
                cell(s, "load", c, "gen_cores", "cores"), cell(s, "load", c, "other_cores", "cores")
        }
        if (dagger)
            print "\n† parrot-bench used a whole core: the load generator, not the server, set the pace."
        if (ddagger)
            print "\n‡ other processes used more than " m["noise"] " cores during the cell" (m["rerun"] == 1 ? ", even after a rerun." : " (this run did not rerun noisy cells).")
        print ""
    }
}

function ratios(   i, j, s, c, line, a, b) {
    if (!seen["parrot"]) return
    print "### Ratios: parrot (-log off) ÷ each server"
    print ""
    print "Below 1 means parrot uses less (CPU, memory) or, for throughput, serves less; ratios measured in one run travel between machines better than absolute numbers."
    print ""
    line = "| server |"
    for (i = 1; i <= nlv; i++) line = line " CPU/request, " lvl(lv[i]) " |"
    for (i = 1; i <= nlv; i++) line = line " RSS, " lvl(lv[i]) " |"
    for (i = 1; i <= nlv; i++) line = line " req/s, " lvl(lv[i]) " |"
    print line
    line = "|---|"
    for (i = 1; i <= 3 * nlv; i++) line = line "--:|"
    print line
    for (j = 1; j <= nserv; j++) {
        s = serv[j]
        if (s == "parrot" || !seen[s]) continue
        line = "| " name[s] " |"
        for (i = 1; i <= nlv; i++) line = line " " rcell(s, lv[i], "server_us_per_req") " |"
        for (i = 1; i <= nlv; i++) line = line " " rcell(s, lv[i], "server_rss_kb") " |"
        for (i = 1; i <= nlv; i++) line = line " " rcell(s, lv[i], "rps") " |"
        print line
    }
    print ""
}
function rcell(s, c, f,    a, b) {
    a = med("parrot", "load", c, f); b = med(s, "load", c, f)
    if (a == "" || b == "" || b == 0) return "n/a"
    return ratio(a / b)
}

function idle_table(   j, s, v) {
    if (idle_conns == "") return
    printf "### Idle connections\n\n"
    printf "Server RSS before any connection and with %s connections open and idle (each made one round trip first, so the server has accepted it).\n\n", lvl(idle_conns)
    printf "| server | RSS MB, no connection | RSS MB, %s idle | bytes per idle connection |\n", lvl(idle_conns)
    print "|---|--:|--:|--:|"
    for (j = 1; j <= nserv; j++) {
        s = serv[j]
        if (!seen[s]) continue
        if (!okruns[s SUBSEP "idle" SUBSEP idle_conns]) {
            printf "| %s | failed |%s\n", name[s], empty_cells(2)
            continue
        }
        v = perconn(s)
        printf "| %s | %s | %s | %s |\n", name[s], cell(s, "idle", idle_conns, "server_rss0_kb", "mb"),
            cell(s, "idle", idle_conns, "server_rss_kb", "mb"), (v == "" ? "n/a" : commas(v))
    }
    print ""
}

function charts() {
    print "### Charts"
    print ""
    if (charts_ok != 1) {
        print "Not drawn: " charts_ok
        print ""
        return
    }
    print "![Server CPU per request by concurrency](" chartrel "/cpu-per-request.svg)"
    print ""
    print "![Server RSS by number of active connections](" chartrel "/rss.svg)"
    print ""
    print "![p99 latency by concurrency](" chartrel "/p99.svg)"
    print ""
}

function original(   c, p, g, a, b, d) {
    print "### Against the original's published figures"
    print ""
    print "The original's figures come from its own machine and load generator; only the ratios are comparable."
    print ""
    c = 10000
    print "| at 10,000 connections | original Parrot (published) | its Go server (published) | parrot, this run | Go net, this run |"
    print "|---|--:|--:|--:|--:|"
    printf "| throughput, req/s | 246,000 (one core) | 113,000 | %s | %s |\n", show("rps", med("parrot", "load", c, "rps")), show("rps", med("go", "load", c, "rps"))
    printf "| RSS, MB | 22 | 223 | %s | %s |\n", show("mb", med("parrot", "load", c, "server_rss_kb")), show("mb", med("go", "load", c, "server_rss_kb"))
    printf "| p99 latency, ms | 45 | 571 | %s | %s |\n", show("ms", med("parrot", "load", c, "lat_p99_us")), show("ms", med("go", "load", c, "lat_p99_us"))
    p = med("parrot", "load", c, "rps"); g = med("go", "load", c, "rps")
    a = (p != "" && g != "" && g > 0) ? ratio(p / g) : "n/a"
    p = med("parrot", "load", c, "server_rss_kb"); g = med("go", "load", c, "server_rss_kb")
    b = (p != "" && g != "" && g > 0) ? ratio(p / g) : "n/a"
    p = med("parrot", "load", c, "lat_p99_us"); g = med("go", "load", c, "lat_p99_us")
    d = (p != "" && g != "" && g > 0) ? ratio(p / g) : "n/a"
    printf "| parrot ÷ Go: throughput, RSS, p99 | %s, %s, %s | | %s, %s, %s | |\n", ratio(246 / 113), ratio(22 / 223), ratio(45 / 571), a, b, d
    print ""
}

# Gnuplot: one SVG per chart, each server a line with min-max error bars.
function chart(file, title, ylabel, f, scale, logy,    j, s, i, c, any) {
    print "set output '" svgdir "/" file "'" > gp
    print "set title '" title "'" > gp
    print "set ylabel '" ylabel "'" > gp
    print (logy ? "set logscale y; set yrange [*:*]" : "unset logscale y; set yrange [0:*]") > gp
    any = 0
    for (j = 1; j <= nserv; j++) {
        s = serv[j]
        if (!seen[s]) continue
        print "$d_" j " << EOD" > gp
        for (i = 1; i <= nlv; i++) {
            c = lv[i]
            if (has(s, "load", c, f))
                printf "%d %g %g %g\n", c, med(s, "load", c, f) / scale, lo(s, "load", c, f) / scale, hi(s, "load", c, f) / scale > gp
        }
        print "EOD" > gp
    }
    printf "plot " > gp
    for (j = 1; j <= nserv; j++) {
        s = serv[j]
        if (!seen[s]) continue
        printf "%s$d_%d using 1:2:3:4 with yerrorlines lw %d pt 7 title '%s'", (any ? ", \\\n     " : ""), j, (s == "parrot" ? 4 : 2), name[s] > gp
        any = 1
    }
    print "" > gp
}

END {
    # The concurrency levels, in order.
    n = 0
    for (c in levels) lv[++n] = c + 0
    for (i = 2; i <= n; i++) { c = lv[i]; for (j = i - 1; j >= 1 && lv[j] > c; j--) lv[j + 1] = lv[j]; lv[j + 1] = c }
    nlv = n
    if (gp != "") {
        print "set encoding utf8" > gp
        print "set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'" > gp
        print "set logscale x" > gp
        printf "set xtics (" > gp
        for (i = 1; i <= nlv; i++) printf "%s'%s' %d", (i > 1 ? ", " : ""), lvl(lv[i]), lv[i] > gp
        print ")" > gp
        print "set xrange [" lv[1] * 0.6 ":" lv[nlv] * 1.6 "]" > gp
        print "set xlabel 'connections'" > gp
        print "set grid" > gp
        print "set key outside right top" > gp
        chart("cpu-per-request.svg", "Server CPU per request (lower is better)", "µs of server CPU per request", "server_us_per_req", 1, 0)
        chart("rss.svg", "Server memory with active connections (lower is better)", "RSS, MB (log scale)", "server_rss_kb", 1024, 1)
        chart("p99.svg", "p99 latency, closed loop (lower is better)", "p99, ms (log scale)", "lat_p99_us", 1000, 1)
        close(gp)
    }
    header()
    targets()
    level_tables()
    ratios()
    idle_table()
    charts()
    original()
}
