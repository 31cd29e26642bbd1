#!/usr/bin/env python3
"""Driver of bench/sdfs.sh: SDFS on NODES real processes on loopback, each
figure beside a baseline measured in the same run on the same disk.

  put_<S>mb_s, put_<S>mb_baseline_s, put_<S>mb_ratio
      `idunno put` of S MB (the client streams it over HTTP to node1, which
      sends it along the replica chain) against 4 copies of the same bytes
      with fsync each (what 4 replicas must write);
  get_<S>mb_s, get_<S>mb_baseline_s, get_<S>mb_ratio
      `idunno get` through a node that holds no replica against one read of
      the file and one fsynced write of it;
  get_<S>mb_via_replica_s, get_<S>mb_via_replica_ratio
      the same through a node that holds one (it reads its own copy);
  repair_after_detection_s, repair_after_kill_s, repair_mb_per_s
      a 40 MB file, one replica killed with SIGKILL: from its death being
      declared on the coordinator (its log) to the copy's AddReplica, and
      from the kill to `ls` naming 4 live replicas; the copy's own rate;
  get_versions_<N>_s  get-versions of a 25 MB file's newest N of 5 versions;
  rss_client_mb, rss_node_growth_max_mb, rss_node_peak_max_mb
      a PUT_GB (1) GB put: the client's peak RSS, and the nodes' peak RSS
      (VmHWM) before and after, the growth being what the transfer cost.
  client_call_s  a client command that moves no data (`coordinator`), the
      fixed cost inside every put and get time.
Sizes up to 100 MB run ROUNDS (5) rounds, larger ones LARGE_ROUNDS (3),
baseline and SDFS back to back, and report medians (and each round's
times). Ratios are baseline/SDFS time (1.0: as fast as the plain copies)."""
import json
import os
import re
import signal
import subprocess
import sys
import time

