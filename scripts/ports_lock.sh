# Source it, then `take_ports_lock`: holds the lock that serialises the
# users of the fixed loopback ports (cluster tests, benchmarks) on this
# machine, IDUNNO_PORTS_LOCK (default /tmp/idunno-ports.lock), on fd 9
# until the shell exits. A caller that already holds it (`flock LOCK
# ctest ...`, or `exec 9>LOCK; flock 9` in a parent script) passes its
# descriptor down, and then the lock is ours already: no waiting on
# ourselves. Start long-lived children with `9>&-` so that they do not
# keep the lock.
take_ports_lock() {
  local lock want fd
  lock=${IDUNNO_PORTS_LOCK:-/tmp/idunno-ports.lock}
  touch "$lock"
  want=$(realpath "$lock")
  for fd in /proc/$$/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$want" ] || continue
    flock -n "${fd##*/}" 2>/dev/null && return 0
  done
  exec 9>"$lock"
  flock -w "${IDUNNO_PORTS_LOCK_WAIT:-900}" 9 || {
    echo "the ports lock $lock stayed taken for ${IDUNNO_PORTS_LOCK_WAIT:-900} s" >&2
    return 1
  }
}
