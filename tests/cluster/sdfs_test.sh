#!/usr/bin/env bash
# SDFS with real processes: 8 nodes. A 64 MiB put lands on 4 replicas;
# with three of them killed at once (kill -9) the file still reads back
# byte for byte, and re-replication brings it back to 4 live copies;
# versions, get-versions' format, delete (then get fails and
# writes nothing), the HTTP file API through curl, and an idunno get
# through a node without a replica sent to a replica's console.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"

json_field() {  # json_field KEY < json
  python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(",".join(v) if isinstance(v, list) else v)' "$1"
}
has_coordinator() {
  [ -n "$(client "$1" --json coordinator 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("name") or "")')" ]
}
# Whether `ls` on node $1 lists $2 on exactly 4 nodes, none of them in
# $3 (space-separated dead nodes).
replicated_without() {
  local listed
  listed=$(client "$1" --json ls "$2" | json_field replicas) || return 1
  IFS=, read -r -a nodes <<<"$listed"
  [ ${#nodes[@]} -eq 4 ] || return 1
  for n in "${nodes[@]}"; do case " $3 " in *" $n "*) return 1 ;; esac; done
}
# Re-replication brings the version back to sdfs.replicas live copies after
# the deaths, and the dead copies are forgotten.
wait_replicas() {  # wait_replicas NODE NAME DEAD...
  local node=$1 name=$2
  shift 2
  local t0=$SECONDS
  wait_until 60 replicated_without "$node" "$name" "$*" ||
    fail "$name is not back on 4 live replicas: $(client "$node" --json ls "$name")"
  log "re-replicated $name to 4 live nodes within $((SECONDS - t0)) s: $(client "$node" --json ls "$name" | json_field replicas)"
}

# The lowest K in 1..8 whose nodeK is not among the arguments.
first_node_not_in() {
  local k
  for k in 1 2 3 4 5 6 7 8; do
    case " $* " in *" node$k "*) ;; *) echo "$k"; return ;; esac
  done
}

scripts/cluster.sh up 8 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"

big="$IDUNNO_RUN/big.bin"
head -c $((64 << 20)) /dev/urandom >"$big"
t0=$SECONDS
out=$(client 1 --json put "$big" data/big) || fail "put failed: $out"
[ "$(json_field version <<<"$out")" = 1 ] || fail "first put is not version 1: $out"
[ "$(json_field size <<<"$out")" = $((64 << 20)) ] || fail "put size: $out"
log "put 64 MiB in $((SECONDS - t0)) s"

