#!/usr/bin/env python3
"""Fault scenarios in the Jepsen style, every node on a host of its own.

Each scenario starts a fresh cluster of N nodes, each in its own network
namespace (tests/netns/hosts.py), runs a workload of concurrent clients
through the `idunno` client against different nodes, injects its faults
with the kernel (nftables partitions and loss, tc netem delay where the
kernel has it, SIGKILL, SIGSTOP/SIGCONT, SIGTERM and restart), heals, and
then checks what the clients saw (checker.py):

- KV: writes of unique values and linearizable reads (`kv-put`, `kv-get`)
  on a few keys; the history must be linearizable.
- SDFS: put/get/delete of small files with known content; every
  acknowledged version readable with its exact bytes, no read older than a
  version acknowledged before it began, no read of bytes no put wrote.
- Inference: a job over Fashion-MNIST's test set submitted as the faults
  begin; its results must be byte-identical to those of the same job run
  before the faults.

Every invocation and its outcome (ok, fail, or info when the client cannot
know, e.g. it timed out after sending a write) is recorded with a timestamp
on one monotonic clock. The scenarios are seeded: the same seed makes the
same choices (which node, when, which operation), so a failing run can be
replayed; timing still varies with the machine.

Prints, per scenario, one line
`scenario=NAME ops=N acked=N lost=N verdict=valid|invalid` followed by its
recovery times as `name_s=X`, and writes the history, the final reads and
the checker's report into the run folder. `lost` counts acknowledged
operations whose effect is gone: SDFS versions missing from the final
reads, inference queries missing from the results, and KV keys whose final
linearizable read shows an acknowledged write undone.

usage: scenarios.py [--short] [--seed S] [--keep] [SCENARIO...]"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "netns"))
sys.path.insert(0, HERE)
import hosts as hostlib  # noqa: E402
import checker  # noqa: E402

N = 7
BIN = os.environ.get("IDUNNO_BIN", "build/bin")
DATA = "/usr/share/datasets/fashion-mnist"
KV_KEYS = ["r0", "r1", "r2"]
SDFS_KEYS = ["f/0", "f/1"]
SDFS_CLIENT_NODES = [3, 6]  # the nodes whose client does SDFS operations; the others do KV
MAX_VERSIONS = 5
CLIENT_TIMEOUT = 12.0
# The Debian package (scripts/package.sh) that the last host installs and
# runs instead of the build's binaries, when there is one.
PACKAGE = os.environ.get("IDUNNO_DEB") or next(
    iter(sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(BIN)), "idunno_*_amd64.deb")))), None)


def now():
    return time.monotonic()


def wait_for(predicate, timeout, what):
    deadline = now() + timeout
    while now() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise ScenarioError(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")


class ScenarioError(Exception):
    pass


# ---- the history ------------------------------------------------------------
class History:
    """Invocations and completions of every client, in the order they
    happened, on one clock. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.processes = 0

    def new_process(self):
        with self.lock:
            self.processes += 1
            return self.processes

    def add(self, process, type_, f, key, value=None, version=None, node=None):
        with self.lock:
            self.events.append({"process": process, "type": type_, "f": f, "key": key, "value": value,
                                "version": version, "time": now(), "node": node})

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def last_ok_time(self, fs=("write", "put")):
        with self.lock:
            return max((e["time"] for e in self.events if e["type"] == "ok" and e["f"] in fs), default=None)


class Client(threading.Thread):
    """One client, talking to one node's console (the node it is "on"). An
    operation whose outcome it cannot know ends `info`, and the client goes
    on as a new process (a process never has two operations open)."""

    def __init__(self, hosts, history, node, rng, workdir):
        super().__init__(daemon=True)
        self.h, self.history, self.node, self.rng = hosts, history, node, rng
        self.workdir = workdir
        self.stop = threading.Event()
        self.process = history.new_process()
        self.n = 0

    def run(self):
        while not self.stop.is_set():
            self.n += 1
            self.step()
            self.stop.wait(self.rng.uniform(0.0, 0.1))

    def unknown(self, f, key, value=None):
        self.history.add(self.process, "info", f, key, value, node=self.node)
        self.process = self.history.new_process()

    def call(self, *args):
        return self.h.client_run(self.node, *args, timeout=CLIENT_TIMEOUT)


