#!/usr/bin/env bash
# SDFS benchmark with real processes on loopback (not part of the test
# suite): put and get against plain fsynced copies of the same bytes,
# re-replication after kill -9, get-versions, and peak RSS during a large
# put. Prints name=value lines (bench/sdfs.py lists them).
# Knobs: NODES (6), SIZES ("25 500", MB), ROUNDS (5), LARGE_ROUNDS (3, over
# 100 MB), PUT_GB (1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
mkdir -p bench/out
export IDUNNO_RUN=${IDUNNO_RUN:-$PWD/bench/out/sdfs}
scripts/cluster.sh down >/dev/null 2>&1 || true
scripts/cluster.sh up "${NODES:-6}" >/dev/null
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
python3 bench/sdfs.py
