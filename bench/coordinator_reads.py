#!/usr/bin/env python3
"""Driver of `bench/coordinator.sh reads`: kv-get latency and throughput on a
3-node loopback cluster, in one run, through the log (`kv-get KEY --via-log`:
an entry and an fsync per read, the path before ReadIndex) and by ReadIndex
(`kv-get KEY`: a heartbeat round to a majority, no log write), on the
coordinator's console and on a follower's (which forwards to the
coordinator). Commands go over the console's WebSocket, one connection per
reader, so no client process start is counted. Prints name=value lines and
the ReadIndex/log ratios."""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodelogs import wait_for  # noqa: E402
from wsclient import Console  # noqa: E402

BIN = "build/bin"
N = 3
SEQUENTIAL = int(os.environ.get("READS", "1000"))
READERS, SECONDS = int(os.environ.get("READERS", "16")), float(os.environ.get("SECONDS", "5"))


def cluster(*args):
    subprocess.run(["scripts/cluster.sh", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def coordinator_of(k):
    r = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", "--json", "coordinator"],
                       capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout).get("name")


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def get_args(via_log):
    return ["bench-key", "--via-log"] if via_log else ["bench-key"]


def latency(port, via_log):
    console = Console("127.0.0.1", port)
    times = []
    for _ in range(SEQUENTIAL):
        t = time.perf_counter()
        reply = console.call("kv-get", *get_args(via_log))
        if not reply.get("ok"):
            raise RuntimeError(f"kv-get failed: {reply}")
        times.append((time.perf_counter() - t) * 1000)
    console.close()
    return statistics.median(times), quantile(times, 0.99)


def throughput(port, via_log):
    done = [0] * READERS

    def reader(r):
        c = Console("127.0.0.1", port)
        end = time.time() + SECONDS
        while time.time() < end:
            if c.call("kv-get", *get_args(via_log)).get("ok"):
                done[r] += 1
        c.close()

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(READERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / SECONDS


cluster("up", N)
try:
    wait_for(lambda: all(coordinator_of(k) for k in range(1, N + 1)), 30, "a coordinator known everywhere")
    leader = coordinator_of(1)
    k = int(leader.removeprefix("node"))
    follower = k % N + 1
    setup = Console("127.0.0.1", 8000 + k)
    if not setup.call("kv-put", "bench-key", "value").get("ok"):
        raise RuntimeError("the first write failed")
    setup.close()
    results = {}
    for where, port in (("leader", 8000 + k), ("follower", 8000 + follower)):
        for mode, via_log in (("log", True), ("readindex", False)):
            p50, p99 = latency(port, via_log)
            ops = throughput(port, via_log)
            results[(where, mode)] = (p50, p99, ops)
            print(f"read_{mode}_{where}_p50_ms={p50:.3f}\nread_{mode}_{where}_p99_ms={p99:.3f}\n"
                  f"read_{mode}_{where}_per_s={ops:.0f}", flush=True)
    for where in ("leader", "follower"):
        log, ri = results[(where, "log")], results[(where, "readindex")]
        print(f"read_{where}_p50_ratio_log_over_readindex={log[0] / ri[0]:.2f}\n"
              f"read_{where}_p99_ratio_log_over_readindex={log[1] / ri[1]:.2f}\n"
              f"read_{where}_throughput_ratio_readindex_over_log={ri[2] / log[2]:.2f}")
    print(f"read_sequential={SEQUENTIAL}\nread_readers={READERS}\nread_window_s={SECONDS}")
finally:
    cluster("down")
