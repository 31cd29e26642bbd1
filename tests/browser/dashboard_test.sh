#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# The console dashboard in a real browser: headless Chromium (Debian's
# chromium) driven by playwright-core (tests/browser/package.json) against
# a 3-node cluster on loopback. dashboard.js holds the steps: members,
# the command box, an inference job submitted from the page and its rate on
# the chart, SDFS upload and download, the layout at 1280x800 and 390x844,
# and the page moving to another console when its own node is SIGKILLed.
# Screenshots go to $IDUNNO_ARTIFACTS (default build/test-artifacts/dashboard).
# With IDUNNO_DASH_TOKEN=T the consoles require the token T and the page is
# opened as /?token=T (the socket and every file request carry it).
#
# Exit 77 (ctest SKIP) only when Chromium or node is not installed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${IDUNNO_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
  echo "SKIP: Chromium not found (install Debian's chromium, or set IDUNNO_CHROMIUM; scripts/deps.sh does it)"
  exit 77
fi
if ! command -v node >/dev/null; then
  echo "SKIP: node not found (install Debian's nodejs; scripts/deps.sh does it)"
  exit 77
fi
[ -f "$HERE/node_modules/playwright-core/package.json" ] || {
  echo "FAIL: $HERE/node_modules is missing: run scripts/deps.sh (it runs npm ci there)"
  exit 1
}

# Cluster tests use fixed loopback ports: one at a time on this machine.
source "$HERE/../../scripts/ports_lock.sh"
take_ports_lock || { echo "FAIL: no ports lock"; exit 1; }

TEST_TIMEOUT=200
source "$HERE/../cluster/lib.sh"
source "$HERE/../cluster/jobs_lib.sh"
ARTIFACTS=${IDUNNO_ARTIFACTS:-build/test-artifacts/dashboard}
mkdir -p "$ARTIFACTS"
ARTIFACTS=$(cd "$ARTIFACTS" && pwd)
rm -f "$ARTIFACTS"/*.png

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

page=http://127.0.0.1:8001/
if [ -n "${IDUNNO_DASH_TOKEN:-}" ]; then
  # cluster.sh empties the run folder: the config lives beside it.
  config=$IDUNNO_RUN.console.toml
  printf '[console]\ntoken = "%s"\n' "$IDUNNO_DASH_TOKEN" >"$config"
  trap 'cleanup; rm -f "$config"' EXIT
  export IDUNNO_NODE_ARGS="--config $config" IDUNNO_TOKEN=$IDUNNO_DASH_TOKEN
  page="$page?token=$IDUNNO_DASH_TOKEN"
  ARTIFACTS=$ARTIFACTS/token
  mkdir -p "$ARTIFACTS"
  rm -f "$ARTIFACTS"/*.png
fi

# The nodes must not inherit the lock's descriptor.
scripts/cluster.sh up 3 9>&- >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
if [ -n "${IDUNNO_DASH_TOKEN:-}" ]; then
  # The page's own requests pass only because they carry the token.
  code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8001/v1/files)
  [ "$code" = 401 ] || fail "a file listing without the token got $code, not 401"
fi

# 3,000 test images with their labels, so that the job runs for a few seconds.
python3 - "$DATA" "$IDUNNO_RUN" <<'PY'
import gzip, sys
data, run = sys.argv[1:]
n = 3000
images = gzip.open(f"{data}/t10k-images-idx3-ubyte.gz").read()
labels = gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz").read()
with gzip.open(f"{run}/dash-images-idx3-ubyte.gz", "wb") as f:
    f.write(images[:4] + n.to_bytes(4, "big") + images[8:16] + images[16:16 + n * 784])
with gzip.open(f"{run}/dash-labels-idx1-ubyte.gz", "wb") as f:
    f.write(labels[:4] + n.to_bytes(4, "big") + labels[8:8 + n])
PY
client 1 put "$IDUNNO_RUN/dash-images-idx3-ubyte.gz" data/dash-images-idx3-ubyte.gz >/dev/null || fail "put images"
client 1 put "$IDUNNO_RUN/dash-labels-idx1-ubyte.gz" data/dash-labels-idx1-ubyte.gz >/dev/null || fail "put labels"
client 1 put "$DATA/t10k-images-idx3-ubyte.gz" data/t10k-images-idx3-ubyte.gz >/dev/null || fail "put images"
client 1 put "$DATA/t10k-labels-idx1-ubyte.gz" data/t10k-labels-idx1-ubyte.gz >/dev/null || fail "put labels"

left=$((TEST_DEADLINE - SECONDS - 10))
log "browser steps (at most ${left} s); screenshots in $ARTIFACTS"
IDUNNO_CHROMIUM=$CHROMIUM IDUNNO_ARTIFACTS=$ARTIFACTS IDUNNO_PAGE=$page \
  IDUNNO_SERVING_PID=$(cat "$IDUNNO_RUN/node1/pid") IDUNNO_DATA=data/dash-images-idx3-ubyte.gz \
  IDUNNO_BIG_DATA=data/t10k-images-idx3-ubyte.gz \
  timeout -k 5 "$left" node "$HERE/dashboard.js" 9>&- || fail "the browser steps failed (exit $?)"
log "PASS"
