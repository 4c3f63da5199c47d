#!/bin/sh
# Boot the tutorial kit's test kernels in QEMU and assert the verdicts from the
# serial console. Usage: check.sh BUILD_DIR... (each holds a kernel.elf), booted
# twice: the self-test (log boot.log beside it) and create-heap-fail (a panic
# expected, boot-create-heap-fail.log). A boot that takes longer than
# BOOT_TIMEOUT seconds fails.
set -u
QEMU_I386=${QEMU_I386:-qemu-system-i386}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-60}

fail() {
    echo "FAIL: $1"
    [ -n "${2:-}" ] && { echo "--- last lines of $2:"; tail -n 25 "$2"; }
    exit 1
}

# expect LOG REGEX WHAT: the log has a line matching REGEX.
expect() { grep -qE "$2" "$1" || fail "$3 (no line matching '$2')" "$1"; }

# boot DIR CMDLINE LOG: the console without carriage returns, then "qemu-status N".
boot() {
    { timeout --foreground -k 5 "$BOOT_TIMEOUT" "$QEMU_I386" -kernel "$1/kernel.elf" -append "$2" -display none \
        -serial stdio -monitor none -no-reboot -m 32 -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>&1
      echo "qemu-status $?"; } </dev/null | tr -d '\r' >"$3"
}

# create-heap-fail: a misaligned create_heap ends the boot in the tutorial's
# panic, with the reason (status 35), not in a quiet fallback.
check_panic() {
    log=$1/boot-create-heap-fail.log
    boot "$1" create-heap-fail "$log"
    status=$(sed -n 's/^qemu-status //p' "$log")
    [ "$status" = 35 ] || fail "$1 create-heap-fail: QEMU status $status, expected 35 (the panic)" "$log"
    expect "$log" '^PANIC\(create_heap: start, end and max must be page-aligned, with start < end <= max\) at kheap.c:[0-9]+$' \
        "$1 create-heap-fail: no panic naming the reason"
    if grep -q '^FAIL' "$log"; then fail "$1 create-heap-fail: create_heap returned" "$log"; fi
    echo "  create-heap-fail: $(grep '^PANIC' "$log"), QEMU status 35"
}

check_boot() {
    log=$1/boot.log
    boot "$1" "" "$log"
    status=$(sed -n 's/^qemu-status //p' "$log")
    [ "$status" = 33 ] || fail "$1: QEMU status $status, expected 33 (35: a check failed, 37: CPU exception, 124: hung)" "$log"
    expect "$log" '^tutorial kit test: PASS$' "$1: no PASS line"
    if grep -q '^FAIL' "$log"; then fail "$1: FAIL lines" "$log"; fi
    # the overrun past the 2 KiB stack, named at kfree and at kheap_check
    expect "$log" '^kheap: block 0x[0-9a-f]+ \(2048 bytes\): 4 bytes past its end overwritten, in 0x[0-9a-f]+-0x[0-9a-f]+; found by free$' "$1: the overrun was not named by free"
    expect "$log" '^kheap: block 0x[0-9a-f]+ \(2048 bytes\): 4 bytes past its end overwritten, .*found by kheap_check$' "$1: the overrun was not named by kheap_check"
    expect "$log" '^kheap: block 0x[0-9a-f]+: the tag at 0x[0-9a-f]+, just before it, overwritten' "$1: the overrun was not named from the next block"
    expect "$log" '^kheap: kernel stack 0x[0-9a-f]+ \(2048 bytes\): 4 bytes of its guard overwritten' "$1: the guard did not see the overrun"
    # growth refused for want of frames: reported, no panic
    expect "$log" '^kheap: no free frame left to map 0x' "$1: running out of frames was not reported"
    expect "$log" '^kheap: growth by [0-9]+ bytes refused' "$1: the refused growth was not reported"
    frames=$(sed -n 's/^  grow mapped \([0-9]*\) frames, shrink returned \([0-9]*\) frames; frames used before \([0-9]*\), after \([0-9]*\)$/\1 \2 \3 \4/p' "$log")
    set -- $frames
    [ $# = 4 ] && [ "$1" -gt 0 ] && [ "$1" = "$2" ] && [ "$3" = "$4" ] ||
        fail "stress: frames not balanced ($frames)" "$log"
    echo "  $(grep -c '' "$log") lines; stress: grow mapped $1 frames, shrink returned $2; frames used $3 before, $4 after"
}

for dir in "$@"; do
    check_boot "$dir"
    check_panic "$dir"
    echo "$dir: tutorial kit test PASS, QEMU status 33 (log: $dir/boot.log)"
done
echo "check-tutorial-kit: passed"
