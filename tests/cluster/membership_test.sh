#!/usr/bin/env bash
# Membership with real processes: 6 nodes; 3 killed at once are marked dead
# by every survivor; a restarted node rejoins as a new incarnation (its old
# id stays dead); a node that leaves is `left` everywhere.
source "$(dirname "$0")/lib.sh"

# ids of the members named $2 as seen by node $1, "id state" per line
ids_seen() {
  client "$1" --json list_mem | python3 -c '
import json, sys
for m in json.load(sys.stdin)["members"]:
    if m["name"] == sys.argv[1]:
        print(m["id"], m["state"])' "$2"
}

all_see() {  # all_see STATE NAME NODES...
  local want=$1 name=$2; shift 2
  for k in "$@"; do [ "$(state_seen "$k" "$name")" = "$want" ] || return 1; done
}

scripts/cluster.sh up 6 || fail "cluster did not come up"
old4=$(ids_seen 1 node4 | awk '{print $1}')
[ -n "$old4" ] || fail "node1 does not list node4"

log "kill -9 nodes 4, 5 and 6 at once"
scripts/cluster.sh kill 4 >/dev/null; scripts/cluster.sh kill 5 >/dev/null; scripts/cluster.sh kill 6 >/dev/null
t0=$SECONDS
for name in node4 node5 node6; do
  wait_until 20 all_see dead "$name" 1 2 3 || fail "$name not dead everywhere: $(for k in 1 2 3; do echo "node$k:$(state_seen $k $name)"; done)"
done
log "all three dead at every survivor after $((SECONDS - t0)) s"

log "restart node4: a new incarnation"
scripts/cluster.sh start 4 >/dev/null
wait_until 20 all_see alive node4 1 2 3 4 || fail "node4 did not rejoin alive"
new4=$(ids_seen 1 node4 | awk '$2=="alive"{print $1}')
[ -n "$new4" ] && [ "$new4" != "$old4" ] || fail "node4 rejoined with its old id ($old4)"
old_state=$(ids_seen 1 node4 | awk -v id="$old4" '$1==id{print $2}')
[ -z "$old_state" ] || [ "$old_state" = "dead" ] || fail "old node4 incarnation is '$old_state', not dead"

log "node3 leaves: left everywhere, not dead"
client 3 leave >/dev/null || fail "leave failed"
wait_until 15 all_see left node3 1 2 4 || fail "node3 not 'left' everywhere: $(for k in 1 2 4; do echo "node$k:$(state_seen $k node3)"; done)"

scripts/cluster.sh down >/dev/null
log "PASS"
