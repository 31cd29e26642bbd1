#!/usr/bin/env bash
# Multi-process smoke test of the foundation: a 3-node cluster comes up,
# every node answers list_self over the client, a killed node restarts as a
# new incarnation, bad configuration is refused with exit 2, SIGTERM exits 0
# promptly and `down` leaves no process behind.
source "$(dirname "$0")/lib.sh"

log "bad configuration is refused with exit 2 and the key named"
bad="$IDUNNO_RUN/bad.toml"
printf '[membership]\nprobe_intervall_ms = 3\n' >"$bad"
set +e
out=$("$BIN/idunno-node" --config "$bad" --no-repl 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown key: exit $rc, want 2"
grep -q "membership.probe_intervall_ms" <<<"$out" || fail "unknown key not named: $out"
set +e
out=$("$BIN/idunno-node" --bind 127.0.0.1:70000 --no-repl 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- "--bind" <<<"$out" || fail "bad --bind: exit $rc, $out"

log "client usage errors exit 2, an unreachable node exits 3"
set +e
"$BIN/idunno" --node 127.0.0.1:8999 no_such_command >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "unknown command: exit $rc, want 2"
"$BIN/idunno" --node 127.0.0.1:8999 list_self >/dev/null 2>&1; rc=$?
[ "$rc" -eq 3 ] || fail "unreachable node: exit $rc, want 3"
set -e

log "cluster.sh up 3"
scripts/cluster.sh up 3 || fail "cluster did not come up"
declare -A first_id
for k in 1 2 3; do
  json=$(client "$k" --json list_self) || fail "node$k list_self failed"
  name=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])' <<<"$json")
  [ "$name" = "node$k" ] || fail "node$k answered as '$name'"
  first_id[$k]=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$json")
done

log "help on a node lists what it runs"
help=$(client 1 --json help) || fail "node1 help failed"
for cmd in help list_self list_mem coordinator; do
  python3 -c 'import json,sys; names=[c["name"] for c in json.load(sys.stdin)["commands"]]; sys.exit(0 if sys.argv[1] in names else 1)' \
    "$cmd" <<<"$help" || fail "help does not list $cmd"
done
client 1 list_self >/dev/null || fail "node1 stopped answering after help"

log "kill 2, then start 2: a new incarnation"
scripts/cluster.sh kill 2
wait_until 15 bash -c "! $BIN/idunno --node 127.0.0.1:8002 list_self >/dev/null 2>&1" || fail "node2 still answers"
scripts/cluster.sh start 2
wait_until 30 client 2 list_self >/dev/null || fail "node2 did not come back"
new_id=$(client 2 --json list_self | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ "$new_id" != "${first_id[2]}" ] || fail "restarted node2 kept its id $new_id"

log "SIGTERM: exit 0 within 5 s"
p=$(cat "$IDUNNO_RUN/node3/pid")
kill -TERM "$p"
start=$SECONDS
while pid_alive "$p"; do
  [ $((SECONDS - start)) -le 5 ] || fail "node3 still running 5 s after SIGTERM"
  sleep 0.1
done
grep -q "event=node_stopped" "$IDUNNO_RUN/node3/node.log" || fail "node3 did not log a graceful stop"

log "down leaves no process behind"
pids=$(cat "$IDUNNO_RUN"/node*/pid)
scripts/cluster.sh down >/dev/null
for p in $pids; do pid_alive "$p" && fail "pid $p survived down"; done
log "PASS"
