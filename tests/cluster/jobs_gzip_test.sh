#!/usr/bin/env bash
# requires: ml (runs models; registered only in builds with the ML engine)
# A gzip'd dataset is inflated once, when the first job names it: its plain
# copy goes to SDFS as .idunno/inflated/NAME@vV and the workers range-read
# their shards from that copy instead of each fetching and inflating the
# whole file. 4 nodes, Fashion-MNIST's test set as Debian ships it (.gz)
# and as plain IDX: two jobs over the .gz (submitted from different nodes)
# and one over the plain files give the same results, line for line; the
# copy is made once (images and labels, version 1 each); only the inflating
# node reads the whole .gz. A .gz that ends early is refused at `sub`, with
# no job added. Deleting a source removes its copy.
TEST_TIMEOUT=150
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/jobs_lib.sh"

DATA=/usr/share/datasets/fashion-mnist
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST is missing (Debian package dataset-fashion-mnist)"

scripts/cluster.sh up 4 >/dev/null || fail "cluster did not come up"
wait_until 30 has_coordinator 1 || fail "no coordinator"

for kind in images-idx3-ubyte labels-idx1-ubyte; do
  client 1 put "$DATA/t10k-$kind.gz" "data/t10k-$kind.gz" >/dev/null || fail "put t10k-$kind.gz"
  gzip -dc "$DATA/t10k-$kind.gz" >"$IDUNNO_RUN/plain-$kind" || fail "gunzip t10k-$kind.gz"
  client 1 put "$IDUNNO_RUN/plain-$kind" "data/plain-$kind" >/dev/null || fail "put plain-$kind"
done
# The first 100,000 bytes of the images .gz, with its labels beside it.
head -c 100000 "$DATA/t10k-images-idx3-ubyte.gz" >"$IDUNNO_RUN/cut-images-idx3-ubyte.gz"
client 1 put "$IDUNNO_RUN/cut-images-idx3-ubyte.gz" data/cut-images-idx3-ubyte.gz >/dev/null || fail "put cut"
client 1 put "$DATA/t10k-labels-idx1-ubyte.gz" data/cut-labels-idx1-ubyte.gz >/dev/null || fail "put cut labels"

expect_error "truncated" sub cut sdfs:data/cut-images-idx3-ubyte.gz 64 --model lenet
[ "$(client 1 --json job-rates | json_get 'len(v["jobs"])')" -eq 0 ] || fail "the refused sub added a job"

client 2 sub zipped1 sdfs:data/t10k-images-idx3-ubyte.gz 64 --model lenet >/dev/null || fail "sub zipped1"
client 3 sub zipped2 sdfs:data/t10k-images-idx3-ubyte.gz 64 --model lenet >/dev/null || fail "sub zipped2"
client 4 sub plain sdfs:data/plain-images-idx3-ubyte 64 --model lenet >/dev/null || fail "sub plain"
wait_until 90 both_done 1 zipped1 zipped2 || fail "the jobs over the .gz did not finish"
wait_until 30 is_done 1 plain || fail "the job over the plain files did not finish"

for job in zipped1 zipped2 plain; do
  client 1 get-results "$job" "$IDUNNO_RUN/results-$job" >/dev/null || fail "get-results $job"
done
[ "$(wc -l <"$IDUNNO_RUN/results-plain")" -eq 10000 ] || fail "plain has $(wc -l <"$IDUNNO_RUN/results-plain") lines"
cmp -s "$IDUNNO_RUN/results-zipped1" "$IDUNNO_RUN/results-plain" || fail "zipped1's results differ from plain's"
cmp -s "$IDUNNO_RUN/results-zipped2" "$IDUNNO_RUN/results-plain" || fail "zipped2's results differ from plain's"
acc() { client 1 --json get-results "$1" | json_get 'v["accuracy"]'; }
[ "$(acc zipped1)" = "$(acc plain)" ] || fail "accuracy over the .gz $(acc zipped1), over plain $(acc plain)"

# One copy each, made once.
for kind in images-idx3-ubyte labels-idx1-ubyte; do
  copy=".idunno/inflated/data/t10k-$kind.gz@v1"
  version=$(client 1 --json ls "$copy" | json_get 'v["version"]') || fail "no copy $copy"
  [ "$version" = 1 ] || fail "$copy is at version $version: it was made more than once"
  size=$(client 1 --json ls "$copy" | json_get 'v["size"]')
  [ "$size" -eq "$(stat -c %s "$IDUNNO_RUN/plain-$kind")" ] || fail "$copy holds $size bytes"
done
made=$(cat "$IDUNNO_RUN"/node*/node.log | grep -c 'event=dataset_inflated') || true
[ "$made" -eq 2 ] || fail "$made inflations logged (expected 2: images and labels)"

# Whole reads of the .gz: only the inflating node's one.
whole=$(stat -c %s "$DATA/t10k-images-idx3-ubyte.gz")
readers=$(grep -l "event=sdfs_op op=get name=data/t10k-images-idx3-ubyte.gz version=1 bytes=$whole " \
  "$IDUNNO_RUN"/node*/node.log | wc -l)
[ "$readers" -eq 1 ] || fail "$readers nodes read the whole .gz (expected 1, the one that inflated it)"
log "the .gz was inflated once ($(grep -h -o 'event=dataset_inflated.*' "$IDUNNO_RUN"/node*/node.log | tr '\n' ';'))"

# Deleting a source removes its copy (the coordinator's sweep); the copy of
# a source that is still there stays.
copy_gone() { ! client 1 ls "$1" >/dev/null 2>&1; }
client 2 delete data/t10k-images-idx3-ubyte.gz >/dev/null || fail "delete of the images .gz failed"
wait_until 10 copy_gone ".idunno/inflated/data/t10k-images-idx3-ubyte.gz@v1" ||
  fail "the images copy outlived its source: $(client 1 --json ls .idunno/inflated/)"
client 1 ls ".idunno/inflated/data/t10k-labels-idx1-ubyte.gz@v1" >/dev/null ||
  fail "the labels copy went though its source is still there"
grep -q 'event=inflated_copy_removed copy=.idunno/inflated/data/t10k-images-idx3-ubyte.gz@v1 ' \
  "$IDUNNO_RUN"/node*/node.log || fail "no node logged the copy's removal"
log "deleting the images .gz removed its inflated copy; the labels copy stays"
log "PASS"
