#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# The demo in its quick form (IDUNNO_DEMO_QUICK=1), as a user runs it: it
# trains, serves, survives a worker and a coordinator kill and checks its
# own outcome; this test passes when the demo exits 0 and left no node
# running.
TEST_TIMEOUT=290
source "$(dirname "$0")/lib.sh"

cluster=$IDUNNO_RUN/cluster  # the demo's cluster folder (cluster.sh up empties it)
demo_cleanup() {
  IDUNNO_RUN=$cluster scripts/cluster.sh down >/dev/null 2>&1 || true
  cleanup
}
trap demo_cleanup EXIT

IDUNNO_RUN=$cluster IDUNNO_DEMO_QUICK=1 IDUNNO_DEMO_NO_BUILD=1 timeout 280 scripts/demo.sh >"$IDUNNO_RUN/demo.log" 2>&1 || {
  tail -60 "$IDUNNO_RUN/demo.log"
  fail "the quick demo failed"
}
grep -E '^== ' "$IDUNNO_RUN/demo.log" | while read -r line; do log "$line"; done
for f in "$cluster"/node*/pid; do
  if pid_alive "$(cat "$f")"; then fail "the demo left $(dirname "$f") running"; fi
done
log "$(tail -1 "$IDUNNO_RUN/demo.log")"
