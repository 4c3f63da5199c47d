#!/bin/sh
# Run each one-bug program of tests/annotate/ under a tool and assert the
# tool's report: the kind of fault, and the program's line marked BUG.
#   expect.sh valgrind DIR PROGRAMS...   DIR/<prog>-vg (holeheap) and DIR/<prog>-sys (system malloc)
#   expect.sh asan DIR PROGRAMS...       DIR/<prog>-asan (holeheap)
# Also runs DIR/clean_use-<vg|asan>, which must draw no report at all.
tool=$1 dir=$2
shift 2
status=0

# The kind each program's report must name, per tool (an extended regex).
kind() {
    case "$tool:$1" in
    valgrind:bug_use_after_free) echo "Invalid read of size 1|is 3 bytes inside a block of size [0-9]+ free'd" ;;
    valgrind:bug_overflow) echo "Invalid write of size 1|is 0 bytes after a block of size 48 alloc'd" ;;
    valgrind:bug_canary_overflow) echo "Invalid write of size 1|is 0 bytes after a block of size 13 alloc'd" ;;
    valgrind:bug_hole_read) echo "Invalid read of size 1" ;;
    valgrind:bug_leak) echo "bytes in 1 blocks are definitely lost" ;;
    asan:bug_use_after_free | asan:bug_hole_read) echo "AddressSanitizer: use-after-poison|READ of size 1" ;;
    asan:bug_overflow | asan:bug_canary_overflow) echo "AddressSanitizer: use-after-poison|WRITE of size 1" ;;
    esac
}

run() { # binary: the tool's report on stdout
    case $tool in
    valgrind) valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$1" 2>&1 ;;
    asan) ASAN_OPTIONS=detect_leaks=0 "$1" 2>&1 ;;
    esac
}

# Every |-separated pattern of $2 in report file $1.
has_all() {
    echo "$2" | tr '|' '\n' | while read -r pattern; do
        grep -Eq -- "$pattern" "$1" || { echo "missing: $pattern"; return 1; }
    done
}

suffix=$([ "$tool" = valgrind ] && echo vg || echo asan)
for prog in "$@"; do
    line=$(grep -n 'BUG \*/' "tests/annotate/$prog.c" | cut -d: -f1)
    report=$dir/$prog-$suffix.report
    run "$dir/$prog-$suffix" > "$report"
    where="$prog.c:$line"
    if grep -q "EXPECT FAILED" "$report"; then
        echo "FAIL: $prog's own expectation of the heap failed: $report"
        status=1
    elif has_all "$report" "$(kind "$prog")" && grep -Eq "$prog\.c:$line([^0-9]|$)" "$report"; then
        echo "ok: $tool reports $prog at $where"
    else
        echo "FAIL: $tool on $prog: expected $(kind "$prog") at $where; report: $report"
        status=1
    fi
    if [ "$tool" = valgrind ]; then # the same kind on the system malloc
        run "$dir/$prog-sys" > "$dir/$prog-sys.report"
        has_all "$dir/$prog-sys.report" "$(kind "$prog" | sed -E 's/ of size (48|13) / of size [0-9]+ /')" ||
            { echo "FAIL: on the system malloc $prog reports another kind: $dir/$prog-sys.report"; status=1; }
    fi
done

clean=$dir/clean_use-$suffix
if run "$clean" > "$clean.report" && ! grep -Eq "Invalid|uninitialised|definitely lost|AddressSanitizer" "$clean.report"; then
    echo "ok: $tool is silent on clean_use (every mode, growth and trim)"
else
    echo "FAIL: $tool reports on clean_use, which has no bug: $clean.report"
    status=1
fi
exit $status
