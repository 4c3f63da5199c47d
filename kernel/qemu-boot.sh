#!/bin/sh
# Boot the holeheap demo kernel in QEMU, headless, serial console on stdout.
#   qemu-boot.sh run   KERNEL [CMDLINE]   boot once; succeed iff the verdict is the
#                                         expected one: the self-test passed (33), or
#                                         the fault (37) with fault-test, or the
#                                         spinlock's refusal (35 and its PANIC line)
#                                         with irq-alloc-test under the spinlock
#   qemu-boot.sh check KERNEL LOGDIR      boot seven times (self-test, fault-test,
#                                         fault-test=kprintf, hardened, lock=irq,
#                                         irq-alloc-test, smp on two CPUs) and
#                                         assert each verdict
# The kernel leaves QEMU through isa-debug-exit: status 33 = PASS, 35 = FAIL,
# 37 = CPU exception. A boot that takes longer than BOOT_TIMEOUT seconds fails.
set -u
QEMU_I386=${QEMU_I386:-qemu-system-i386}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-60}
# QEMU_MEM: guest RAM in MiB (default 64); QEMU_SMP: CPUs (default 1)
PASS_LINE='holeheap kernel self-test: PASS'

# qemu KERNEL CMDLINE: boot, serial console on stdout; QEMU's status, 124 on timeout.
qemu() {
    timeout --foreground -k 5 "$BOOT_TIMEOUT" "$QEMU_I386" -kernel "$1" -append "$2" \
        -display none -serial stdio -monitor none -no-reboot -m "${QEMU_MEM:-64}" -smp "${QEMU_SMP:-1}" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04
}

# boot KERNEL CMDLINE: the console without carriage returns, then "qemu-status N".
boot() {
    { qemu "$1" "$2" 2>&1; echo "qemu-status $?"; } | tr -d '\r'
}

status_of() { sed -n 's/^qemu-status //p' "$1" | tail -n 1; }

explain() {
    case $1 in
        33) echo "self-test passed" ;;
        35) echo "self-test FAILED" ;;
        37) echo "CPU exception" ;;
        124) echo "no exit within ${BOOT_TIMEOUT} s: the kernel hung" ;;
        *) echo "unexpected QEMU status $1 (no isa-debug-exit: triple fault or reset?)" ;;
    esac
}

fail() {
    echo "FAIL: $1"
    [ -n "${2:-}" ] && { echo "--- last lines of $2:"; tail -n 25 "$2"; }
    exit 1
}

has_word() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# The status a boot with this command line should end with.
expected_status() {
    if has_word "$1" fault-test || has_word "$1" fault-test=kprintf; then echo 37
    elif has_word "$1" irq-alloc-test && ! has_word "$1" smp && ! has_word "$1" lock=irq; then echo 35
    else echo 33; fi
}

run() {
    out=$(mktemp) || exit 2
    boot "$1" "${2:-}" | tee "$out" | grep -v '^qemu-status '
    status=$(status_of "$out")
    expected=$(expected_status "${2:-}")
    echo "QEMU exited with status $status: $(explain "$status")"
    ok=false
    if [ "$status" = "$expected" ]; then
        ok=true
        if [ "$expected" = 35 ]; then
            grep -q '^PANIC: kmalloc/kfree in an interrupt handler' "$out" || ok=false
            $ok && echo "as expected with irq-alloc-test: the spinlock hook refused kmalloc in the timer interrupt"
        fi
        [ "$expected" = 37 ] && echo "as expected with fault-test: the read of a page the heap gave back faulted"
    fi
    rm -f "$out"
    $ok || echo "expected status $expected for '${2:-}'"
    $ok
}

check_selftest() {
    log=$2/boot-selftest.log
    boot "$1" "" >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 33 ] || fail "self-test boot: $(explain "$status")" "$log"
    grep -qx "$PASS_LINE" "$log" || fail "self-test boot: no line '$PASS_LINE'" "$log"
    if grep -q '^FAIL' "$log"; then fail "self-test boot printed FAIL lines" "$log"; fi
    grep -E 'frames (mapped|returned)|meanwhile|^holeheap:|blocks of 1 MiB|hh_check after' "$log" |
        grep -vE 'hh_check after .*: consistent|heap calls by|all freed, hh_trim' | sed 's/^/  /'
    echo "  hh_check: $(grep -c 'hh_check after .*: consistent' "$log") phases consistent"
    check_threads_lines "$log" "self-test boot" "test-and-set spinlock"
    echo "self-test boot: '$PASS_LINE', QEMU status 33 ($(wc -l <"$log") lines in $log)"
}

# check_threads_lines LOG WHAT LOCK: the concurrent phase ran with LOCK and
# counted real switches; show its summary.
check_threads_lines() {
    grep -q "^\[threads\] .*lock: $3" "$1" || fail "$2: no threads phase with the $3" "$1"
    grep -q '^  hh_check after the threads: consistent' "$1" || fail "$2: no hh_check after the threads" "$1"
    switches=$(sed -n 's/^  [0-9]* ms: .* heap calls by \([0-9]*\) threads[^,]*, \([0-9]*\) context switches.*/\2/p' "$1")
    [ "${switches:-0}" -gt 0 ] || fail "$2: no context switch counted" "$1"
    grep -E '^  [0-9]+ ms: .* heap calls by|^  lock \(|^  TLB:|^  skipped:|^  the timer interrupt allocated|^  while they ran|^  all freed, hh_trim' "$1" | sed 's/^ */  /'
}

