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
