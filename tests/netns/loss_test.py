#!/usr/bin/env python3
"""Packet loss on every link does not depose the coordinator, with every
node on its own host (network namespace) and the loss made by the kernel.

5 nodes, writes flowing through one of them. Every host drops PERCENT % of
the packets it sends to the others (TCP and UDP alike, so both directions
of every link lose that share) for SECONDS seconds. Then: no election was
won and no coordinator stepped down while the loss lasted, no member was
declared dead, and writes went on. Prints name=value lines. Skips (exit 77,
ctest's SKIP_RETURN_CODE, with the reason) where namespaces are not
permitted. The suite runs it for 60 s; the figure in the README comes from
LOSS_SECONDS=600."""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts as hostlib  # noqa: E402
from heal_test import N, SKIP, BIN, Writer, coordinator_seen, start_cluster, ts_of, wait_for  # noqa: E402

PERCENT = float(os.environ.get("PERCENT", "10"))
SECONDS = float(os.environ.get("LOSS_SECONDS", "60"))


def count_after(h, t0, pattern):
    rx = re.compile(pattern)
    total = 0
    for k in range(1, N + 1):
        total += sum(1 for line in h.log_lines(k) if rx.search(line) and (ts_of(line) or 0) >= t0)
    return total


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
        coordinator = wait_for(lambda: coordinator_seen(h, 1), 30, "a coordinator")
        writer_node = int(coordinator[4:]) % N + 1
        writer = Writer(h, writer_node)
        writer.start()
        t0 = time.time()
        h.set_loss(PERCENT)
        time.sleep(SECONDS)  # the fault's duration: what the test is about, not synchronisation
        h.heal()
        t1 = time.time()
        writer.stop.set()
        writer.join(20)
        elections = count_after(h, t0, r"event=election_won ")
        step_downs = count_after(h, t0, r"event=step_down ")
        deaths = count_after(h, t0, r"event=member_dead ")
        after = coordinator_seen(h, writer_node)
        print(f"loss_percent={PERCENT:g} loss_seconds={t1 - t0:.0f}")
        print(f"elections={elections} step_downs={step_downs} member_deaths={deaths}")
        print(f"coordinator_before={coordinator} coordinator_after={after}")
        print(f"writes_acked={writer.acked}")
        if elections or step_downs:
            failures.append(f"{elections} elections and {step_downs} step-downs under {PERCENT:g}% loss")
        if deaths:
            failures.append(f"{deaths} members declared dead under {PERCENT:g}% loss")
        if after != coordinator:
            failures.append(f"the coordinator changed from {coordinator} to {after}")
        if writer.acked == 0:
            failures.append("no write was acknowledged under loss")
    finally:
        h.close()
        if os.environ.get("KEEP_RUN"):
            print(f"# logs kept in {run}")
        else:
            import shutil
            shutil.rmtree(run, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
