#!/usr/bin/env bash
# Fencing with real processes: 5 nodes (3 voters, 2 workers). The
# coordinator is paused with SIGSTOP until a successor is elected and every
# worker has heard of it, then resumed. The coordinator requests it sends
# after the pause (the rest of an announce round, stamped with its old
# term) are refused by the receivers' fences, and it steps down and knows
# the new coordinator within 1 s of the resume.
TEST_TIMEOUT=120
source "$(dirname "$0")/lib.sh"

field() {  # field $2 of node $1's `coordinator --json`
  client "$1" --json coordinator 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$2"
}
coordinator_of() { field "$1" name; }
role_of() { field "$1" self_role; }
knows() { [ "$(coordinator_of "$1")" = "$2" ]; }
all_know() { local k want=$1; shift; for k in "$@"; do knows "$k" "$want" || return 1; done; }
now_ms() { date +%s%3N; }

conf=$(mktemp "${TMPDIR:-/tmp}/idunno-voters.XXXXXX.toml")
cat >"$conf" <<'TOML'
[cluster]
voters = 3
TOML
export IDUNNO_NODE_ARGS="--config $conf"
scripts/cluster.sh up 5 >/dev/null || { rm -f "$conf"; fail "cluster did not come up"; }
rm -f "$conf"  # read at start; a restart would need it again

has_coordinator() { [ -n "$(coordinator_of 1)" ]; }
wait_until 30 has_coordinator || fail "no coordinator"
old=$(coordinator_of 1); k=${old#node}
workers=(); voters=()
for j in 1 2 3 4 5; do
  [ "$j" -eq "$k" ] && continue
  wait_until 20 knows "$j" "$old" || fail "node$j does not know the coordinator $old"
  if [ "$(role_of "$j")" = "worker" ]; then workers+=("$j"); else voters+=("$j"); fi
done
[ ${#workers[@]} -eq 2 ] || fail "expected 2 workers besides the coordinator, saw ${workers[*]:-none}"
term=$(field "$k" term)
log "coordinator $old (term $term), workers ${workers[*]/#/node}"

pid=$(cat "$IDUNNO_RUN/node$k/pid")
log "SIGSTOP $old"
kill -STOP "$pid"
new_elected() { local c; c=$(coordinator_of "${voters[0]}"); [ -n "$c" ] && [ "$c" != "$old" ]; }
wait_until 20 new_elected || { kill -CONT "$pid"; fail "no coordinator was elected while $old was paused"; }
new=$(coordinator_of "${voters[0]}")
wait_until 10 all_know "$new" "${workers[@]}" || { kill -CONT "$pid"; fail "the workers did not hear of $new"; }
new_term=$(field "${voters[0]}" term)
log "$new elected (term $new_term) and known to the workers; SIGCONT $old"
t0=$(now_ms)
kill -CONT "$pid"
deposed() { [ "$(coordinator_of "$k")" = "$new" ] && [ "$(role_of "$k")" != "coordinator" ]; }
wait_until 5 deposed || fail "$old did not step down after the resume (sees '$(coordinator_of "$k")')"
# From the old coordinator's own log (local time, as spdlog writes it): when it
# learned of $new, after the resume.
elapsed=$(python3 - "$IDUNNO_RUN/node$k/stderr.log" "$t0" "$old" "$new" <<'PY'
import datetime, re, sys
log, t0, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for line in open(log):
    m = re.match(r"(\S+) .*event=leader_changed node=%s term=\d+ leader=%s\b" % (old, new), line)
    if m:
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp() * 1000
        if t >= t0 - 5:
            print(int(t - t0)); break
else:
    print(-1)
PY
)
[ "$elapsed" -ge 0 ] || fail "$old never logged $new as its leader"
log "$old knows $new as coordinator ${elapsed} ms after the resume (from its log)"
[ "$elapsed" -le 1000 ] || fail "$old took ${elapsed} ms to learn of $new (target 1000 ms)"

rejected=$(cat "$IDUNNO_RUN"/node*/stderr.log | grep -c "event=fence_rejected method=coord.announce term=$term highest=$new_term" || true)
log "receivers refused $rejected request(s) of term $term"
[ "$rejected" -ge 1 ] || fail "no receiver refused a request of the old term $term"
grep -q "event=fence_refused method=coord.announce .* term=$term highest=$new_term" "$IDUNNO_RUN/node$k/stderr.log" ||
  fail "$old was not told that its term $term is stale"
grep -q "event=step_down node=$old " "$IDUNNO_RUN/node$k/stderr.log" || fail "$old logged no step-down"
scripts/cluster.sh down >/dev/null
log "PASS"
