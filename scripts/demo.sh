#!/usr/bin/env bash
# The IDunno demo: builds, starts a local cluster on loopback, shows what it
# does, and shuts it down. It grows with every capability of the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${IDUNNO_DEMO_NODES:-3}
BIN=build/bin

scripts/build.sh
step() { printf '\n== %s\n' "$*"; }
cleanup() { scripts/cluster.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "starting a $N-node cluster on 127.0.0.1 (consoles 127.0.0.1:8001..$((8000 + N)))"
scripts/cluster.sh up "$N"

for ((k = 1; k <= N; k++)); do
  step "node$k: list_self"
  "$BIN/idunno" --node "127.0.0.1:$((8000 + k))" list_self
done

step "node1: list_mem (roles: one coordinator, the other voters standbys)"
"$BIN/idunno" --node 127.0.0.1:8001 list_mem

step "node1: coordinator"
"$BIN/idunno" --node 127.0.0.1:8001 coordinator

step "a write through node2, read back linearizably through node3"
"$BIN/idunno" --node 127.0.0.1:8002 kv-put greeting hello
"$BIN/idunno" --node 127.0.0.1:8003 kv-get greeting

# The coordinator's name, from any node's `coordinator --json`.
coordinator_name() {
  "$BIN/idunno" --node "127.0.0.1:$((8000 + $1))" --json coordinator 2>/dev/null |
    sed -n 's/.*"name":"\([^"]*\)".*/\1/p'
}
old=$(coordinator_name 1)
victim=${old#node}
survivor=$((victim % N + 1))
step "kill -9 the coordinator ($old); a standby takes over"
scripts/cluster.sh kill "$victim"
new=""
for _ in $(seq 100); do  # up to 10 s
  new=$(coordinator_name "$survivor")
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  sleep 0.1
done
"$BIN/idunno" --node "127.0.0.1:$((8000 + survivor))" coordinator
step "the write survived the failover"
"$BIN/idunno" --node "127.0.0.1:$((8000 + survivor))" kv-get greeting

if "$BIN/idunno" --node "127.0.0.1:$((8000 + survivor))" help 2>/dev/null | grep -q '^ *models'; then
  step "models this node can run"
  "$BIN/idunno" --node "127.0.0.1:$((8000 + survivor))" models
fi

step "shutting down"
scripts/cluster.sh down
trap - EXIT
