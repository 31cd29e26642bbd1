#!/usr/bin/env bash
# The cluster-wide log query with real processes: 3 nodes; `grep` for the
# line every node logs when it starts returns one match per node, prefixed
# by its name (text and --json); a bad regex is refused (exit 1) with the
# reason; a frozen node is reported as not answering beside the others'
# matches; after kill -9 of it and its death, grep answers with the two
# live nodes alone.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"

# The nodes of the matches / of the failures in a grep --json result on stdin.
json_nodes() { python3 -c 'import json,sys; print(" ".join(m["node"] for m in json.load(sys.stdin)["matches"]))'; }
json_failed() { python3 -c 'import json,sys; print(" ".join(f["node"] for f in json.load(sys.stdin)["failed"]))'; }

scripts/cluster.sh up 3 >/dev/null || fail "cluster did not come up"

log "grep for the start event, as text, from node2"
out=$(client 2 grep 'event=node_started ') || fail "grep failed: $out"
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "expected 3 lines, got: $out"
for k in 1 2 3; do
  line=$(grep "^node$k: " <<<"$out") || fail "no line of node$k in: $out"
  grep -q "event=node_started name=node$k " <<<"$line" || fail "node$k's line is not its own start: $line"
done
[ "$(cut -d: -f1 <<<"$out" | tr '\n' ' ')" = "node1 node2 node3 " ] || fail "not in node order: $out"

log "the same with --json"
json=$(client 1 --json grep 'event=node_started ') || fail "grep --json failed: $json"
[ "$(json_nodes <<<"$json")" = "node1 node2 node3" ] || fail "unexpected matches: $json"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert all(m["line"].find("event=node_started name=" + m["node"] + " ") >= 0 for m in r["matches"]), r
assert r["failed"] == [] and r["truncated"] == [], r' "$json" || fail "bad --json result: $json"

log "a regex matched within lines: ECMAScript alternation and classes"
out=$(client 3 grep 'event=node_start(ed|ing) name=node[13] ') || fail "grep failed: $out"
[ "$(cut -d: -f1 <<<"$out" | tr '\n' ' ')" = "node1 node3 " ] || fail "unexpected: $out"

log "a bad regex: exit 1 and a clear message"
set +e
err=$(client 1 grep '(' 2>&1 >/dev/null)
code=$?
set -e
[ "$code" -eq 1 ] || fail "bad regex exited $code: $err"
grep -q "bad regular expression '('" <<<"$err" || fail "unclear message: $err"

log "SIGSTOP node3: grep still answers, and names node3 as not answering"
kill -STOP "$(cat "$IDUNNO_RUN/node3/pid")"
json=$(client 1 --json grep 'event=node_started ') || fail "grep with node3 frozen failed: $json"
[ "$(json_nodes <<<"$json")" = "node1 node2" ] || fail "unexpected matches with node3 frozen: $json"
[ "$(json_failed <<<"$json")" = "node3" ] || fail "frozen node3 is not reported: $json"
out=$(client 2 grep 'event=node_started ') || fail "grep with node3 frozen failed: $out"
grep -q '^note: no answer from node3: ' <<<"$out" || fail "no note on node3 in: $out"

log "kill -9 node3; once node1 and node2 hold it dead, grep answers with both of them"
scripts/cluster.sh kill 3 >/dev/null
dead3() { [ "$(state_seen 1 node3)" = dead ] && [ "$(state_seen 2 node3)" = dead ]; }
wait_until 20 dead3 || fail "node3 not declared dead: node1 $(state_seen 1 node3), node2 $(state_seen 2 node3)"
json=$(client 1 --json grep 'event=node_started ') || fail "grep after the kill failed: $json"
[ "$(json_nodes <<<"$json")" = "node1 node2" ] || fail "unexpected matches after the kill: $json"
[ -z "$(json_failed <<<"$json")" ] || fail "a dead node was asked: $json"
out=$(client 2 grep 'event=node_started ') || fail "grep after the kill failed: $out"
[ "$(cut -d: -f1 <<<"$out" | tr '\n' ' ')" = "node1 node2 " ] || fail "unexpected text after the kill: $out"

scripts/cluster.sh down >/dev/null
log "PASS"
