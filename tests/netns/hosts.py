"""Hosts of their own for multi-node tests: each idunno-node runs in its own
Linux network namespace with its own address on a private bridge, and the
kernel injects the faults (nftables: one- and two-way partitions and
random packet loss; tc netem, where the kernel has it: delay, jitter,
duplication and reordering).

Why: loopback tests share one network stack and inject loss in our own
transport; real clusters fail differently (the kernel's TCP retransmission
backoff after a cut, SYNs lost, one-way partitions). A Hosts object makes a
hub namespace with a bridge and one namespace per host (veth into the
bridge, address 10.77.0.K/24), starts nodes inside them (cluster port
10.77.0.K:7001, console 127.0.0.1:8001 inside the host's namespace, data in
RUN/nodeK), runs the idunno client inside a host's namespace, and removes
everything it made on close(), also when the test fails or is interrupted
(atexit and SIGINT/SIGTERM). Namespace names carry the pid of the test, so
concurrent runs do not collide. Needs root; Hosts.available() says why not.

Used from one thread (the test's)."""
import atexit
import json
import os
import signal
import subprocess
import time

SUBNET = "10.77.0"
PORT = 7001
CONSOLE = "127.0.0.1:8001"


def _run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def available():
    """(True, "") when network namespaces and nftables can be used here, else
    (False, why)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    for tool in ("ip", "nft"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            return False, f"{tool} is not installed (scripts/deps.sh installs iproute2 and nftables)"
    probe = f"idnprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return False, "cannot create a network namespace: " + made.stderr.strip()
    try:
        nft = subprocess.run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe"],
                             capture_output=True, text=True)
        if nft.returncode != 0:
            return False, "nftables does not work in a namespace: " + nft.stderr.strip()
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


class Hosts:
    def __init__(self, count, bin_dir, run_dir):
        self.count = count
        self.bin = bin_dir
        self.run = run_dir
        self.prefix = f"idn{os.getpid() % 100000}"
        self.hub = f"{self.prefix}-hub"
        self.pids = {}
        self.made = []  # namespaces to delete, in creation order
        self.shaped = False  # netem applied on the hosts' links
        self.packaged = {}  # host -> root its package was installed into
        self.closed = False
        atexit.register(self.close)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    # ---- topology -------------------------------------------------------
    def ns(self, k):
        return f"{self.prefix}-h{k}"

    def addr(self, k):
        return f"{SUBNET}.{k}"

    def dev(self, k):
        """Host k's end of its link to the bridge (inside its namespace)."""
        return f"{self.prefix}e{k}"

    def up(self):
        _run("ip", "netns", "add", self.hub)
        self.made.append(self.hub)
        self._in(self.hub, "ip", "link", "add", "br0", "type", "bridge")
        self._in(self.hub, "ip", "link", "set", "br0", "up")
        self._in(self.hub, "ip", "link", "set", "lo", "up")
        for k in range(1, self.count + 1):
            ns = self.ns(k)
            _run("ip", "netns", "add", ns)
            self.made.append(ns)
            host_end, hub_end = self.dev(k), f"{self.prefix}p{k}"
            _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", hub_end)
            _run("ip", "link", "set", host_end, "netns", ns)
            _run("ip", "link", "set", hub_end, "netns", self.hub)
            self._in(self.hub, "ip", "link", "set", hub_end, "master", "br0")
            self._in(self.hub, "ip", "link", "set", hub_end, "up")
            self._in(ns, "ip", "link", "set", "lo", "up")
            self._in(ns, "ip", "addr", "add", f"{self.addr(k)}/24", "dev", host_end)
            self._in(ns, "ip", "link", "set", host_end, "up")
            # One table per host for injected faults; flushed to heal.
            self._in(ns, "nft", "add", "table", "inet", "faults")
            self._in(ns, "nft", "add", "chain", "inet", "faults", "in",
                     "{ type filter hook input priority 0 ; }")
            self._in(ns, "nft", "add", "chain", "inet", "faults", "out",
                     "{ type filter hook output priority 0 ; }")

    def _in(self, ns, *args, check=True):
        return _run("ip", "netns", "exec", ns, *args, check=check)

    # ---- nodes ----------------------------------------------------------
    def start(self, k, extra=()):
        """Starts the node of host k; from the installed package when
        install_package() put one on host k."""
        data = os.path.join(self.run, f"node{k}")
        os.makedirs(data, exist_ok=True)
        seeds = []
        for j in range(1, self.count + 1):
            if j != k:
                seeds += ["--seed", f"{self.addr(j)}:{PORT}"]
        out = open(os.path.join(data, "stdout.log"), "ab")
        err = open(os.path.join(data, "stderr.log"), "ab")
        node, config = f"{self.bin}/idunno-node", []
        if k in self.packaged:
            root = self.packaged[k]
            node, config = f"{root}/usr/bin/idunno-node", ["--config", f"{root}/etc/idunno/config.toml"]
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(k), node, *config, "--name", f"node{k}",
             "--bind", f"{self.addr(k)}:{PORT}", "--console", CONSOLE, "--data-dir", data, "--no-repl",
             *seeds, *extra],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        self.pids[k] = proc
        return proc.pid

    def install_package(self, k, deb):
        """Installs the Debian package `deb` on host k: its files unpacked
        into a root of host k's own (dpkg-deb -x; hosts share this machine's
        file system, so the package is not installed system-wide). The node
        of host k then runs the package's idunno-node with the package's
        /etc/idunno/config.toml, the command line given only what makes
        host k itself (name, addresses, data folder, seeds)."""
        root = os.path.join(self.run, f"host{k}-root")
        _run("dpkg-deb", "-x", deb, root)
        self.packaged[k] = root
        return root

    def signal(self, k, sig):
        proc = self.pids.get(k)
        if proc and proc.poll() is None:
            os.kill(proc.pid, sig)

    def running(self, k):
        proc = self.pids.get(k)
        return proc is not None and proc.poll() is None

    def client(self, k, *args, timeout=10):
        """The client's JSON reply on host k's console, or None when it failed."""
        rc, out, _ = self.client_run(k, *args, timeout=timeout)
        return json.loads(out) if rc == 0 else None

    def client_run(self, k, *args, timeout=10):
        """Runs `idunno --json ARGS` on host k against its console:
        (exit code, stdout, stderr), exit code None when it ran out of time
        (the client is killed)."""
        try:
            r = subprocess.run(["ip", "netns", "exec", self.ns(k), f"{self.bin}/idunno", "--node", CONSOLE,
                                "--json", *args], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "", "timed out"
        return r.returncode, r.stdout, r.stderr

    def log_lines(self, k):
        path = os.path.join(self.run, f"node{k}", "node.log")
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            return f.readlines()

    # ---- faults (made by the kernel) -------------------------------------
    def isolate(self, k, others=None):
        """Cuts host k off from `others` (default: every other host), both ways."""
        others = others or [j for j in range(1, self.count + 1) if j != k]
        ns = self.ns(k)
        for j in others:
            self._in(ns, "nft", "add", "rule", "inet", "faults", "out", "ip", "daddr", self.addr(j), "drop")
            self._in(ns, "nft", "add", "rule", "inet", "faults", "in", "ip", "saddr", self.addr(j), "drop")

    def set_loss(self, percent, hosts=None):
        """Drops `percent` % of the packets every host sends (every link, both
        directions, TCP and UDP alike)."""
        for k in hosts or range(1, self.count + 1):
            self._in(self.ns(k), "nft", "add", "rule", "inet", "faults", "out", "ip", "daddr",
                     f"{SUBNET}.0/24", "numgen", "random", "mod", "100", "<", str(int(percent)), "drop")

    def cut(self, senders, receivers):
        """Drops every packet from each of `senders` to each of `receivers`
        (one way: the other direction still flows, as when one side's
        outgoing link or firewall fails)."""
        for k in senders:
            for j in receivers:
                if j != k:
                    self._in(self.ns(k), "nft", "add", "rule", "inet", "faults", "out", "ip", "daddr",
                             self.addr(j), "drop")

    def partition(self, side, other=None):
        """Cuts `side` off from `other` (default: every host not in `side`),
        both ways."""
        other = other or [j for j in range(1, self.count + 1) if j not in side]
        self.cut(side, other)
        self.cut(other, side)

    def heal(self, hosts=None):
        for k in hosts or range(1, self.count + 1):
            self._in(self.ns(k), "nft", "flush", "table", "inet", "faults")
        if self.shaped:
            self.unshape()

    # tc netem: delay, jitter, duplication and reordering on each host's link.
    def netem_available(self):
        """True when the kernel has the netem queueing discipline (some
        kernels are built without it; then only loss and partitions, made by
        nftables, can be injected)."""
        dev = self.dev(1)
        made = self._in(self.ns(1), "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "1ms", check=False)
        if made.returncode != 0:
            return False
        self._in(self.ns(1), "tc", "qdisc", "del", "dev", dev, "root", check=False)
        return True

    def shape(self, delay_ms=0, jitter_ms=0, loss=0, duplicate=0, reorder=0, hosts=None):
        """Applies netem on the link of every host (or `hosts`): what each
        host sends is delayed by delay_ms +- jitter_ms, lost, duplicated and
        reordered by the given percentages."""
        args = ["delay", f"{delay_ms}ms"]
        if jitter_ms:
            args += [f"{jitter_ms}ms", "distribution", "normal"]
        if reorder:
            args += ["reorder", f"{reorder}%"]
        if loss:
            args += ["loss", f"{loss}%"]
        if duplicate:
            args += ["duplicate", f"{duplicate}%"]
        for k in hosts or range(1, self.count + 1):
            self._in(self.ns(k), "tc", "qdisc", "replace", "dev", self.dev(k), "root", "netem", *args)
        self.shaped = True

    def unshape(self):
        for k in range(1, self.count + 1):
            self._in(self.ns(k), "tc", "qdisc", "del", "dev", self.dev(k), "root", check=False)
        self.shaped = False

    # ---- cleanup ----------------------------------------------------------
    def stop_nodes(self, grace=6.0):
        live = [p for p in self.pids.values() if p.poll() is None]
        for p in live:
            try:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace
        for p in live:
            try:
                p.wait(max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.stop_nodes()
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []

    def _on_signal(self, signum, frame):
        self.close()
        raise SystemExit(128 + signum)
