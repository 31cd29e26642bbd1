#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# Inference jobs with real processes: 8 nodes, two jobs with different
# models (lenet and resnet-fmnist, about 7x apart in cost) over
# Fashion-MNIST's test set twice over (20,000 queries, so that the second
# run outlasts its kills on a fast machine). First a reference run without
# failures; then the same two jobs again, killing 3 workers at once (kill -9) mid-run and
# then the coordinator. Both finish, every query once, and their results
# are byte-identical to the reference. Also: the bad inputs of `sub`,
# `set-batch`, `remove` and `get-results` are clear errors, and `grep`
# finds what happened to a shard.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

scripts/cluster.sh up 8 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"

# The test images and labels twice over, as plain IDX files.
QUERIES=20000
put_doubled_set t10k
images=sdfs:data/twice-images-idx3-ubyte

# Bad inputs: each a clear error, nothing added.
expect_error "unknown model" sub bad1 "$images" 64 --model no-such-model
expect_error "unknown dataset" sub bad2 sdfs:data/missing 64 --model lenet
expect_error "takes 3x224x224" sub bad3 "$images" 64 --model resnet18
expect_error "at least 1" sub bad4 "$images" 0 --model lenet
expect_error "larger than the dataset" sub bad5 "$images" $((QUERIES + 1)) --model lenet
expect_error "no job" set-batch missing 10
expect_error "no job" remove missing
expect_error "no job" get-results missing
[ "$(client 1 --json job-rates | json_get 'len(v["jobs"])')" -eq 0 ] || fail "a refused sub added a job"

# The reference, without failures.
client 2 sub ref-cheap "$images" 64 --model lenet >/dev/null || fail "sub ref-cheap"
client 3 sub ref-costly "$images" 64 --model resnet-fmnist >/dev/null || fail "sub ref-costly"
expect_error "exists already" sub ref-cheap "$images" 64 --model lenet
wait_until 120 both_done 1 ref-cheap ref-costly || fail "the reference jobs did not finish: $(client 1 job-rates)"
client 1 get-results ref-cheap "$IDUNNO_RUN/ref-cheap.txt" >/dev/null || fail "get-results ref-cheap"
client 1 get-results ref-costly "$IDUNNO_RUN/ref-costly.txt" >/dev/null || fail "get-results ref-costly"
[ "$(wc -l <"$IDUNNO_RUN/ref-cheap.txt")" -eq $QUERIES ] || fail "ref-cheap has $(wc -l <"$IDUNNO_RUN/ref-cheap.txt") lines"
log "reference done: $(client 1 get-results ref-costly)"

