#!/usr/bin/env bash
# Local cluster launcher (CONTRACT.md): nodes node1..nodeN on 127.0.0.1,
# cluster ports 7001.., consoles 8001.., data in run/nodeK/.
#
#   scripts/cluster.sh up N      start N nodes; returns once every node sees N alive members
#   scripts/cluster.sh down      stop them all gracefully (SIGTERM, then SIGKILL after 10 s)
#   scripts/cluster.sh kill K    SIGKILL node K
#   scripts/cluster.sh start K   start node K again (a new incarnation)
#   scripts/cluster.sh status    which nodes run, with their pids
#
# Environment: IDUNNO_BIN (folder of idunno-node and idunno; default
# build/bin), IDUNNO_RUN (default run), IDUNNO_UP_TIMEOUT (seconds, default 60),
# IDUNNO_NODE_ARGS (extra idunno-node options).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${IDUNNO_BIN:-build/bin}
RUN=${IDUNNO_RUN:-run}
UP_TIMEOUT=${IDUNNO_UP_TIMEOUT:-60}

die() { echo "cluster.sh: $*" >&2; exit 2; }
node_dir() { echo "$RUN/node$1"; }
pid_of() { cat "$(node_dir "$1")/pid" 2>/dev/null || true; }
# A killed node may linger as a zombie until its parent reaps it: not running.
pid_alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [[ "$st" != Z* ]]; }
is_running() { local p; p=$(pid_of "$1"); [ -n "$p" ] && pid_alive "$p"; }
known_nodes() { ls -d "$RUN"/node* 2>/dev/null | sed 's/.*node//' | sort -n; }

start_node() {
  local k=$1 n=$2 dir seeds=()
  dir=$(node_dir "$k")
  mkdir -p "$dir"
  is_running "$k" && die "node$k already runs (pid $(pid_of "$k"))"
  # Seed with every other node of the cluster: any live one lets us join.
  for ((j = 1; j <= n; j++)); do
    [ "$j" -ne "$k" ] && seeds+=(--seed "127.0.0.1:$((7000 + j))")
  done
  # A node never holds the ports lock a caller may have on fd 9
  # (scripts/ports_lock.sh): it would keep it past the caller's end.
  # shellcheck disable=SC2086
  setsid "$BIN/idunno-node" --name "node$k" --bind "127.0.0.1:$((7000 + k))" \
    --console "127.0.0.1:$((8000 + k))" --data-dir "$dir" --no-repl "${seeds[@]}" \
    ${IDUNNO_NODE_ARGS:-} >"$dir/stdout.log" 2>"$dir/stderr.log" </dev/null 9>&- &
  echo $! >"$dir/pid"
  echo "$n" >"$RUN/size"
}

alive_seen_by() {
  "$BIN/idunno" --node "127.0.0.1:$((8000 + $1))" --json list_mem 2>/dev/null |
    grep -o '"state":"alive"' | wc -l
}

wait_converged() {
  local n=$1 deadline=$((SECONDS + UP_TIMEOUT)) k all
  while :; do
    all=1
    for ((k = 1; k <= n; k++)); do
      if ! is_running "$k"; then
        echo "cluster.sh: node$k exited; see $(node_dir "$k")/stderr.log:" >&2
        tail -5 "$(node_dir "$k")/stderr.log" >&2 || true
        exit 1
      fi
      [ "$(alive_seen_by "$k")" -eq "$n" ] || { all=0; break; }
    done
    [ "$all" -eq 1 ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && { echo "cluster.sh: nodes did not converge within ${UP_TIMEOUT}s" >&2; exit 1; }
    sleep 0.2
  done
}

cmd=${1:-}
case "$cmd" in
  up)
    n=${2:-}
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 99 ] || die "usage: cluster.sh up N (1..99)"
    [ -x "$BIN/idunno-node" ] || die "$BIN/idunno-node is missing; run scripts/build.sh"
    for k in $(known_nodes); do is_running "$k" && die "a cluster already runs (node$k); cluster.sh down first"; done
    rm -rf "$RUN"
    mkdir -p "$RUN"
    for ((k = 1; k <= n; k++)); do start_node "$k" "$n"; done
    wait_converged "$n"
    echo "cluster.sh: $n nodes up (consoles 127.0.0.1:8001..$((8000 + n)))"
    ;;
  down)
    pids=()
    for k in $(known_nodes); do
      if is_running "$k"; then p=$(pid_of "$k"); kill -TERM "$p" 2>/dev/null || true; pids+=("$p"); fi
    done
    deadline=$((SECONDS + 10))
    for p in "${pids[@]:-}"; do
      [ -n "$p" ] || continue
      while pid_alive "$p" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
      pid_alive "$p" && { echo "cluster.sh: pid $p ignored SIGTERM; killing" >&2; kill -KILL "$p" 2>/dev/null || true; }
    done
    echo "cluster.sh: down"
    ;;
  kill)
    k=${2:-}
    [[ "$k" =~ ^[0-9]+$ ]] || die "usage: cluster.sh kill K"
    is_running "$k" || die "node$k is not running"
    kill -KILL "$(pid_of "$k")"
    echo "cluster.sh: killed node$k (pid $(pid_of "$k"))"
    ;;
  start)
    k=${2:-}
    [[ "$k" =~ ^[0-9]+$ ]] || die "usage: cluster.sh start K"
    n=$(cat "$RUN/size" 2>/dev/null || echo "$k")
    [ "$k" -gt "$n" ] && n=$k
    start_node "$k" "$n"
    echo "cluster.sh: started node$k (pid $(pid_of "$k"))"
    ;;
  status)
    for k in $(known_nodes); do
      if is_running "$k"; then echo "node$k running pid=$(pid_of "$k") console=127.0.0.1:$((8000 + k))"
      else echo "node$k stopped"; fi
    done
    ;;
  *)
    die "usage: cluster.sh up N | down | kill K | start K | status"
    ;;
esac
