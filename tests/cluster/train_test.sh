#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# Training jobs with real processes: 5 nodes. `train` trains lenet
# data-parallel on 2 workers (gradients all-reduced by Gloo between two
# node processes) from Fashion-MNIST in SDFS; one of its workers is killed
# -9 mid-epoch and the job resumes from its last checkpoint on live
# workers; then the coordinator is killed and the job still finishes. The trained model (models/JOB) then serves an inference job
# that reaches at least 85% on the test set, and Python's torch.jit.load
# (Debian's python3-torch) computes the same predictions from the file.
# Phases: an inference job added during training waits (queued), `phase
# infer` starts it, `phase stop` pauses it, `phase infer` resumes it, and
# it loses nothing. Also: every bad input of `train` is a clear error, and
# `remove` stops a training job's worker, and `--seed` makes a run repeat.
TEST_TIMEOUT=290
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/train-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import torch' 2>/dev/null || fail "Python's torch is missing (Debian package python3-torch)"

scripts/cluster.sh up 5 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  client 1 put "$DATA/$f" "data/$f" >/dev/null || fail "put $f"
done
client 1 put "$DATA/t10k-images-idx3-ubyte.gz" data/unlabelled.gz >/dev/null || fail "put unlabelled"
train=sdfs:data/train-images-idx3-ubyte.gz
test_set=sdfs:data/t10k-images-idx3-ubyte.gz

# Bad inputs: each a clear error, nothing added.
expect_error "unknown model" train bad --model no-such-model --data "$train"
expect_error "unknown dataset" train bad --model lenet --data sdfs:data/missing
expect_error "no labels" train bad --model lenet --data sdfs:data/unlabelled.gz
expect_error "takes 3x224x224" train bad --model resnet18 --data "$train"
expect_error "--epochs takes" train bad --model lenet --data "$train" --epochs 0
expect_error "--batch takes" train bad --model lenet --data "$train" --batch 0
expect_error "--lr takes" train bad --model lenet --data "$train" --lr -1
expect_error "--seed takes" train bad --model lenet --data "$train" --seed -1
expect_error "--workers takes" train bad --model lenet --data "$train" --workers 0
expect_error "live workers" train bad --model lenet --data "$train" --workers 9
expect_error "required" train bad --data "$train" --eval "$test_set"
expect_error "unknown option" train bad --model lenet --data "$train" --colour blue
[ "$(client 1 --json job-rates | json_get 'len(v["jobs"])')" -eq 0 ] || fail "a refused train added a job"

coord=$(coordinator_name 1)
talk=1
[ "$coord" = node1 ] && talk=2
group_of() {  # the nodes training job $1 now
  client $talk --json vm-states | json_get '" ".join(n["name"] for n in v["nodes"] if n["shard"] == "'"$1"'/train")'
}

# `remove` stops a training job and frees its worker.
client $talk train gone --model lenet --data "$train" --epochs 1 >/dev/null || fail "train gone"
has_group() { [ -n "$(group_of gone)" ]; }
wait_until 20 has_group || fail "gone got no worker: $(client $talk vm-states)"
gone_worker=$(group_of gone)
client $talk remove gone >/dev/null || fail "remove gone"
stopped() { grep -q "event=train_lease_ended job=gone " "$IDUNNO_RUN/$gone_worker/stderr.log"; }
wait_until 20 stopped || fail "the removed job's worker $gone_worker did not stop"
log "remove stopped the training on $gone_worker"
# --seed draws the initial weights and every epoch's order: the same seed
# gives the same run, to the last digit of its loss; another seed another.
for run in s7:7 s7again:7 s8:8; do
  client $talk train "${run%:*}" --model lenet --data "$test_set" --epochs 1 --seed "${run#*:}" >/dev/null ||
    fail "train ${run%:*}"
  wait_until 60 is_done $talk "${run%:*}" || fail "${run%:*} did not finish: $(client $talk get-results "${run%:*}")"
done
loss_of() { client $talk --json get-results "$1" | json_get 'repr(v["epochs"][0]["loss"])'; }
[ "$(loss_of s7)" = "$(loss_of s7again)" ] || fail "seed 7 gave losses $(loss_of s7) and $(loss_of s7again)"
[ "$(loss_of s7)" != "$(loss_of s8)" ] || fail "seeds 7 and 8 gave the same loss $(loss_of s7)"
# The seed reached the model's initial weights, not only the shuffling.
for seed in 7 8; do
  grep -q "event=model_loaded key=zoo:lenet:$seed " "$IDUNNO_RUN"/node*/stderr.log ||
    fail "no worker built lenet from seed $seed"
done
log "seed 7 twice: loss $(loss_of s7); seed 8: $(loss_of s8)"
client $talk train tj --model lenet --data "$train" --eval "$test_set" --epochs 2 --workers 2 >/dev/null || fail "train tj"
expect_error "exists already" train tj --model lenet --data "$train"
# Added during the training phase, an inference job waits. At batch 1 its
# 10,000 queries take seconds, so that `phase stop` below lands while it
# runs (at batch 64 LeNet can finish them between two polls).
client $talk sub early "$test_set" 1 --model lenet >/dev/null || fail "sub early"
[ "$(job_state $talk early)" = queued ] || fail "early is $(job_state $talk early) during the training phase, not queued"
phase=$(client $talk --json job-rates | json_get 'v["phase"]')
[ "$phase" = train ] || fail "the phase is $phase, not train"

