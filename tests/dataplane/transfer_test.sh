#!/usr/bin/env bash
# A 1 GB transfer between two nodes on loopback keeps both nodes' RSS under
# 100 MB and every SWIM probe answered within the probe timeout (no
# suspicion), bytes verified end to end (XXH3 in the stream's trailer).
#   tests/dataplane/transfer_test.sh                 # data stream; asserts
#   tests/dataplane/transfer_test.sh --mode rpc [--rpc-in-flight N]
#       1 MiB RPC calls (N at a time, default 8) on the shared RPC
#       connection: the baseline, figures only
# Prints the figures of both processes as key=value lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/dataplane/lib.sh

mode=stream
bytes=$((1 << 30))
in_flight=8
while [ $# -gt 0 ]; do
  case $1 in
    --mode) mode=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --rpc-in-flight) in_flight=$2; shift 2 ;;
    *) echo "usage: $0 [--mode stream|rpc] [--bytes N] [--rpc-in-flight N]" >&2; exit 2 ;;
  esac
done

start_node receiver --role receiver --bind "$RECEIVER_ADDR" --peer "$SENDER_ADDR" --mode "$mode" --run-seconds 240
start_node sender --role sender --bind "$SENDER_ADDR" --peer "$RECEIVER_ADDR" --mode "$mode" --bytes "$bytes" \
  --rpc-in-flight "$in_flight" --run-seconds 230
wait_exit "$sender_pid" 240 || fail "the sender did not finish in 240 s"
wait_exit "$receiver_pid" 10 || fail "the receiver did not stop after the transfer"

s=$WORK/sender.log
r=$WORK/receiver.log
grep -h -E '^(send_done|receive_done|phase=|view phase=transfer)' "$s" "$r" | sed "s/^/$mode: /"

[ "$(field "$s" '^send_done' status)" = ok ] || fail "transfer failed: $(grep send_done "$s")"
[ "$(field "$s" '^send_done' verified)" = 1 ] || fail "the receiver did not verify the bytes"
[ "$(field "$r" '^receive_done' verified)" = 1 ] || fail "checksum mismatch at the receiver"
[ "$(field "$s" '^send_done' bytes)" = "$bytes" ] || fail "not every byte was sent"
echo "transfer_mb_per_s=$(field "$s" '^send_done' mb_per_s) mode=$mode"
[ "$mode" = stream ] || exit 0  # the baseline reports, it does not judge

for log in "$s" "$r"; do
  role=$(field "$log" '^phase=final' role)
  hwm=$(field "$log" '^phase=final' vm_hwm_mb)
  below "$hwm" "$RSS_LIMIT_MB" || fail "$role peak RSS $hwm MB is not under $RSS_LIMIT_MB MB"
  [ "$(field "$log" '^phase=final' swim_suspicions)" = 0 ] || fail "$role suspected its peer"
  [ "$(field "$log" '^phase=final' suspect_events)" = 0 ] || fail "$role saw a suspicion"
  [ "$(field "$log" '^phase=final' late_acks)" = 0 ] || fail "$role got acks later than the probe timeout"
  [ "$(field "$log" '^phase=final' swim_indirect_probes)" = 0 ] || fail "$role had to probe indirectly"
  # Both members alive in each side's view when the transfer ended.
  [ "$(grep -c "^view phase=transfer role=$role .* state=alive" "$log")" = 2 ] || fail "$role's view is not both alive"
  ! grep -E "^view phase=transfer role=$role " "$log" | grep -vq "state=alive" || fail "$role sees a member not alive"
  [ "$(field "$log" '^phase=final' probes_acked)" -gt 0 ] || fail "$role's probes were never acked"
done
echo "dataplane.transfer: ok"