ls_out=$(client 1 --json ls data/big) || fail "ls failed"
replicas=$(json_field replicas <<<"$ls_out")
IFS=, read -r -a holders <<<"$replicas"
[ ${#holders[@]} -eq 4 ] || fail "ls names ${#holders[@]} replicas, not 4: $ls_out"
log "replicas: $replicas"

far=$(first_node_not_in "${holders[@]}")
# A get through a node without a replica, as curl asks (no redirect): a
# fetch stream that ends on both sides (the reader ends its empty half);
# nothing is cancelled or logged as failed.
curl -sf "http://127.0.0.1:$((8000 + far))/v1/files/data%2Fbig" -o "$IDUNNO_RUN/first.bin" ||
  fail "get before the crashes failed"
cmp "$big" "$IDUNNO_RUN/first.bin" || fail "get before the crashes returned different bytes"
rm -f "$IDUNNO_RUN/first.bin"
if grep -h "event=stream_failed.*method=sdfs.fetch" "$IDUNNO_RUN"/node*/node.log; then
  fail "a fetch of a successful get ended as a failed stream"
fi
log "get through node$far (no replica) with all replicas alive: identical, and its fetch ended cleanly"
# The idunno client is sent to a replica's console and reads from there.
client "$far" get data/big "$IDUNNO_RUN/first.bin" >/dev/null || fail "idunno get through node$far failed"
cmp "$big" "$IDUNNO_RUN/first.bin" || fail "idunno get through node$far returned different bytes"
rm -f "$IDUNNO_RUN/first.bin"
redirect=$(grep -h "event=sdfs_get_redirect name=data/big " "$IDUNNO_RUN/node$far/node.log" | tail -1)
[ -n "$redirect" ] || fail "node$far did not send idunno get to a replica's console"
log "idunno get through node$far: identical, read from a replica's console (${redirect##* })"

# Kill three replicas at once; read through a node that is not one of them.
victims=("${holders[@]:0:3}")
reader=$(first_node_not_in "${victims[@]}")
log "kill -9 ${victims[*]}; reading through node$reader"
for v in "${victims[@]}"; do scripts/cluster.sh kill "${v#node}" >/dev/null; done
t0=$SECONDS
client "$reader" get data/big "$IDUNNO_RUN/back.bin" >/dev/null || fail "get after the crashes failed"
cmp "$big" "$IDUNNO_RUN/back.bin" || fail "get returned different bytes"
log "get of 64 MiB with 3 replicas dead in $((SECONDS - t0)) s: identical"
wait_replicas "$reader" data/big "${victims[*]}"
# Re-replication pulled its copies on fetch streams that ended cleanly too
# (the puller ends its empty half, as a get's reader does).
if grep -h "event=stream_failed.*method=sdfs.fetch.*dropped before it ended" "$IDUNNO_RUN"/node*/node.log; then
  fail "a fetch of re-replication was dropped before it ended"
fi

# Two more versions, then the newest three in one file, newest first.
wait_until 30 has_coordinator "$reader" || fail "no coordinator after the crashes"
printf 'second version\n' >"$IDUNNO_RUN/v2"
printf 'third' >"$IDUNNO_RUN/v3"
out=$(client "$reader" --json put "$IDUNNO_RUN/v2" data/big) || fail "put v2 failed: $out"
[ "$(json_field version <<<"$out")" = 2 ] || fail "second put is not version 2: $out"
out=$(client "$reader" --json put "$IDUNNO_RUN/v3" data/big) || fail "put v3 failed: $out"
[ "$(json_field version <<<"$out")" = 3 ] || fail "third put is not version 3: $out"
client "$reader" get-versions data/big 3 "$IDUNNO_RUN/versions.out" >/dev/null || fail "get-versions failed"
python3 - "$IDUNNO_RUN/versions.out" "$IDUNNO_RUN/v3" "$IDUNNO_RUN/v2" "$big" <<'PY' || fail "get-versions output is not 3 versions newest first"
import re, sys
data = open(sys.argv[1], "rb").read()
expected = [(3, sys.argv[2]), (2, sys.argv[3]), (1, sys.argv[4])]
at = 0
for version, path in expected:
    content = open(path, "rb").read()
    head = b"==> data/big version %d (%d bytes) <==\n" % (version, len(content))
    assert data[at:at + len(head)] == head, (version, data[at:at + 80])
    at += len(head)
    assert data[at:at + len(content)] == content, version
    at += len(content)
    assert data[at:at + 1] == b"\n", version
    at += 1
assert at == len(data), (at, len(data))
PY
log "get-versions: 3 versions newest first in the delimiter format"

# A killed replica comes back after it was replaced: it drops its old copy
# (reconciliation at start) and does not serve it.
stores() {  # stores NODE NAME VERSION: whether `store` on NODE lists it
  client "$1" --json store | python3 -c 'import json,sys; f=json.load(sys.stdin)["files"]; sys.exit(0 if any(x["name"]==sys.argv[1] and x["version"]==int(sys.argv[2]) for x in f) else 1)' "$2" "$3"
}
first=${victims[0]#node}
scripts/cluster.sh start "$first" >/dev/null || fail "restart of node$first failed"
wait_until 30 client "$first" --json store >/dev/null 2>&1 || fail "node$first did not come back"
wait_until 30 eval '! stores '"$first"' data/big 1' || fail "node$first kept a replaced copy of data/big v1"
log "node$first restarted and dropped its replaced copy of data/big v1"

client "$reader" delete data/big >/dev/null || fail "delete failed"
# The live holders drop the blocks of the deleted versions.
keeper=${holders[3]#node}
wait_until 30 eval '! stores '"$keeper"' data/big 1' || fail "node$keeper still stores data/big v1 after the delete"
log "after delete: node$keeper dropped its blocks"
if client "$reader" get data/big "$IDUNNO_RUN/deleted.bin" 2>"$IDUNNO_RUN/err"; then fail "get of a deleted file succeeded"; else rc=$?; fi
[ "$rc" -eq 1 ] || fail "get of a deleted file exited $rc, not 1"
[ ! -e "$IDUNNO_RUN/deleted.bin" ] || fail "get of a deleted file wrote a local file"
ls "$IDUNNO_RUN" | grep -q 'deleted.bin.part' && fail "a temporary download file was left"
log "after delete: get exits 1 ($(cat "$IDUNNO_RUN/err")) and writes nothing"

# The HTTP file API on node $reader's console.
base="http://127.0.0.1:$((8000 + reader))/v1/files"
code=$(curl -s -o "$IDUNNO_RUN/put.json" -w '%{http_code}' -T "$IDUNNO_RUN/v2" "$base/web%2Fa%20b")
[ "$code" = 201 ] || fail "curl PUT answered $code: $(cat "$IDUNNO_RUN/put.json")"
[ "$(json_field name <"$IDUNNO_RUN/put.json")" = "web/a b" ] || fail "PUT named $(cat "$IDUNNO_RUN/put.json")"
curl -sf "$base/web%2Fa%20b" -o "$IDUNNO_RUN/curl.out" || fail "curl GET failed"
cmp "$IDUNNO_RUN/v2" "$IDUNNO_RUN/curl.out" || fail "curl GET returned different bytes"
code=$(curl -s -o "$IDUNNO_RUN/range.out" -w '%{http_code}' -H 'Range: bytes=7-13' "$base/web%2Fa%20b")
[ "$code" = 206 ] && [ "$(cat "$IDUNNO_RUN/range.out")" = "version" ] || fail "Range answered $code '$(cat "$IDUNNO_RUN/range.out")'"
head_out=$(curl -sfI "$base/web%2Fa%20b") || fail "HEAD failed"
grep -qi '^x-idunno-version: 1' <<<"$head_out" || fail "HEAD lacks X-Idunno-Version: $head_out"
grep -qi '^content-length: 15' <<<"$head_out" || fail "HEAD lacks the length: $head_out"
listing=$(curl -sf "$base?prefix=web/") || fail "listing failed"
python3 -c 'import json,sys; f=json.loads(sys.argv[1])["files"]; assert [x["name"] for x in f]==["web/a b"] and len(f[0]["replicas"])>=3, f' "$listing" ||
  fail "listing: $listing"
# From a pipe, curl does not know the length and sends the body chunked.
head -c 3000000 /dev/urandom >"$IDUNNO_RUN/piped"
code=$(curl -s -o "$IDUNNO_RUN/piped.json" -w '%{http_code}' -T - "$base/web%2Fpiped" <"$IDUNNO_RUN/piped")
[ "$code" = 201 ] || fail "chunked curl PUT answered $code: $(cat "$IDUNNO_RUN/piped.json")"
[ "$(json_field size <"$IDUNNO_RUN/piped.json")" = 3000000 ] || fail "chunked PUT stored $(cat "$IDUNNO_RUN/piped.json")"
curl -sf "$base/web%2Fpiped" | cmp - "$IDUNNO_RUN/piped" || fail "the chunked upload came back different"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/web%2Fpiped")
[ "$code" = 200 ] || fail "DELETE of the chunked upload answered $code"
code=$(curl -s -o "$IDUNNO_RUN/bad.json" -w '%{http_code}' "$base/bad%FFname")
[ "$code" = 400 ] && grep -q '"error"' "$IDUNNO_RUN/bad.json" || fail "a bad name answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/web%2Fa%20b")
[ "$code" = 200 ] || fail "DELETE answered $code"
code=$(curl -s -o "$IDUNNO_RUN/missing.json" -w '%{http_code}' "$base/web%2Fa%20b")
[ "$code" = 404 ] && grep -q '"error"' "$IDUNNO_RUN/missing.json" || fail "GET after DELETE answered $code"
log "curl PUT/GET/Range/HEAD/listing/chunked PUT/DELETE/bad name: ok"
grep -q 'idunno_sdfs_operations_total' <(curl -sf "http://127.0.0.1:$((8000 + reader))/metrics") || fail "no sdfs metrics"
log "pass"
