#!/usr/bin/env python3
"""Driver of bench/coordinator.sh. Failover is read from the nodes' own logs
(millisecond timestamps): from the kill (taken here, just before SIGKILL) to
the first `election_won` of a later term, and to the first
`leader_committing` (the new leader committed an entry of its term: it
serves). Split votes are terms in which an election started and nobody won.
Commit latency and throughput go through the console's WebSocket, one
connection per writer, so no client process start is counted."""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodelogs import log_matches, wait_for  # noqa: E402
from wsclient import Console  # noqa: E402

KILLS = int(sys.argv[1])
RUN = os.environ["IDUNNO_RUN"]
BIN = "build/bin"
N = 7

EVENT = re.compile(r"^(\S+) \S+ .*?event=(election_started|election_won|leader_committing) node=(\S+) term=(\d+)")


def cluster(*args):
    subprocess.run(["scripts/cluster.sh", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def coordinator_of(k):
    r = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", "--json", "coordinator"],
                       capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        return None, 0
    reply = json.loads(r.stdout)
    return reply.get("name"), int(reply.get("term", 0))


def events():
    """(time, kind, node, term) of every Raft election event in the logs."""
    return [(t, m.group(2), m.group(3), int(m.group(4))) for t, m in log_matches(RUN, N, EVENT)]


def first_after(kind, t0, term, seen=None):
    times = [t for (t, k, _, tm) in (seen if seen is not None else events()) if k == kind and t > t0 and tm > term]
    return min(times) - t0 if times else None


def quantiles(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(0.99 * len(xs)))], max(xs)


cluster("up", N)
wait_for(lambda: all(coordinator_of(k)[0] for k in range(1, N + 1)), 30, "a coordinator known everywhere")

elected, committing = [], []
for i in range(KILLS):
    leader, term = None, 0
    for k in range(1, N + 1):
        leader, term = coordinator_of(k)
        if leader:
            break
    victim = int(leader.removeprefix("node"))
    pid = int(open(f"{RUN}/node{victim}/pid").read())
    t0 = time.time()
    os.kill(pid, signal.SIGKILL)
    if wait_for(lambda: first_after("leader_committing", t0, term) is not None, 30, f"a new leader after kill {i}"):
        seen = events()
        committing.append(first_after("leader_committing", t0, term, seen))
        elected.append(first_after("election_won", t0, term, seen))
    cluster("start", victim)
    # The restarted voter is back in the configuration and caught up (it
    # reports the current coordinator) before the next kill.
    wait_for(lambda: coordinator_of(victim)[0] not in (None, f"node{victim}"), 30, f"node{victim} to rejoin")

med, _, mx = quantiles(elected)
print(f"failover_elected_median_s={med:.3f}\nfailover_elected_max_s={mx:.3f}")
med, _, mx = quantiles(committing)
print(f"failover_committing_median_s={med:.3f}\nfailover_committing_max_s={mx:.3f}\nkills={len(committing)}")
seen = events()
started = {tm for (_, k, _, tm) in seen if k == "election_started"}
won = {tm for (_, k, _, tm) in seen if k == "election_won"}
print(f"election_terms={len(started)}\nsplit_votes={len(started - won)}")

# Commit latency: one writer, sequential kv-puts of small entries through
# a follower-free path (the coordinator's console).
leader, _ = coordinator_of(1)
port = 8000 + int(leader.removeprefix("node"))
console = Console("127.0.0.1", port)
latencies = []
for i in range(500):
    t = time.perf_counter()
    reply = console.call("kv-put", f"lat{i}", "v")
    if reply.get("ok"):
        latencies.append((time.perf_counter() - t) * 1000)
console.close()
p50, p99, mx = quantiles(latencies)
print(f"commit_latency_p50_ms={p50:.2f}\ncommit_latency_p99_ms={p99:.2f}\ncommit_latency_max_ms={mx:.2f}")

# Throughput: 16 concurrent writers for 5 s (commits are batched per fsync).
WRITERS, SECONDS = 16, 5.0
done = [0] * WRITERS


def writer(w):
    c = Console("127.0.0.1", port)
    end = time.time() + SECONDS
    n = 0
    while time.time() < end:
        if c.call("kv-put", f"tp{w}-{n}", "v").get("ok"):
            done[w] += 1
        n += 1
    c.close()


threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"commit_throughput_per_s={sum(done) / SECONDS:.0f}\ncommit_writers={WRITERS}")
cluster("down")
