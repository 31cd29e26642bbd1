#!/usr/bin/env python3
"""Open Inference Protocol client of tests/cluster/online_test.sh.

  oip_client.py check PORT RECORDS IMAGES_GZ RESULTS MODEL COUNT
      Calls every /v2 endpoint and every refusal on the console at PORT,
      appending each answer to RECORDS (JSON lines for tests/oip/validate.js),
      then sends the first COUNT images of IMAGES_GZ (IDX, gzip) to MODEL as
      UINT8 and as FP32 (pixel / 255), from 8 threads at once in requests of
      1 to 16 images, and compares each image's class and score with the
      inference job's RESULTS ("INDEX LABEL SCORE" lines).
  oip_client.py flood PORT MODEL
      Sends malformed, oversized and cut-off requests from 16 threads, then
      checks that the console still answers and still infers.
Prints name=value lines; exits 1 on a failure.
"""
import gzip
import http.client
import json
import random
import socket
import sys
import threading
import urllib.parse

HOST = "127.0.0.1"
failures = []
lock = threading.Lock()


def fail(message):
    with lock:
        failures.append(message)
    print("FAIL", message, flush=True)


def request(port, method, path, body=None, headers=None, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
    data = body.encode() if isinstance(body, str) else body
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=data, headers=hdrs)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    if own:
        conn.close()
    return response.status, text


class Recorder:
    def __init__(self, port, path):
        self.port = port
        self.out = open(path, "a", encoding="utf-8")

    def call(self, route, what, method, path, body=None, expect=None, words=None, headers=None):
        status, text = request(self.port, method, path, body, headers)
        self.out.write(json.dumps({"route": route, "what": what, "status": status, "body": text}) + "\n")
        self.out.flush()
        if expect is not None and status != expect:
            fail(f"{what}: {method} {path} gave {status}, not {expect}: {text[:300]}")
        if words is not None and words not in text:
            fail(f"{what}: the answer does not say '{words}': {text[:300]}")
        if text == "" and status == 200:
            return status, None  # health and readiness: the status is the answer
        try:
            return status, json.loads(text)
        except ValueError:
            fail(f"{what}: the answer is not JSON: {text[:300]}")
            return status, None


def tensor(images, datatype="UINT8", name="input"):
    data = []
    for image in images:
        data.extend(image if datatype == "UINT8" else [p / 255.0 for p in image])
    return json.dumps({"inputs": [{"name": name, "shape": [len(images), 1, 28, 28], "datatype": datatype,
                                   "data": data}]})


def read_images(path, count):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert int.from_bytes(raw[0:4], "big") == 0x803, "not an IDX images file"
    rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
    size = rows * cols
    return [list(raw[16 + i * size:16 + (i + 1) * size]) for i in range(count)]


def read_results(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            index, label, score = line.split()
            out[int(index)] = (int(label), float(score))
    return out


def raw_exchange(port, data, read=True):
    """Sends raw bytes; returns the status line's code (0 when none)."""
    s = socket.create_connection((HOST, port), timeout=10)
    try:
        s.sendall(data)
        if not read:
            return 0
        reply = b""
        while b"\r\n" not in reply:
            piece = s.recv(4096)
            if not piece:
                break
            reply += piece
        parts = reply.split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except OSError:
        return 0
    finally:
        s.close()


def endpoints(rec, model, image):
    enc = urllib.parse.quote(model, safe="")
    base = f"/v2/models/{enc}"
    rec.call("live", "live", "GET", "/v2/health/live", expect=200)
    rec.call("ready", "ready", "GET", "/v2/health/ready", expect=200)
    _, server = rec.call("server", "server metadata", "GET", "/v2", expect=200)
    rec.call("server", "server metadata, trailing slash", "GET", "/v2/", expect=200)
    if server and server.get("name") != "idunno":
        fail(f"server metadata names {server.get('name')}")
    _, meta = rec.call("model", "model metadata", "GET", base, expect=200)
    if meta:
        if meta["inputs"][0]["shape"] != [-1, 1, 28, 28] or meta["outputs"][0]["shape"][0] != -1:
            fail(f"model metadata shapes: {meta}")
    version = meta["versions"][0] if meta else "1"
    rec.call("model", "versioned model metadata", "GET", f"{base}/versions/{version}", expect=200)
    rec.call("model_ready", "model ready", "GET", f"{base}/ready", expect=200)
    rec.call("model_ready", "versioned model ready", "GET", f"{base}/versions/{version}/ready", expect=200)
    _, out = rec.call("infer", "infer", "POST", f"{base}/infer", tensor([image, image]), expect=200)
    if out and out["outputs"][0]["shape"] != [2, 10]:
        fail(f"infer shape {out['outputs'][0]['shape']}")
    rec.call("infer", "versioned infer with id", "POST", f"{base}/versions/{version}/infer",
             json.dumps({"id": "r-1", "inputs": json.loads(tensor([image]))["inputs"],
                         "outputs": [{"name": "scores"}]}), expect=200, words='"id":"r-1"')

    # Refusals: each a JSON error with its 4xx status.
    rec.call("infer", "unknown model", "POST", "/v2/models/no-such-model/infer", tensor([image]), 404, "unknown model")
    rec.call("model", "unknown model metadata", "GET", "/v2/models/no-such-model", None, 404, "unknown model")
    rec.call("model_ready", "unknown model ready", "GET", "/v2/models/no-such-model/ready", None, 404, "unknown model")
    rec.call("model", "unknown version", "GET", f"{base}/versions/99", None, 404, "version")
    rec.call("model", "unknown route", "GET", f"{base}/explain", None, 404, "no such")
    rec.call("infer", "wrong shape", "POST", f"{base}/infer",
             json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 28, 27], "datatype": "UINT8",
                                     "data": image[:28 * 27]}]}), 400, "[B,1,28,28]")
    rec.call("infer", "wrong datatype", "POST", f"{base}/infer",
             json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "INT64",
                                     "data": image}]}), 400, "unsupported datatype")
    rec.call("infer", "pixel out of range", "POST", f"{base}/infer",
             tensor([[300] * 784]), 400, "0 to 255")
    rec.call("infer", "data and shape disagree", "POST", f"{base}/infer",
             json.dumps({"inputs": [{"name": "input", "shape": [2, 1, 28, 28], "datatype": "UINT8",
                                     "data": image}]}), 400, "values")
    rec.call("infer", "wrong input name", "POST", f"{base}/infer", tensor([image], name="x"), 400, "unknown input")
    rec.call("infer", "malformed JSON", "POST", f"{base}/infer", '{"inputs": [', 400, "not valid JSON")
    rec.call("infer", "GET on infer", "GET", f"{base}/infer", None, 405, "POST")
    # Oversized: refused from its Content-Length, the body never sent.
    s = socket.create_connection((HOST, rec.port), timeout=10)
    s.sendall((f"POST {base}/infer HTTP/1.1\r\nHost: {HOST}:{rec.port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {1 << 30}\r\n\r\n").encode())
    reply = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        reply += piece
    s.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    rec.out.write(json.dumps({"route": "infer", "what": "oversized body", "status": status,
                              "body": body.decode("utf-8", "replace")}) + "\n")
    if status != 413:
        fail(f"oversized body gave {status}: {reply[:300]}")


