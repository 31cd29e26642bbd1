#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang, ASan and
# coverage instrumentation in build-fuzz/, then runs each one.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 30
#   TARGET              fuzzer names (e.g. frame_fuzz); default: all
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (default 2).
# Corpora grow in $FUZZ_BUILD_DIR/corpus/<target>/ (seeded from
# fuzz/corpus/<target>/ when that exists); crashes land in
# $FUZZ_BUILD_DIR/crashes/<target>/. Exits non-zero if any target crashed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}

if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number, not '$seconds'" >&2
  exit 2
fi
for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (apt-get install clang cmake)" >&2; exit 2; }
done

CC=clang CXX=clang++ cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDUNNO_FUZZ=ON -DIDUNNO_BUILD_ML=OFF -DSANITIZE=address >/dev/null
cmake --build "$build" --target idunno_fuzzers -j"$jobs"

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < "$build/fuzz_targets.txt"
fi

status=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  crashes="$build/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  seeds=()
  [[ -d $root/fuzz/corpus/$target ]] && seeds=("$root/fuzz/corpus/$target")
  echo "== $target for ${seconds}s"
  log="$build/$target.log"
  if "$build/bin/$target" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -E '^#[0-9]+.*DONE' "$log" | sed -E 's/.*cov: ([0-9]+).*/\1/' | tail -1)
    echo "fuzz_target=$target result=ok runs=${runs:-?} cov=${cov:-?} corpus_files=$(ls "$corpus" | wc -l)"
  else
    status=1
    echo "fuzz_target=$target result=CRASH log=$log artifacts=$crashes"
    tail -40 "$log"
  fi
done
exit $status
