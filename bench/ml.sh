#!/usr/bin/env bash
# ML engine benchmark (DESIGN.md section 9): inference images/s of the
# executor vs bare LibTorch forward loops on the same model, batch and
# threads (lenet b1/b16/b64, resnet-fmnist b16, resnet18 b1/b8), and
# training images/s of LeNet on Fashion-MNIST with 1 process vs 2 processes
# all-reducing through Gloo. Builds what it needs; prints name=value lines.
#
# Environment: IDUNNO_FASHION_MNIST (default /usr/share/datasets/fashion-mnist),
# ML_BENCH_SCALE (multiplies measurement times, default 1),
# ML_BENCH_TRAIN_SAMPLES (default 12000).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${ML_BENCH_SCALE:-1}
SAMPLES=${ML_BENCH_TRAIN_SAMPLES:-12000}
DATA=${IDUNNO_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

# The regular build (RelWithDebInfo: LibTorch itself is the same prebuilt
# library either way) with the benchmark target switched on.
scripts/build.sh -DIDUNNO_BUILD_BENCH=ON >/dev/null
cmake --build build --target idunno-ml-bench idunno-train-worker -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
BIN=build/bin

echo "cores=$(nproc)"
"$BIN/idunno-ml-bench" --scale "$SCALE"

# Training: the same total samples, 1 rank vs 2 ranks (one core each, batch
# 64 per rank, gradients all-reduced every step).
train_args=(--model lenet --data "$DATA/train-images-idx3-ubyte.gz" --limit "$SAMPLES" --batch 64 --epochs 1
            --optimizer adam --lr 0.002 --seed 1 --threads 1)
rate() { sed -n 's/^train_images_per_s=//p' "$1"; }
# Share of rank 0's training time spent waiting in gradient all-reduces.
sync_share() { awk '/^epoch=1 /{for(i=1;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]} printf "%.3f\n", v["sync_seconds"]/v["seconds"]}' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN/idunno-train-worker" "${train_args[@]}" >"$tmp/solo" 2>/dev/null
port=$((20000 + RANDOM % 20000))
for rank in 0 1; do
  "$BIN/idunno-train-worker" "${train_args[@]}" --world 2 --rank "$rank" --host 127.0.0.1 --port "$port" \
    >"$tmp/rank$rank" 2>/dev/null &
done
wait
one=$(rate "$tmp/solo")
two=$(rate "$tmp/rank0")
echo "train_lenet_1proc_images_per_s=$one"
echo "train_lenet_2proc_gloo_images_per_s=$two"
awk -v a="$one" -v b="$two" 'BEGIN { printf "train_2proc_speedup=%.3f\n", b / a }'
echo "train_2proc_allreduce_wait_share=$(sync_share "$tmp/rank0")"
echo "load_average_1min=$(cut -d' ' -f1 /proc/loadavg)"
