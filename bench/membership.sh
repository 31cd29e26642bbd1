#!/usr/bin/env bash
# Membership benchmark with real processes on loopback (not part of the test
# suite). Prints name=value lines:
#   detect_first_median_s / _max_s   kill -9 -> first member marks the victim dead
#   detect_all_median_s / _max_s     kill -9 -> every survivor marks it dead
#   false_dead_loss{3,10,30}pct      dead declarations of live nodes under injected loss
#   idle_payload_bytes_per_s_node    membership payload (UDP + TCP) per node, idle
# and the simulation figures of build/bin/membership_sim when it was built.
# Knobs: N (10), KILLS (20), LOSS_SECONDS (120 per loss level; 600 = the
# 10 minutes of DESIGN.md), IDLE_SECONDS (30).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
export IDUNNO_RUN=${IDUNNO_RUN:-bench/out/membership}
mkdir -p bench/out
exec python3 bench/membership.py "${N:-10}" "${KILLS:-20}" "${LOSS_SECONDS:-120}" "${IDLE_SECONDS:-30}"
