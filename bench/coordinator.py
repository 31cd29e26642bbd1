#!/usr/bin/env python3
"""Driver of bench/coordinator.sh. Failover is measured from the nodes'
logs: the kill time (taken here) to the first election_won line of a later
term, and separately to the first acknowledged write after the kill."""
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

KILLS = int(sys.argv[1])
RUN = os.environ["IDUNNO_RUN"]
BIN = "build/bin"
N = 7


def cluster(*args):
    subprocess.run(["scripts/cluster.sh", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def client(k, *args, timeout=15):
    return subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", "--json", *args],
                          capture_output=True, text=True, timeout=timeout)


def coordinator(k):
    r = client(k, "coordinator")
    return json.loads(r.stdout).get("name") if r.returncode == 0 else None


WON = re.compile(r"^(\S+) .*event=election_won")


def elections_after(t0):
    times = []
    for k in range(1, N + 1):
        path = f"{RUN}/node{k}/node.log"
        for line in open(path, errors="replace") if os.path.exists(path) else []:
            m = WON.match(line)
            if m:
                t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
                if t > t0:
                    times.append(t)
    return sorted(times)


cluster("up", N)
while coordinator(1) is None:
    time.sleep(0.2)
time.sleep(3)
elected, committed = [], []
for i in range(KILLS):
    leader = coordinator(1) or coordinator(2)
    k = int(leader.removeprefix("node"))
    other = k % N + 1
    t0 = time.time()
    cluster("kill", k)
    while True:
        r = client(other, "kv-put", f"failover{i}", "x", timeout=30)
        if r.returncode == 0:
            committed.append(time.time() - t0)
            break
    won = elections_after(t0)
    if won:
        elected.append(won[0] - t0)
    cluster("start", k)
    time.sleep(3)

print(f"failover_elected_median_s={statistics.median(elected):.3f}\nfailover_elected_max_s={max(elected):.3f}")
print(f"failover_committed_median_s={statistics.median(committed):.3f}\nfailover_committed_max_s={max(committed):.3f}")
started = sum(sum(1 for l in open(f"{RUN}/node{k}/node.log", errors="replace") if "event=election_started" in l)
              for k in range(1, N + 1))
won = sum(sum(1 for l in open(f"{RUN}/node{k}/node.log", errors="replace") if "event=election_won" in l)
          for k in range(1, N + 1))
print(f"elections_started={started}\nelections_won={won}\nkills={KILLS}")

lat = []
t_start = time.time()
for i in range(200):
    t = time.time()
    if client(1, "kv-put", f"bench{i}", "v").returncode == 0:
        lat.append((time.time() - t) * 1000)
elapsed = time.time() - t_start
print(f"commit_client_p50_ms={statistics.median(lat):.1f}\ncommit_client_per_s={len(lat) / elapsed:.1f}")
print("# commit latency includes starting the idunno client process for every write")
cluster("down")
