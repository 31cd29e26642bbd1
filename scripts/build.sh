#!/usr/bin/env bash
# Configures and builds IDunno into build/ (binaries in build/bin/).
# Extra arguments go to the CMake configure step (e.g. -DSANITIZE=address).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDUNNO_WERROR="$werror" "$@" >/dev/null
cmake --build build -j"$jobs"
