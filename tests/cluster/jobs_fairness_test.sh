#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# Fair-time scheduling with real processes: 6 nodes, two inference jobs
# over Fashion-MNIST's 60,000 training images twice over, whose models
# differ in cost (lenet and resnet-fmnist; their measured batch times are
# printed). Once the first 10 s window is full and while both run, the
# max/min of their 10 s query rates stays at or under 1.10, sampled twice a
# second; and the cheap job does not finish far ahead of the costly one.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/train-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

scripts/cluster.sh up 6 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"
# The training images and labels twice over (120,000 queries), as plain IDX
# files: on a quiet machine both jobs then run about 30 s, long enough for
# steady 10 s windows after the first.
put_doubled_set train
images=sdfs:data/twice-images-idx3-ubyte
client 1 sub cheap "$images" 64 --model lenet >/dev/null || fail "sub cheap"
client 2 sub costly "$images" 64 --model resnet-fmnist >/dev/null || fail "sub costly"
t0=$SECONDS

# One line per sample: seconds, both rates, both done counts.
samples="$IDUNNO_RUN/rates.txt"
: >"$samples"
while :; do
  check_deadline
  line=$(client 3 --json job-rates | python3 -c '
import json, sys
jobs = {j["job"]: j for j in json.load(sys.stdin)["jobs"]}
c, k = jobs["cheap"], jobs["costly"]
print(c["rate_10s"], k["rate_10s"], c["done"], k["done"], c["total"])')
  echo "$((SECONDS - t0)) $line" >>"$samples"
  read -r _ _ cheap_done costly_done total <<<"$line"
  [ "$cheap_done" -lt "$total" ] && [ "$costly_done" -lt "$total" ] || break
  # Twice a second: more samples of the steady state after the first full
  # 10 s window.
  sleep 0.5
done
log "costs: $(client 1 get-stats | tr -s ' ' | tr '\n' ';')"
python3 - "$samples" <<'PY' || fail "the rates were not level"
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
# After the first full window, until the first job nears its end.
steady = [r for r in rows[:-3] if r[0] >= 12]
if len(steady) < 5:
    print(f"only {len(steady)} steady samples: the jobs ran {rows[-1][0]:.0f} s"); sys.exit(1)
ratios = [max(r[1], r[2]) / min(r[1], r[2]) for r in steady if min(r[1], r[2]) > 0]
worst = max(ratios)
print(f"fairness: {len(ratios)} samples over {steady[0][0]:.0f}..{steady[-1][0]:.0f} s, "
      f"max/min 10 s rate ratio worst {worst:.3f}, mean {sum(ratios)/len(ratios):.3f}")
sys.exit(0 if worst <= 1.10 else 1)
PY
python3 - "$samples" <<'PY' || fail "one job finished far ahead of the other"
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
_, _, _, cheap, costly, total = rows[-1]
print(f"when the first finished: cheap {cheap:.0f}, costly {costly:.0f} of {total:.0f}")
sys.exit(0 if min(cheap, costly) >= 0.9 * total else 1)
PY
log "PASS"
