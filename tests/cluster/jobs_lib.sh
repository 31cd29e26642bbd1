# Helpers of the job cluster tests (inference and training). Source it
# after lib.sh.

json_get() {  # json_get EXPR < json   (EXPR in Python over `v`)
  python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
has_coordinator() {
  [ -n "$(client "$1" --json coordinator 2>/dev/null | json_get 'v.get("name") or ""')" ]
}
coordinator_name() { client "$1" --json coordinator | json_get 'v.get("name") or ""'; }
job_state() {  # job_state K JOB: JOB's state (queued, running, ...) as node K sees it
  client "$1" --json job-rates 2>/dev/null | json_get "next((j['state'] for j in v['jobs'] if j['job'] == '$2'), '')"
}
job_done_count() { client "$1" --json job-rates | json_get "sum(j['done'] for j in v['jobs'] if j['job']=='$2')"; }
is_done() { [ "$(job_state "$1" "$2")" = done ]; }
both_done() { is_done "$1" "$2" && is_done "$1" "$3"; }
expect_error() {  # expect_error WORDS COMMAND...: exits 1 saying WORDS
  local words=$1
  shift
  local out rc=0
  out=$(client 1 "$@" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] || fail "'$*' exited $rc (expected 1): $out"
  grep -q -- "$words" <<<"$out" || fail "'$*' said '$out', not '$words'"
  log "refused as expected: $* -> $out"
}
put_doubled_set() {  # put_doubled_set SET: Fashion-MNIST's SET (t10k, train)
  # twice over as plain IDX files, put as data/twice-{images,labels}-...;
  # jobs over it run twice as long, and range-read their shards.
  python3 - "${DATA:?the Fashion-MNIST folder}" "$IDUNNO_RUN" "$1" <<'PY' || fail "cannot write $1 twice over"
import gzip, struct, sys
data, out, which = sys.argv[1:4]
for kind, header in (("images-idx3-ubyte", 16), ("labels-idx1-ubyte", 8)):
    raw = gzip.open(f"{data}/{which}-{kind}.gz").read()
    count = struct.unpack(">I", raw[4:8])[0]
    body = raw[header:]
    with open(f"{out}/twice-{kind}", "wb") as f:
        f.write(raw[:4] + struct.pack(">I", 2 * count) + raw[8:header] + body + body)
PY
  client 1 put "$IDUNNO_RUN/twice-images-idx3-ubyte" data/twice-images-idx3-ubyte >/dev/null || fail "put images"
  client 1 put "$IDUNNO_RUN/twice-labels-idx1-ubyte" data/twice-labels-idx1-ubyte >/dev/null || fail "put labels"
}
