#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# Online inference through the Open Inference Protocol on real processes:
# 3 nodes. An inference job (`sub`) over Fashion-MNIST's test set gives the
# reference classes, for the zoo's lenet and for a TorchScript file in SDFS
# with its own normalisation; the same images sent to /v2/models/M/infer
# (UINT8 and FP32, 8 clients at once, through two different consoles) get
# the same classes and scores, batched dynamically on the workers. Every
# endpoint and every refusal is recorded and validated against the
# protocol's OpenAPI document (tests/oip/validate.js). A flood of
# malformed, oversized and cut-off requests leaves the node serving.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"
command -v node >/dev/null || fail "node is missing (scripts/deps.sh installs nodejs)"
[ -d tests/oip/node_modules/openapi-response-validator ] || fail "the validator is missing: run scripts/deps.sh"

scripts/cluster.sh up 3 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"

client 1 put "$DATA/t10k-images-idx3-ubyte.gz" data/t10k-images-idx3-ubyte.gz >/dev/null || fail "put images"
client 1 put "$DATA/t10k-labels-idx1-ubyte.gz" data/t10k-labels-idx1-ubyte.gz >/dev/null || fail "put labels"
images=sdfs:data/t10k-images-idx3-ubyte.gz

# A TorchScript file as a Python user exports it, with IDunno's metadata
# asking for a normalisation of its own (mean 0.5, std 0.25).
/usr/bin/python3 - "$IDUNNO_RUN/tiny.pt" <<'PY' || fail "could not export the TorchScript model"
import sys, torch
torch.manual_seed(7)
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 5, stride=2)
        self.fc = torch.nn.Linear(4 * 12 * 12, 10)
    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))
torch.jit.save(torch.jit.trace(Tiny().eval(), torch.zeros(1, 1, 28, 28)), sys.argv[1],
               _extra_files={"idunno_model.txt": "input=1,28,28\nclasses=10\nmean=0.5\nstd=0.25\n"})
PY
client 1 put "$IDUNNO_RUN/tiny.pt" models/tiny >/dev/null || fail "put models/tiny"

client 1 sub ref "$images" 64 --model lenet >/dev/null || fail "sub ref"
client 1 sub tiny "$images" 64 --model models/tiny >/dev/null || fail "sub tiny"
wait_until 120 both_done 1 ref tiny || fail "the reference jobs did not finish: $(client 1 job-rates)"
client 1 get-results ref "$IDUNNO_RUN/ref.txt" >/dev/null || fail "get-results ref"
client 1 get-results tiny "$IDUNNO_RUN/tiny.txt" >/dev/null || fail "get-results tiny"
log "reference jobs done"

records=$IDUNNO_RUN/records.jsonl
out=$(python3 tests/cluster/oip_client.py check 8001 "$records" "$DATA/t10k-images-idx3-ubyte.gz" \
  "$IDUNNO_RUN/ref.txt" lenet 512) || fail "lenet through console 1: $out"
log "lenet through node1's console: $out"
out=$(python3 tests/cluster/oip_client.py check 8002 "$records" "$DATA/t10k-images-idx3-ubyte.gz" \
  "$IDUNNO_RUN/tiny.txt" models/tiny 256) || fail "models/tiny through console 2: $out"
log "models/tiny through node2's console: $out"

# Concurrent requests were batched on the workers: fewer batches than requests.
metric_sum() {
  local total=0 k v
  for k in 1 2 3; do
    v=$(curl -sf "http://127.0.0.1:$((8000 + k))/metrics" | awk -v m="$1" '$1 == m {print $2}')
    total=$(python3 -c "print(int($total + float('${v:-0}')))")
  done
  echo "$total"
}
images_run=$(metric_sum idunno_online_images_total)
batches_run=$(metric_sum idunno_online_batches_total)
log "workers ran $images_run online images in $batches_run batches"
[ "$batches_run" -gt 0 ] || fail "no online batch ran"
python3 -c "import sys; sys.exit(0 if $images_run / $batches_run > 1.5 else 1)" ||
  fail "requests were not batched together ($images_run images in $batches_run batches)"

out=$(node tests/oip/validate.js "$records") || fail "answers do not follow the OpenAPI document: $out"
log "OpenAPI validation: $(tail -1 <<<"$out")"

out=$(python3 tests/cluster/oip_client.py flood 8001 lenet) || fail "flood: $out"
log "flood: $out"
pid_alive "$(cat "$IDUNNO_RUN/node1/pid")" || fail "node1 died in the flood"
log "PASS"
