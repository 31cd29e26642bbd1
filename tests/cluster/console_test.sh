#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# The console beyond commands, with real processes: 3 nodes. Live events
# over /ws (member, role, job, rate and sdfs, each with a type and a
# timestamp), the `consoles` directory and the WebSocket origins it lets in
# (another console of the cluster, not any other page), /metrics of every
# node checked by promtool, and a real Prometheus scraping the cluster and
# answering a query for a job's rate. The coordinator is killed (kill -9)
# while a watcher listens on another node.
TEST_TIMEOUT=200
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

PY=/usr/bin/python3  # has python3-websocket
WS="$PY tests/cluster/ws_events.py"
DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus)"
$PY -c 'import websocket' || fail "python3-websocket is missing"

scripts/cluster.sh up 3 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
coord=$(coordinator_name 1)
coord_k=${coord#node}
talk=1
[ "$coord_k" = 1 ] && talk=2
log "coordinator $coord; watching node$talk"

# The directory: every live member's console.
console_count() { [ "$(client "$1" --json consoles | json_get 'len(v["consoles"])')" -eq "$2" ]; }
wait_until 20 console_count $talk 3 || fail "consoles does not list 3: $(client $talk consoles)"
client $talk --json consoles | json_get '[c["url"] for c in v["consoles"] if c["name"]=="node3"][0]' |
  grep -qx "http://127.0.0.1:8003" || fail "node3's console URL is wrong: $(client $talk consoles)"

# Origins: another console of the cluster may open a WebSocket; another
# page may not; the console's own origin may.
$WS connect ws://127.0.0.1:8002/ws --origin http://127.0.0.1:8001 >/dev/null || fail "node2 refused node1's page"
$WS connect ws://127.0.0.1:8002/ws --origin http://127.0.0.1:8002 >/dev/null || fail "node2 refused its own page"
set +e
out=$($WS connect ws://127.0.0.1:8002/ws --origin http://evil.example.com)
status=$?
set -e
[ "$status" -eq 3 ] && grep -q 403 <<<"$out" || fail "a foreign origin was not refused with 403: $status $out"

# A watcher on a node that stays up.
events=$IDUNNO_RUN/events.jsonl
: >"$events"
$WS watch "ws://127.0.0.1:$((8000 + talk))/ws" "$events" --seconds 180 &
echo $! >"$IDUNNO_RUN/extra-watch.pid"
has_event() { $PY - "$events" "$1" <<'PY'
import json, sys
path, cond = sys.argv[1], sys.argv[2]
for line in open(path):
    e = json.loads(line)
    if eval(cond):
        sys.exit(0)
sys.exit(1)
PY
}
wait_until 10 has_event 'e["type"]=="role" and e["coordinator"]=="'"$coord"'"' || fail "no role event naming $coord"

# SDFS events; Prometheus over the cluster while a job runs.
client $talk put "$DATA/t10k-labels-idx1-ubyte.gz" events/labels.gz >/dev/null || fail "put"
wait_until 10 has_event 'e["type"]=="sdfs" and e["op"]=="put" and e["name"]=="events/labels.gz" and e["version"]==1' ||
  fail "no sdfs put event"
client $talk put "$DATA/t10k-images-idx3-ubyte.gz" data/t10k-images-idx3-ubyte.gz >/dev/null || fail "put images"
client $talk put "$DATA/t10k-labels-idx1-ubyte.gz" data/t10k-labels-idx1-ubyte.gz >/dev/null || fail "put labels"

prom_port=8099
mkdir -p "$IDUNNO_RUN/prometheus"
cat >"$IDUNNO_RUN/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: idunno
    static_configs:
      - targets: ['127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003']
YML
prometheus --config.file="$IDUNNO_RUN/prometheus/prometheus.yml" --storage.tsdb.path="$IDUNNO_RUN/prometheus/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$IDUNNO_RUN/prometheus/log" 2>&1 &
echo $! >"$IDUNNO_RUN/extra-prometheus.pid"
prom_query() {  # prom_query PROMQL: the first result's value, or nothing
  curl -s --max-time 2 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    json_get 'v["data"]["result"][0]["value"][1] if v.get("status")=="success" and v["data"]["result"] else ""' 2>/dev/null
}
targets_up() { [ "$(prom_query 'sum(up{job="idunno"})')" = 3 ]; }
wait_until 30 targets_up || fail "Prometheus does not scrape the 3 nodes: $(tail -5 "$IDUNNO_RUN/prometheus/log")"

client $talk sub watched sdfs:data/t10k-images-idx3-ubyte.gz 32 --model resnet-fmnist >/dev/null || fail "sub"
wait_until 20 has_event 'e["type"]=="job" and e["job"]=="watched" and e["state"]=="running" and e["kind"]=="infer"' ||
  fail "no job event for watched"
wait_until 30 has_event 'e["type"]=="rate" and any(j["job"]=="watched" and j["rate_10s"]>0 for j in e["jobs"])' ||
  fail "no rate event with watched's rate"
rate_seen() {
  local r
  r=$(prom_query 'max_over_time(idunno_job_query_rate_10s{job_name="watched"}[5m])')
  [ -n "$r" ] && $PY -c "import sys; sys.exit(0 if float('$r') > 0 else 1)"
}
wait_until 30 rate_seen || fail "Prometheus has no rate for the job"
log "Prometheus: max rate of watched $(prom_query 'max_over_time(idunno_job_query_rate_10s{job_name="watched"}[5m])') queries/s"

# Every node's exposition passes promtool, and has the families we promise.
for k in 1 2 3; do
  curl -sf --max-time 5 "http://127.0.0.1:$((8000 + k))/metrics" >"$IDUNNO_RUN/metrics$k.txt" || fail "no /metrics on node$k"
  promtool check metrics <"$IDUNNO_RUN/metrics$k.txt" >"$IDUNNO_RUN/promtool$k.txt" 2>&1 ||
    fail "promtool rejects node$k's metrics: $(head -20 "$IDUNNO_RUN/promtool$k.txt")"
  for family in idunno_swim_members idunno_swim_probes_total idunno_swim_suspicions_total idunno_raft_term \
    idunno_raft_role idunno_raft_commit_index idunno_raft_applied_index idunno_raft_elections_total \
    idunno_sdfs_bytes_in_total idunno_sdfs_operations_total idunno_ml_queued idunno_ml_slots_in_use idunno_ml_batches_total; do
    grep -q "^$family[{ ]" "$IDUNNO_RUN/metrics$k.txt" || fail "node$k's metrics lack $family"
  done
done
grep -q '^idunno_job_processing_seconds_bucket{job_name="watched",le="+Inf"}' "$IDUNNO_RUN/metrics$coord_k.txt" ||
  fail "the coordinator's metrics lack the job's histogram"
grep -q '^idunno_swim_members{state="alive"} 3' "$IDUNNO_RUN/metrics$talk.txt" || fail "node$talk does not count 3 alive"

# The coordinator dies: its death and the new coordinator arrive as events,
# and the directory forgets its console.
wait_until 120 is_done $talk watched || fail "watched did not finish: $(client $talk job-rates)"
wait_until 10 has_event 'e["type"]=="job" and e["job"]=="watched" and e["state"]=="done"' || fail "no job event for done"
kill -9 "$(cat "$IDUNNO_RUN/node$coord_k/pid")"
wait_until 20 has_event 'e["type"]=="member" and e["member"]["name"]=="'"$coord"'" and e["kind"] in ("suspect","dead")' ||
  fail "no member event for the killed coordinator"
wait_until 20 has_event 'e["type"]=="role" and e["coordinator"] not in (None, "'"$coord"'")' ||
  fail "no role event for a new coordinator"
wait_until 20 console_count $talk 2 || fail "consoles still lists the dead node: $(client $talk consoles)"
client $talk delete events/labels.gz >/dev/null || fail "delete"
wait_until 10 has_event 'e["type"]=="sdfs" and e["op"]=="delete" and e["name"]=="events/labels.gz"' ||
  fail "no sdfs delete event"
$PY - "$events" <<'PY' || fail "an event lacks its type or timestamp"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert e["type"] in ("member", "role", "job", "rate", "sdfs"), e
    assert isinstance(e["ts_ms"], int) and e["ts_ms"] > 1.6e12, e
PY
log "events seen: $($PY -c 'import json,sys,collections; print(dict(collections.Counter(json.loads(l)["type"] for l in open(sys.argv[1]))))' "$events")"
log PASS
