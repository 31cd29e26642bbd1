#!/usr/bin/env bash
# Training-jobs benchmark with real processes on loopback (not part of the
# test suite): on a 4-node cluster (a coordinator and 3 workers), the
# quality targets of training jobs, one job at a time so that each has the
# machine:
#   lenet with the defaults: test accuracy per epoch and the time from
#     `train` to the first epoch at >= 0.90;
#   lenet for EPOCHS_K (default 2) epochs on 1 and on 2 workers, defaults
#     otherwise: test accuracy of each and the images/s ratio (same run);
#   with RESNET=1, resnet-fmnist with the defaults (about 15 minutes).
# Prints name=value lines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
mkdir -p bench/out
export IDUNNO_RUN=${IDUNNO_RUN:-$PWD/bench/out/train}
scripts/cluster.sh down >/dev/null 2>&1 || true
rm -rf "$IDUNNO_RUN"
scripts/cluster.sh up 4 >/dev/null
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
DATA=/usr/share/datasets/fashion-mnist
idunno() { build/bin/idunno --node 127.0.0.1:8002 "$@"; }
reply() {  # reply EXPR COMMAND...: a Python expression over the JSON reply `v`
  local expr=$1
  shift
  idunno --json "$@" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$expr"
}
until coord=$(reply 'v.get("name") or ""' coordinator 2>/dev/null) && [ -n "$coord" ]; do sleep 0.2; done
[ "$coord" != node2 ] || { echo "bench/train.sh: node2 leads; run again" >&2; exit 2; }
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  idunno put "$DATA/$f" "data/$f" >/dev/null
done
common=(--data sdfs:data/train-images-idx3-ubyte.gz --eval sdfs:data/t10k-images-idx3-ubyte.gz)

# Runs `train JOB ARGS...` to its end; prints JOB's per-epoch figures.
run_job() {
  local job=$1
  shift
  local t0
  t0=$(date +%s.%N)
  idunno train "$job" "${common[@]}" "$@" >/dev/null
  until [ "$(reply "next(j['state'] for j in v['jobs'] if j['job'] == '$job')" job-rates)" = done ]; do sleep 1; done
  reply "'\n'.join(f'{\"$job\"}_epoch{e[\"epoch\"]}_accuracy={e[\"accuracy\"]:.4f} {\"$job\"}_epoch{e[\"epoch\"]}_images_per_s={e[\"images_per_s\"]:.1f} {\"$job\"}_epoch{e[\"epoch\"]}_s={e[\"seconds\"]:.1f}' for e in v['epochs'])" get-results "$job"
  echo "${job}_wall_s=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")"
}

run_job lenet --model lenet
# From the coordinator's log: when each epoch was recorded, since `train`.
python3 - "$IDUNNO_RUN" <<'PY'
import datetime, glob, re, sys
lines = [l for f in glob.glob(f"{sys.argv[1]}/node*/stderr.log") for l in open(f)]
stamp = lambda l: datetime.datetime.fromisoformat(l.split()[0])
received = min(stamp(l) for l in lines if "event=job_received job=lenet " in l)
for l in sorted(lines):
    m = re.search(r"event=train_epoch_recorded job=lenet epoch=(\d+) .*accuracy=([0-9.]+)", l)
    if m and float(m.group(2)) >= 0.90:
        print(f"lenet_to_0.90_s={(stamp(l) - received).total_seconds():.1f} lenet_to_0.90_epoch={m.group(1)}")
        break
else:
    print("lenet_to_0.90_s=never")
PY

epochs=${EPOCHS_K:-2}
run_job one --model lenet --epochs "$epochs" --workers 1
run_job two --model lenet --epochs "$epochs" --workers 2
python3 - <<PY
one = $(reply '[e["accuracy"] for e in v["epochs"]][-1], sum(e["images_per_s"] * e["seconds"] for e in v["epochs"]) / sum(e["seconds"] for e in v["epochs"])' get-results one)
two = $(reply '[e["accuracy"] for e in v["epochs"]][-1], sum(e["images_per_s"] * e["seconds"] for e in v["epochs"]) / sum(e["seconds"] for e in v["epochs"])' get-results two)
print(f"lenet_2_vs_1_accuracy_pp={100 * (two[0] - one[0]):.2f} lenet_2_vs_1_images_per_s_ratio={two[1] / one[1]:.2f}")
PY

if [ -n "${RESNET:-}" ]; then
  run_job resnet --model resnet-fmnist
fi
