#!/bin/sh
# HOLEHEAP_CHECK=N under the drop-in malloc (tests/port/checkmode.c): damage
# done between two calls is found within N calls (the full check), damage
# beside a block a recent call touched within 32 (the quick check), each with
# the port's one-line abort; without HOLEHEAP_CHECK the same damage goes
# unseen; a sound program runs to its end; a bad value is said on one line and
# means every 1000 calls. Prints PASS or FAIL lines; fails if any failed.
#   usage: checkmode.sh /abs/libholeheap-malloc.so /abs/checkmode
set -u
LIB=$1
PROG=$2
TMP=$(mktemp -d /tmp/hh-checkmode.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
failed=0
passed=0

pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# run SETTING SCENARIO CALLS: status in $rc, the last line of stdout in $last,
# stderr in $TMP/err. SETTING "unset" leaves HOLEHEAP_CHECK out.
run() {
    if [ "$1" = unset ]; then
        LD_PRELOAD=$LIB "$PROG" "$2" "$3" >"$TMP/out" 2>"$TMP/err"
    else
        HOLEHEAP_CHECK=$1 LD_PRELOAD=$LIB "$PROG" "$2" "$3" >"$TMP/out" 2>"$TMP/err"
    fi
    rc=$?
    # dash says "Aborted" into the command's own stderr: not the program's
    grep -v '^Aborted' "$TMP/err" >"$TMP/err.program"
    mv "$TMP/err.program" "$TMP/err"
    last=$(tail -1 "$TMP/out")
}

ABORT_LINE='^holeheap: [a-z_]+\(\): .+ 0x[0-9a-f]+ \(HH_E_[A-Z_]+\)$'

# expect_abort SETTING SCENARIO WITHIN TEXT: aborted (SIGABRT) after the
# damage, at call WITHIN or earlier, with one line of stderr (after the bad
# value's line, if any) that holds TEXT.
expect_abort() {
    setting=$1 scenario=$2 within=$3 text=$4
    run "$setting" "$scenario" $((3 * within + 100))
    line=$(grep -v "is not a number of calls" "$TMP/err")
    what="HOLEHEAP_CHECK=$setting $scenario"
    if [ "$rc" != 134 ]; then
        fail "$what: exit status $rc, want an abort (134); stderr: $(head -2 "$TMP/err")"
    elif ! grep -q '^damaged$' "$TMP/out"; then
        fail "$what: aborted before the damage: $line"
    elif [ "$last" = damaged ] || [ "$last" -gt "$within" ]; then
        fail "$what: aborted at call $last after the damage, want within $within: $line"
    elif [ "$(printf '%s\n' "$line" | wc -l)" != 1 ] || ! printf '%s\n' "$line" | grep -Eq "$ABORT_LINE"; then
        fail "$what: want one holeheap: line on stderr, got: $(cat "$TMP/err")"
    elif ! printf '%s\n' "$line" | grep -qF "$text"; then
        fail "$what: the line does not say '$text': $line"
    else
        pass
        echo "  $what: call $last of at most $within: $line"
    fi
}

# expect_clean SETTING SCENARIO CALLS: ran to its end, nothing on stderr.
expect_clean() {
    run "$1" "$2" "$3"
    if [ "$rc" = 0 ] && [ "$last" = done ] && [ ! -s "$TMP/err" ]; then pass
    else fail "HOLEHEAP_CHECK=$1 $2: status $rc, last line '$last', stderr: $(head -2 "$TMP/err")"; fi
}

[ -f "$LIB" ] && [ -x "$PROG" ] || { echo "FAIL: $LIB or $PROG not built"; exit 1; }

echo "damage found by the next full check (within N calls):"
for scenario in live freed hole; do
    expect_abort 1 "$scenario" 1 "(HH_E_"
    for n in 2 7 64 1000; do
        expect_abort "$n" "$scenario" "$n" "full check every $n calls: I"
    done
done
echo "damage beside a block touched by the last 32 calls: found by the quick check:"
for n in 64 1000 100000; do
    expect_abort "$n" fresh 32 "quick check every 32 calls of the blocks they touched: I5"
done

# Without checking the same damage goes unseen (what the checks add), and a
# program with no damage runs to its end under every setting.
for setting in unset 0 ""; do
    for scenario in live freed hole fresh; do expect_clean "$setting" "$scenario" 3000; done
done
for n in 1 2 33 64 1000; do expect_clean "$n" none 5000; done

echo "a bad value: one line, then every 1000 calls:"
for bad in abc -5 12x 99999999999 " 7" 1e3; do
    expect_abort "$bad" live 1000 "full check every 1000 calls: I5"
    want="holeheap: HOLEHEAP_CHECK='$bad' is not a number of calls from 0 to 1000000000: checking every 1000 calls"
    got=$(head -1 "$TMP/err")
    if [ "$got" = "$want" ] && [ "$(grep -c 'is not a number' "$TMP/err")" = 1 ]; then pass
    else fail "HOLEHEAP_CHECK='$bad': first line '$got', want '$want'"; fi
done

echo "check-port-checkmode: $passed passed, $failed failed"
[ "$failed" = 0 ]
