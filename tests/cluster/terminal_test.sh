#!/usr/bin/env bash
# The terminal command mode, driven through a pseudo-terminal as a person
# would: `idunno-node` with its prompt. While the prompt is up, info lines
# stay out of the terminal (the log file has them) and warnings show;
# `log-level info` brings info lines back; Tab completes a command name and
# an SDFS name; `put` of a big file shows its progress and Ctrl-C cancels it
# with the node still running (as does Ctrl-C at an idle prompt); `exit`
# stops the node with status 0, and so does a SIGINT sent by another
# process (`kill -INT`) to a node at its prompt.
source "$(dirname "$0")/lib.sh"

dir="$IDUNNO_RUN/node1"
mkdir -p "$dir"
# The name the completion must find, and a file big enough that its put
# takes seconds (sparse: it costs no disk to read).
printf 'hello\n' >"$IDUNNO_RUN/small.txt"
truncate -s 40G "$IDUNNO_RUN/big.bin"
# One node: SDFS keeps one copy.
printf '[sdfs]\nreplicas = 1\nwrite_quorum = 1\nread_quorum = 1\n' >"$IDUNNO_RUN/config.toml"

python3 - "$BIN" "$dir" "$IDUNNO_RUN" <<'PY' || fail "terminal mode (see above)"
import os, pty, re, select, signal, socket, subprocess, sys, time

bin_dir, data_dir, run_dir = sys.argv[1:4]
prompt = b"node1> "
start = time.monotonic()
TOTAL_LIMIT = 150  # seconds for the whole session

def log(msg):
    print(f"[terminal_test {time.monotonic() - start:5.1f}s] {msg}", flush=True)

def spawn():
    """Starts node1 on a new pseudo-terminal; expect() then reads that one."""
    global pid, fd, seen, mark
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(f"{bin_dir}/idunno-node",
                 ["idunno-node", "--config", f"{run_dir}/config.toml", "--name", "node1", "--bind", "127.0.0.1:7001",
                  "--console", "127.0.0.1:8001", "--data-dir", data_dir])
    with open(f"{run_dir}/extra1.pid", "w") as f:
        f.write(str(pid))
    seen = b""  # everything the terminal showed
    mark = 0    # expect() searches from here