RUN = os.environ["IDUNNO_RUN"]
BIN = "build/bin"
NODES = int(os.environ.get("NODES", "6"))
SIZES = [int(s) for s in os.environ.get("SIZES", "25 500").split()]
PUT_GB = float(os.environ.get("PUT_GB", "1"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
LARGE_ROUNDS = int(os.environ.get("LARGE_ROUNDS", "3"))
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")


def client(k, *args, check=True):
    r = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", *map(str, args)], capture_output=True,
                       text=True, timeout=600)
    if check and r.returncode != 0:
        raise SystemExit(f"idunno {' '.join(map(str, args))}: {r.stderr.strip()}")
    return r


def timed(fn):
    # Dirty pages an earlier step left are written back first, so that no
    # figure pays for another's writeback (this disk's page cache then
    # takes 0.3-1.7 s for the same 500 MB).
    os.sync()
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def make_file(path, mb):
    with open("/dev/urandom", "rb") as src, open(path, "wb") as out:
        for _ in range(mb):
            out.write(src.read(1 << 20))


def fsynced_copy(src, dst):
    with open(src, "rb") as a, open(dst, "wb") as b:
        while True:
            piece = a.read(1 << 20)
            if not piece:
                break
            b.write(piece)
        b.flush()
        os.fsync(b.fileno())


def pid_of(k):
    with open(f"{RUN}/node{k}/pid") as f:
        return int(f.read())


def hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def log_time(k, pattern):
    """Epoch seconds of the first line of node k's log matching pattern."""
    with open(f"{RUN}/node{k}/node.log") as f:
        for line in f:
            if re.search(pattern, line):
                m = STAMP.match(line)
                if m:
                    return time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + int(m.group(1)[20:]) / 1000
    return None


def coordinator_index():
    name = json.loads(client(1, "--json", "coordinator").stdout)["name"]
    return int(name.removeprefix("node"))


def replicas(k, name):
    return json.loads(client(k, "--json", "ls", name).stdout)["replicas"]


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def out(name, value):
    print(f"{name}={value:.3f}" if isinstance(value, float) else f"{name}={value}", flush=True)


def wait_ready(limit_s=60):
    """Until every node is an alive member and the voter set is complete, so
    that the first put does not time the cluster's election."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        reply = client(1, "--json", "list_mem", check=False)
        if reply.returncode == 0:
            members = json.loads(reply.stdout)["members"]
            alive = [m for m in members if m["state"] == "alive"]
            voters = [m for m in alive if m["role"] in ("coordinator", "standby")]
            if len(alive) == NODES and len(voters) == min(NODES, 7) and any(m["role"] == "coordinator" for m in alive):
                return
        time.sleep(0.2)  # polling the cluster's state, bounded by the deadline
    raise SystemExit(f"the cluster of {NODES} nodes was not ready within {limit_s} s")


def main():
    data = f"{RUN}/data"
    os.makedirs(data, exist_ok=True)
    wait_ready()
    # What any client command costs (process start, connection, token,
    # one round trip): part of every put and get time below.
    out("client_call_s", median([timed(lambda: client(1, "--json", "coordinator")) for _ in range(5)]))
    for mb in SIZES:
        src = f"{data}/f{mb}"
        make_file(src, mb)
        # This disk's fsync times vary 2-4x from one moment to the next (the
        # same fsynced 500 MB copy took 0.4 s and 12 s in one hour), so the
        # figures are medians of rounds, each timing the baseline and SDFS
        # back to back.
        rounds = ROUNDS if mb <= 100 else LARGE_ROUNDS
        put_s, base_put, get_s, base_get, near_s = [], [], [], [], []
        for i in range(rounds):
            name = f"bench/f{mb}-{i}"
            base_put.append(timed(lambda: [fsynced_copy(src, f"{data}/copy{c}") for c in range(4)]))
            for c in range(4):
                os.remove(f"{data}/copy{c}")
            put_s.append(timed(lambda: client(1, "put", src, name)))
            holders = set(replicas(1, name))
            reader = next(k for k in range(1, NODES + 1) if f"node{k}" not in holders)
            base_get.append(timed(lambda: fsynced_copy(src, f"{data}/back-baseline")))
            holder = int(sorted(holders)[0].removeprefix("node"))
            # The get right after the baseline's fsync pays for the disk
            # still settling from it: the two gets take turns being first.
            gets = [(reader, get_s), (holder, near_s)]
            for through, times in gets if i % 2 == 0 else reversed(gets):
                times.append(timed(lambda: client(through, "get", name, f"{data}/back")))
                if subprocess.run(["cmp", "-s", src, f"{data}/back"]).returncode != 0:
                    raise SystemExit(f"get of {name} through node{through} returned different bytes")
                os.remove(f"{data}/back")
            os.remove(f"{data}/back-baseline")
            client(1, "delete", name)
        for kind, sdfs, base in (("put", put_s, base_put), ("get", get_s, base_get)):
            out(f"{kind}_{mb}mb_s", median(sdfs))
            out(f"{kind}_{mb}mb_baseline_s", median(base))
            out(f"{kind}_{mb}mb_ratio", median(base) / median(sdfs))
            if rounds > 1:
                print(f"{kind}_{mb}mb_rounds_s={' '.join(f'{x:.3f}' for x in sdfs)}", flush=True)
                print(f"{kind}_{mb}mb_baseline_rounds_s={' '.join(f'{x:.3f}' for x in base)}", flush=True)
        out(f"get_{mb}mb_via_replica_s", median(near_s))
        if rounds > 1:
            print(f"get_{mb}mb_via_replica_rounds_s={' '.join(f'{x:.3f}' for x in near_s)}", flush=True)
        out(f"get_{mb}mb_via_replica_ratio", median(base_get) / median(near_s))
        os.remove(src)

    # get-versions of 1..5 versions of a 25 MB file.
    v = f"{data}/v25"
    make_file(v, 25)
    for _ in range(5):
        client(1, "put", v, "bench/versions")
    for n in range(1, 6):
        out(f"get_versions_{n}_s", timed(lambda: client(2, "get-versions", "bench/versions", n, f"{data}/versions")))
    os.remove(f"{data}/versions")

    # Re-replication of a 40 MB file after kill -9 of one replica that is
    # not the coordinator.
    r = f"{data}/r40"
    make_file(r, 40)
    client(1, "put", r, "bench/r40")
    coordinator = coordinator_index()
    holders = replicas(coordinator, "bench/r40")
    victim = next(int(h.removeprefix("node")) for h in holders if h != f"node{coordinator}")
    killed_at = time.time()
    os.kill(pid_of(victim), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        now = replicas(coordinator, "bench/r40")
        if len(now) == 4 and f"node{victim}" not in now:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/r40 not back on 4 replicas: {now}")
        time.sleep(0.05)
    listed_at = time.time()
    dead = log_time(coordinator, rf"event=member_dead member=node{victim}@")
    done = log_time(coordinator, r"event=sdfs_repair_done name=bench/r40 ")
    line = subprocess.run(["grep", "-h", "event=sdfs_repair_done name=bench/r40 ", f"{RUN}/node{coordinator}/node.log"],
                          capture_output=True, text=True).stdout
    copy_s = float(re.search(r"seconds=([\d.]+)", line).group(1))
    out("repair_after_detection_s", done - dead)
    out("repair_after_kill_s", listed_at - killed_at)
    out("repair_mb_per_s", 40 * (1 << 20) / 1e6 / copy_s)
    subprocess.run(["scripts/cluster.sh", "start", str(victim)], check=True, stdout=subprocess.DEVNULL)

    # Peak RSS of the client and the nodes during a large put.
    big = f"{data}/big"
    make_file(big, int(PUT_GB * 1024))
    before = {k: hwm_mb(pid_of(k)) for k in range(1, NODES + 1) if k != victim}
    t = subprocess.run(["/usr/bin/time", "-f", "%M", f"{BIN}/idunno", "--node", "127.0.0.1:8001", "put", big,
                        "bench/big"], capture_output=True, text=True, timeout=900, check=True)
    after = {k: hwm_mb(pid_of(k)) for k in before}
    out("rss_client_mb", int(t.stderr.strip().splitlines()[-1]) / 1024)
    out("rss_node_growth_max_mb", max(after[k] - before[k] for k in before))
    out("rss_node_peak_max_mb", max(after.values()))
    os.remove(big)


if __name__ == "__main__":
    main()