# What the client says when it could not reach the node before sending
# anything. Exit 3 also covers a node lost after the command was sent (no
# reply, a dropped connection): that command's outcome is unknown.
NOTHING_SENT = ("cannot connect", "cannot resolve the host", "the WebSocket handshake failed")


def unreached(rc, err):
    """The client could not reach its node (exit 3, before sending): nothing was sent."""
    return rc == 3 and any(words in err for words in NOTHING_SENT)


class KvClient(Client):
    def step(self):
        key = self.rng.choice(KV_KEYS)
        if self.rng.random() < 0.5:
            value = f"p{self.process}-{self.n}"
            self.history.add(self.process, "invoke", "write", key, value, node=self.node)
            rc, _, err = self.call("kv-put", key, value)
            if rc == 0:
                self.history.add(self.process, "ok", "write", key, value, node=self.node)
            elif unreached(rc, err):
                self.history.add(self.process, "fail", "write", key, value, node=self.node)
            else:
                self.unknown("write", key, value)
        else:
            self.history.add(self.process, "invoke", "read", key, node=self.node)
            rc, out, err = self.call("kv-get", key)
            if rc == 0:
                self.history.add(self.process, "ok", "read", key, json.loads(out).get("value"), node=self.node)
            elif rc == 1 and "no key" in err:
                self.history.add(self.process, "ok", "read", key, None, node=self.node)
            else:
                self.history.add(self.process, "fail", "read", key, node=self.node)  # a read changes nothing


def missing(rc, err):
    """The node's answer that the file does not exist (never put, or
    deleted): a result, not a failure."""
    return rc == 1 and ("there is no file" in err or "there is no committed version" in err)


def digest(data):
    return hashlib.sha256(data).hexdigest()


class SdfsClient(Client):
    def step(self):
        key = self.rng.choice(SDFS_KEYS)
        roll = self.rng.random()
        local = os.path.join(self.workdir, f"c{self.node}-{self.n}")
        try:
            if roll < 0.5:
                self.put(key, local)
            elif roll < 0.92:
                self.get(key, local)
            else:
                self.delete(key)
        finally:
            if os.path.exists(local):
                os.unlink(local)

    def put(self, key, local):
        body = f"{key} p{self.process} op{self.n} ".encode() + self.rng.randbytes(self.rng.randint(16, 4096))
        with open(local, "wb") as f:
            f.write(body)
        d = digest(body)
        self.history.add(self.process, "invoke", "put", key, d, node=self.node)
        rc, out, err = self.call("put", local, key)
        if rc == 0:
            self.history.add(self.process, "ok", "put", key, d, version=json.loads(out)["version"], node=self.node)
        elif unreached(rc, err):
            self.history.add(self.process, "fail", "put", key, d, node=self.node)
        else:
            self.unknown("put", key, d)

    def get(self, key, local):
        self.history.add(self.process, "invoke", "get", key, node=self.node)
        rc, out, err = self.call("get", key, local)
        if rc == 0:
            with open(local, "rb") as f:
                body = f.read()
            self.history.add(self.process, "ok", "get", key, digest(body), version=json.loads(out)["version"],
                             node=self.node)
        elif missing(rc, err):
            self.history.add(self.process, "ok", "get", key, None, node=self.node)
        else:
            self.history.add(self.process, "fail", "get", key, node=self.node)

    def delete(self, key):
        self.history.add(self.process, "invoke", "delete", key, node=self.node)
        rc, _, err = self.call("delete", key)
        if rc == 0:
            self.history.add(self.process, "ok", "delete", key, node=self.node)
        elif unreached(rc, err) or missing(rc, err):
            self.history.add(self.process, "fail", "delete", key, node=self.node)
        else:
            self.unknown("delete", key)


# ---- one run ------------------------------------------------------------------
HEADER = re.compile(rb"==> (.*) version (\d+) \((\d+) bytes\) <==\n")


