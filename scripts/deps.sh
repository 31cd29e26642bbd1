#!/usr/bin/env bash
# Installs the Debian packages IDunno needs, only those missing. Idempotent
# and quick when everything is there. Sourced or run by the other scripts.
set -euo pipefail

IDUNNO_PACKAGES=(
  build-essential cmake pkg-config git ccache clang
  libboost1.81-dev libboost-json1.81-dev
  libtorch-dev libgloo-dev
  libtomlplusplus-dev libspdlog-dev libgtest-dev libgmock-dev
  protobuf-compiler libprotobuf-dev
  libxxhash-dev libedit-dev libsodium-dev libstb-dev zlib1g-dev
  dataset-fashion-mnist python3-torch
  python3 iproute2 nftables procps curl
  nodejs
  clang-format-19 clang-tidy-19
)
# Debian's npm is a package of its own; a nodejs that ships npm (and
# conflicts with that package) needs nothing more.
command -v npm >/dev/null 2>&1 || IDUNNO_PACKAGES+=(npm)

missing=()
installed=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null | awk '$1=="installed"{print $2}' | sed 's/:.*//')
for p in "${IDUNNO_PACKAGES[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The npm tools of the tests (the OpenAPI validator of the console's Open
# Inference Protocol answers), pinned by tests/oip/package-lock.json.
IDUNNO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -f "$IDUNNO_ROOT/tests/oip/node_modules/.package-lock.json" ] ||
  [ "$IDUNNO_ROOT/tests/oip/package-lock.json" -nt "$IDUNNO_ROOT/tests/oip/node_modules/.package-lock.json" ]; then
  echo "deps: npm ci in tests/oip" >&2
  (cd "$IDUNNO_ROOT/tests/oip" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
