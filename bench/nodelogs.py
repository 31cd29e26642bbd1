"""Helpers shared by the cluster benchmarks: reading events out of the nodes'
logs (lines start with a local ISO timestamp with milliseconds) and waiting
for a condition with a bound."""
import datetime
import os
import sys
import time


def log_matches(run, nodes, pattern):
    """(unix time, match) of every line of node1..nodeN's node.log that
    `pattern` (a compiled regex whose group 1 is the timestamp) matches."""
    for k in range(1, nodes + 1):
        path = f"{run}/node{k}/node.log"
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as log:
            for line in log:
                m = pattern.match(line)
                if m:
                    yield datetime.datetime.fromisoformat(m.group(1)).timestamp(), m


def wait_for(predicate, timeout, what, poll=0.1):
    """Polls `predicate` until it holds (True) or `timeout` seconds pass
    (False, with a note on stderr)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    print(f"# timed out waiting for {what}", file=sys.stderr)
    return False
