#!/usr/bin/env python3
"""A seeded random series of SDFS put/get/get-versions/delete through the
idunno client against an in-memory model, with nodes killed (kill -9) and
restarted in between. Used by sdfs_model_test.sh.

The fault model is the one SDFS promises to survive: at most 3 nodes down at
once, and a node is killed only at a healthy point (every file of the model
on 4 live replicas, re-replication caught up). Every read must match the
model: get returns the newest acknowledged bytes, get-versions the newest
three newest first, a deleted file is an error (exit 1) that writes no file.
A put or delete that fails is checked against the cluster (its outcome is
unknown to the client, e.g. a commit whose reply was lost) before the model
moves on.

usage: sdfs_model.py BIN RUN NODES OPS SEED"""
import json
import os
import random
import subprocess
import sys
import time

BIN, RUN, NODES, OPS, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
NAMES = ["m/a", "m/b", "m/c", "m/../d"]
MAX_VERSIONS = 5
rng = random.Random(SEED)
model = {}  # name -> list of contents, oldest first (committed, not deleted)
down = set()
stats = {"put": 0, "get": 0, "get-versions": 0, "delete": 0, "kill": 0, "restart": 0, "unknown": 0, "unavailable": 0}
# What a node answers when it cannot vouch for an answer (no coordinator
# reached and its own copy not known to be current): not a wrong answer, so
# the read is asked again through another node.
UNAVAILABLE = (b"not known to be current", b"no coordinator")


def fail(message):
    print(f"sdfs_model: FAIL (seed {SEED}): {message}", flush=True)
    sys.exit(1)


def client(k, *args, timeout=60):
    return subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + k}", *map(str, args)],
                          capture_output=True, timeout=timeout)


def live_node():
    return rng.choice([k for k in range(1, NODES + 1) if k not in down])


def local(tag):
    return os.path.join(RUN, f"model-{tag}")


def ls(k, name):
    r = client(k, "--json", "ls", name)
    return json.loads(r.stdout)["replicas"] if r.returncode == 0 else None


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def healthy():
    k = live_node()
    for name in model:
        if not model[name]:
            continue
        replicas = ls(k, name)
        if replicas is None or len(replicas) < 4 or any(int(r.removeprefix("node")) in down for r in replicas):
            return False
    return True


def newest_bytes(k, name):
    path = local("check")
    r = client(k, "get", name, path)
    if r.returncode != 0:
        return None
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def do_put(name):
    size = rng.choice([0, 1, 1000, 70_000, 300_000, 3 << 20])
    content = rng.randbytes(size)
    path = local("put")
    with open(path, "wb") as f:
        f.write(content)
    k = live_node()
    r = client(k, "--json", "put", path, name)
    stats["put"] += 1
    if r.returncode == 0:
        model.setdefault(name, []).append(content)
    else:
        # Unknown outcome: the newest version tells.
        stats["unknown"] += 1
        got = newest_bytes(live_node(), name)
        if got == content and (not model.get(name) or model[name][-1] != content):
            model.setdefault(name, []).append(content)
    model[name] = model.get(name, [])[-MAX_VERSIONS:]


def read_through_some_node(*args):
    for _ in range(5):
        r = client(live_node(), *args)
        if r.returncode == 0 or not any(u in r.stderr for u in UNAVAILABLE):
            return r
        stats["unavailable"] += 1
        time.sleep(0.2)
    return r


def do_get(name):
    path = local("get")
    r = read_through_some_node("get", name, path)
    stats["get"] += 1
    expected = model.get(name)
    if not expected:
        if r.returncode != 1:
            fail(f"get {name} of a missing file exited {r.returncode}, not 1")
        if os.path.exists(path):
            fail(f"get {name} of a missing file wrote {path}")
        return
    if r.returncode != 0:
        fail(f"get {name} failed: {r.stderr.decode().strip()}")
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    if data != expected[-1]:
        fail(f"get {name} returned {len(data)} bytes that are not the newest acknowledged version "
             f"({len(expected[-1])} bytes)")


def do_get_versions(name):
    expected = list(reversed(model.get(name, [])))[:3]
    if not expected:
        return
    path = local("versions")
    r = read_through_some_node("get-versions", name, 3, path)
    stats["get-versions"] += 1
    if r.returncode != 0:
        fail(f"get-versions {name} failed: {r.stderr.decode().strip()}")
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    at = 0
    for content in expected:
        end = data.index(b"\n", at)
        header = data[at:end].decode()
        if not header.startswith(f"==> {name} version ") or not header.endswith(f"({len(content)} bytes) <=="):
            fail(f"get-versions {name}: bad delimiter {header!r}")
        at = end + 1
        if data[at:at + len(content)] != content:
            fail(f"get-versions {name}: a version's bytes differ from the model")
        at += len(content) + 1
    if at != len(data):
        fail(f"get-versions {name}: {len(data) - at} bytes beyond the 3 versions")


def do_delete(name):
    k = live_node()
    r = client(k, "delete", name)
    stats["delete"] += 1
    if r.returncode == 0 or newest_bytes(live_node(), name) is None:
        model[name] = []
    elif model.get(name):
        stats["unknown"] += 1


def do_kill():
    if len(down) >= 3:
        return
    wait_until(healthy, 60, "every file on 4 live replicas before a kill")
    k = live_node()
    with open(os.path.join(RUN, f"node{k}", "pid")) as f:
        os.kill(int(f.read()), 9)
    down.add(k)
    stats["kill"] += 1


def do_restart():
    if not down:
        return
    k = rng.choice(sorted(down))
    subprocess.run(["scripts/cluster.sh", "start", str(k)], check=True, stdout=subprocess.DEVNULL)
    down.discard(k)
    stats["restart"] += 1
    wait_until(lambda: client(k, "--json", "store").returncode == 0, 30, f"node{k} to answer")


def main():
    for step in range(OPS):
        name = rng.choice(NAMES)
        r = rng.random()
        if r < 0.35:
            do_put(name)
        elif r < 0.65:
            do_get(name)
        elif r < 0.78:
            do_get_versions(name)
        elif r < 0.85:
            do_delete(name)
        elif r < 0.93:
            do_kill()
        else:
            do_restart()
    for name in NAMES:
        do_get(name)
        do_get_versions(name)
    print("sdfs_model: " + " ".join(f"{k}={v}" for k, v in stats.items()) + f" seed={SEED}", flush=True)


if __name__ == "__main__":
    main()
