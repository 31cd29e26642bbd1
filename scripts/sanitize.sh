#!/usr/bin/env bash
# Runs the tests under sanitizers, each build in a directory of its own.
#
#   scripts/sanitize.sh [asan|tsan|all]     (default: all)
#
# asan: AddressSanitizer + UndefinedBehaviorSanitizer (build-asan,
#   -DSANITIZE=address,undefined -DIDUNNO_BUILD_ML=OFF): every unit,
#   simulation and cluster test that builds without LibTorch. Cluster and
#   data-plane tests use fixed loopback ports, so they run one at a time
#   under the ports lock (IDUNNO_PORTS_LOCK, default /tmp/idunno-ports.lock).
#   Every instrumented process, the nodes a cluster test starts included,
#   writes its reports to build-asan/sanitizer-reports/; any file there
#   fails the run (a node's report would otherwise vanish with its log).
#   Not run under ASan: the netns.* tests (they need root, must not run
#   beside any other test, and hold recovery to 1 s under kernel-injected
#   faults, a timing that an instrumented build does not keep; their code
#   paths run here in the cluster and simulation tests), and
#   cluster.startup_test, whose assertion is a start-up time that ASan's own
#   initialisation exceeds. The data-plane tests run with their RSS limit
#   raised to IDUNNO_DATAPLANE_RSS_LIMIT_MB (default here 600): ASan's
#   shadow memory and its quarantine of freed blocks (256 MB by default)
#   are not the node's. The tests that run models (the cluster tests marked
#   "# requires: ml", hosts.scenarios) are not registered in this build.
# tsan: ThreadSanitizer (build-tsan, -DSANITIZE=thread) on the tests of the
#   thread-pool bridge (core: ThreadPool*, SlotGate, the runtime tests), of
#   the Raft log's disk thread (QueuedStorage, RaftDriverDisk) and of the ML
#   executor. LibTorch itself is not instrumented; its OpenMP
#   threads synchronise in ways TSan cannot see, so races reported inside
#   libtorch/libgomp frames are suppressed (scripts/tsan.supp), never races
#   in our frames.
# Exits non-zero when any test fails or a sanitizer reports.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
jobs=$(nproc 2>/dev/null || echo 2)
lock=${IDUNNO_PORTS_LOCK:-/tmp/idunno-ports.lock}
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
scripts/deps.sh
status=0

configure_and_build() {  # DIR TARGET... -- CMAKE-ARGS...
  local dir=$1
  shift
  local targets=()
  while [ "$1" != "--" ]; do targets+=(--target "$1"); shift; done
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" "${targets[@]}"
}

run_asan() {
  local t0
  t0=$(date +%s)
  configure_and_build build-asan all -- -DSANITIZE=address,undefined -DIDUNNO_BUILD_ML=OFF
  echo "sanitize: asan build took $(( $(date +%s) - t0 )) s"
  local reports=$PWD/build-asan/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0}:log_path=$reports/asan
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$reports/ubsan
  local t1
  t1=$(date +%s)
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 -E '^(cluster|dataplane|netns)\.' || status=1
  IDUNNO_DATAPLANE_RSS_LIMIT_MB=${IDUNNO_DATAPLANE_RSS_LIMIT_MB:-600} \
    flock "$lock" ctest --test-dir build-asan --output-on-failure --timeout 900 -R '^(cluster|dataplane)\.' \
    -E '^cluster\.startup_test$' || status=1
  echo "sanitize: asan tests took $(( $(date +%s) - t1 )) s"
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitize: sanitizer reports:" >&2
    for f in "$reports"/*; do echo "--- $f" >&2; cat "$f" >&2; done
    status=1
  fi
}

run_tsan() {
  local t0
  t0=$(date +%s)
  local targets=(idunno_core_tests idunno_raft_driver_tests)
  local ml=OFF
  if [ "${IDUNNO_TSAN_ML:-1}" = 1 ]; then targets+=(idunno_ml_tests); ml=ON; fi
  configure_and_build build-tsan "${targets[@]}" -- -DSANITIZE=thread -DIDUNNO_BUILD_ML=$ml
  echo "sanitize: tsan build took $(( $(date +%s) - t0 )) s"
  export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1} suppressions=$PWD/scripts/tsan.supp"
  local t1
  t1=$(date +%s)
  build-tsan/bin/idunno_core_tests --gtest_filter='ThreadPool*:SlotGate*:TaskGroup*:WithTimeout*:CancelToken*' || status=1
  # The Raft log's disk thread and the loop that hands it work.
  build-tsan/bin/idunno_raft_driver_tests --gtest_filter='QueuedStorage*:RaftDriverDisk*' || status=1
  if [ "$ml" = ON ]; then
    build-tsan/bin/idunno_ml_tests --gtest_filter='Executor*' || status=1
  fi
  echo "sanitize: tsan tests took $(( $(date +%s) - t1 )) s"
}

start=$(date +%s)
case "$mode" in
  asan) run_asan ;;
  tsan) run_tsan ;;
  all) run_asan; run_tsan ;;
  *) echo "usage: scripts/sanitize.sh [asan|tsan|all]" >&2; exit 2 ;;
esac
echo "sanitize: $mode finished in $(( $(date +%s) - start )) s, status $status"
exit $status