def wait_exit(seconds, what):
    """Waits for the node to exit with status 0 within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: the node did not stop within {seconds} s of {what}")
        read_some(0.1)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise SystemExit(f"FAIL: exit status {status} after {what}")

spawn()

def read_some(timeout):
    global seen
    ready, _, _ = select.select([fd], [], [], timeout)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        seen += data
        return data
    return None

def expect(pattern, timeout=20, what=None):
    """Waits until `pattern` (bytes regex) shows after the mark; moves the mark past it."""
    global mark
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while True:
        m = rx.search(seen, mark)
        if m:
            mark = m.end()
            return m
        left = deadline - time.monotonic()
        if left <= 0 or time.monotonic() - start > TOTAL_LIMIT:
            tail = seen[-1500:].decode(errors="replace")
            raise SystemExit(f"FAIL: {what or pattern!r} did not show within {timeout}s; terminal tail:\n{tail}")
        if read_some(min(left, 0.2)) == b"":
            tail = seen[-1500:].decode(errors="replace")
            raise SystemExit(f"FAIL: the terminal closed waiting for {what or pattern!r}; tail:\n{tail}")

def drain(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        read_some(0.05)

def send(data):
    os.write(fd, data)

def node_log():
    with open(f"{data_dir}/node.log", "rb") as f:
        return f.read()

def alive():
    return os.waitpid(pid, os.WNOHANG) == (0, 0)

def client(*args):
    return subprocess.run([f"{bin_dir}/idunno", "--node", "127.0.0.1:8001", *args],
                          capture_output=True, text=True, timeout=30)

try:
    expect(re.escape(prompt), 30, "the first prompt")
    log("prompt up")
    # The node wrote its start-up at info level to the file, not here.
    deadline = time.monotonic() + 10
    while b"event=node_started" not in node_log():
        if time.monotonic() > deadline:
            raise SystemExit("FAIL: node.log has no event=node_started")
        time.sleep(0.1)
    if b" info node=node1" in seen:
        raise SystemExit("FAIL: info lines reached the terminal: " + seen.decode(errors="replace")[-800:])
    log("info lines are in node.log, not on the terminal")

    # A warning shows: a connection to the cluster port that is not one.
    with socket.create_connection(("127.0.0.1", 7001), timeout=5) as s:
        s.sendall(b"not a cluster preface\n" * 4)
    expect(rb"warning node=node1 event=conn_rejected", 15, "the conn_rejected warning")
    expect(re.escape(prompt), 5, "the prompt redrawn under the warning")
    log("a warning shows above the prompt")

    # log-level info: info lines appear (its own confirmation is one).
    send(b"log-level info\r")
    before = mark
    expect(rb"terminal shows log lines at info and above", 10)
    mark = before  # the log line may come before or after the reply
    expect(rb" info node=node1 event=console_log_level level=info", 10, "an info line after log-level info")
    send(b"log-level warm\r")
    expect(rb"error: unknown log level 'warm'", 10)
    send(b"log-level warn\r")
    expect(rb"terminal shows log lines at warn and above", 10)
    log("log-level changes what the terminal shows")

    # Tab completes a command name: list_s<Tab> runs list_self.
    expect(re.escape(prompt), 5)
    send(b"list_s\t")
    expect(rb"elf", 5, "list_s completed to list_self")
    send(b"\r")
    expect(rb"name node1  addr 127\.0\.0\.1:7001", 10, "list_self's output")
    log("Tab completed a command name")

    # ... and an SDFS name: the client stores one, `ls notes/term<Tab>` finds it.
    r = client("put", f"{run_dir}/small.txt", "notes/terminal-test.txt")
    if r.returncode != 0:
        raise SystemExit(f"FAIL: put through the client: {r.stderr}")
    expect(re.escape(prompt), 5)
    send(b"ls notes/term\t")
    expect(rb"inal-test\.txt", 5, "notes/term completed to notes/terminal-test.txt")
    send(b"\r")
    expect(rb"notes/terminal-test\.txt\s+1\s+6\s+node1", 10, "ls of the completed name")
    log("Tab completed an SDFS name")

    # Ctrl-C at an idle prompt clears the line; the node goes on.
    expect(re.escape(prompt), 5)
    send(b"abc")
    drain(0.3)
    send(b"\x03")
    expect(rb"\^C", 5, "^C at the idle prompt")
    expect(re.escape(prompt), 5, "a fresh prompt after ^C")
    send(b"list_mem\r")
    expect(rb"node1\s+127\.0\.0\.1:7001\s+alive", 10, "list_mem after ^C at the prompt (the line was cleared)")
    if not alive():
        raise SystemExit("FAIL: Ctrl-C at the prompt stopped the node")
    log("Ctrl-C at the prompt cleared the line")

    # A long put shows progress; Ctrl-C cancels it and gives the prompt back.
    expect(re.escape(prompt), 5)
    send(f"put {run_dir}/big.bin big/file\r".encode())
    expect(rb"put \[[# ]*\] .* / 42\.9 GB.*\(Ctrl-C cancels\)", 20, "the put's progress bar")
    log("the put shows its progress")
    send(b"\x03")
    cancelled_at = time.monotonic()
    expect(rb"error: cancelled", 10, "the put cancelled")
    expect(re.escape(prompt), 5, "the prompt after the cancelled put")
    log(f"Ctrl-C cancelled the put in {time.monotonic() - cancelled_at:.1f}s")
    if not alive():
        raise SystemExit("FAIL: Ctrl-C during a command stopped the node")
    send(b"list_mem\r")
    expect(rb"node1\s+127\.0\.0\.1:7001\s+alive", 10, "list_mem after the cancelled put")
    r = client("ls", "big/file")
    if r.returncode == 0:
        raise SystemExit("FAIL: the cancelled put stored big/file: " + r.stdout)
    log("the node still runs and the cancelled put stored nothing")

    # exit stops the node gracefully.
    expect(re.escape(prompt), 5)
    send(b"exit\r")
    wait_exit(10, "exit")
    if b"event=node_stopped" not in node_log():
        raise SystemExit("FAIL: node.log has no event=node_stopped")
    log("exit stopped the node with status 0")

    # A SIGINT from another process (not typed at the terminal) stops a node
    # at its prompt, as it does without the terminal.
    spawn()
    expect(re.escape(prompt), 30, "the prompt of the second run")
    os.kill(pid, signal.SIGINT)
    wait_exit(5, "kill -INT")
    if b"event=node_stopping reason=sigint" not in node_log():
        raise SystemExit("FAIL: node.log has no event=node_stopping reason=sigint")
    log("kill -INT stopped the node with status 0")
finally:
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
PY
log "PASS"
