"""Drives bench/jobs.sh's cluster through the idunno client; prints
name=value lines. Times come from the nodes' logs (found with `grep`) and
this machine's wall clock, which the nodes share."""

import datetime
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import time

BIN = "build/bin"
DATA = os.environ.get("IDUNNO_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
RUN = os.environ["IDUNNO_RUN"]
NODES = int(os.environ.get("NODES", "8"))
# The two side-by-side jobs run over the training images this many times
# over, so that they outlast both kills and several full 10 s windows.
REPEAT = int(os.environ.get("REPEAT", "3"))


def idunno(*args, node=1, check=True):
    out = subprocess.run([f"{BIN}/idunno", "--node", f"127.0.0.1:{8000 + node}", "--json", *args],
                         capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise RuntimeError(f"idunno {' '.join(args)}: {out.stderr.strip()}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def log_time(line):
    """The wall time (s since the epoch) of a node's log line."""
    stamp = line.split()[0]
    return datetime.datetime.fromisoformat(stamp).timestamp()


def grep_times(pattern, node):
    matches = idunno("grep", pattern, node=node)["matches"]
    return sorted(log_time(m["line"]) for m in matches)


def wait(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def rates(node):
    return {j["job"]: j for j in idunno("job-rates", node=node)["jobs"]}


def done(job, node):
    r = idunno("get-results", job, node=node, check=False)
    return r.get("state") == "done"


def coordinator(node):
    return idunno("coordinator", node=node).get("name") or ""


def put_repeated(talk):
    """Puts the training images and labels REPEAT times over as plain IDX
    files, data/repeated-{images,labels}-...; returns the images' name."""
    for kind, header in (("images-idx3-ubyte", 16), ("labels-idx1-ubyte", 8)):
        raw = gzip.open(f"{DATA}/train-{kind}.gz").read()
        count = struct.unpack(">I", raw[4:8])[0]
        path = f"{RUN}/repeated-{kind}"
        with open(path, "wb") as f:
            f.write(raw[:4] + struct.pack(">I", REPEAT * count) + raw[8:header] + raw[header:] * REPEAT)
        idunno("put", path, f"data/repeated-{kind}", node=talk)
    return "sdfs:data/repeated-images-idx3-ubyte"


def emit(name, value):
    print(f"{name}={value}", flush=True)


def main():
    talk = 1
    coord = wait(lambda: coordinator(talk), 30, "a coordinator")
    if coord == "node1":
        talk = 2
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz"):
        idunno("put", f"{DATA}/{f}", f"data/{f}", node=talk)
    train = "sdfs:data/train-images-idx3-ubyte.gz"
    test = "sdfs:data/t10k-images-idx3-ubyte.gz"
    emit("nodes", NODES)

    # 1. Throughput of one job alone (lenet, batch 64) vs bare LibTorch:
    # over the 60,000 training images (about a second and a half of forward
    # passes on 2 cores, so every worker's first shard, which builds the
    # model, weighs) and over them REPEAT times, which the ratio uses.
    repeated = put_repeated(talk)
    total = 60000 * REPEAT
    for job, data, queries in (("alone", train, 60000), ("alone-long", repeated, total)):
        idunno("sub", job, data, "64", "--model", "lenet", node=talk)
        wait(lambda: rates(talk)[job]["done"] == queries, 300, f"the lenet job {job}")
        first = grep_times(f"event=task_started job={job} ", talk)[0]
        last = grep_times(f"event=task_finished job={job} ", talk)[-1]
        cluster_qps = queries / (last - first)
        emit(f"{job.replace('-', '_')}_lenet_b64_queries_per_s", f"{cluster_qps:.0f}")
        wait(lambda: done(job, talk), 60, f"the merge of {job}")
    # Bare LibTorch on the same images (the job's first 64, over and over),
    # and on the benchmark's synthetic batch, which runs faster through the
    # same model.
    bare = subprocess.run([f"{BIN}/idunno-ml-bench", "--case", "lenet_b64", "--intraop", "0", "--images",
                           f"{DATA}/train-images-idx3-ubyte.gz"], capture_output=True, text=True, timeout=300).stdout
    figures = dict(l.split("=", 1) for l in bare.splitlines() if "=" in l)
    if "infer_lenet_b64_bare_threads_real_images_per_s" not in figures:
        raise SystemExit(f"idunno-ml-bench gave no real-image figure: is {DATA}/train-images-idx3-ubyte.gz "
                         "a 28x28 IDX images file?")
    bare_qps = float(figures["infer_lenet_b64_bare_threads_real_images_per_s"])
    synthetic_qps = float(figures["infer_lenet_b64_bare_threads_images_per_s"])
    emit("bare_libtorch_lenet_b64_images_per_s", f"{bare_qps:.0f}")
    emit("bare_libtorch_lenet_b64_synthetic_images_per_s", f"{synthetic_qps:.0f}")
    emit("cluster_lenet_b64_ratio_vs_libtorch", f"{cluster_qps / bare_qps:.3f}")
    emit("cluster_lenet_b64_ratio_vs_libtorch_synthetic", f"{cluster_qps / synthetic_qps:.3f}")

    # 2. Two jobs side by side; the second's first query; worker and
    # coordinator kills while they run.
    emit("side_by_side_queries_per_job", total)
    idunno("sub", "cheap", repeated, "64", "--model", "lenet", node=talk)
    wait(lambda: rates(talk)["cheap"]["done"] > 0, 30, "cheap to start")
    sub_at = time.time()
    idunno("sub", "costly", repeated, "64", "--model", "resnet-fmnist", node=talk)
    started = wait(lambda: grep_times("event=task_started job=costly ", talk), 10, "costly's first task")
    emit("second_job_sub_to_first_query_s", f"{started[0] - sub_at:.3f}")
    samples = []
    t_start = time.time()
    killed_worker = killed_coord = False
    while True:
        r = rates(talk)
        now = time.time() - t_start
        samples.append((now, r["cheap"]["rate_10s"], r["costly"]["rate_10s"]))
        if r["cheap"]["done"] == total or r["costly"]["done"] == total:
            break
        if now > 6 and not killed_worker:
            # A worker holding a lease of costly.
            nodes = idunno("vm-states", node=talk)["nodes"]
            victim = next(n for n in nodes if n["shard"] and n["shard"].startswith("costly/")
                          and n["name"] != f"node{talk}" and n["role"] != "coordinator")["name"]
            subprocess.run(["scripts/cluster.sh", "kill", victim[4:]], capture_output=True, check=True)
            kill_at = time.time()
            # The shard the victim held when it died may not be the one
            # vm-states showed (shards are short): the first shard started
            # again after the kill that the coordinator had leased to it.
            def shards(pattern):
                return [(re.search(r"shard=([0-9]+) ", m["line"]).group(1), log_time(m["line"]))
                        for m in idunno("grep", pattern, node=talk)["matches"]]

            def rerun():
                held = {shard for shard, _ in shards(f"event=task_scheduled job=costly shard=[0-9]+ node={victim} ")}
                again = [t for shard, t in shards("event=task_started job=costly shard=[0-9]+ attempt=([2-9]|[1-9][0-9]+) ")
                         if shard in held and t > kill_at]
                return sorted(again) or None
            again = wait(rerun, 30, "the dead worker's shard elsewhere")
            emit("worker_kill_to_shard_running_elsewhere_s", f"{again[0] - kill_at:.3f}")
            killed_worker = True
        if now > 12 and not killed_coord:
            coord = coordinator(talk)
            subprocess.run(["scripts/cluster.sh", "kill", coord[4:]], capture_output=True, check=True)
            kill_at = time.time()
            wait(lambda: coordinator(talk) not in ("", coord), 30, "a new coordinator")
            new = coordinator(talk)
            scheduled = wait(lambda: [t for t in grep_times("event=task_scheduled ", talk) if t > kill_at], 30,
                             "scheduling again")
            emit("coordinator_kill_to_scheduling_again_s", f"{scheduled[0] - kill_at:.3f}")
            emit("new_coordinator", new)
            killed_coord = True
        time.sleep(1)
    steady = [s for s in samples if s[0] >= 12][:-2]
    ratios = [max(a, b) / min(a, b) for _, a, b in steady if min(a, b) > 0]
    if ratios:
        emit("fairness_samples", len(ratios))
        emit("fairness_max_min_rate_ratio_worst", f"{max(ratios):.3f}")
        emit("fairness_max_min_rate_ratio_mean", f"{sum(ratios) / len(ratios):.3f}")
    stats = {j["job"]: j for j in idunno("get-stats", node=talk)["jobs"]}
    emit("cheap_batch_ms_avg", f"{stats['cheap']['avg_ms']:.2f}")
    emit("costly_batch_ms_avg", f"{stats['costly']['avg_ms']:.2f}")
    emit("cost_ratio_costly_vs_cheap", f"{stats['costly']['avg_ms'] / stats['cheap']['avg_ms']:.1f}")
    wait(lambda: done("cheap", talk) and done("costly", talk), 600, "both jobs")

    # 3. Latency vs throughput for one job as the batch size grows.
    for batch in (1, 8, 64, 256):
        name = f"curve-b{batch}"
        idunno("sub", name, test, str(batch), "--model", "lenet", node=talk)
        wait(lambda: rates(talk)[name]["done"] == 10000, 300, name)
        first = grep_times(f"event=task_started job={name} ", talk)[0]
        last = grep_times(f"event=task_finished job={name} ", talk)[-1]
        s = idunno("get-stats", name, node=talk)["jobs"][0]
        emit(f"curve_lenet_b{batch}_queries_per_s", f"{10000 / (last - first):.0f}")
        emit(f"curve_lenet_b{batch}_batch_ms_p50", f"{s['p50_ms']:.2f}")
        emit(f"curve_lenet_b{batch}_batch_ms_p99", f"{s['p99_ms']:.2f}")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - a benchmark reports and exits
        print(f"error={error}", file=sys.stderr)
        sys.exit(1)
