#!/usr/bin/env bash
# Builds IDunno (scripts/build.sh) and its Debian package,
# build/idunno_VERSION_ARCH.deb (cmake/packaging.cmake: the binaries, the
# ML engine module, the dashboard page, the idunno-node.service unit and
# /etc/idunno/config.toml), and prints the package's path. Idempotent.
#
#   scripts/package.sh [CMAKE_ARGS...]      build, then package
#   scripts/package.sh --no-build [--build-dir DIR] [--out DIR]
#                                           package an existing build
#                                           (tests/package uses this)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
out_dir=""
do_build=1
cmake_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) do_build=0 ;;
    --build-dir) build_dir=${2:?--build-dir needs a folder}; shift ;;
    --out) out_dir=${2:?--out needs a folder}; shift ;;
    *) cmake_args+=("$1") ;;
  esac
  shift
done
out_dir=${out_dir:-$build_dir}

if [ "$do_build" = 1 ]; then
  [ "$build_dir" = build ] || { echo "package.sh: scripts/build.sh builds into build/; use --no-build with --build-dir" >&2; exit 2; }
  scripts/build.sh "${cmake_args[@]}"
fi
[ -f "$build_dir/CPackConfig.cmake" ] || {
  echo "package.sh: $build_dir is not a configured build (no CPackConfig.cmake); run scripts/build.sh first" >&2
  exit 2
}
command -v dpkg-shlibdeps >/dev/null || {
  echo "package.sh: dpkg-shlibdeps is missing (apt-get install dpkg-dev)" >&2
  exit 2
}

mkdir -p "$out_dir"
out_dir=$(realpath "$out_dir")
# cpack stages under OUT/_CPack_Packages; a previous run's staging and
# package are replaced.
rm -rf "$out_dir/_CPack_Packages"
log="$out_dir/cpack.log"
if ! cpack --config "$build_dir/CPackConfig.cmake" -B "$out_dir" >"$log" 2>&1; then
  cat "$log" >&2
  echo "package.sh: cpack failed (log above, also in $log)" >&2
  exit 1
fi
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$log" | tail -1)
[ -n "$deb" ] && [ -f "$deb" ] || { cat "$log" >&2; echo "package.sh: cpack made no .deb" >&2; exit 1; }
rm -rf "$out_dir/_CPack_Packages"
echo "$deb"
