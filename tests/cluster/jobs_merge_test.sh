#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# The merge of a finished job's shard results into results/JOB, streamed
# one shard at a time, when a shard's results are lost: 4 nodes, two
# resnet-fmnist jobs over Fashion-MNIST's test set. The results of one
# job's first shard are deleted from SDFS while the job runs (as if every
# node holding a copy had died). At the merge that shard runs again, and the
# job's results are byte-identical to the other job's.
TEST_TIMEOUT=150
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

scripts/cluster.sh up 4 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
for kind in images-idx3-ubyte labels-idx1-ubyte; do
  client 1 put "$DATA/t10k-$kind.gz" "data/t10k-$kind.gz" >/dev/null || fail "put t10k-$kind.gz"
done
images=sdfs:data/t10k-images-idx3-ubyte.gz

client 1 sub reference "$images" 64 --model resnet-fmnist >/dev/null || fail "sub reference"
client 2 sub victim "$images" 64 --model resnet-fmnist >/dev/null || fail "sub victim"
shard0_stored() { client 1 ls results/victim.shards/000000 >/dev/null 2>&1; }
wait_until 30 shard0_stored || fail "victim's first shard stored no results"
[ "$(job_state 1 victim)" = running ] || fail "victim is $(job_state 1 victim) already: too late to lose a shard"
client 1 delete results/victim.shards/000000 >/dev/null || fail "delete the first shard's results"

wait_until 100 both_done 1 reference victim || fail "the jobs did not finish"
for job in reference victim; do
  client 1 get-results "$job" "$IDUNNO_RUN/results-$job" >/dev/null || fail "get-results $job"
done
[ "$(wc -l <"$IDUNNO_RUN/results-victim")" -eq 10000 ] || fail "victim has $(wc -l <"$IDUNNO_RUN/results-victim") lines"
cmp -s "$IDUNNO_RUN/results-victim" "$IDUNNO_RUN/results-reference" || fail "victim's results differ from reference's"
redo=$(grep -h 'event=shard_redo job=victim shard=0 ' "$IDUNNO_RUN"/node*/node.log | head -1)
[ -n "$redo" ] || fail "no shard_redo of victim's shard 0 was logged"
reruns=$(grep -h 'event=task_started job=victim shard=0 ' "$IDUNNO_RUN"/node*/node.log | wc -l)
[ "$reruns" -ge 2 ] || fail "victim's shard 0 started $reruns times (expected a second run)"
log "PASS: shard 0 ran again ($redo); results identical"