def parse_versions(blob):
    """get-versions output: [{"version": V, "value": digest}], newest first."""
    out, pos = [], 0
    while pos < len(blob):
        m = HEADER.match(blob, pos)
        if not m:
            raise ScenarioError(f"get-versions output is malformed at byte {pos}")
        size = int(m.group(3))
        start = m.end()
        out.append({"version": int(m.group(2)), "value": digest(blob[start:start + size])})
        pos = start + size + 1
    return out


class Run:
    """One scenario on a fresh cluster."""

    def __init__(self, name, seed, short, root):
        self.name, self.seed, self.short = name, seed, short
        self.rng = random.Random(f"{name}/{seed}")
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.h = hostlib.Hosts(N, BIN, self.dir)
        self.history = History()
        self.clients = []
        self.times = {}
        self.fault_started = None
        self.notes = []
        self.lost = 0

    # -- cluster ----------------------------------------------------------------
    def members_alive(self, k):
        reply = self.h.client(k, "list_mem", timeout=5)
        return sum(1 for m in (reply or {}).get("members", []) if m["state"] == "alive")

    def coordinator(self, k):
        reply = self.h.client(k, "coordinator", timeout=3)
        return reply.get("name") if reply else None

    def up(self):
        self.h.up()
        if PACKAGE:
            self.h.install_package(N, PACKAGE)
        for k in range(1, N + 1):
            self.h.start(k)
        wait_for(lambda: all(self.members_alive(k) == N for k in range(1, N + 1)), 90, "every node to see all")
        wait_for(lambda: all(self.coordinator(k) for k in range(1, N + 1)), 60, "a coordinator")
        if PACKAGE:  # the packaged node found its ML engine where the package put it
            wait_for(lambda: any("event=ml_engine_loaded" in line for line in self.h.log_lines(N)), 30,
                     f"node{N} (the package's idunno-node) to load its ML engine")

    def agreed_coordinator(self, nodes=None):
        """The coordinator's name when every node in `nodes` names the same one."""
        names = {self.coordinator(k) for k in (nodes or range(1, N + 1))}
        return names.pop() if len(names) == 1 and None not in names else None

    def node_of(self, name):
        return int(name[4:])

    # -- workload ---------------------------------------------------------------
    def start_clients(self):
        work = os.path.join(self.dir, "client")
        os.makedirs(work, exist_ok=True)
        for k in range(1, N + 1):
            kind = SdfsClient if k in SDFS_CLIENT_NODES else KvClient
            c = kind(self.h, self.history, k, random.Random(self.rng.random()), work)
            self.clients.append(c)
            c.start()

    def stop_clients(self):
        for c in self.clients:
            c.stop.set()
        for c in self.clients:
            c.join(CLIENT_TIMEOUT + 10)

    def load_dataset(self):
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            wait_for(lambda: self.h.client(1, "put", f"{DATA}/{name}", f"data/{name}", timeout=60), 60,
                     f"put data/{name}")

    def submit_job(self, job, k):
        reply = wait_for(lambda: self.h.client(k, "sub", job, "sdfs:data/t10k-images-idx3-ubyte.gz", "64",
                                               "--model", "lenet", timeout=20), 60, f"sub {job}")
        return reply

    def job_state(self, job):
        for k in range(1, N + 1):
            reply = self.h.client(k, "job-rates", timeout=5)
            if reply:
                for j in reply["jobs"]:
                    if j["job"] == job:
                        return j["state"]
        return None

    def results(self, job):
        local = os.path.join(self.dir, f"results-{job}")

        def fetch():
            for k in range(1, N + 1):
                if self.h.client(k, "get-results", job, local, timeout=30):
                    return True
            return False
        wait_for(fetch, 60, f"the results of {job}")
        with open(local) as f:
            return f.read()

    # -- final reads ------------------------------------------------------------
    def final_reads(self):
        """After the heal, with the clients stopped: one more linearizable
        read of each KV key (into the history, so the checker places them)
        and the newest versions of each SDFS file."""
        p = self.history.new_process()
        last = [""]  # the last failure, for the message when the reads never succeed
        for key in KV_KEYS:
            def read(key=key):
                rc, out, err = self.h.client_run(1, "kv-get", key, timeout=10)
                if rc == 0:
                    return ("ok", json.loads(out).get("value"))
                if rc == 1 and "no key" in err:
                    return ("ok", None)
                last[0] = err.strip()
                return None
            self.history.add(p, "invoke", "read", key, node=1)
            _, value = wait_for(read, 60, lambda: f"a final read of {key} (last answer: {last[0]!r})")
            self.history.add(p, "ok", "read", key, value, node=1)
        final = {"sdfs": {}, "max_versions": MAX_VERSIONS}
        local = os.path.join(self.dir, "final-versions")
        for key in SDFS_KEYS:
            def versions(key=key):
                rc, _, err = self.h.client_run(1, "get-versions", key, str(MAX_VERSIONS), local, timeout=30)
                if rc == 0:
                    with open(local, "rb") as f:
                        return ("ok", parse_versions(f.read()))
                if missing(rc, err):
                    return ("ok", None)
                last[0] = err.strip()
                return None
            _, final["sdfs"][key] = wait_for(versions, 60, lambda: f"the final versions of {key} (last answer: {last[0]!r})")
        return final

    # -- the whole run ----------------------------------------------------------
    def execute(self, fault):
        try:
            self.up()
            self.load_dataset()
            self.submit_job("reference", 1)
            wait_for(lambda: self.job_state("reference") == "done", 120, "the reference job")
            expected = self.results("reference")
            self.start_clients()
            time.sleep(self.seconds(3, 10))  # the workload runs fault-free first: part of the scenario
            self.submit_job("faulted", 2)
            self.fault_started = now()
            fault(self)
            self.h.heal()
            t_heal = now()
            self.times["settle_s"] = wait_for(lambda: self.agreed_coordinator() and now() - t_heal, 60,
                                              "every node to name one coordinator after the heal")
            time.sleep(self.seconds(2, 10))  # the healed cluster under load: part of the scenario
            self.stop_clients()
            wait_for(lambda: self.job_state("faulted") == "done", 120, "the job run through the faults")
            actual = self.results("faulted")
            final = self.final_reads()
            return self.check(expected, actual, final)
        except ScenarioError as e:
            self.stop_clients()
            self.notes.append(str(e))
            self.save_history(self.history.snapshot())  # for the post-mortem
            return False
        finally:
            self.h.close()

    def seconds(self, short, long):
        return short if self.short else long

    def save_history(self, history):
        with open(os.path.join(self.dir, "history.jsonl"), "w") as f:
            for e in history:
                f.write(json.dumps(e) + "\n")

    def check(self, expected, actual, final):
        history = self.history.snapshot()
        self.save_history(history)
        with open(os.path.join(self.dir, "final.json"), "w") as f:
            json.dump(final, f)
        kv_ok, kv = checker.check_kv(history)
        sdfs_ok, sdfs = checker.check_sdfs(history, final)
        res_ok, res = checker.check_results(expected, actual)
        self.counts = checker.summarize(history)
        self.lost = len(sdfs.get("lost", [])) + max(0, expected.count("\n") - actual.count("\n"))
        with open(os.path.join(self.dir, "report.json"), "w") as f:
            json.dump({"kv": kv, "sdfs": sdfs, "results": res, "counts": self.counts, "times": self.times}, f,
                      indent=1, default=str)
        for ok, what, details in ((kv_ok, "kv", kv), (sdfs_ok, "sdfs", sdfs), (res_ok, "results", res)):
            if not ok:
                self.notes.append(f"{what}: " + json.dumps(details, default=str)[:600])
        return kv_ok and sdfs_ok and res_ok


