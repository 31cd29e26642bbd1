#!/usr/bin/env python3
"""Load generator of bench/online.sh: CLIENTS threads, each on one keep-alive
connection, POST the same Open Inference Protocol request (BATCH Fashion-MNIST
images as UINT8) to /v2/models/MODEL/infer back to back for SECONDS.

  online_load.py PORT MODEL BATCH CLIENTS SECONDS IMAGES_GZ
Prints one line: requests_per_s images_per_s p50_ms p99_ms errors.
"""
import gzip
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse


def main():
    port, model, batch, clients, seconds, images_gz = sys.argv[1:7]
    batch, clients, seconds = int(batch), int(clients), float(seconds)
    with gzip.open(images_gz, "rb") as f:
        raw = f.read(16 + 784 * batch)
    data = list(raw[16:16 + 784 * batch])
    body = json.dumps({"inputs": [{"name": "input", "shape": [batch, 1, 28, 28], "datatype": "UINT8",
                                   "data": data}]}).encode()
    path = f"/v2/models/{urllib.parse.quote(model, safe='')}/infer"
    headers = {"Content-Type": "application/json"}
    latencies = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
        conn.connect()
        # As curl and urllib3 do: http.client sends a body larger than 2,920
        # bytes apart from its headers, and with Nagle's algorithm that body
        # waits for the server's delayed ACK of the headers.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request("POST", path, body=body, headers=headers)  # warm: connect, model loaded
        conn.getresponse().read()
        start_line.wait()
        mine = latencies[k]
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors[k] += 1
            mine.append(time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    start_line.wait()
    begin = time.perf_counter()
    stop_at[0] = begin + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begin
    all_latencies = sorted(x for per in latencies for x in per)
    n = len(all_latencies)
    p = lambda q: all_latencies[min(n - 1, int(q * n))] * 1000 if n else 0.0
    print(f"{n / elapsed:.1f} {n * batch / elapsed:.1f} {p(0.50):.2f} {p(0.99):.2f} {sum(errors)}")


if __name__ == "__main__":
    main()
