#!/usr/bin/env bash
# A stalled receiver (SIGSTOP mid-transfer) times out the sender's stream
# within the configured timeout plus a small margin, without hanging and
# with bounded memory; then SIGCONT and cleanup.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/dataplane/lib.sh

write_timeout_ms=2000
idle_timeout_ms=3000
margin_ms=1500
start_node receiver --role receiver --bind "$RECEIVER_ADDR" --peer "$SENDER_ADDR" --run-seconds 120 \
  --write-timeout-ms $write_timeout_ms --idle-timeout-ms $idle_timeout_ms
start_node sender --role sender --bind "$SENDER_ADDR" --peer "$RECEIVER_ADDR" --bytes $((64 << 30)) \
  --run-seconds 100 --write-timeout-ms $write_timeout_ms --idle-timeout-ms $idle_timeout_ms

s=$WORK/sender.log
r=$WORK/receiver.log
# Stop the receiver once a couple of hundred MB went through.
for _ in $(seq 1 600); do
  moved=$(field "$r" '^progress' bytes)
  [ -n "$moved" ] && [ "$moved" -gt $((200 << 20)) ] && break
  kill -0 "$sender_pid" 2>/dev/null || fail "the sender ended early"
  sleep 0.1
done
[ -n "$moved" ] && [ "$moved" -gt $((200 << 20)) ] || fail "the transfer did not get going"
stopped_ms=$(date +%s%3N)
kill -STOP "$receiver_pid"
for _ in $(seq 1 $(((write_timeout_ms + idle_timeout_ms) / 100 + 100))); do
  grep -q '^send_done' "$s" && break
  sleep 0.1
done
grep -q '^send_done' "$s" || fail "the sender's stream did not fail while the receiver was stopped"
kill -CONT "$receiver_pid"
wait_exit "$sender_pid" 20 || fail "the sender did not exit after its stream failed"

status=$(field "$s" '^send_done' status)
failed_ms=$(field "$s" '^send_done' failed_at_wall_ms)
took=$((failed_ms - stopped_ms))
hwm=$(field "$s" '^phase=final' vm_hwm_mb)
grep -h -E '^(send_done|phase=final)' "$s" | sed 's/^/stall: /'
echo "stall_status=$status stall_to_failure_ms=$took sender_vm_hwm_mb=$hwm"
case $status in
  timed_out_write|timed_out_idle) ;;
  *) fail "the stream ended with $status, not a timeout" ;;
esac
[ "$took" -le $((write_timeout_ms + margin_ms)) ] || fail "the timeout took $took ms (limit $write_timeout_ms + $margin_ms)"
below "$hwm" "$RSS_LIMIT_MB" || fail "sender peak RSS $hwm MB is not under $RSS_LIMIT_MB MB"
# The receiver resumes, sees the cancellation and stops cleanly (on the
# sender's quit call that waited in its socket, or on SIGTERM).
kill -TERM "$receiver_pid" 2>/dev/null || true
wait_exit "$receiver_pid" 10 || fail "the receiver did not stop after SIGCONT and SIGTERM"
grep -q '^receive_status=cancelled_by_peer' "$r" || fail "the receiver did not see the cancellation"
echo "dataplane.stall: ok"
