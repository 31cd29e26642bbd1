#!/usr/bin/env bash
# Runs the multi-host fault scenarios: every node in its own network
# namespace, faults made by the kernel, histories checked afterwards
# (scenarios.py says what each scenario does and what is checked).
#
#   tests/hosts/run.sh [--short] [--seed S] [--keep] [SCENARIO...]
#
# Prints one line per scenario,
#   scenario=NAME ops=N acked=N lost=N verdict=valid|invalid name_s=X ...
# and exits 0 only if every verdict is valid and nothing acknowledged was
# lost. Needs root; where network namespaces are not permitted it says so and
# exits 0 having run nothing. Binaries come from build/bin (scripts/build.sh)
# or $IDUNNO_BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
export IDUNNO_BIN=${IDUNNO_BIN:-$PWD/build/bin}
if [ ! -x "$IDUNNO_BIN/idunno-node" ]; then
  echo "hosts: $IDUNNO_BIN/idunno-node is missing; run scripts/build.sh first" >&2
  exit 2
fi
exec python3 tests/hosts/scenarios.py "$@"
