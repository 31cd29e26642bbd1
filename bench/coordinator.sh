#!/usr/bin/env bash
# Coordinator failover benchmark with 7 real processes on loopback (not part
# of the test suite). Prints name=value lines:
#   failover_median_s / failover_max_s  kill -9 of the coordinator -> a new
#       coordinator has committed (first kv-put acknowledged after the kill)
#   split_votes                          terms that elected nobody (from the logs)
#   commit_p50_ms / commit_per_s          kv-put latency and rate through the client
# Knobs: KILLS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
export IDUNNO_RUN=${IDUNNO_RUN:-bench/out/coordinator}
mkdir -p bench/out
exec python3 bench/coordinator.py "${KILLS:-20}"
