#!/bin/sh
# Real programs on holeheap, by LD_PRELOAD. Each prints PASS, FAIL or SKIP
# (with the reason); the script fails if any failed. Every run also sets
# HOLEHEAP_STATS=1 and requires the holeheap stats line on stderr, which proves
# the program really ran on holeheap.
#   usage: programs.sh /abs/libholeheap-malloc.so /abs/hh-replay
set -u
LIB=$1
REPLAY=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/hh-programs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
failed=0

pass() { echo "PASS: $1"; }
skip() { echo "SKIP: $1"; }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

# on_holeheap NAME CMD...: run with the library preloaded, stderr to $TMP/NAME.err
on_holeheap() {
    name=$1; shift
    HOLEHEAP_STATS=1 LD_PRELOAD=$LIB "$@" 2>"$TMP/$name.err"
}
ran_on_holeheap() { grep -q '^holeheap: stats: ' "$TMP/$1.err"; }
checksum() { sha256sum | cut -c1-64; }

test_python() {
    have python3 || { skip "python3: not installed"; return; }
    want="100000 5cb038ad13145c93a695907f426b9292595670aa2e8d3833dac19f3ab3b0c3ff"
    got=$(PYTHONHASHSEED=0 on_holeheap python python3 "$HERE/workload.py")
    if [ "$got" = "$want" ] && ran_on_holeheap python; then pass "python3 workload checksum"
    else fail "python3: got '$got', want '$want'"; head -3 "$TMP/python.err"; fi
}

test_sort() {
    have sort && have awk || { skip "sort: sort or awk not installed"; return; }
    awk 'BEGIN { s = 12345; for (i = 0; i < 400000; i++) {
        s = (s * 1103515245 + 12345) % 2147483648; printf "%010d line %d %s\n", s, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + s % 26) } }' \
        >"$TMP/lines"
    want=$(sort "$TMP/lines" | checksum)
    # sort closes stderr before it exits, so the stats line cannot show: its
    # trace, replayed, proves it ran on holeheap (and that traces replay).
    got=$(HOLEHEAP_TRACE="$TMP/sort.trace" LD_PRELOAD=$LIB sort -S 4M "$TMP/lines" | checksum)
    size=$(wc -c <"$TMP/lines")
    replay=$("$REPLAY" "$TMP/sort.trace" | head -1)
    if [ "$got" = "$want" ] && echo "$replay" | grep -q '^replayed [1-9][0-9]* calls, 0 errors$'; then
        pass "sort of $size bytes matches plain sort; its trace: $replay"
    else fail "sort: checksum $got, plain sort $want; trace: $replay"; fi
}

test_gcc() {
    have gcc || { skip "gcc: not installed"; return; }
    cat >"$TMP/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; long value; char name[24]; };
static int by_value(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}
int main(void)
{
    struct node *list = NULL;
    for (long i = 0; i < 100000; i++) {
        struct node *n = malloc(sizeof *n);
        n->value = (i * 7919) % 100003;
        snprintf(n->name, sizeof n->name, "n%ld", i);
        n->next = list;
        list = n;
    }
    long *values = malloc(100000 * sizeof *values), k = 0, sum = 0;
    while (list != NULL) {
        struct node *next = list->next;
        values[k++] = list->value + (long)strlen(list->name);
        free(list);
        list = next;
    }
    qsort(values, (size_t)k, sizeof *values, by_value);
    for (long i = 0; i < k; i += 1000)
        sum += values[i] * (i / 1000 + 1);
    free(values);
    printf("sum %ld\n", sum);
    return 0;
}
EOF
    gcc -O2 "$TMP/prog.c" -o "$TMP/prog.ref" || { fail "gcc: plain compile failed"; return; }
    want=$("$TMP/prog.ref")
    if ! on_holeheap gcc gcc -O2 -Wall "$TMP/prog.c" -o "$TMP/prog" || ! ran_on_holeheap gcc; then
        fail "gcc: compile on holeheap failed"; head -3 "$TMP/gcc.err"; return
    fi
    got=$(on_holeheap prog "$TMP/prog")
    if [ "$got" = "$want" ] && ran_on_holeheap prog; then pass "gcc compiled a program that prints '$got'"
    else fail "gcc: program printed '$got', want '$want'"; fi
}

