#!/bin/sh
# The server-like workloads (bench/port/server.c, issue 12) on 1, 2 and 4
# threads, each run under glibc, holeheap, jemalloc and mimalloc in turn, for
# ROUNDS rounds (3 by default): within a round the four runs are back to back,
# so the machine's drift hits them alike. Each cell is the median over the
# rounds of wall seconds / max RSS MiB; each ratio is the median of the
# rounds' own ratios to glibc (time, RSS).
#   usage: server.sh /abs/libholeheap-malloc.so BUILD_PORT_DIR [WORKLOAD...]
set -u
LIB=$1
DIR=$2
shift 2
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1 2 4}
WORKLOADS=${*:-larson prodcons threads large realloc}
TMP=$(mktemp -d /tmp/hh-server.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

. "$(cd "$(dirname "$0")" && pwd)/allocators.sh"

# one PRELOAD WORKLOAD T: appends "wall rss_kib" (or "n/a") to the allocator's file
one() {
    out=$("$DIR/bench-timer" 1 "$1" - "$DIR/bench-server" "$2" "$3" 2>/dev/null) || out="n/a"
    echo "$out" | awk '{ if (NF == 3) print $1, $3; else print "n/a" }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)] }'; }
# cell FILE: "wall / MiB" medians
cell() {
    w=$(awk '$1 != "n/a" { print $1 }' "$1" | median)
    r=$(awk '$1 != "n/a" { print $2 / 1024 }' "$1" | median)
    [ "$w" = "n/a" ] && { echo "n/a"; return; }
    printf '%.3f / %.1f' "$w" "$r"
}
# ratios FILE GLIBC_FILE: "time, rss" medians of the per-round ratios
ratios() {
    t=$(paste -d' ' "$1" "$2" | awk '$1 != "n/a" && $3 != "n/a" && $3 > 0 { print $1 / $3 }' | median)
    r=$(paste -d' ' "$1" "$2" | awk '$1 != "n/a" && $3 != "n/a" && $4 > 0 { print $2 / $4 }' | median)
    [ "$t" = "n/a" ] && { echo "n/a"; return; }
    printf '%.2f, %.2f' "$t" "$r"
}

echo "Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs (so 4 threads share 2 cores); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Each cell: median over $ROUNDS rounds of wall seconds / max RSS MiB; ratios: median of each round's ratio to glibc (time, RSS)."
echo "prodcons T: T/2 producer/consumer pairs (T = 1: one thread produces and consumes in turn)."
echo
echo "| workload | T | glibc | holeheap | holeheap / glibc | jemalloc | jemalloc / glibc | mimalloc | mimalloc / glibc |"
echo "|---|---|---|---|---|---|---|---|---|"
for w in $WORKLOADS; do
    for t in $THREADS; do
        : >"$TMP/g"; : >"$TMP/h"; : >"$TMP/j"; : >"$TMP/m"
        i=0
        while [ "$i" -lt "$ROUNDS" ]; do
            one - "$w" "$t" >>"$TMP/g"
            one "$LIB" "$w" "$t" >>"$TMP/h"
            if [ -n "$JE" ]; then one "$JE" "$w" "$t" >>"$TMP/j"; else echo "n/a" >>"$TMP/j"; fi
            if [ -n "$MI" ]; then one "$MI" "$w" "$t" >>"$TMP/m"; else echo "n/a" >>"$TMP/m"; fi
            i=$((i + 1))
        done
        echo "| $w | $t | $(cell "$TMP/g") | $(cell "$TMP/h") | $(ratios "$TMP/h" "$TMP/g") |" \
             "$(cell "$TMP/j") | $(ratios "$TMP/j" "$TMP/g") | $(cell "$TMP/m") | $(ratios "$TMP/m" "$TMP/g") |"
    done
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
