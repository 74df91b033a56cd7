#!/usr/bin/env bash
# Run the libFuzzer targets (built with -DENVFLOW_FUZZ=ON) for a while each.
#
#   tests/fuzz/run.sh [TARGET...]     (default: every target)
#
# Environment: FUZZ_BUILD (build folder, default build-fuzz), FUZZ_SECONDS
# (per target, default 600), FUZZ_JOBS (targets run at once, default 1).
# Each target starts from the committed seeds (tests/fuzz/corpus/<target>)
# and keeps what it learns in $FUZZ_BUILD/corpus/<target>; crashes, timeouts
# and out-of-memory inputs go to $FUZZ_BUILD/findings/<target>/, the log to
# $FUZZ_BUILD/findings/<target>.log. Exits 1 when anything was found.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-1}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(yaml validate config backport audit paths)
fi

for target in "${targets[@]}"; do
  if [ ! -x "$build/tests/fuzz/fuzz_$target" ]; then
    echo "run.sh: no $build/tests/fuzz/fuzz_$target: build it with" >&2
    echo "  cmake -S . -B $build -DCMAKE_CXX_COMPILER=clang++ -DENVFLOW_FUZZ=ON -DENVFLOW_E2E=OFF" >&2
    echo "  cmake --build $build --target fuzz" >&2
    exit 2
  fi
done

run_one() {
  local target=$1
  local findings="$build/findings/$target"
  mkdir -p "$findings" "$build/corpus/$target"
  # -timeout: one input taking 10 s is a finding (a hang), not a slow machine.
  nice -n 10 "$build/tests/fuzz/fuzz_$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$findings/" \
    "$build/corpus/$target" "$source_dir/tests/fuzz/corpus/$target" \
    >"$build/findings/$target.log" 2>&1 || true
}

summary() {
  local target=$1 log="$build/findings/$target.log"
  local execs corpus found
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(find "$build/findings/$target" -type f | wc -l)
  printf '%-10s %6ss  %12s execs  corpus %-12s findings %s\n' "$target" "$seconds" \
    "${execs:-?}" "${corpus:-?}" "$found"
  [ "$found" -eq 0 ]
}

running=0
for target in "${targets[@]}"; do
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
for target in "${targets[@]}"; do
  summary "$target" || status=1
done
if [ "$status" -ne 0 ]; then
  echo "findings: $build/findings/ (reproduce: $build/tests/fuzz/fuzz_TARGET FILE)"
fi
exit "$status"
