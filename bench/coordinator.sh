#!/usr/bin/env bash
# Coordinator failover benchmark with 7 real processes on loopback (not part
# of the test suite). Prints name=value lines:
#   failover_elected_{median,max}_s     kill -9 of the coordinator -> a new one elected
#   failover_committing_{median,max}_s  ... -> the new one committed an entry of its term
#   split_votes                         terms in which an election started and nobody won
#   commit_latency_{p50,p99,max}_ms     sequential kv-puts over one console WebSocket
#   commit_throughput_per_s             16 concurrent writers for 5 s
# Knobs: KILLS (20).
#
# `bench/coordinator.sh reads`: kv-get on 3 real processes, through the log
# (`--via-log`, the path before ReadIndex) and by ReadIndex, in one run:
#   read_{log,readindex}_{leader,follower}_{p50,p99}_ms  sequential kv-gets
#   read_{log,readindex}_{leader,follower}_per_s        READERS (16) concurrent for SECONDS (5)
#   read_*_ratio_*                                      ReadIndex against the log
# Knobs: READS (1000), READERS, SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
mkdir -p bench/out
if [ "${1:-}" = reads ]; then
  export IDUNNO_RUN=${IDUNNO_RUN:-bench/out/coordinator-reads}
  exec python3 bench/coordinator_reads.py
fi
export IDUNNO_RUN=${IDUNNO_RUN:-bench/out/coordinator}
exec python3 bench/coordinator.py "${KILLS:-20}"
