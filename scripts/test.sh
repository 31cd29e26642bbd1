#!/usr/bin/env bash
# Builds IDunno and runs the whole test suite (unit, simulation and
# multi-process cluster tests) through ctest. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/build.sh "$@"
jobs=$(nproc 2>/dev/null || echo 2)
# Tests labelled "long" (multi-minute fault scenarios) run on request:
# ctest --test-dir build -L long.
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600 -LE long
echo "test.sh: suite finished in $(( $(date +%s) - start )) s"
