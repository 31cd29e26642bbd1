# Shared by the data-plane scenarios: start the two processes, stop them by
# pid on every exit path, read their key=value lines.
BIN="${IDUNNO_BIN:-build/bin}/idunno-dataplane-node"
RECEIVER_ADDR=127.0.0.1:7401
SENDER_ADDR=127.0.0.1:7402
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  exit 1
}

# start_node NAME ARGS...: runs the node in the background, output in $WORK/NAME.log.
start_node() {
  local name=$1
  shift
  "$BIN" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "${name}_pid=$!"
}

# field FILE PATTERN KEY: the value of KEY on the last line of FILE matching PATTERN.
field() {
  { grep -E "$2" "$1" || true; } | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p" | tr -d '"'
}

# wait_exit PID SECONDS: waits for the process to end; 1 if it did not.
wait_exit() {
  local pid=$1 limit=$2
  for _ in $(seq 1 $((limit * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# below A B: exit 0 when A < B (decimals).
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# The peak RSS a node may reach (MB). scripts/sanitize.sh raises it: ASan's
# shadow memory and its quarantine of freed blocks are not the node's.
RSS_LIMIT_MB=${IDUNNO_DATAPLANE_RSS_LIMIT_MB:-100}

[ -x "$BIN" ] || fail "$BIN not built (scripts/build.sh)"
