#pragma once
// Which connection a Raft message travels on, shared by the driver and the
// simulation.
//
// Why: over TCP, one lost segment stalls a connection for a retransmission
// timeout (200 ms or more, doubling) and everything sent after it waits
// behind it; a later segment usually ends the stall within a round trip
// (fast retransmit), but a lone segment, or one whose resend is lost too,
// waits for the timeout. If heartbeats shared the connection that carries
// entries, they would also wait behind entries and snapshot chunks stalled
// that way, for longer than a follower's election timeout, and the follower
// would call an election against a healthy leader.
// So messages go on two lanes, each its own connection: `data` carries
// entries and snapshot chunks; `control` carries everything small (votes,
// replies, empty AppendEntries). While a lane to a peer is stalled (a
// message on it unanswered for a heartbeat), every AppendEntries to that
// peer that would use it also goes on the other lane as a bare heartbeat
// (at most one a heartbeat): no entries and prev_index 0, which every
// follower accepts without checking its log (it answers with its own
// commit index, which its log holds), so it keeps the follower's election
// timer and the leader's view of the follower fresh without ever being
// refused or moving the follower's commit index. Both lanes stalling at
// once is rare: their losses are independent.
// Header-only; no state.

#include <optional>
#include <variant>

#include "core/raft/messages.hpp"

namespace idunno::raft {

enum class Lane { control, data };

inline Lane lane_of(const Payload& payload) {
  if (const auto* append = std::get_if<AppendRequest>(&payload)) {
    return append->entries.empty() ? Lane::control : Lane::data;
  }
  return std::holds_alternative<SnapshotRequest>(payload) ? Lane::data : Lane::control;
}

// The stand-in for a message on a stalled lane, for the other lane: the
// bare heartbeat of an AppendEntries. Nothing for any other message.
inline std::optional<Payload> bare_heartbeat(const Payload& payload) {
  const auto* append = std::get_if<AppendRequest>(&payload);
  if (!append) return std::nullopt;
  AppendRequest bare;
  bare.term = append->term;
  bare.commit = append->commit;
  return Payload{std::move(bare)};
}

inline Lane other_lane(Lane lane) { return lane == Lane::data ? Lane::control : Lane::data; }

}  // namespace idunno::raft
