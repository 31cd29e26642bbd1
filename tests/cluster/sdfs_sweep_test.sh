#!/usr/bin/env bash
# A drop a node missed is swept: 5 nodes with sdfs.sweep_interval_ms = 1000.
# A replica holder is paused (SIGSTOP) until the coordinator declares it
# dead, and its file is deleted meanwhile (the coordinator sends no drop to a
# dead node). Once resumed, the holder rejoins and removes the deleted
# version's block by itself, from its own copy of the namespace, without a
# restart.
TEST_TIMEOUT=150
source "$(dirname "$0")/lib.sh"

conf=$(mktemp "${TMPDIR:-/tmp}/idunno-sweep.XXXXXX.toml")
printf '[sdfs]\nsweep_interval_ms = 1000\n' >"$conf"
paused=""
finish() {
  [ -n "$paused" ] && kill -CONT "$paused" 2>/dev/null
  rm -f "$conf"
  cleanup
}
trap finish EXIT
export IDUNNO_NODE_ARGS="--config $conf"

coordinator_name() {
  client "$1" --json coordinator 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("name") or "")'
}
has_coordinator() { [ -n "$(coordinator_name "$1")" ]; }
holds() {  # holds K NAME: node K's store lists NAME
  client "$1" --json store | python3 -c 'import json,sys; sys.exit(0 if any(f["name"] == sys.argv[1] for f in json.load(sys.stdin)["files"]) else 1)' "$2"
}
not_holds() { ! holds "$@"; }

scripts/cluster.sh up 5 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"

head -c 200000 /dev/urandom >"$IDUNNO_RUN/a.bin"
client 1 put "$IDUNNO_RUN/a.bin" swept/a >/dev/null || fail "put swept/a"
coord=$(coordinator_name 1)
replicas=$(client 1 --json ls swept/a | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["replicas"]))')
holder=""
for n in $replicas; do
  [ "$n" != "$coord" ] && { holder=${n#node}; break; }
done
[ -n "$holder" ] || fail "no replica of swept/a outside the coordinator: $replicas"
wait_until 10 holds "$holder" swept/a || fail "node$holder does not hold swept/a"

paused=$(cat "$IDUNNO_RUN/node$holder/pid")
kill -STOP "$paused"
log "paused node$holder (a replica of swept/a; coordinator $coord)"
declared_dead() { [ "$(state_seen "${coord#node}" "node$holder")" = dead ]; }
wait_until 20 declared_dead || fail "the coordinator did not declare the paused node$holder dead"
client "${coord#node}" delete swept/a >/dev/null || fail "delete swept/a"
log "deleted swept/a while node$holder was declared dead, so no drop was sent to it"
kill -CONT "$paused"
paused=""
log "resumed node$holder"
rejoined() { [ "$(state_seen "${coord#node}" "node$holder")" = alive ]; }
wait_until 20 rejoined || fail "node$holder did not rejoin after it was resumed"

t0=$SECONDS
wait_until 60 not_holds "$holder" swept/a || fail "node$holder still holds the deleted swept/a"
grep -q 'event=sdfs_garbage_dropped name=swept/a version=1' "$IDUNNO_RUN/node$holder/stderr.log" ||
  fail "node$holder dropped swept/a, but not by its sweep"
log "node$holder swept the deleted swept/a within $((SECONDS - t0)) s of resuming"
log "pass"
