#!/bin/sh
# The demo kernel's "trace" switch end to end: boot it in QEMU with "trace" on
# its command line, then replay and map its serial console log as it is (the
# lines around the trace are skipped by the text format's reader).
#   usage: kernel.sh /abs/holeheap KERNEL_ELF WORKDIR
set -u
tool=$1 kernel=$2 dir=$3
log=$dir/kernel-trace.log
fail() { echo "FAIL: $1"; [ -f "$log" ] && tail -n 5 "$log"; exit 1; }

mkdir -p "$dir"
# The self-test's verdict is check-kernel-boot's business; here only the trace counts.
sh kernel/qemu-boot.sh run "$kernel" trace >"$log" 2>&1
calls=$(grep -cE '^(malloc|free|aligned) ' "$log")
[ "$calls" -gt 1000 ] || fail "the kernel printed $calls traced calls"
out=$("$tool" replay "$log") || fail "holeheap replay of the kernel's log: $out"
echo "$out" | grep -qx "replayed $calls calls, 0 errors" || fail "holeheap replay: $out"
"$tool" map "$log" --peak -o "$dir/kernel-map.svg" || fail "holeheap map of the kernel's log"
grep -q 'class="block"' "$dir/kernel-map.svg" || fail "the kernel's heap map shows no blocks"
echo "kernel trace: $calls calls printed on the serial console, replayed with 0 errors and mapped"
