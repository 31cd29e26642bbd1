#!/usr/bin/env bash
# The coordinator with real processes: 7 nodes, writes flowing through the
# replicated key-value state machine. kill -9 of the coordinator elects a
# new one; 3 voters killed at once leave a committing majority; a restart
# of the whole cluster keeps the state; no acknowledged write is missing.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"

coordinator_of() {  # the coordinator's name as node $1 sees it
  client "$1" --json coordinator 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("name") or "")'
}
has_leader() { [ -n "$(coordinator_of "$1")" ]; }
leader_differs() { local c; c=$(coordinator_of "$1"); [ -n "$c" ] && [ "$c" != "$2" ]; }

scripts/cluster.sh up 7 || fail "cluster did not come up"
wait_until 30 has_voters 1 7 || fail "the voter set did not grow to 7 (saw $(voters_seen 1))"

acks="$IDUNNO_RUN/acks.txt"; stop="$IDUNNO_RUN/stop-writer"
python3 tests/cluster/kv_writer.py "$BIN" 7 "$acks" "$stop" 150 &
writer=$!
echo "$writer" >"$IDUNNO_RUN/extra-writer.pid"
wait_until 20 test -s "$acks" || fail "no write was acknowledged"

old=$(coordinator_of 1); k=${old#node}
log "kill -9 the coordinator ($old)"
scripts/cluster.sh kill "$k" >/dev/null
other=$(( k % 7 + 1 ))
t0=$SECONDS
wait_until 20 leader_differs "$other" "$old" || fail "no new coordinator after killing $old"
log "new coordinator $(coordinator_of "$other") after $((SECONDS - t0)) s"

log "restart $old: it resumes its Raft state"
scripts/cluster.sh start "$k" >/dev/null
wait_until 30 has_voters "$other" 7 || fail "the old coordinator did not return as a voter"

leader=$(coordinator_of "$other"); lk=${leader#node}
victims=()
for j in 1 2 3 4 5 6 7; do [ "$j" -ne "$lk" ] && [ ${#victims[@]} -lt 3 ] && victims+=("$j"); done
log "kill 3 voters at once: ${victims[*]}"
for j in "${victims[@]}"; do scripts/cluster.sh kill "$j" >/dev/null; done
before=$(wc -l <"$acks")
wait_until 30 bash -c "[ \$(wc -l <'$acks') -ge $((before + 5)) ]" || fail "the cluster stopped committing with 4 of 7 voters"
log "still committing: $(( $(wc -l <"$acks") - before )) writes after the crashes"
for j in "${victims[@]}"; do scripts/cluster.sh start "$j" >/dev/null; done

touch "$stop"; wait "$writer" || true
total=$(wc -l <"$acks")
log "$total acknowledged writes; checking every one"
check_all() {
  python3 - "$BIN" "$acks" "$1" <<'PY'
import json, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
bin_dir, acks, node = sys.argv[1], sys.argv[2], sys.argv[3]
def ok(line):
    key, value = line.split()
    r = subprocess.run([f"{bin_dir}/idunno", "--node", f"127.0.0.1:{node}", "--json", "kv-get", key], capture_output=True, text=True, timeout=30)
    return key if r.returncode != 0 or json.loads(r.stdout).get("value") != value else None
with ThreadPoolExecutor(8) as pool:
    missing = [k for k in pool.map(ok, open(acks).read().split("\n")[:-1]) if k]
print(len(missing), " ".join(missing[:10]))
sys.exit(1 if missing else 0)
PY
}
wait_until 30 has_leader 1 || fail "no coordinator before the check"
check_all 8001 || fail "acknowledged writes missing"

log "restart the whole cluster: the state is still there"
scripts/cluster.sh down >/dev/null
for j in 1 2 3 4 5 6 7; do scripts/cluster.sh start "$j" >/dev/null; done
wait_until 60 has_leader 2 || fail "no coordinator after a full restart"
check_all 8002 || fail "acknowledged writes missing after a full restart"
scripts/cluster.sh down >/dev/null
log "PASS"