# The same jobs, with failures. This test talks to a node that is neither
# killed nor the coordinator.
coord=$(coordinator_name 1)
coord_k=${coord#node}
talk=1
[ "$coord_k" = 1 ] && talk=2
# The cluster-wide log answers what happened to a shard (while every node
# lives): shard 2 of ref-costly, scheduled, started, finished and completed.
story=$(client $talk --json grep "job=ref-costly shard=2 " | json_get '" ".join(sorted(set(l.split("event=")[1].split()[0] for l in (m["line"] for m in v["matches"]))))')
for event in task_scheduled task_started task_finished task_completed; do
  grep -qw "$event" <<<"$story" || fail "grep of shard 2 of ref-costly lacks $event: $story"
done
log "grep 'job=ref-costly shard=2 ' tells: $story"
client $talk sub cheap "$images" 64 --model lenet >/dev/null || fail "sub cheap"
client $talk sub costly "$images" 64 --model resnet-fmnist >/dev/null || fail "sub costly"
more_done() { [ "$(job_done_count $talk costly)" -ge "$1" ]; }
# The kills come early in the job: the coordinator may die only once the
# dead voters are replaced, and costly must still run then.
wait_until 60 more_done 1000 || fail "the jobs did not start: $(client $talk job-rates)"
victims=()
for k in 1 2 3 4 5 6 7 8; do
  [ "$k" = "$coord_k" ] || [ "$k" = "$talk" ] && continue
  victims+=("$k")
  [ ${#victims[@]} -eq 3 ] && break
done
log "coordinator $coord; killing workers ${victims[*]} at once with $(job_done_count $talk costly) costly queries done"
for k in "${victims[@]}"; do scripts/cluster.sh kill "$k" >/dev/null; done
now=$(job_done_count $talk costly)
# 300 more queries, or the rest if fewer are left (the job may have run
# almost to its end between the count above and this one).
target=$((now + 300 < QUERIES ? now + 300 : QUERIES))
wait_until 30 more_done $target || fail "no progress after the worker kills: $(client $talk job-rates)"
# Raft's 7 voters survive 3 failures, not 4: the coordinator may die only
# once the dead voters are replaced by live nodes (all 5 survivors vote;
# then any voter set of at most 7 keeps a majority without one more). The
# victims are not counted: membership may still call them alive for a
# second after the kill, and they still hold their votes until removed.
dead_names="${victims[*]/#/node}"
live_voters() {
  client $talk --json list_mem 2>/dev/null |
    json_get 'sum(1 for m in v["members"] if m["state"] == "alive" and m["name"] not in "'"$dead_names"'".split() and m["role"] in ("coordinator", "standby"))'
}
voters_replaced() { [ "$(live_voters)" -ge 5 ]; }
wait_until 30 voters_replaced || fail "the dead voters were not replaced: $(live_voters) live voters"
is_done $talk costly && fail "costly finished before the coordinator could be killed: make the job longer"
log "killing the coordinator $coord with $(job_done_count $talk costly) costly queries done"
scripts/cluster.sh kill "$coord_k" >/dev/null
new_coordinator() { local c; c=$(coordinator_name $talk 2>/dev/null) && [ -n "$c" ] && [ "$c" != "$coord" ]; }
wait_until 30 new_coordinator || fail "no new coordinator"
log "new coordinator $(coordinator_name $talk)"
wait_until 150 both_done $talk cheap costly || fail "the jobs did not finish after the failures: $(client $talk job-rates)"
client $talk get-results cheap "$IDUNNO_RUN/cheap.txt" >/dev/null || fail "get-results cheap"
client $talk get-results costly "$IDUNNO_RUN/costly.txt" >/dev/null || fail "get-results costly"
cmp "$IDUNNO_RUN/ref-cheap.txt" "$IDUNNO_RUN/cheap.txt" || fail "cheap's results differ from the reference"
cmp "$IDUNNO_RUN/ref-costly.txt" "$IDUNNO_RUN/costly.txt" || fail "costly's results differ from the reference"
log "both jobs finished through the failures with results identical to the reference"
for job in cheap costly; do
  done_count=$(client $talk --json get-results "$job" | json_get 'v["done"]')
  [ "$done_count" -eq $QUERIES ] || fail "$job counted $done_count queries"
  count=$(client $talk --json get-stats "$job" | json_get 'v["jobs"][0]["count"]')
  [ "$count" -eq $QUERIES ] || fail "$job's statistics cover $count queries"
done

# The WebSocket console drives jobs with the same commands.
python3 - "$(dirname "$0")/../../bench" $((8000 + talk)) "$images" $QUERIES <<'PY' || fail "jobs through the WebSocket console"
import sys, time
sys.path.insert(0, sys.argv[1])
from wsclient import Console
console = Console("127.0.0.1", int(sys.argv[2]))
reply = console.call("sub", "ws-job", sys.argv[3], "100", "--model", "lenet")
assert reply["ok"] and reply["result"]["job"] == "ws-job", reply
assert not console.call("sub", "ws-job", sys.argv[3], "100")["ok"], "a duplicate sub through the console"
deadline = time.time() + 60
def state():
    reply = console.call("get-results", "ws-job")
    # Before its first query is done, get-results is an error.
    return reply["result"]["state"] if reply["ok"] else "nothing done"
while state() != "done":
    assert time.time() < deadline, "ws-job did not finish"
    time.sleep(0.2)
rates = {j["job"]: j for j in console.call("job-rates")["result"]["jobs"]}
assert rates["ws-job"]["done"] == rates["ws-job"]["total"] == int(sys.argv[4]), rates["ws-job"]
stats = console.call("get-stats", "ws-job")["result"]["jobs"][0]
assert stats["count"] == int(sys.argv[4]) and stats["p50_ms"] <= stats["p99_ms"], stats
nodes = console.call("vm-states")["result"]["nodes"]
assert sum(1 for n in nodes if n["role"] == "coordinator") == 1, nodes
print("console: sub, get-results, job-rates, get-stats and vm-states answered")
PY
client $talk remove ref-cheap >/dev/null || fail "remove"
out=$(client $talk get-results ref-cheap 2>&1) && fail "get-results of a removed job worked: $out"
log "PASS"