check_hardened() {
    log=$2/boot-hardened.log
    boot "$1" hardened >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 33 ] || fail "hardened boot: $(explain "$status")" "$log"
    grep -qx "$PASS_LINE" "$log" || fail "hardened boot: no line '$PASS_LINE'" "$log"
    if grep -q '^FAIL' "$log"; then fail "hardened boot printed FAIL lines" "$log"; fi
    grep -q '^holeheap: HH_E_POISON at 0x' "$log" || fail "hardened boot: the write after free was not reported" "$log"
    check_threads_lines "$log" "hardened boot" "test-and-set spinlock" >/dev/null
    echo "hardened boot (HH_CHECK_ALWAYS | HH_POISON): PASS, threads phase passed, write after free caught, QEMU status 33"
}

# The interrupt-disabling lock hook: the same self-test, and the timer
# interrupt allocates and frees while the threads run.
check_irq_lock() {
    log=$2/boot-lock-irq.log
    boot "$1" lock=irq >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 33 ] || fail "lock=irq boot: $(explain "$status")" "$log"
    grep -qx "$PASS_LINE" "$log" || fail "lock=irq boot: no line '$PASS_LINE'" "$log"
    if grep -q '^FAIL' "$log"; then fail "lock=irq boot printed FAIL lines" "$log"; fi
    check_threads_lines "$log" "lock=irq boot" "interrupts off"
    grep -q 'the timer interrupt allocated and freed [1-9][0-9]* blocks, 0 failed' "$log" ||
        fail "lock=irq boot: the timer interrupt did not allocate" "$log"
    echo "lock=irq boot (interrupts off as the heap's lock, kmalloc in the timer interrupt): PASS, QEMU status 33"
}

# Two CPUs (qemu -smp 2): the AP started through the local APIC runs a worker
# beside the boot CPU's threads; the heap's lock is interrupts off + spinlock.
check_smp() {
    log=$2/boot-smp.log
    QEMU_SMP=2 boot "$1" smp >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 33 ] || fail "smp boot: $(explain "$status")" "$log"
    grep -qx "$PASS_LINE" "$log" || fail "smp boot: no line '$PASS_LINE'" "$log"
    if grep -q '^FAIL' "$log"; then fail "smp boot printed FAIL lines" "$log"; fi
    grep -q '^  CPU 1 is up' "$log" || fail "smp boot: CPU 1 did not start" "$log"
    check_threads_lines "$log" "smp boot" "interrupts off + test-and-set, and CPU 1" >/dev/null
    grep -q '^  TLB: .*CPU 1 caught up [1-9][0-9]* times and reloaded CR3 [1-9]' "$log" ||
        fail "smp boot: CPU 1 met no TLB generation" "$log"
    grep -E "^  CPU 1's worker|^  lock \(|^  TLB:" "$log" | sed 's/^ */  /'
    echo "smp boot (qemu -smp 2, a worker on CPU 1): PASS, QEMU status 33"
}

# The spinlock hook refuses a heap call from an interrupt handler, by name.
check_irq_refused() {
    log=$2/boot-irq-alloc.log
    boot "$1" irq-alloc-test >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 35 ] || fail "irq-alloc-test boot: $(explain "$status"), expected the refusal (35)" "$log"
    grep -q '^PANIC: kmalloc/kfree in an interrupt handler: the heap.s spinlock hook refuses it' "$log" ||
        fail "irq-alloc-test boot: no refusal from the spinlock hook" "$log"
    echo "irq-alloc-test boot: kmalloc in the timer interrupt refused by the spinlock hook (PANIC), QEMU status 35"
}

check_fault() {
    log=$2/boot-fault.log
    boot "$1" fault-test >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 37 ] || fail "fault-test boot: $(explain "$status"), expected a page fault" "$log"
    wanted=$(sed -n 's/^fault-test: reading \(0x[0-9a-f]*\),.*/\1/p' "$log")
    [ -n "$wanted" ] || fail "fault-test boot: the kernel never announced the read" "$log"
    grep -q "^page fault at $wanted, .*page not present, read, supervisor" "$log" ||
        fail "fault-test boot: no 'page fault at $wanted' (not present, read) from the handler" "$log"
    echo "fault-test boot: reading $wanted (given back by shrink) page-faulted, QEMU status 37"
}

# The same fault inside kprintf (a %s argument), its console lock held: the
# handler must still print its report (it drops the lock on the fault path).
check_fault_in_kprintf() {
    log=$2/boot-fault-kprintf.log
    boot "$1" "fault-test=kprintf threads-ms=500" >"$log" </dev/null
    status=$(status_of "$log")
    [ "$status" = 37 ] || fail "fault-test=kprintf boot: $(explain "$status"), expected a page fault" "$log"
    wanted=$(sed -n 's/^fault-test: reading \(0x[0-9a-f]*\),.*inside kprintf$/\1/p' "$log")
    [ -n "$wanted" ] || fail "fault-test=kprintf boot: the kernel never announced the read" "$log"
    grep -q "^page fault at $wanted, .*page not present, read, supervisor" "$log" ||
        fail "fault-test=kprintf boot: no 'page fault at $wanted' report from inside kprintf" "$log"
    echo "fault-test=kprintf boot: kprintf(\"%s\", $wanted) page-faulted with the console locked, reported, QEMU status 37"
}

case ${1:-} in
    run) run "$2" "${3:-}" ;;
    check)
        mkdir -p "$3"
        check_selftest "$2" "$3"
        check_fault "$2" "$3"
        check_fault_in_kprintf "$2" "$3"
        check_hardened "$2" "$3"
        check_irq_lock "$2" "$3"
        check_irq_refused "$2" "$3"
        check_smp "$2" "$3"
        echo "check-kernel-boot: passed" ;;
    *) echo "usage: $0 run KERNEL [CMDLINE] | check KERNEL LOGDIR" >&2; exit 2 ;;
esac