epochs_done() { client $talk --json get-results "$1" 2>/dev/null | json_get 'v["done"]'; }
first_epoch() { [ "$(epochs_done tj)" -ge 1 ]; }
wait_until 120 first_epoch || fail "no epoch recorded: $(client $talk get-results tj)"
log "epoch 1: $(client $talk --json get-results tj | json_get 'v["epochs"][0]')"
group=$(group_of tj)
[ "$(wc -w <<<"$group")" -eq 2 ] || fail "the training group is '$group', not 2 workers"
victim=""
for member in $group; do [ "$member" != "node$talk" ] && victim=$member; done
# The group went on into epoch 2 (about 20 s) as soon as epoch 1 was
# recorded: this kill lands mid-epoch.
log "training group: $group; killing $victim in epoch 2"
scripts/cluster.sh kill "${victim#node}" >/dev/null
resumed() { grep -q "event=train_started job=tj attempt=2" "$IDUNNO_RUN"/node*/stderr.log; }
wait_until 60 resumed || fail "the job was not leased again after the kill: $(client $talk get-results tj)"
# The coordinator's crash does not lose the job: the group reports its
# epochs to the next one.
log "killing the coordinator $coord while the resumed group trains"
scripts/cluster.sh kill "${coord#node}" >/dev/null
new_coordinator() { local c; c=$(coordinator_name $talk 2>/dev/null) && [ -n "$c" ] && [ "$c" != "$coord" ]; }
wait_until 30 new_coordinator || fail "no new coordinator"
wait_until 150 is_done $talk tj || fail "the training job did not finish after the kills: $(client $talk get-results tj)"
client $talk get-results tj
attempts=$(grep -h "event=train_scheduled job=tj " "$IDUNNO_RUN"/node*/stderr.log | wc -l)
[ "$attempts" -ge 2 ] || fail "the job was leased $attempts times: it did not resume after the kill"
resumed=$(grep -h "event=train_started job=tj attempt=2" "$IDUNNO_RUN"/node*/stderr.log | head -1)
grep -q "first_epoch=2" <<<"$resumed" || fail "the second lease did not resume after epoch 1: $resumed"
client $talk --json ls models/tj | json_get 'v["version"]' >/dev/null || fail "models/tj is not in SDFS"

# The phases: the trained model serves a job; stop pauses; infer resumes.
client $talk phase infer >/dev/null || fail "phase infer"
client $talk sub served "$test_set" 64 --model models/tj >/dev/null || fail "sub served"
running() { [ "$(job_state $talk "$1")" = running ]; }
wait_until 10 running early || fail "early did not start with the inference phase: $(client $talk job-rates)"
client $talk phase stop >/dev/null || fail "phase stop"
paused() { [ "$(job_state $talk early)" = paused ] && [ "$(job_state $talk served)" = paused ]; }
wait_until 10 paused || fail "phase stop did not pause: $(client $talk job-rates)"
client $talk phase infer >/dev/null || fail "phase infer again"
wait_until 120 both_done $talk early served || fail "the inference jobs did not finish: $(client $talk job-rates)"
for job in early served; do
  n=$(client $talk --json get-results $job | json_get 'v["done"]')
  [ "$n" -eq 10000 ] || fail "$job counted $n queries"
done
accuracy=$(client $talk --json get-results served | json_get 'v["accuracy"]')
log "the trained model serves: accuracy $accuracy on the 10,000 test images"
"$PYTHON" -c "import sys; sys.exit(0 if float('$accuracy') >= 0.85 else 1)" || fail "accuracy $accuracy < 0.85"

# Python loads the same file and predicts what the cluster predicted.
client $talk get-results served "$IDUNNO_RUN/served.txt" >/dev/null || fail "get-results served"
client $talk get models/tj "$IDUNNO_RUN/tj.pt" >/dev/null || fail "get models/tj"
"$PYTHON" - "$IDUNNO_RUN/tj.pt" "$DATA/t10k-images-idx3-ubyte.gz" "$IDUNNO_RUN/served.txt" <<'PY' || fail "Python disagrees with the cluster"
import gzip, sys
import numpy as np
import torch
model_path, images_path, results_path = sys.argv[1:]
extra = {"idunno_model.txt": ""}
model = torch.jit.load(model_path, _extra_files=extra)
meta = dict(line.split("=", 1) for line in extra["idunno_model.txt"].decode().split("\n") if "=" in line)
mean, std = float(meta["mean"]), float(meta["std"])
n = 500
raw = gzip.open(images_path).read()
x = np.frombuffer(raw[16:16 + n * 784], dtype=np.uint8).reshape(n, 1, 28, 28).astype(np.float32)
with torch.no_grad():
    scores = torch.softmax(model((torch.from_numpy(x) / 255.0 - mean) / std), 1)
best, label = scores.max(1)
lines = open(results_path).read().split("\n")[:n]
for i, line in enumerate(lines):
    index, cluster_label, cluster_score = line.split()
    assert int(index) == i, line
    if int(cluster_label) != int(label[i]) or abs(float(cluster_score) - float(best[i])) > 1e-4:
        sys.exit(f"query {i}: cluster {cluster_label} {cluster_score}, Python {int(label[i])} {float(best[i]):.6f}")
print(f"Python agrees with the cluster on the first {n} queries")
PY
log "trained, recovered, served and checked"
