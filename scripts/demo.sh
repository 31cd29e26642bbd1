#!/usr/bin/env bash
# The IDunno demo: builds, starts a local cluster on loopback, puts
# Fashion-MNIST into SDFS, trains lenet and resnet-fmnist on the cluster,
# serves both trained models side by side in two inference jobs, kills a
# worker and then the coordinator while they run, shows both recoveries,
# the accuracies and the result files, and shuts down. Every step is
# checked: the demo exits non-zero if one fails.
#
#   scripts/demo.sh                   the whole story (3 min 43 s in one run on 2 cores)
#   IDUNNO_DEMO_QUICK=1 scripts/demo.sh   a first look (about 1 minute: shorter
#                                     training on a tenth of the training set)
#
# Environment: IDUNNO_DEMO_NODES (default 6), IDUNNO_RUN (the cluster's
# folder, default run), IDUNNO_DEMO_NO_BUILD=1 (use build/bin as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${IDUNNO_DEMO_NODES:-6}
QUICK=${IDUNNO_DEMO_QUICK:-}
BIN=build/bin
DATA=/usr/share/datasets/fashion-mnist
RUN=${IDUNNO_RUN:-run}
export IDUNNO_RUN=$RUN

[ -n "${IDUNNO_DEMO_NO_BUILD:-}" ] || scripts/build.sh
[ "$N" -ge 6 ] || { echo "demo.sh: needs at least 6 nodes" >&2; exit 2; }
step() { printf '\n== %s\n' "$*"; }
die() { printf '\ndemo.sh: FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() { scripts/cluster.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
idunno() { "$BIN/idunno" --node "127.0.0.1:$((8000 + talk))" "$@"; }
json() {  # json EXPR COMMAND...: a Python expression over the command's JSON reply `v`
  local expr=$1
  shift
  idunno --json "$@" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$expr"
}
until_true() {  # until_true SECS EXPR COMMAND...: polls until the expression holds
  local secs=$1 expr=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until [ "$(json "$expr" "$@" 2>/dev/null)" = True ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
state_of() { json "next((j['state'] for j in v['jobs'] if j['job'] == '$1'), '')" job-rates; }
both_done() { [ "$(state_of "$1")" = done ] && [ "$(state_of "$2")" = done ]; }
coordinator() { json 'v.get("name") or ""' coordinator 2>/dev/null || true; }
talk=1

step "starting a $N-node cluster on 127.0.0.1 (consoles 127.0.0.1:8001..$((8000 + N)))"
scripts/cluster.sh up "$N"
deadline=$((SECONDS + 30))
until coord=$(coordinator) && [ -n "$coord" ]; do  # the first election
  [ "$SECONDS" -lt "$deadline" ] || die "no coordinator"
  sleep 0.2
done
idunno list_mem
talk=$(( ${coord#node} % N + 1 ))  # talk to a node that is not the coordinator
step "the coordinator is $coord; commands go through node$talk (any node would do)"

step "putting Fashion-MNIST (60,000 training and 10,000 test images) into SDFS, 4 copies each"
train=data/train-images-idx3-ubyte.gz
if [ -n "$QUICK" ]; then
  # A tenth of the training set, for a first look.
  python3 - "$DATA" "$RUN" <<'PY'
import gzip, sys
data, run = sys.argv[1:]
images = gzip.open(f"{data}/train-images-idx3-ubyte.gz").read()
labels = gzip.open(f"{data}/train-labels-idx1-ubyte.gz").read()
n = 6000
with gzip.open(f"{run}/train6k-images-idx3-ubyte.gz", "wb") as f:
    f.write(images[:4] + n.to_bytes(4, "big") + images[8:16] + images[16:16 + n * 784])
with gzip.open(f"{run}/train6k-labels-idx1-ubyte.gz", "wb") as f:
    f.write(labels[:4] + n.to_bytes(4, "big") + labels[8:8 + n])
PY
  idunno put "$RUN/train6k-images-idx3-ubyte.gz" data/train6k-images-idx3-ubyte.gz
  idunno put "$RUN/train6k-labels-idx1-ubyte.gz" data/train6k-labels-idx1-ubyte.gz
  train=data/train6k-images-idx3-ubyte.gz
else
  idunno put "$DATA/train-images-idx3-ubyte.gz" data/train-images-idx3-ubyte.gz
  idunno put "$DATA/train-labels-idx1-ubyte.gz" data/train-labels-idx1-ubyte.gz
fi
idunno put "$DATA/t10k-images-idx3-ubyte.gz" data/t10k-images-idx3-ubyte.gz
idunno put "$DATA/t10k-labels-idx1-ubyte.gz" data/t10k-labels-idx1-ubyte.gz
idunno ls "$train"

# resnet-fmnist takes 2 epochs to its floor: its default augmentation
# costs the first epoch (0.829 after 1, 0.890 after 2, on 2 workers, with
# the cosine schedule spread over the 2 epochs).
resnet_epochs=2
if [ -n "$QUICK" ]; then lenet_epochs=2; else lenet_epochs=5; fi
step "training lenet ($lenet_epochs epochs, on one worker) and resnet-fmnist ($resnet_epochs epoch(s), data-parallel on 2 workers through Gloo), side by side"
idunno train lenet-fm --model lenet --data "sdfs:$train" --eval sdfs:data/t10k-images-idx3-ubyte.gz --epochs "$lenet_epochs"
idunno train resnet-fm --model resnet-fmnist --data "sdfs:$train" --eval sdfs:data/t10k-images-idx3-ubyte.gz \
  --epochs "$resnet_epochs" --workers 2
idunno vm-states
deadline=$((SECONDS + 560))
until both_done lenet-fm resnet-fm; do
  [ "$SECONDS" -lt "$deadline" ] || die "training did not finish: $(idunno job-rates)"
  for job in lenet-fm resnet-fm; do [ "$(state_of $job)" != failed ] || die "$(idunno get-results $job)"; done
  sleep 10
  idunno job-rates | sed 's/^/  /'
done
step "trained: test accuracy after each epoch (10,000 held-out test images), models in SDFS"
idunno get-results lenet-fm
idunno get-results resnet-fm
idunno ls models/lenet-fm
lenet_acc=$(json 'v["accuracy"]' get-results lenet-fm)
resnet_acc=$(json 'v["accuracy"]' get-results resnet-fm)

step "serving both trained models side by side over the 10,000 test images (phase infer)"
idunno phase infer
idunno sub cheap sdfs:data/t10k-images-idx3-ubyte.gz 64 --model models/lenet-fm
idunno sub costly sdfs:data/t10k-images-idx3-ubyte.gz 64 --model models/resnet-fm
until_true 60 "sum(j['done'] for j in v['jobs'] if j['job'] == 'costly') >= 1000" job-rates ||
  die "the inference jobs did not start: $(idunno job-rates)"
idunno job-rates
idunno get-stats

victim=""
for k in $(seq "$N"); do
  [ "node$k" != "$coord" ] && [ "$k" != "$talk" ] && victim=$k
done
before=$(json "sum(j['done'] for j in v['jobs'] if j['job'] == 'costly')" job-rates)
step "kill -9 worker node$victim with $before costly queries done; its shards run elsewhere"
scripts/cluster.sh kill "$victim"
until_true 30 "sum(j['done'] for j in v['jobs'] if j['job'] == 'costly') >= $before + 300" job-rates ||
  die "no progress after the worker was killed: $(idunno job-rates)"
idunno vm-states
# Raft's voters outlive the coordinator's death only once the dead voter
# is replaced; the coordinator replaces it within a second or two (the
# victim is not counted: membership may call it alive for a second more).
until_true 30 "sum(1 for m in v['members'] if m['state'] == 'alive' and m['name'] != 'node$victim' and m['role'] in ('coordinator', 'standby')) >= min(7, $N - 1)" list_mem ||
  die "the dead voter was not replaced: $(idunno list_mem)"
both_done cheap costly && die "the jobs finished before the coordinator could be killed"

step "kill -9 the coordinator $coord mid-run; a standby takes over and the jobs go on"
scripts/cluster.sh kill "${coord#node}"
deadline=$((SECONDS + 30))
until new=$(coordinator) && [ -n "$new" ] && [ "$new" != "$coord" ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "no new coordinator"
  sleep 0.1
done
idunno coordinator
deadline=$((SECONDS + 180))
until both_done cheap costly; do
  [ "$SECONDS" -lt "$deadline" ] || die "the inference jobs did not finish: $(idunno job-rates)"
  sleep 2
done
idunno job-rates
idunno get-stats

step "results: one line per query (index, predicted class, probability), in SDFS and here"
idunno get-results cheap "$RUN/cheap.txt"
idunno get-results costly "$RUN/costly.txt"
head -3 "$RUN/costly.txt"
for f in cheap costly; do
  lines=$(wc -l <"$RUN/$f.txt")
  [ "$lines" -eq 10000 ] || die "$f has $lines result lines, not 10000"
done
cheap_acc=$(json 'v["accuracy"]' get-results cheap)
costly_acc=$(json 'v["accuracy"]' get-results costly)

step "accuracy on the 10,000 test images: lenet $cheap_acc (trained $lenet_epochs epochs), resnet-fmnist $costly_acc (trained $resnet_epochs)"
# What a healthy run reaches (a failure of training shows as a low figure).
if [ -n "$QUICK" ]; then floor_lenet=0.70; floor_resnet=0.50; else floor_lenet=0.90; floor_resnet=0.85; fi
python3 -c "import sys; sys.exit(0 if float('$cheap_acc') >= $floor_lenet and float('$costly_acc') >= $floor_resnet else 1)" ||
  die "accuracies below $floor_lenet / $floor_resnet"
# Serving a model predicts what its evaluation during training did (up to
# rounding in a different batch size).
python3 -c "import sys; sys.exit(0 if abs(float('$cheap_acc') - float('$lenet_acc')) <= 0.001 and abs(float('$costly_acc') - float('$resnet_acc')) <= 0.001 else 1)" ||
  die "serving gave $cheap_acc / $costly_acc, the training evaluations $lenet_acc / $resnet_acc"

step "shutting down"
scripts/cluster.sh down
trap - EXIT
echo "demo.sh: every step succeeded"
