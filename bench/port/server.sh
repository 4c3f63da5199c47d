#!/bin/sh
# The server-like workloads (bench/port/server.c, issue 12) on 1, 2 and 4
# threads, each run under glibc, holeheap, jemalloc and mimalloc in turn, for
# ROUNDS rounds (3 by default): within a round the four runs are back to back,
# so the machine's drift hits them alike. Each cell is the median over the
# rounds of wall seconds / CPU seconds / max RSS MiB; each ratio is the median
# of the rounds' own ratios to glibc (wall, CPU, RSS).
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

# one PRELOAD WORKLOAD T: prints "wall cpu rss_kib" (or "n/a"), for the allocator's file
one() {
    out=$("$DIR/bench-timer" 1 "$1" - "$DIR/bench-server" "$2" "$3" 2>/dev/null) || out="n/a"
    echo "$out" | awk '{ if (NF == 3) print $1, $2, $3; else print "n/a" }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)] }'; }
# column FILE I [SCALE]: the median of column I over the rounds
column() { awk -v i="$2" -v s="${3:-1}" '$1 != "n/a" { print $i / s }' "$1" | median; }
# cell FILE: "wall / cpu / MiB" medians
cell() {
    [ "$(column "$1" 1)" = "n/a" ] && { echo "n/a"; return; }
    printf '%.3f / %.3f / %.1f' "$(column "$1" 1)" "$(column "$1" 2)" "$(column "$1" 3 1024)"
}
# ratio FILE GLIBC_FILE I: the median of the rounds' ratios of column I
ratio() {
    paste -d' ' "$1" "$2" | awk -v i="$3" '$1 != "n/a" && $4 != "n/a" && $(i + 3) > 0 { print $i / $(i + 3) }' | median
}
# ratios FILE GLIBC_FILE: "wall, cpu, rss"
ratios() {
    [ "$(ratio "$1" "$2" 1)" = "n/a" ] && { echo "n/a"; return; }
    printf '%.2f, %.2f, %.2f' "$(ratio "$1" "$2" 1)" "$(ratio "$1" "$2" 2)" "$(ratio "$1" "$2" 3)"
}

echo "Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs (so 4 threads share 2 cores); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Each cell: median over $ROUNDS rounds of wall seconds / CPU seconds / max RSS MiB; ratios: median of each round's ratio to glibc (wall, CPU, RSS)."
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
