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
python3 - "$BIN" "$bad" <<'PY' || fail "start-up too slow (see above)"
import statistics, subprocess, sys, time
bin_dir, bad = sys.argv[1], sys.argv[2]
cases = [
    ("client_unreachable", [f"{bin_dir}/idunno", "--node", "127.0.0.1:1", "list_self"], 3),
    ("node_help", [f"{bin_dir}/idunno-node", "--help"], 0),
    ("node_config_error", [f"{bin_dir}/idunno-node", "--config", bad, "--no-repl"], 2),
]
limit_ms = 50.0
slow = []
for name, argv, want in cases:
    times = []
    for run in range(11):  # the first run warms the page cache and is not counted
        start = time.perf_counter()
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20).returncode
        elapsed = (time.perf_counter() - start) * 1000
        if rc != want:
            print(f"{name}: exit {rc}, want {want}")
            sys.exit(1)
        if run > 0:
            times.append(elapsed)
    median = statistics.median(times)
    print(f"startup_{name}_median_ms={median:.1f} max_ms={max(times):.1f}")
    if median > limit_ms:
        slow.append(name)
sys.exit(1 if slow else 0)
PY
log "PASS"
