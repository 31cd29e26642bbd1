#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# A coordinator that crashes after committing a lease and before its
# worker hears of it (failpoint jobs.after_lease, a real crash at exactly
# that point): the lease names a live worker that runs nothing, so neither
# membership nor the worker frees it. The next coordinator asks the workers
# what they hold as soon as it leads, gives the orphaned lease back, and
# the job finishes with every query once, long before the lease's own
# timeout (30 s at least) would have freed it.
TEST_TIMEOUT=150
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

# node1 alone first, with the failpoint armed, so that it is the
# coordinator; the others join it unarmed.
IDUNNO_FAILPOINTS=jobs.after_lease scripts/cluster.sh up 1 >/dev/null || fail "node1 did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
for k in 2 3 4 5; do scripts/cluster.sh start "$k" >/dev/null; done
wait_until 60 has_voters 2 5 || fail "the voter set did not grow to 5 (saw $(voters_seen 2))"
[ "$(coordinator_name 2)" = node1 ] || fail "node1 is not the coordinator: $(coordinator_name 2)"

QUERIES=20000
put_doubled_set t10k
images=sdfs:data/twice-images-idx3-ubyte
node1_pid=$(cat "$IDUNNO_RUN/node1/pid")

# The reply may be lost with the coordinator; the job is in the table
# either way (its add is committed before any lease of it).
client 2 sub orphan "$images" 64 --model lenet >/dev/null 2>&1 || log "sub's reply was lost with the coordinator"
wait_until 20 bash -c "! ps -o stat= -p $node1_pid | grep -qv Z" || fail "node1 did not crash at the failpoint"
crashed=$SECONDS
grep -q "event=failpoint_crash name=jobs.after_lease" "$IDUNNO_RUN/node1/stderr.log" ||
  fail "node1 ended, but not at the failpoint"
grep -q 'event=task_scheduled job=orphan shard=0 ' "$IDUNNO_RUN/node1/stderr.log" ||
  fail "node1 crashed before its lease was committed"
log "node1 crashed with shard 0 of orphan leased and unsent"

wait_until 30 has_coordinator 2 || fail "no new coordinator"
wait_until 60 is_done 2 orphan || fail "the job did not finish: $(client 2 job-rates)"
took=$((SECONDS - crashed))
log "orphan done $took s after the crash"
[ "$took" -lt 25 ] || fail "the job took $took s after the crash: its orphaned lease waited for its timeout"

# Who gave the lease back, and how long after its election. A worker
# that became the coordinator itself gives back its own leases as a node
# that no longer works (schedule_round); any other asks the worker.
coord=$(coordinator_name 2)
python3 - "$IDUNNO_RUN" "$coord" <<'PY' || fail "the new coordinator did not give the orphaned lease back"
import datetime, re, sys
run, name = sys.argv[1:3]
def at(line):
    return datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%f")
leased_to = re.search(r"event=task_scheduled job=orphan shard=0 node=(\S+)", open(f"{run}/node1/stderr.log").read())[1]
how = "as its own" if leased_to == name else f"when {leased_to} said it did not hold it"
mark = f"event=tasks_released worker={name} " if leased_to == name else "event=lease_orphaned job=orphan shard=0 "
elected = released = None
for line in open(f"{run}/{name}/stderr.log"):
    if f"event=leader_changed node={name} " in line and line.rstrip().endswith(f"leader={name}"):
        elected = at(line)
    if mark in line and released is None and elected is not None:
        released = at(line)
if elected is None or released is None:
    sys.exit(1)
print(f"[jobs_orphan_test] {name} gave back shard 0's lease {how}, "
      f"{(released - elected).total_seconds() * 1000:.0f} ms after its election")
PY

client 2 get-results orphan "$IDUNNO_RUN/orphan.txt" >/dev/null || fail "get-results orphan"
python3 - "$IDUNNO_RUN/orphan.txt" "$QUERIES" <<'PY' || fail "the results do not hold every query once, in order"
import sys
path, queries = sys.argv[1], int(sys.argv[2])
indices = [int(line.split()[0]) for line in open(path)]
sys.exit(0 if indices == list(range(queries)) else 1)
PY
log "PASS: $QUERIES results, every query once"
