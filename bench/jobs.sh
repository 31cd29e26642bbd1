#!/usr/bin/env bash
# Inference-jobs benchmark with real processes on loopback (not part of the
# test suite): two jobs (lenet and resnet-fmnist) over Fashion-MNIST's
# training images side by side, their 10 s rate ratio over the run; sub of
# the second job -> its first query running; worker kill -9 -> its shard
# running elsewhere; coordinator kill -9 -> scheduling again; one job's
# cluster queries/s against bare LibTorch on the same cores in the same
# run; and latency vs throughput as the batch size grows. Prints
# name=value lines (bench/jobs.py lists them).
# Knobs: NODES (8), REPEAT (3: the side-by-side jobs run over the training
# images that many times over).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DIDUNNO_BUILD_BENCH=ON >/dev/null
cmake --build build --target idunno-ml-bench -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
mkdir -p bench/out
export IDUNNO_RUN=${IDUNNO_RUN:-$PWD/bench/out/jobs}
scripts/cluster.sh down >/dev/null 2>&1 || true
rm -rf "$IDUNNO_RUN"
scripts/cluster.sh up "${NODES:-8}" >/dev/null
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
python3 bench/jobs.py
