#!/usr/bin/env bash
# The Debian package as an operator gets it: scripts/package.sh --no-build
# makes the .deb from this build tree into a temporary folder; its control
# data (version, dependencies, conffile, maintainer scripts) and file list
# are checked; then it is extracted and run from the extracted files alone:
# both binaries' --help, and a node on the packaged /etc/idunno/config.toml
# (data dir, cluster and console addresses overridden on the command line)
# that answers `idunno list_mem`, loads the packaged ML engine module and
# serves the packaged dashboard page, then leaves on SIGTERM with exit 0
# within 5 s. systemd-analyze verify checks the unit where it exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${IDUNNO_BUILD:-build}
VERSION=${IDUNNO_VERSION:?the project version (set by ctest)}
WITH_ML=${IDUNNO_WITH_ML:-1}
START=$SECONDS
DEADLINE=$((SECONDS + ${TEST_TIMEOUT:-200}))
CLUSTER_PORT=7401
CONSOLE_PORT=8401

log() { printf '[package_test %3ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
  log "FAIL: $*"
  [ -f "${TMP:-}/data/node.log" ] && { echo "--- node.log (last 20 lines)"; tail -20 "$TMP/data/node.log"; }
  [ -f "${TMP:-}/node.stderr" ] && { echo "--- node stderr (last 20 lines)"; tail -20 "$TMP/node.stderr"; }
  exit 1
}
pid_alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [[ "$st" != Z* ]]; }

# The fixed ports above are shared with other tests and benchmarks.
source scripts/ports_lock.sh
take_ports_lock || fail "no ports lock"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/idunno-package.XXXXXX")
NODE_PID=""
cleanup() {
  if [ -n "$NODE_PID" ] && pid_alive "$NODE_PID"; then
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

log "package this build tree"
deb=$(scripts/package.sh --no-build --build-dir "$BUILD" --out "$TMP/out") || fail "scripts/package.sh failed"
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "idunno_${VERSION}_${arch}.deb" ] || fail "package named $(basename "$deb"), want idunno_${VERSION}_${arch}.deb"
log "$(basename "$deb"): $(du -h "$deb" | cut -f1)"

log "control data"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = idunno ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$VERSION" ] || fail "Version: $(field Version), want $VERSION"
depends=$(field Depends)
want_deps=(adduser libboost-json1.81.0 libprotobuf libsodium libspdlog libxxhash libedit libtomlplusplus libc6)
[ "$WITH_ML" = 1 ] && want_deps+=(libtorch)
for dep in "${want_deps[@]}"; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
# With LibTorch, an optimised BLAS in place of Debian's reference one.
if [ "$WITH_ML" = 1 ]; then
  grep -qx "libopenblas0-openmp" <<<"$(field Recommends)" || fail "Recommends: $(field Recommends), want libopenblas0-openmp"
fi
info=$(dpkg-deb -I "$deb")
for script in postinst prerm postrm conffiles; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +[*]? *$script\b" <<<"$info" || fail "no $script in the control archive"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
[ "$conffiles" = /etc/idunno/config.toml ] || fail "conffiles: $conffiles"

log "contents"
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
want_files=(./usr/bin/idunno-node ./usr/bin/idunno ./usr/share/idunno/web/index.html
  ./usr/lib/systemd/system/idunno-node.service ./etc/idunno/config.toml ./usr/share/doc/idunno/config.toml)
[ "$WITH_ML" = 1 ] && want_files+=(./usr/lib/idunno/idunno-ml.so ./usr/bin/idunno-train-worker)
for f in "${want_files[@]}"; do
  grep -qx "$f" <<<"$contents" || fail "the package lacks $f"
done

