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

step "node1: list_mem"
"$BIN/idunno" --node 127.0.0.1:8001 list_mem

step "shutting down"
scripts/cluster.sh down
trap - EXIT