# ---- the faults -----------------------------------------------------------------
def isolate_coordinator(run):
    """The coordinator cut off from the majority (both ways), held, healed."""
    old = run.node_of(run.agreed_coordinator())
    majority = [k for k in range(1, N + 1) if k != old]
    t0 = now()
    run.h.partition([old])
    new = wait_for(lambda: (lambda c: c if c and c != f"node{old}" else None)(run.agreed_coordinator(majority[:4])),
                   30, "a coordinator in the majority")
    run.times["election_s"] = now() - t0
    run.notes.append(f"isolated node{old}; node{run.node_of(new)} took over")
    time.sleep(run.seconds(8, 60))  # the partition's duration: the fault itself


def flapping_partition(run):
    """A partition that moves every few seconds: a random minority (1 to 3
    hosts) cut off, healed, another cut off, ..."""
    end = now() + run.seconds(20, 120)
    cuts = 0
    while now() < end:
        side = run.rng.sample(range(1, N + 1), run.rng.randint(1, 3))
        run.h.partition(side)
        cuts += 1
        time.sleep(run.rng.uniform(2.0, 4.0))  # how long this cut lasts: the fault's schedule
        run.h.heal()
        time.sleep(run.rng.uniform(0.5, 2.0))
    run.notes.append(f"{cuts} cuts")


