#!/usr/bin/env python3
"""Recovery after a network fault heals, with every node on its own host
(network namespace) and the fault made by the kernel.

5 nodes. (1) The coordinator is cut off from the others (both directions);
the majority elects a new coordinator; the cut is held for HOLD seconds
while writes go on; then it heals. (2) The coordinator is paused (SIGSTOP)
past the election, then resumed. After each, measured from the heal (or the
resume): the old coordinator knows the new one (its `leader_changed` to the
new leader) and the new coordinator replicates to it again (an append the
old one acknowledges: the new leader's `raft_peer_reachable` for it, or no
unreachability at all). Both must happen within LIMIT seconds (target 1 s).
Prints name=value lines. Skips (exit 77, ctest's SKIP_RETURN_CODE, with
the reason) where namespaces are not permitted."""
import datetime
import os
import re
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts as hostlib  # noqa: E402

N = 5
SKIP = 77
HOLD = float(os.environ.get("HOLD", "10"))
LIMIT = float(os.environ.get("LIMIT", "1.0"))
BIN = os.environ.get("IDUNNO_BIN", "build/bin")
TS = re.compile(r"^(\S+) ")


def ts_of(line):
    m = TS.match(line)
    return datetime.datetime.fromisoformat(m.group(1)).timestamp() if m else None


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"FAIL: timed out after {timeout:.0f} s waiting for {what}")


def coordinator_seen(h, k):
    reply = h.client(k, "coordinator", timeout=5)
    return reply.get("name") if reply else None


def start_cluster(h):
    """Makes the hosts, starts a node on each and waits until every node sees
    all N alive and all N vote."""
    h.up()
    for k in range(1, N + 1):
        h.start(k, os.environ.get("IDUNNO_NODE_ARGS", "").split())
    wait_for(lambda: all(len([m for m in (h.client(k, "list_mem") or {}).get("members", [])
                              if m["state"] == "alive"]) == N for k in range(1, N + 1)), 60, "membership")
    wait_for(lambda: sum(1 for m in (h.client(1, "list_mem") or {}).get("members", [])
                         if m["role"] in ("coordinator", "standby")) == N, 60, f"{N} voters")


def first_event_after(h, k, t0, pattern):
    rx = re.compile(pattern)
    times = [ts_of(line) for line in h.log_lines(k) if rx.search(line)]
    times = [t for t in times if t is not None and t >= t0]
    return min(times) - t0 if times else None


class Writer(threading.Thread):
    """Keeps writing through one node so that the log moves on."""

    def __init__(self, h, k):
        super().__init__(daemon=True)
        self.h, self.k, self.stop, self.acked = h, k, threading.Event(), 0

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            if self.h.client(self.k, "kv-put", f"heal-{i}", str(i), timeout=15) is not None:
                self.acked += 1
            time.sleep(0.05)


def recovery(h, old, new, t0):
    """Seconds from t0 until `old` knows `new` and `new` replicates to it."""
    knows = wait_for(lambda: first_event_after(h, old, t0, rf"event=leader_changed .* leader=node{new}\b"),
                     LIMIT + 30, f"node{old} to learn the coordinator node{new}")
    # The new leader marks the old one unreachable while it is cut off; it is
    # replicating again once it marks it reachable (or never lost it).
    lost = first_event_after(h, new, t0 - HOLD - 30, rf"event=raft_peer_unreachable peer=node{old}\b")
    replicates = 0.0
    if lost is not None:
        replicates = wait_for(lambda: first_event_after(h, new, t0, rf"event=raft_peer_reachable peer=node{old}\b"),
                              LIMIT + 30, f"node{new} to replicate to node{old} again")
    return knows, replicates


def check_settled(h, coordinator, t0, phase, failures):
    """Every node names `coordinator`, and no election was won since t0 (the
    returning node did not disrupt the cluster)."""
    names = {k: coordinator_seen(h, k) for k in range(1, N + 1)}
    wrong = {k: v for k, v in names.items() if v != f"node{coordinator}"}
    if wrong:
        failures.append(f"after the {phase}: nodes naming another coordinator than node{coordinator}: {wrong}")
    won = [k for k in range(1, N + 1) if first_event_after(h, k, t0, r"event=election_won ") is not None]
    print(f"{phase}_elections_after={len(won)}")
    if won:
        failures.append(f"after the {phase}: elections won by " + ", ".join(f"node{k}" for k in won))


def main():
    ok, why = hostlib.available()
    if not ok:
        print(f"SKIP: {why}")
        return SKIP
    run = tempfile.mkdtemp(prefix="idunno-netns.")
    h = hostlib.Hosts(N, BIN, run)
    failures = []
    try:
        start_cluster(h)
        wait_for(lambda: all(coordinator_seen(h, k) for k in range(1, N + 1)), 60, "a coordinator")

        # (1) Partition the coordinator away, hold, heal.
        old = int(coordinator_seen(h, 1)[4:])
        other = old % N + 1
        writer = Writer(h, other)
        writer.start()
        h.isolate(old)
        wait_for(lambda: (lambda c: c if c and c != f"node{old}" else None)(coordinator_seen(h, other)),
                 20, "a new coordinator in the majority")
        time.sleep(HOLD)  # the fault's duration: what the test is about, not synchronisation
        # The coordinator as the majority knows it at the heal (not the first
        # one elected after the cut: it may have changed since).
        new = int(wait_for(lambda: (lambda c: c if c and c != f"node{old}" else None)(coordinator_seen(h, other)),
                           20, "the majority's coordinator")[4:])
        print(f"heal_old_coordinator=node{old} heal_new_coordinator=node{new}")
        t_heal = time.time()
        h.heal()
        knows, replicates = recovery(h, old, new, t_heal)
        print(f"heal_knows_coordinator_s={knows:.3f}")
        print(f"heal_replicates_s={replicates:.3f}")
        if knows > LIMIT or replicates > LIMIT:
            failures.append(f"after the heal: knows in {knows:.3f} s, replicates in {replicates:.3f} s (limit {LIMIT} s)")
        check_settled(h, new, t_heal, "heal", failures)

        # (2) Pause the coordinator past an election, resume it.
        wait_for(lambda: all(coordinator_seen(h, k) == f"node{new}" for k in range(1, N + 1)), 30,
                 "every node to know the coordinator")
        paused = new
        h.signal(paused, signal.SIGSTOP)
        probe = paused % N + 1
        wait_for(lambda: (lambda c: c if c and c != f"node{paused}" else None)(coordinator_seen(h, probe)),
                 20, "a coordinator while the old one is paused")
        time.sleep(2.0)  # a pause longer than failure detection: the fault itself
        successor = int(wait_for(lambda: (lambda c: c if c and c != f"node{paused}" else None)(coordinator_seen(h, probe)),
                                 20, "the coordinator at the resume")[4:])
        t_resume = time.time()
        h.signal(paused, signal.SIGCONT)
        knows, replicates = recovery(h, paused, successor, t_resume)
        print(f"resume_knows_coordinator_s={knows:.3f}")
        print(f"resume_replicates_s={replicates:.3f}")
        if knows > LIMIT or replicates > LIMIT:
            failures.append(f"after the resume: knows in {knows:.3f} s, replicates in {replicates:.3f} s (limit {LIMIT} s)")
        check_settled(h, successor, t_resume, "resume", failures)
        writer.stop.set()
        writer.join(20)
        print(f"writes_acked={writer.acked}")
    finally:
        h.close()
        if os.environ.get("KEEP_RUN"):
            print(f"# logs kept in {run}")
        else:
            subprocess_rm(run)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


def subprocess_rm(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
