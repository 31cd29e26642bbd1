#!/usr/bin/env bash
# SDFS against a model: a seeded random series of put/get/get-versions/
# delete through the client on 8 nodes, with up to 3 nodes killed (kill -9)
# and restarted in between; every read must match the model
# (tests/cluster/sdfs_model.py). SEED replays a run.
TEST_TIMEOUT=280
source "$(dirname "$0")/lib.sh"
seed=${SEED:-$(( $(date +%s) % 100000 ))}
scripts/cluster.sh up 8 >/dev/null || fail "cluster did not come up"
log "seed $seed"
python3 tests/cluster/sdfs_model.py "$BIN" "$IDUNNO_RUN" 8 "${OPS:-80}" "$seed" || fail "the model check failed (SEED=$seed replays it)"
log "pass"
