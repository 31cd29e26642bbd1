#!/usr/bin/env bash
# Configures and builds IDunno into build/ (binaries in build/bin/).
# Extra arguments go to the CMake configure step (e.g. -DSANITIZE=address,
# -DIDUNNO_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
# Let ccache share results between clones of the repository.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$jobs"
