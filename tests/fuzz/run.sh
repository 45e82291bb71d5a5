#!/usr/bin/env bash
# run.sh — build the libFuzzer targets (clang, ASan + UBSan) and run each on a copy of its
# seed corpus for SECONDS (default 15), two at a time; fails if any target crashes, leaks,
# hits a sanitizer report or times out on one input. The committed corpus is never modified
# (new inputs go to a temporary copy). Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-15}
build=${2:-build-fuzz}
if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (apt-get install clang); cannot build the fuzz targets" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DDS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/ds-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

run_one() {
  local target=$1 seconds=$2 build=$3 work=$4
  mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/corpus/" 2>/dev/null || true
  # -timeout: one input may take at most 10 s (a hang is a failure, not just slow)
  if "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/$target/artifacts/" "$work/$target/corpus" >"$work/$target/log" 2>&1; then
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target/log" | grep -o '[0-9]*$')
    echo "fuzz: $target: ${execs:-?} executions in ${seconds} s, no crash"
  else
    echo "fuzz: $target: FAILED (input kept in $work/$target/artifacts; log below)"
    grep -E 'ERROR|SUMMARY|Test unit written' "$work/$target/log" | head -20
    return 1
  fi
}
export -f run_one

targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
failed=0
printf '%s\n' $targets | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$build" "$work" || failed=1
if ((failed)); then
  trap - EXIT  # keep the crashing inputs for a look
  echo "fuzz: FAILED; crashing inputs under $work" >&2
  exit 1
fi