def lossy_links(run):
    """10% loss with 50 ms +- 20 ms delay on every link, for the whole run
    (netem); where the kernel has no netem, 10% loss by nftables and no
    delay (said in the notes)."""
    if run.h.netem_available():
        run.h.shape(delay_ms=50, jitter_ms=20, loss=10)
        run.notes.append("netem: 10% loss, 50 ms +- 20 ms")
    else:
        run.h.set_loss(10)
        run.notes.append("this kernel has no netem: 10% loss by nftables, no delay")
    time.sleep(run.seconds(25, 180))  # the fault's duration


def kill_three(run):
    """3 nodes killed at once (SIGKILL) during SDFS writes, restarted later.
    One node with an SDFS client is spared, so that writes go on to be
    acknowledged (a client talks to its own node only)."""
    spared = run.rng.choice(SDFS_CLIENT_NODES)
    victims = run.rng.sample([k for k in range(1, N + 1) if k != spared], 3)
    t0 = now()
    for k in victims:
        run.h.signal(k, signal.SIGKILL)
    run.notes.append("killed " + ", ".join(f"node{k}" for k in sorted(victims)))
    live = [k for k in range(1, N + 1) if k not in victims]
    wait_for(lambda: (lambda t: t is not None and t > t0)(run.history.last_ok_time(("put",))), 60,
             "an acknowledged put after the kill")
    run.times["put_recovery_s"] = run.history.last_ok_time(("put",)) - t0
    wait_for(lambda: (lambda c: c and run.node_of(c) in live)(run.agreed_coordinator(live)), 30,
             "a live coordinator")
    run.times["coordinator_s"] = now() - t0
    time.sleep(run.seconds(5, 30))  # running on 4 of 7: part of the scenario
    for k in victims:
        run.h.pids[k].wait()
        run.h.start(k)
    wait_for(lambda: all(run.members_alive(k) == N for k in live), 60, "the killed nodes to rejoin")


def pause_coordinator(run):
    """The coordinator paused (SIGSTOP) for longer than failure detection,
    then resumed: it must not act on its stale leadership (fencing), which
    the linearizability check of the KV history shows."""
    old = run.node_of(run.agreed_coordinator())
    others = [k for k in range(1, N + 1) if k != old]
    t0 = now()
    run.h.signal(old, signal.SIGSTOP)
    wait_for(lambda: (lambda c: c and c != f"node{old}")(run.agreed_coordinator(others[:4])), 30,
             "a coordinator while the old one is paused")
    run.times["election_s"] = now() - t0
    time.sleep(run.seconds(3, 10))  # the pause: the fault itself
    t1 = now()
    run.h.signal(old, signal.SIGCONT)
    wait_for(lambda: (lambda c: c and c != f"node{old}")(run.coordinator(old)), 30,
             "the resumed node to know the new coordinator")
    run.times["resume_s"] = now() - t1


