#!/usr/bin/env bash
# Static checks of a change: clang-format on the lines it touches,
# clang-tidy (.clang-tidy: bugprone and the coroutine lifetime checks) on the
# C++ files it touches, and the rule on immediately-invoked capturing
# coroutine lambdas in the test files it touches. Exits non-zero on any
# finding.
#
#   scripts/lint.sh            change = the files differing from the merge
#                              base with main (IDUNNO_LINT_BASE overrides)
#   scripts/lint.sh --all      every file (slow: see README)
#
# Needs a configured build/ (compile_commands.json, generated protobuf
# headers): run after scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
all=0
[ "${1:-}" = "--all" ] && all=1
build=${IDUNNO_LINT_BUILD:-build}
jobs=$(nproc 2>/dev/null || echo 2)
status=0

base_ref=${IDUNNO_LINT_BASE:-main}
if base=$(git merge-base HEAD "$base_ref" 2>/dev/null) && [ "$base" != "$(git rev-parse HEAD)" ]; then
  :
else
  # On the base branch itself: the last commit (a merge: what it brought).
  base=$(git rev-parse HEAD~1 2>/dev/null || git rev-parse HEAD)
fi

# C++ sources of ours (generated code lives in the build directory).
ours='^(src|tests|fuzz|bench)/.*\.(cpp|hpp)$'
if [ "$all" = 1 ]; then
  mapfile -t files < <(git ls-files | grep -E "$ours" || true)
else
  mapfile -t files < <(git diff --name-only --diff-filter=d "$base" -- | grep -E "$ours" || true)
fi
echo "lint: ${#files[@]} file(s) against $(git rev-parse --short "$base")"

# 1. Formatting of the changed lines only: the tree predates .clang-format.
if [ "${#files[@]}" -gt 0 ]; then
  fmt=$(git clang-format-19 --binary clang-format-19 --quiet --diff "$base" -- "${files[@]}" 2>&1 || true)
  if [ -n "$fmt" ] && ! grep -q "^no modified files to format" <<<"$fmt" &&
     ! grep -q "did not modify any files" <<<"$fmt"; then
    echo "lint: clang-format would change these lines (git clang-format-19 $base fixes them):"
    echo "$fmt"
    status=1
  fi
fi

# 2. Immediately-invoked capturing coroutine lambdas, in the test files of
# the change (every test file with --all).
tests=()
for f in "${files[@]}"; do
  if [[ "$f" =~ (_test\.cpp|test[^/]*\.hpp)$ ]]; then tests+=("$f"); fi
done
[ "${#tests[@]}" -eq 0 ] || python3 scripts/check_coroutine_lambdas.py "${tests[@]}" || status=1

# 3. clang-tidy on translation units: changed .cpp files, and the .cpp
# beside a changed header. Two checks are off for test files: they use the
# runner's safe form of capturing coroutine lambdas (step 2 checks the
# unsafe one), and gtest's ASSERT macros hide from
# bugprone-unchecked-optional-access that `ASSERT_TRUE(x); *x` is checked.
# Files including LibTorch (*_torch.cpp, and any other that includes its
# headers, e.g. bench/ml_bench.cpp) are left out: its headers do not parse
# with clang 19 and GCC 12's standard library.
declare -A units=()
for f in "${files[@]}"; do
  case "$f" in
    *_torch.cpp) ;;
    *.cpp) grep -qE '^#include <(torch|ATen|c10)/' "$f" || units[$f]=1 ;;
    *.hpp) [ -f "${f%.hpp}.cpp" ] && units[${f%.hpp}.cpp]=1 ;;
  esac
done
if [ "${#units[@]}" -gt 0 ]; then
  if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint: $build/compile_commands.json missing: run scripts/build.sh first" >&2
    exit 2
  fi
  # clang reads GCC's precompiled headers as garbage: a copy of the
  # compile database without them (the headers are included directly).
  db=$(mktemp -d)
  trap 'rm -rf "$db"' EXIT
  python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'EOF'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    cmd = e["command"]
    cmd = re.sub(r"-Winvalid-pch\s*", "", cmd)
    cmd = re.sub(r"-include\s+\S*cmake_pch\.hxx\s*", "", cmd)
    e["command"] = cmd
json.dump(entries, open(sys.argv[2], "w"))
EOF
  known=$(python3 -c 'import json,sys; print("\n".join(e["file"] for e in json.load(open(sys.argv[1]))))' "$db/compile_commands.json")
  list=()
  for u in "${!units[@]}"; do
    if grep -qx "$PWD/$u" <<<"$known"; then list+=("$u"); else echo "lint: $u is not in this build (skipped by clang-tidy)"; fi
  done
  printf '%s\n' "${list[@]}" | sort | xargs -r -P "$jobs" -I{} sh -c '
    f=$1; db=$2
    extra=""
    case "$f" in *_test.cpp) extra="--checks=-cppcoreguidelines-avoid-capturing-lambda-coroutines,-bugprone-unchecked-optional-access" ;; esac
    out=$(clang-tidy-19 -p "$db" --quiet $extra "$f" 2>&1) || { echo "$out" | grep -v "warnings generated" ; exit 1; }
  ' _ {} "$db" || status=1
fi

echo "lint: finished in $(( $(date +%s) - start )) s, status $status"
exit $status
