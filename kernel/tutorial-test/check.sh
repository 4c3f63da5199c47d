#!/bin/sh
# Boot the tutorial kit's test kernels in QEMU and assert the verdicts from the
# serial console. Usage: check.sh BUILD_DIR... (each holds a kernel.elf; the log
# is kept beside it as boot.log). A boot that takes longer than BOOT_TIMEOUT
# seconds fails.
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

check_boot() {
    log=$1/boot.log
    { timeout --foreground -k 5 "$BOOT_TIMEOUT" "$QEMU_I386" -kernel "$1/kernel.elf" -display none \
        -serial stdio -monitor none -no-reboot -m 32 -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>&1
      echo "qemu-status $?"; } </dev/null | tr -d '\r' >"$log"
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
    echo "$dir: tutorial kit test PASS, QEMU status 33 (log: $dir/boot.log)"
done
echo "check-tutorial-kit: passed"
