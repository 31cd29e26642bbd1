#!/usr/bin/env bash
# Installs the Debian packages IDunno needs, only those missing. Idempotent
# and quick when everything is there. Sourced or run by the other scripts.
set -euo pipefail

IDUNNO_PACKAGES=(
  build-essential cmake pkg-config git ccache clang
  libboost1.81-dev libboost-json1.81-dev
  libtorch-dev libgloo-dev
  # LibTorch's libblas.so.3 is the reference BLAS unless an optimised one is
  # installed; OpenBLAS (its OpenMP build, LibTorch's runtime) runs lenet
  # 1.8-2.5x faster (README, "ML engine", BLAS).
  libopenblas0-openmp
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

# The npm packages of the tests, pinned by each directory's package-lock.json:
# tests/browser (playwright-core driving the dashboard) and tests/oip (the
# OpenAPI validator of the console's Open Inference Protocol answers).
# Installed again only when a lock changed since the last install.
for npm_tests in browser oip; do
  dir="$(dirname "${BASH_SOURCE[0]}")/../tests/$npm_tests"
  if [ -f "$dir/package-lock.json" ] && ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.idunno-installed-lock"; then
    echo "deps: npm ci in tests/$npm_tests" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2 && cp package-lock.json node_modules/.idunno-installed-lock)
  fi
done