def rolling_restart(run):
    """Every node in turn: SIGTERM, wait for its exit, start it again, wait
    until every node sees it alive, then the next, under load."""
    slowest = 0.0
    for k in run.rng.sample(range(1, N + 1), N):
        t0 = now()
        run.h.signal(k, signal.SIGTERM)
        try:
            run.h.pids[k].wait(10)
        except Exception:
            raise ScenarioError(f"node{k} did not exit within 10 s of SIGTERM")
        run.h.start(k)
        wait_for(lambda: all(run.members_alive(j) == N for j in range(1, N + 1)), 60, f"node{k} to rejoin")
        wait_for(lambda: run.coordinator(k), 30, f"node{k} to know the coordinator")
        slowest = max(slowest, now() - t0)
    run.times["slowest_restart_s"] = slowest


SCENARIOS = {
    "isolate-coordinator": isolate_coordinator,
    "flapping-partition": flapping_partition,
    "lossy-links": lossy_links,
    "kill-three": kill_three,
    "pause-coordinator": pause_coordinator,
    "rolling-restart": rolling_restart,
}


def longest_gap(history, t_from, t_to):
    """The longest time without an acknowledged KV write, in [t_from, t_to],
    and when it began."""
    oks = sorted(e["time"] for e in history if e["type"] == "ok" and e["f"] == "write")
    points = [t_from] + [t for t in oks if t_from <= t <= t_to] + [t_to]
    return max((b - a, a) for a, b in zip(points, points[1:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the short form (under 10 minutes in all)")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: a new seed, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (histories, logs)")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error("unknown scenario: " + ", ".join(unknown) + " (known: " + ", ".join(SCENARIOS) + ")")
    ok, why = hostlib.available()
    if not ok:
        print(f"hosts: not run: {why}")
        # ctest counts that as skipped, a person running run.sh as done.
        return int(os.environ.get("IDUNNO_HOSTS_SKIP_STATUS", "0"))
    if not os.path.exists(f"{DATA}/t10k-images-idx3-ubyte.gz"):
        print("hosts: Fashion-MNIST is missing (Debian package dataset-fashion-mnist; scripts/deps.sh installs it)")
        return 1
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    root = tempfile.mkdtemp(prefix="idunno-hosts.")
    print(f"# seed={seed} form={'short' if args.short else 'long'} run={root}", flush=True)
    global PACKAGE
    if not PACKAGE and os.environ.get("IDUNNO_HOSTS_PACKAGE"):
        # Packages the build the scenarios run (scripts/package.sh), so that
        # one host runs the package as an operator installs it.
        made = subprocess.run(["scripts/package.sh", "--no-build", "--build-dir", os.path.dirname(os.path.abspath(BIN)),
                               "--out", root], capture_output=True, text=True)
        if made.returncode != 0:
            print("hosts: scripts/package.sh failed: " + made.stderr.strip()[-400:])
            return 1
        PACKAGE = made.stdout.strip().splitlines()[-1]
    print(f"# node{N} runs the package {os.path.basename(PACKAGE)}" if PACKAGE else
          "# no package built (scripts/package.sh): every host runs the build's binaries", flush=True)
    all_ok = True
    for name in names:
        run = Run(name, seed, args.short, root)
        started = now()
        valid = run.execute(SCENARIOS[name])
        history = run.history.snapshot()
        if history:
            gap, began = longest_gap(history, history[0]["time"], history[-1]["time"])
            run.times["longest_write_gap_s"] = gap
            if run.fault_started is not None:  # < 0: the gap began before the fault
                run.times["write_gap_began_s"] = began - run.fault_started
        counts = getattr(run, "counts", None) or checker.summarize(history)
        fields = [f"scenario={name}", f"ops={counts['total']['attempted']}", f"acked={counts['total']['ok']}",
                  f"lost={run.lost}", f"verdict={'valid' if valid else 'invalid'}"]
        fields += [f"{k}={v:.2f}" for k, v in run.times.items()]
        fields.append(f"run_s={now() - started:.0f}")
        print(" ".join(fields), flush=True)
        for note in run.notes:
            print(f"#   {name}: {note}", flush=True)
        all_ok = all_ok and valid and run.lost == 0
    if args.keep or not all_ok:
        print(f"# histories, reports and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
