#!/usr/bin/env python3
"""Writes kv-put commands through the idunno client to rotating nodes until
a stop file appears; records every acknowledged key in an ack file. Used by
the coordinator cluster test to prove that no acknowledged write is lost."""
import os
import subprocess
import sys
import time

bin_dir, nodes, ack_path, stop_path, deadline_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
deadline = time.time() + deadline_s
i = 0
with open(ack_path, "a", buffering=1) as acks:
    while not os.path.exists(stop_path) and time.time() < deadline:
        node = 8001 + (i % nodes)
        key, value = f"k{i}", f"v{i}"
        try:
            r = subprocess.run([f"{bin_dir}/idunno", "--node", f"127.0.0.1:{node}", "kv-put", key, value],
                               capture_output=True, timeout=15)
            if r.returncode == 0:
                acks.write(f"{key} {value}\n")
        except subprocess.TimeoutExpired:
            pass
        i += 1