test_git() {
    have git || { skip "git: not installed"; return; }
    repo=$TMP/repo
    g() { on_holeheap git git -C "$repo" -c user.name=hh -c user.email=hh@example.org "$@"; }
    mkdir -p "$repo" && g init -q || { fail "git init"; return; }
    for round in 1 2 3; do
        i=0
        while [ $i -lt 40 ]; do
            seq $((i * round)) $((i * round + 500)) >"$repo/file$i.txt"
            i=$((i + 1))
        done
        g add . && g commit -q -m "round $round" || { fail "git commit $round"; head -3 "$TMP/git.err"; return; }
    done
    count=$(g rev-list --count HEAD)
    log=$(g log --format=%s | tr '\n' ' ')
    fsck=$(g fsck --full 2>&1; echo "rc=$?")
    if [ "$count" = 3 ] && [ "$log" = "round 3 round 2 round 1 " ] && ran_on_holeheap git &&
        echo "$fsck" | grep -q '^rc=0$'; then pass "git init/add/commit/log/fsck"
    else fail "git: count '$count', log '$log', fsck '$fsck'"; fi
}

test_perl() {
    have perl || { skip "perl: not installed"; return; }
    want="60000 1ff50758d339b35782f5083eade99457"
    got=$(on_holeheap perl perl "$HERE/workload.pl")
    if [ "$got" = "$want" ] && ran_on_holeheap perl; then pass "perl workload checksum"
    else fail "perl: got '$got', want '$want'"; head -3 "$TMP/perl.err"; fi
}

# A real program under HOLEHEAP_CHECK=1: every call verifies the whole heap.
test_checked() {
    have perl || { skip "perl under HOLEHEAP_CHECK: perl not installed"; return; }
    got=$(HOLEHEAP_CHECK=1 on_holeheap checked perl -e \
        'my %h; $h{$_} = [$_ x 3, {n => $_}] for 1..2000; delete $h{$_} for 1..1000; print scalar(keys %h), "\n"')
    if [ "$got" = 1000 ] && ran_on_holeheap checked && ! grep -v '^holeheap: stats: ' "$TMP/checked.err" | grep -q .; then
        pass "perl under HOLEHEAP_CHECK=1"
    else fail "perl under HOLEHEAP_CHECK=1: got '$got'"; head -3 "$TMP/checked.err"; fi
}

# Real programs under HOLEHEAP_CHECK=N: a full check every N calls and the
# quick checks between must find nothing in a sound heap, and change nothing.
test_checked_every() {
    if have python3; then
        want="100000 5cb038ad13145c93a695907f426b9292595670aa2e8d3833dac19f3ab3b0c3ff"
        got=$(PYTHONHASHSEED=0 HOLEHEAP_CHECK=64 on_holeheap checked64 python3 "$HERE/workload.py")
        if [ "$got" = "$want" ] && ran_on_holeheap checked64 &&
            ! grep -v '^holeheap: stats: ' "$TMP/checked64.err" | grep -q .; then
            pass "python3 workload under HOLEHEAP_CHECK=64"
        else fail "python3 under HOLEHEAP_CHECK=64: got '$got'"; head -3 "$TMP/checked64.err"; fi
    else skip "python3 under HOLEHEAP_CHECK=64: python3 not installed"; fi
    if have sqlite3; then
        want="85715|845091|12805915|name99999 2|850|name10061 3|850|name10022-3 6|850|name10204-6 "
        got=$(HOLEHEAP_CHECK=1000 on_holeheap checked1000 sqlite3 :memory: <"$HERE/workload.sql" | tr '\n' ' ')
        if [ "$got" = "$want" ] && ran_on_holeheap checked1000 &&
            ! grep -v '^holeheap: stats: ' "$TMP/checked1000.err" | grep -q .; then
            pass "sqlite3 script under HOLEHEAP_CHECK=1000"
        else fail "sqlite3 under HOLEHEAP_CHECK=1000: got '$got'"; head -3 "$TMP/checked1000.err"; fi
    else skip "sqlite3 under HOLEHEAP_CHECK=1000: sqlite3 not installed"; fi
}

test_sqlite() {
    have sqlite3 || { skip "sqlite3: not installed"; return; }
    want="85715|845091|12805915|name99999 2|850|name10061 3|850|name10022-3 6|850|name10204-6 "
    got=$(on_holeheap sqlite sqlite3 :memory: <"$HERE/workload.sql" | tr '\n' ' ')
    if [ "$got" = "$want" ] && ran_on_holeheap sqlite; then pass "sqlite3 script result"
    else fail "sqlite3: got '$got', want '$want'"; head -3 "$TMP/sqlite.err"; fi
}

[ -f "$LIB" ] || { echo "FAIL: $LIB not built"; exit 1; }
test_python
test_sort
test_gcc
test_git
test_perl
test_sqlite
test_checked
test_checked_every
[ $failed = 0 ] || { echo "check-port-programs: $failed failed"; exit 1; }
echo "check-port-programs: all passed or skipped"
