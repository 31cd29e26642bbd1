#pragma once
// What a leader knows about one follower's log.
//
// Why: replication sends one AppendEntries (or snapshot chunk) at a time per
// follower, with every entry that is ready, and resends when nothing came
// back within a heartbeat; this keeps the bookkeeping to a few fields and
// batches naturally under load. Owned by the leader's RaftNode.

#include <cstdint>

#include "core/clock.hpp"
#include "core/raft/types.hpp"

namespace idunno::raft {

struct Progress {
  Index next = 1;   // the next entry to send
  Index match = 0;  // the follower's log is known to match up to here
  bool in_flight = false;
  core::TimePoint sent_at{};
  // The last entry the newest AppendEntries carried (its prev_index when it
  // carried none): a reply that covers less answers an older request.
  Index sent_end = 0;
  // Whether the follower has answered this leader at all, and when it
  // last did (check-quorum; a learner is promoted only once it has answered
  // recently).
  bool answered = false;
  core::TimePoint last_reply{};
  // A snapshot transfer in progress: the snapshot's last index (0: none) and
  // the byte the follower expects next.
  Index snapshot_index = 0;
  std::uint64_t snapshot_offset = 0;
  // The latest ReadIndex heartbeat round the follower has answered.
  std::uint64_t read_round = 0;
};

}  // namespace idunno::raft
