#!/usr/bin/env bash
# Online inference benchmark (DESIGN.md section 9): the Open Inference
# Protocol on a node's console (/v2/models/M/infer, JSON tensors over HTTP,
# dynamic batching on the executor) against the bare executor on the same
# cores, in one run. One node on loopback (it is its own worker, so both
# sides use the same ML pool size); for lenet and resnet-fmnist, requests of
# BATCH images (UINT8) from 1, 8 and 64 concurrent clients (keep-alive
# connections, back to back): requests/s, images/s, p50 and p99 latency.
# The baseline is idunno-ml-bench's executor case for the same model and
# batch with 8 batches in flight (8 concurrent callers, no HTTP, no JSON);
# online_MODEL_ratio_vs_executor_c8 = online images/s at 8 clients / that.
# The load generator (bench/online_load.py) runs on the same cores.
#
# Environment: ONLINE_BENCH_SECONDS (per measurement, default 8),
# ONLINE_BENCH_BATCH (images per request, default 16),
# IDUNNO_FASHION_MNIST (default /usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${ONLINE_BENCH_SECONDS:-8}
BATCH=${ONLINE_BENCH_BATCH:-16}
DATA=${IDUNNO_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
IMAGES=$DATA/t10k-images-idx3-ubyte.gz

scripts/build.sh -DIDUNNO_BUILD_BENCH=ON >/dev/null
cmake --build build --target idunno-node idunno idunno_ml_module idunno-ml-bench -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
BIN=build/bin

export IDUNNO_RUN
IDUNNO_RUN=$(mktemp -d "${TMPDIR:-/tmp}/idunno-online-bench.XXXXXX")
export IDUNNO_BIN=$BIN
cleanup() {
  IDUNNO_RUN=$IDUNNO_RUN scripts/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$IDUNNO_RUN"
}
trap cleanup EXIT
scripts/cluster.sh up 1 >/dev/null
PORT=8001
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "the node did not become ready" >&2; exit 1; }
  sleep 0.2
done

echo "cores=$(nproc)"
echo "images_per_request=$BATCH"
for model in lenet resnet-fmnist; do
  key=${model//-/_}
  for clients in 1 8 64; do
    read -r rps ips p50 p99 errors < <(python3 bench/online_load.py "$PORT" "$model" "$BATCH" "$clients" \
      "$SECONDS_EACH" "$IMAGES")
    echo "online_${key}_c${clients}_requests_per_s=$rps"
    echo "online_${key}_c${clients}_images_per_s=$ips"
    echo "online_${key}_c${clients}_p50_ms=$p50"
    echo "online_${key}_c${clients}_p99_ms=$p99"
    echo "online_${key}_c${clients}_errors=$errors"
    [ "$clients" = 8 ] && online_c8=$ips
  done
  # The bare executor, same model, batch and cores, 8 batches in flight,
  # while the node idles.
  bare=$("$BIN/idunno-ml-bench" --case "${key}_b${BATCH}" --in-flight 8 --intraop 0 --rounds 2 \
    --scale "$(python3 -c "print($SECONDS_EACH / 4)")" | sed -n "s/^infer_${key}_b${BATCH}_executor_images_per_s=//p")
  echo "executor_${key}_b${BATCH}_inflight8_images_per_s=$bare"
  awk -v a="$online_c8" -v b="$bare" -v k="$key" 'BEGIN { printf "online_%s_ratio_vs_executor_c8=%.3f\n", k, a / b }'
done
metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics")
batches=$(awk '$1 == "idunno_online_batches_total" {print $2}' <<<"$metrics")
images=$(awk '$1 == "idunno_online_images_total" {print $2}' <<<"$metrics")
awk -v i="$images" -v b="$batches" 'BEGIN { printf "online_mean_batch_images=%.1f\n", i / b }'
echo "online_largest_batch_images=$(awk '$1 == "idunno_online_largest_batch" {print $2}' <<<"$metrics")"
echo "load_average_1min=$(cut -d' ' -f1 /proc/loadavg)"
