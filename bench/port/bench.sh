#!/bin/sh
# The malloc port side by side with glibc, jemalloc and mimalloc: every
# workload run with each allocator preloaded, median wall time of RUNS runs
# and the largest max RSS. Times and RSS are also shown relative to glibc.
#   usage: bench.sh /abs/libholeheap-malloc.so BUILD_PORT_DIR   (RUNS=5 by default)
set -u
LIB=$1
DIR=$2
RUNS=${RUNS:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=$HERE/../../tests/port
TMP=$(mktemp -d /tmp/hh-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C PYTHONHASHSEED=0

. "$HERE/allocators.sh"

# Inputs for the real programs.
awk 'BEGIN { s = 12345; for (i = 0; i < 600000; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; printf "%010d line %d\n", s, i } }' >"$TMP/lines"

W=$DIR/bench-workloads
workloads="small|$W small
small2 (2 threads)|$W small2
prodcons (2 threads)|$W prodcons
prodcons-mid (2 threads)|$W prodcons-mid
realloc|$W realloc
churn|$W churn"
# the interpreter itself, not a wrapper script (pyenv shims run bash first)
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -n "$PY" ] && workloads="$workloads
python3|$PY $TESTS/workload.py"
command -v perl >/dev/null && workloads="$workloads
perl|perl $TESTS/workload.pl"
command -v sqlite3 >/dev/null && workloads="$workloads
sqlite3|<$TESTS/workload.sql sqlite3 :memory:"
workloads="$workloads
sort (15 MB)|sort -S 8M $TMP/lines"
command -v gcc >/dev/null && workloads="$workloads
gcc -O2 -c (400 lines)|gcc -O2 -c $TESTS/unit.c -o $TMP/unit.o"

# measure PRELOAD COMMAND: prints "seconds rss_kib" or "n/a"
measure() {
    preload=$1; shift
    input=-
    case "$1" in "<"*) input=${1#<}; shift ;; esac
    # shellcheck disable=SC2086
    "$DIR/bench-timer" "$RUNS" "$preload" "$input" $* 2>/dev/null | grep -v failed || echo "n/a"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else printf "-" }'; }
# "wall cpu rss_kib" -> "wall / cpu / rss MiB"
show() { echo "$1" | awk '{ if ($1 == "n/a" || $1 == "failed") print "n/a"; else printf "%.3f / %.3f / %.1f", $1, $2, $3 / 1024 }'; }
field() { echo "$1" | awk -v i="$2" '{ print $i }'; }

echo "Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Each cell: median wall seconds / median CPU seconds (user+sys) of $RUNS runs / largest max RSS in MiB."
echo "holeheap vs glibc: the ratios of wall, CPU and RSS."
echo
echo "| workload | glibc | holeheap | holeheap / glibc (wall, cpu, rss) | jemalloc | mimalloc |"
echo "|---|---|---|---|---|---|"
echo "$workloads" | while IFS='|' read -r name cmd; do
    g=$(measure - $cmd)
    h=$(measure "$LIB" $cmd)
    j=$([ -n "$JE" ] && measure "$JE" $cmd || echo "n/a")
    m=$([ -n "$MI" ] && measure "$MI" $cmd || echo "n/a")
    r="$(ratio "$(field "$h" 1)" "$(field "$g" 1)"), $(ratio "$(field "$h" 2)" "$(field "$g" 2)"), $(ratio "$(field "$h" 3)" "$(field "$g" 3)")"
    echo "| $name | $(show "$g") | $(show "$h") | $r | $(show "$j") | $(show "$m") |"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
