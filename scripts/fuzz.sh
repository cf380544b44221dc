#!/usr/bin/env bash
# Runs every cargo-fuzz target (or those named) for RUNS executions each (default 1,000,000),
# starting from the shipped corpus and regressions, and prints each run's last libFuzzer status
# line (executions, coverage, executions per second, peak memory).
#
#   bash scripts/fuzz.sh                 # all six targets, one after another
#   RUNS=100000 bash scripts/fuzz.sh idx # one target, fewer executions
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and an instrumented build, which this script makes
# first (more than 30 minutes the first time on two busy cores; see the README). New inputs that
# reach new code are added to a scratch corpus under fuzz/target, not to the shipped one; a crash
# stops the run with libFuzzer's report and leaves the input in fuzz/artifacts/<target>/, to be
# copied into fuzz/regressions/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs=${RUNS:-1000000}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(image checkpoint idx settings run_file cli_numbers)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O --sanitizer none >&2

for target in "${targets[@]}"; do
  scratch="target/scratch-corpus/$target"
  mkdir -p "$scratch"
  log="target/fuzz-$target.log"
  seeds=()
  for folder in "corpus/$target" "regressions/$target"; do
    if [ -d "$folder" ]; then seeds+=("$folder"); fi
  done
  start=$(date +%s)
  cargo fuzz run "$target" -O --sanitizer none "$scratch" "${seeds[@]}" -- \
    -runs="$runs" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1 || {
    tail -n 40 "$log"
    echo "fuzz: $target failed; see fuzz/$log" >&2
    exit 1
  }
  seconds=$(($(date +%s) - start))
  status=$(grep -E '^#[0-9]+\s+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1)
  echo "$target: ${seconds}s: $status"
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
done
