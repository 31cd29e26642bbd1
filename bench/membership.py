#!/usr/bin/env python3
"""Driver of bench/membership.sh: starts clusters with scripts/cluster.sh,
kills nodes, and reads detection times from the nodes' own logs
(event=member_dead lines carry millisecond timestamps)."""
import json
import os
import signal
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodelogs import log_matches, wait_for  # noqa: E402

N, KILLS, LOSS_SECONDS, IDLE_SECONDS = (int(x) for x in sys.argv[1:5])
RUN = os.environ["IDUNNO_RUN"]
BIN = "build/bin"


def cluster(*args, env=None):
    subprocess.run(["scripts/cluster.sh", *map(str, args)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})


def member_id(k):
    out = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", "--json", "list_self"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["id"]


LINE = re.compile(r"^(\S+) \S+ node=(\S+) event=member_dead member=(\S+)")


def dead_times(victim_id):
    """Time each node logged victim_id dead, by node name."""
    seen = {}
    for t, m in log_matches(RUN, N, LINE):
        if m.group(3) == victim_id and m.group(2) not in seen:
            seen[m.group(2)] = t
    return seen


def metric_sum(name):
    total = 0.0
    for k in range(1, N + 1):
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{8000 + k}/metrics", timeout=5).read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(name + " "):
                total += float(line.split()[1])
    return total


def alive_seen_by(k):
    try:
        out = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", "--json", "list_mem"],
                             capture_output=True, text=True, timeout=5).stdout
        return sum(1 for m in json.loads(out)["members"] if m["state"] == "alive")
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        return 0


def wait_converged(timeout=30):
    """Until every node sees N alive members (a restarted node has joined)."""
    wait_for(lambda: all(alive_seen_by(k) == N for k in range(1, N + 1)), timeout,
             f"the cluster to converge to {N} alive members", poll=0.2)


def count_events(event):
    total = 0
    for k in range(1, N + 1):
        total += sum(1 for line in open(f"{RUN}/node{k}/node.log", errors="replace") if f"event={event} " in line)
    return total


def quantiles(xs):
    return statistics.median(xs), max(xs)


rng = random.Random(1)
cluster("up", N)
first, every = [], []
for _ in range(KILLS):
    victim = rng.randint(2, N)
    vid = member_id(victim)
    pid = int(open(f"{RUN}/node{victim}/pid").read())
    t0 = time.time()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(dead_times(vid)) >= N - 1, 30, f"every survivor to declare node{victim} dead", poll=0.2)
    seen = dead_times(vid)
    if len(seen) < N - 1:
        print(f"# kill of node{victim}: only {len(seen)} of {N - 1} survivors declared it dead", file=sys.stderr)
    if seen:
        first.append(min(seen.values()) - t0)
        every.append(max(seen.values()) - t0)
    cluster("start", victim)
    wait_converged()  # the new incarnation is known everywhere before the next kill
med, mx = quantiles(first)
print(f"detect_first_median_s={med:.2f}\ndetect_first_max_s={mx:.2f}")
med, mx = quantiles(every)
print(f"detect_all_median_s={med:.2f}\ndetect_all_max_s={mx:.2f}\nkills={len(every)}")

# Idle traffic on a fresh cluster.
cluster("down")
cluster("up", N)
time.sleep(5)
b0 = metric_sum("idunno_swim_bytes_out_total") + metric_sum("idunno_swim_stream_bytes_out_total")
time.sleep(IDLE_SECONDS)
b1 = metric_sum("idunno_swim_bytes_out_total") + metric_sum("idunno_swim_stream_bytes_out_total")
print(f"idle_payload_bytes_per_s_node={(b1 - b0) / IDLE_SECONDS / N:.1f}")
cluster("down")

for loss in (3, 10, 30):
    # Every node drops `loss`% of incoming membership datagrams; no node dies,
    # so every dead declaration is a false one.
    env = {"IDUNNO_NODE_ARGS": f"--config bench/out/loss{loss}.toml"}
    with open(f"bench/out/loss{loss}.toml", "w") as f:
        f.write(f"[membership]\ninject_loss_percent = {loss}\n")
    cluster("up", N, env=env)
    time.sleep(LOSS_SECONDS)
    print(f"false_dead_loss{loss}pct={count_events('member_dead')}\n"
          f"suspicions_loss{loss}pct={count_events('member_suspect')}\nloss{loss}pct_seconds={LOSS_SECONDS}")
    cluster("down")

# The simulation (deterministic, simulated time): detection and
# dissemination in protocol periods at larger group sizes.
for nodes, trials in ((100, 20), (1000, 10)):
    out = subprocess.run([f"{BIN}/membership_sim", "--nodes", str(nodes), "--trials", str(trials)],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        key = line.split("=", 1)[0]
        if key.startswith(("detect_", "dissemination_", "trials", "missed")):
            print(f"sim{nodes}_{line}")