def round_trip(port, model, images, results):
    """Every image through MODEL as UINT8 and FP32, from 8 threads."""
    path = f"/v2/models/{urllib.parse.quote(model, safe='')}/infer"
    answers = {}  # (datatype, index) -> probabilities

    def worker(k):
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        rng = random.Random(k)
        for datatype in ("UINT8", "FP32"):
            mine = [i for i in range(len(images)) if i % 8 == k]
            at = 0
            while at < len(mine):
                size = rng.choice([1, 1, 2, 4, 16])
                chunk = mine[at:at + size]
                at += size
                status, text = request(port, "POST", path, tensor([images[i] for i in chunk], datatype), conn=conn)
                if status != 200:
                    fail(f"infer of images {chunk} gave {status}: {text[:300]}")
                    return
                out = json.loads(text)["outputs"][0]
                classes = out["shape"][1]
                for j, i in enumerate(chunk):
                    with lock:
                        answers[(datatype, i)] = out["data"][j * classes:(j + 1) * classes]
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    exact = {"UINT8": 0, "FP32": 0}
    near_ties = 0
    for (datatype, i), p in sorted(answers.items()):
        label, score = results[i]
        best = max(range(len(p)), key=lambda c: p[c])
        if best == label:
            exact[datatype] += 1
        elif abs(p[best] - p[label]) < 1e-5:
            near_ties += 1  # two classes equal to float rounding: either is the class
        else:
            fail(f"{datatype} image {i}: class {best} ({p[best]}), the job says {label} ({score})")
        if datatype == "UINT8" and abs(p[label] - score) > 2e-6:
            fail(f"UINT8 image {i}: score {p[label]} of class {label}, the job says {score}")
    if len(answers) != 2 * len(images):
        fail(f"{len(answers)} answers for {2 * len(images)} images")
    print(f"round_trip_images={len(images)} uint8_same_class={exact['UINT8']} fp32_same_class={exact['FP32']} "
          f"near_ties={near_ties}", flush=True)


def flood(port, model):
    path = f"/v2/models/{urllib.parse.quote(model, safe='')}/infer"
    hostline = f"Host: {HOST}:{port}\r\n"
    bad = [
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}Content-Length: 3\r\n\r\n{{{{{{".encode()),
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}Content-Length: 9999999999\r\n\r\n".encode()),
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}Content-Length: 100\r\n\r\nshort".encode(),
                             read=False),
        lambda: raw_exchange(port, b"GARBAGE / NOT-HTTP\r\n\r\n"),
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}Transfer-Encoding: chunked\r\n\r\n"
                             f"zz\r\n".encode()),
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}Content-Length: 20\r\n\r\n".encode()
                             + bytes([0xff, 0xfe]) * 10),
        lambda: raw_exchange(port, f"POST {path} HTTP/1.1\r\n{hostline}X: {'a' * 40000}\r\n\r\n".encode()),
        lambda: request(port, "POST", path, '{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32",'
                                            '"data":[' + ",".join(["1e39"] * 784) + ']}]}')[0],
        lambda: request(port, "POST", path, "[" * 100000)[0],
        lambda: request(port, "POST", "/v2/models/%ZZ/infer", "{}")[0],
    ]
    counts = {"sent": 0}

    def worker(k):
        rng = random.Random(k)
        for _ in range(40):
            try:
                rng.choice(bad)()
            except OSError:
                pass  # the server may close a bad connection first
            with lock:
                counts["sent"] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status, _ = request(port, "GET", "/v2/health/live")
    if status != 200:
        fail(f"after the flood /v2/health/live gave {status}")
    status, text = request(port, "POST", path, tensor([[0] * 784]))
    if status != 200:
        fail(f"after the flood an inference gave {status}: {text[:300]}")
    print(f"flood_requests={counts['sent']} served_after_flood={int(status == 200)}", flush=True)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "check":
        records, images_gz, results_path, model, count = sys.argv[3:8]
        images = read_images(images_gz, int(count))
        endpoints(Recorder(port, records), model, images[0])
        round_trip(port, model, images, read_results(results_path))
    elif mode == "flood":
        flood(port, sys.argv[3])
    else:
        sys.exit("usage: oip_client.py check|flood PORT ...")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
