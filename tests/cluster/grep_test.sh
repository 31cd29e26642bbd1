#!/usr/bin/env bash
# The cluster-wide log query with real processes: 3 nodes; `grep` for the
# line every node logs when it starts returns one match per node, prefixed
# by its name (text and --json); a bad regex is refused (exit 1) with the
# reason; after kill -9 of one node and its death, grep still answers with
# the two live nodes.
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

log "kill -9 node3; grep answers with node1 and node2 once it is dead"
scripts/cluster.sh kill 3 >/dev/null
dead3() { [ "$(state_seen 1 node3)" = dead ]; }
wait_until 20 dead3 || fail "node3 not declared dead at node1: $(state_seen 1 node3)"
json=$(client 1 --json grep 'event=node_started ') || fail "grep after the kill failed: $json"
[ "$(json_nodes <<<"$json")" = "node1 node2" ] || fail "unexpected matches after the kill: $json"
[ -z "$(json_failed <<<"$json")" ] || fail "a dead node was asked: $json"
out=$(client 2 grep 'event=node_started ') || fail "grep after the kill failed: $out"
[ "$(cut -d: -f1 <<<"$out" | tr '\n' ' ')" = "node1 node2 " ] || fail "unexpected text after the kill: $out"

scripts/cluster.sh down >/dev/null
log "PASS"
