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
  python3 python3-websocket iproute2 nftables procps curl prometheus
  clang-format-19 clang-tidy-19
  chromium
)
# The dashboard's browser test (tests/browser) runs on node and npm. A
# machine with another Node.js build (one that carries npm itself) keeps it.
command -v node >/dev/null || IDUNNO_PACKAGES+=(nodejs)
command -v npm >/dev/null || IDUNNO_PACKAGES+=(npm)

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

# The browser test's npm packages, pinned by its package-lock.json; again
# only when the lock changed since the last install.
browser_tests="$(dirname "${BASH_SOURCE[0]}")/../tests/browser"
if [ -f "$browser_tests/package-lock.json" ] &&
   ! cmp -s "$browser_tests/package-lock.json" "$browser_tests/node_modules/.idunno-installed-lock"; then
  echo "deps: npm ci in tests/browser" >&2
  (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error >&2 &&
    cp package-lock.json node_modules/.idunno-installed-lock)
fi
