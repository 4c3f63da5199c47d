#!/bin/sh
# What HOLEHEAP_CHECK=N costs real programs: each program on glibc, on
# holeheap without checks, and on holeheap under each N of CHECK_SETTINGS,
# median wall and CPU seconds of RUNS runs, and each as a ratio to glibc (the
# program's normal time). A run that fails or takes more than CHECK_TIMEOUT
# seconds shows as "> T s".
#   usage: check.sh /abs/libholeheap-malloc.so BUILD_PORT_DIR
#   RUNS=3  CHECK_SETTINGS="1000"  CHECK_TIMEOUT=120
#   CHECK_HEAVY=1  adds python3 with PYTHONMALLOC=malloc and a 100,000-row sqlite3
set -u
LIB=$1
DIR=$2
RUNS=${RUNS:-3}
SETTINGS=${CHECK_SETTINGS:-1000}
TIMEOUT=${CHECK_TIMEOUT:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d /tmp/hh-bench-check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C PYTHONHASHSEED=0

# python3: a list of 30,000 records as JSON (about 4 MB), dumped and loaded 3 times
cat >"$TMP/jsonwork.py" <<'EOF'
import json, random
random.seed(1)
data = [{"id": i, "name": "item%d" % i, "tags": ["t%d" % (i % 7), "u%d" % (i % 13)],
         "score": random.random(), "nested": {"a": i, "b": [i, i + 1, i + 2]}} for i in range(30000)]
total = 0
for r in range(3):
    text = json.dumps(data)
    back = json.loads(text)
    total += len(text) + len(back)
print(total)
EOF
# sqlite3: 5000 inserts in one transaction, an index, two queries
awk -v q="'" 'BEGIN { s = 12345; print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);"
    print "BEGIN;"
    for (i = 0; i < 5000; i++) { s = (s * 1103515245 + 12345) % 2147483648
        printf "INSERT INTO t(name, v) VALUES(%sn%x%s, %d.%d);\n", q, s, q, s % 1000, i % 10 }
    print "COMMIT;"
    print "CREATE INDEX tn ON t(name);"
    print "SELECT count(*), sum(length(name)), avg(v) FROM t WHERE name LIKE " q "n1%" q ";"
    print "SELECT substr(name, 1, 3), count(*) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 3;" }' >"$TMP/inserts.sql"

# the interpreter itself, not a wrapper script (pyenv shims run bash first)
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
programs=""
add() { programs="$programs$1
"; }
[ -n "$PY" ] && add "python3 JSON (4 MB, dumps and loads x3)|$PY $TMP/jsonwork.py"
command -v sqlite3 >/dev/null && add "sqlite3 (5000 inserts, an index, 2 queries)|<$TMP/inserts.sql sqlite3 :memory:"
if command -v git >/dev/null && git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    add "git log -p (this repository, $(git -C "$REPO" rev-list --count HEAD) commits)|git -C $REPO log -p"
fi
if [ "${CHECK_HEAVY:-0}" = 1 ]; then
    [ -n "$PY" ] && add "python3 JSON, PYTHONMALLOC=malloc|env PYTHONMALLOC=malloc $PY $TMP/jsonwork.py"
    command -v sqlite3 >/dev/null && add "sqlite3 tests/port/workload.sql (100,000 rows)|<$REPO/tests/port/workload.sql sqlite3 :memory:"
fi

# measure PRELOAD CHECK COMMAND: prints "wall cpu" (medians) or "failed"
measure() {
    preload=$1 check=$2; shift 2
    input=-
    case "$1" in "<"*) input=${1#<}; shift ;; esac
    # shellcheck disable=SC2086
    HOLEHEAP_CHECK=$check "$DIR/bench-timer" "$RUNS" "$preload" "$input" timeout "$TIMEOUT" $* 2>/dev/null |
        awk '$1 == "failed" { print "failed"; next } { print $1, $2 }' | grep . || echo failed
}
# cell RESULT BASE: "wall / cpu (wall ratio x, cpu ratio x)"
cell() {
    echo "$1 $2" | awk -v t="$TIMEOUT" '$1 == "failed" { printf "> %s s", t; exit }
        { printf "%.2f / %.2f", $1, $2; if ($3 > 0) printf " (%.1fx, %.1fx)", $1 / $3, $2 / $4 }'
}

echo "holeheap HOLEHEAP_CHECK cost: $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Programs: $([ -n "$PY" ] && $PY --version 2>&1) ($PY), sqlite3 $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), $(git --version 2>/dev/null)."
echo "Each cell: median wall seconds / median CPU seconds of $RUNS runs, and (in brackets) both as ratios to glibc."
echo
header="| program | glibc | holeheap, no check |"
rule="|---|---|---|"
for n in $SETTINGS; do header="$header HOLEHEAP_CHECK=$n |"; rule="$rule---|"; done
echo "$header"
echo "$rule"
echo "$programs" | while IFS='|' read -r name cmd; do
    [ -n "$name" ] || continue
    base=$(measure - 0 $cmd)
    row="| $name | $(cell "$base" "0 0") | $(cell "$(measure "$LIB" 0 $cmd)" "$base") |"
    for n in $SETTINGS; do
        row="$row $(cell "$(measure "$LIB" "$n" $cmd)" "$base") |"
    done
    echo "$row"
done
