#!/bin/sh
# make fuzz-long: run every libFuzzer target at once for SECONDS each, from
# the seed corpora kept in the repository, then measure the line, region and
# branch coverage (llvm-cov) of the core that the seeds and the grown corpora
# reach. A crash, leak or timeout fails the run and names its artifact.
#
#   fuzz/fuzz_long.sh SECONDS OUT name:binary:coverage-binary:seed-dir[,seed-dir...] ...
#
# Each target's corpus grows in OUT/name/corpus (kept between runs: a second
# run goes on from the first), its log is OUT/name/fuzz.log, the figures are
# collected in OUT/summary.txt.
set -u
seconds=$1 out=$2
shift 2
mkdir -p "$out"
# One run at a time in OUT: a second one would share its corpora and logs.
mkdir "$out/.running" 2>/dev/null || { echo "fuzz-long: another run is using $out (remove $out/.running if none is)"; exit 1; }
trap 'rmdir "$out/.running"' EXIT
summary=$out/summary.txt
: > "$summary"
cov_tool=$(command -v llvm-cov || command -v llvm-cov-14 || true)
prof_tool=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)

start_one() { # name binary seeds: start the fuzzer in the background
    dir=$out/$1
    mkdir -p "$dir/corpus" "$dir/artifacts"
    seeds=$(echo "$3" | tr ',' ' ')
    # shellcheck disable=SC2086
    "$2" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$dir/artifacts/" "$dir/corpus" $seeds > "$dir/fuzz.log" 2>&1 &
    pids="$pids $!"
}

coverage() { # name cov-binary label dirs...: one line of src/ coverage
    name=$1 bin=$2 label=$3
    shift 3
    [ -n "$cov_tool" ] && [ -n "$prof_tool" ] || { echo "$name $label: SKIP (no llvm-cov/llvm-profdata)"; return; }
    raw=$out/$name/$label.profraw
    LLVM_PROFILE_FILE=$raw "$bin" -runs=0 "$@" > "$out/$name/$label-cov.log" 2>&1
    "$prof_tool" merge -sparse "$raw" -o "$out/$name/$label.profdata" || return
    "$cov_tool" report "$bin" -instr-profile="$out/$name/$label.profdata" src/*.c > "$out/$name/$label-cov.txt"
    tot=$(grep '^TOTAL' "$out/$name/$label-cov.txt")
    # TOTAL regions missed cover% functions missed exec% lines missed cover% branches missed cover%
    echo "$name $label: $(find "$@" -type f | wc -l) inputs; src/ regions $(echo "$tot" | awk '{print $4}') lines $(echo "$tot" | awk '{print $10}') branches $(echo "$tot" | awk '{print $13}')"
}

rc=0
pids=
for t in "$@"; do
    IFS=: read -r name bin cov seeds <<EOT
$t
EOT
    start_one "$name" "$bin" "$seeds"
done
echo "fuzz-long: $# targets for $seconds s each, started $(date -u +%FT%TZ)" | tee -a "$summary"
for t in "$@"; do
    IFS=: read -r name bin cov seeds <<EOT
$t
EOT
    dir=$out/$name
    pid=${pids# }; pid=${pid%% *}; pids=${pids# }; pids=${pids#"$pid"}
    wait "$pid"; st=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
    grown=$(grep -E '^#[0-9]+' "$dir/fuzz.log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/edges \1, features \2, corpus \3/p')
    echo "$name: exit $st, executions ${execs:-?}, $grown, artifacts $(ls "$dir/artifacts" | wc -l)" | tee -a "$summary"
    if [ "$st" != 0 ] || [ -n "$(ls "$dir/artifacts")" ]; then
        rc=1
        grep -E 'ERROR|SUMMARY|fuzz_ops:|abort' "$dir/fuzz.log" | head -5
        echo "FAIL: $name found a failure (log $dir/fuzz.log, artifacts in $dir/artifacts)"
    fi
    seeds_sp=$(echo "$seeds" | tr ',' ' ')
    # shellcheck disable=SC2086
    coverage "$name" "$cov" seeds $seeds_sp | tee -a "$summary"
    # shellcheck disable=SC2086
    coverage "$name" "$cov" final "$dir/corpus" $seeds_sp | tee -a "$summary"
done
echo "fuzz-long: ended $(date -u +%FT%TZ); reports in $out/<target>/final-cov.txt" | tee -a "$summary"
exit $rc
