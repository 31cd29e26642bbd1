# Shared helpers of the multi-process cluster tests. Source it.
# Each test runs real idunno-node processes on 127.0.0.1 in its own run
# folder, bounds its own time and stops every process it started (by pid).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export IDUNNO_BIN=${IDUNNO_BIN:-build/bin}
export IDUNNO_RUN=${IDUNNO_RUN:-$(mktemp -d "${TMPDIR:-/tmp}/idunno-test.XXXXXX")}
BIN=$IDUNNO_BIN
TEST_NAME=$(basename "$0" .sh)
TEST_DEADLINE=$((SECONDS + ${TEST_TIMEOUT:-240}))

log() { printf '[%s %3ds] %s\n' "$TEST_NAME" "$SECONDS" "$*"; }
fail() {
  log "FAIL: $*"
  for f in "$IDUNNO_RUN"/node*/stderr.log; do
    [ -f "$f" ] && { echo "--- $f (last 20 lines)"; tail -20 "$f"; }
  done
  exit 1
}

# True while pid $1 runs (a zombie does not count).
pid_alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [[ "$st" != Z* ]]; }

# Stops every node this test started, gracefully then by force, by pid.
cleanup() {
  local pids=() p
  for f in "$IDUNNO_RUN"/node*/pid "$IDUNNO_RUN"/extra*.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  local deadline=$((SECONDS + 8))
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] || continue
    while pid_alive "$p" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  [ -n "${KEEP_RUN:-}" ] || rm -rf "$IDUNNO_RUN"
}
trap cleanup EXIT

check_deadline() { [ "$SECONDS" -lt "$TEST_DEADLINE" ] || fail "test ran past its time bound"; }

# idunno client against node K's console.
client() { local k=$1; shift; "$BIN/idunno" --node "127.0.0.1:$((8000 + k))" "$@"; }

# Polls `cmd...` until it succeeds or `secs` pass.
wait_until() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    check_deadline
    sleep 0.1
  done
}

# State of the member named $2 as seen by node $1 (empty if not listed).
state_seen() {
  client "$1" --json list_mem 2>/dev/null |
    python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["members"] if x["name"]==sys.argv[1]]; print(m[-1]["state"] if m else "")' "$2"
}

# Live voters (coordinator and standbys) in node $1's list_mem.
voters_seen() {
  client "$1" --json list_mem 2>/dev/null |
    python3 -c 'import json,sys; print(sum(1 for m in json.load(sys.stdin)["members"] if m["state"]=="alive" and m["role"] in ("coordinator","standby")))'
}
has_voters() { [ "$(voters_seen "$1")" -ge "$2" ]; }