ROOT=$TMP/root
dpkg-deb -x "$deb" "$ROOT"
for f in "$ROOT"/usr/bin/* "$ROOT"/usr/lib/idunno/*.so; do
  [ -e "$f" ] || continue
  if readelf -S "$f" | grep -q '\.debug_info'; then fail "$(basename "$f") is not stripped"; fi
done

log "extracted binaries: --help"
unset LD_LIBRARY_PATH
"$ROOT/usr/bin/idunno-node" --help | grep -q '^usage: idunno-node' || fail "idunno-node --help"
"$ROOT/usr/bin/idunno" --help | grep -q '^usage: idunno' || fail "idunno --help"

log "a node on the packaged config (cluster 127.0.0.1:$CLUSTER_PORT, console 127.0.0.1:$CONSOLE_PORT)"
for port in $CLUSTER_PORT $CONSOLE_PORT; do
  if ss -Hltnu "sport = :$port" | grep -q .; then fail "port $port is taken"; fi
done
mkdir -p "$TMP/data"
"$ROOT/usr/bin/idunno-node" --config "$ROOT/etc/idunno/config.toml" --data-dir "$TMP/data" --name packaged \
  --bind "127.0.0.1:$CLUSTER_PORT" --console "127.0.0.1:$CONSOLE_PORT" --no-repl \
  </dev/null >/dev/null 2>"$TMP/node.stderr" 9>&- &
NODE_PID=$!
client() { "$ROOT/usr/bin/idunno" --node "127.0.0.1:$CONSOLE_PORT" "$@"; }
until client --json list_mem >"$TMP/members.json" 2>/dev/null; do
  pid_alive "$NODE_PID" || { wait "$NODE_PID" && rc=0 || rc=$?; fail "the node exited (code $rc) before its console answered"; }
  [ "$SECONDS" -lt "$DEADLINE" ] || fail "the console did not answer"
  sleep 0.2
done
grep -q '"name":"packaged"' "$TMP/members.json" || fail "list_mem: $(cat "$TMP/members.json")"
log "list_mem answers: $(cat "$TMP/members.json")"

if [ "$WITH_ML" = 1 ]; then
  until grep -q 'event=ml_engine_loaded' "$TMP/data/node.log" 2>/dev/null; do
    if grep -q 'event=ml_engine_unavailable' "$TMP/data/node.log" 2>/dev/null; then
      fail "the packaged ML engine did not load: $(grep -m1 'event=ml_engine_unavailable' "$TMP/data/node.log")"
    fi
    [ "$SECONDS" -lt "$DEADLINE" ] || fail "the ML engine did not load"
    sleep 0.2
  done
  client models | grep -q lenet || fail "models does not list lenet"
  log "the packaged ML engine loaded ($(grep -m1 -o 'event=ml_engine_loaded seconds=[0-9.]*' "$TMP/data/node.log"))"
fi

curl -sS --max-time 5 -o "$TMP/page.html" "http://127.0.0.1:$CONSOLE_PORT/" || fail "GET / failed"
cmp -s "$TMP/page.html" "$ROOT/usr/share/idunno/web/index.html" || {
  head -c 300 "$TMP/page.html"
  fail "GET / is not the packaged dashboard page"
}
if grep -q 'event=console_page_missing' "$TMP/data/node.log"; then fail "the node did not find its dashboard page"; fi
log "GET / serves the packaged dashboard page"

log "SIGTERM"
kill -TERM "$NODE_PID"
stop_deadline=$((SECONDS + 5))
while pid_alive "$NODE_PID" && [ "$SECONDS" -lt "$stop_deadline" ]; do sleep 0.1; done
pid_alive "$NODE_PID" && fail "the node still runs 5 s after SIGTERM"
wait "$NODE_PID" && rc=0 || rc=$?
NODE_PID=""
[ "$rc" = 0 ] || fail "the node exited with code $rc after SIGTERM"
log "the node left and exited 0"

unit=$ROOT/usr/lib/systemd/system/idunno-node.service
if command -v systemd-analyze >/dev/null; then
  # Against the extracted tree, so that ExecStart's /usr/bin/idunno-node is
  # the packaged one. The tree holds only the package's files: systemd's own
  # units (the targets the unit is ordered against) are copied in beside it.
  cp -n /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice "$ROOT/usr/lib/systemd/system/" 2>/dev/null || true
  if ! out=$(systemd-analyze verify --root="$ROOT" /usr/lib/systemd/system/idunno-node.service 2>&1) ||
    grep -q 'idunno-node.service' <<<"$out"; then
    printf '%s\n' "$out"
    fail "systemd-analyze verify found problems in idunno-node.service"
  fi
  log "systemd-analyze verify: the unit is clean"
else
  log "systemd-analyze is not installed: the unit is not verified"
fi
grep -qx 'ExecStart=/usr/bin/idunno-node --config /etc/idunno/config.toml --no-repl' "$unit" || fail "ExecStart"

log "PASS in $((SECONDS - START)) s"
