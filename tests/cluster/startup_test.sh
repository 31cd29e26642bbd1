#!/usr/bin/env bash
# Start-up time: the client (against a node that is not there), `idunno-node
# --help` and a config error (exit 2) each finish in well under 50 ms (the
# median of 10 runs). That holds only while neither binary loads LibTorch
# before it has work for it: its static initialisers alone take most of a
# second. The node loads the ML engine (idunno-ml.so) only when it starts.
source "$(dirname "$0")/lib.sh"

log "neither binary links LibTorch"
for exe in idunno idunno-node; do
  if ldd "$BIN/$exe" | grep -q libtorch; then fail "$exe links LibTorch: $(ldd "$BIN/$exe" | grep libtorch | head -1)"; fi
done

bad="$IDUNNO_RUN/bad.toml"
printf '[membership]\nprobe_intervall_ms = 3\n' >"$bad"

log "median of 10 runs each, limit 50 ms"
# Both the wall time a user waits and the CPU time the process burns are
# held to 50 ms. CPU time is immune to a busy machine (LibTorch's
# initialisers alone burn about 600 ms of it); the wall-time median gets up
# to three rounds of 10 runs, so that a burst of load on a shared machine
# does not fail the test while a slow start-up always does.
python3 - "$BIN" "$bad" <<'PY' || fail "start-up too slow (see above)"
import resource, statistics, subprocess, sys, time
bin_dir, bad = sys.argv[1], sys.argv[2]
cases = [
    ("client_unreachable", [f"{bin_dir}/idunno", "--node", "127.0.0.1:1", "list_self"], 3),
    ("node_help", [f"{bin_dir}/idunno-node", "--help"], 0),
    ("node_config_error", [f"{bin_dir}/idunno-node", "--config", bad, "--no-repl"], 2),
]
limit_ms = 50.0

def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000

def round_of_ten(name, argv, want):
    walls, cpus = [], []
    for run in range(11):  # the first run warms the page cache and is not counted
        cpu_before, start = cpu_ms(), time.perf_counter()
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20).returncode
        wall, cpu = (time.perf_counter() - start) * 1000, cpu_ms() - cpu_before
        if rc != want:
            print(f"{name}: exit {rc}, want {want}")
            sys.exit(1)
        if run > 0:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)

failed = False
for name, argv, want in cases:
    for attempt in range(1, 4):
        wall, cpu = round_of_ten(name, argv, want)
        print(f"startup_{name}_median_ms={wall:.1f} cpu_median_ms={cpu:.1f} round={attempt}")
        if cpu > limit_ms:
            break  # no amount of waiting makes burnt CPU time shorter
        if wall <= limit_ms:
            break
    if wall > limit_ms or cpu > limit_ms:
        failed = True
sys.exit(1 if failed else 0)
PY
log "PASS"
