#pragma once
// The messages Raft nodes exchange, as plain values.
//
// Why: the core is sans-I/O. It consumes and produces these; the driver maps
// them onto the wire (protobuf over RPC) and the simulation onto its fake
// network. Every message is one-way: a reply is a message of its own, so a
// lost, delayed or duplicated message of any kind is just another input.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/raft/types.hpp"

namespace idunno::raft {

// RequestVote. With pre_vote, `term` is the term the sender would campaign
// in; nobody changes state for it. With transfer, the sender was asked by
// the leader to take over, so voters skip their leader-lease check.
struct VoteRequest {
  Term term = 0;
  Index last_log_index = 0;
  Term last_log_term = 0;
  bool pre_vote = false;
  bool transfer = false;
};

struct VoteReply {
  Term term = 0;  // for a granted pre-vote: the term of the request
  bool granted = false;
  bool pre_vote = false;
};

// AppendEntries; with no entries it is also the heartbeat.
struct AppendRequest {
  Term term = 0;
  Index prev_index = 0;
  Term prev_term = 0;
  std::vector<LogEntry> entries;
  Index commit = 0;
  std::uint64_t read_round = 0;  // ReadIndex: echoed in the reply
};

struct AppendReply {
  Term term = 0;
  bool success = false;
  Index prev_index = 0;   // of the request being answered
  Index match_index = 0;  // success: the follower's log matches up to here
  Index hint = 0;         // rejection: the leader should retry after this index
  std::uint64_t read_round = 0;  // of the request being answered
};

// One chunk of a snapshot; `offset` is the chunk's position in the data.
struct SnapshotRequest {
  Term term = 0;
  SnapshotMeta meta;
  std::uint64_t offset = 0;
  std::string data;
  bool done = false;
};

struct SnapshotReply {
  Term term = 0;
  Index last_index = 0;         // meta.last_index of the snapshot answered
  std::uint64_t next_offset = 0;  // the byte the follower expects next
  bool done = false;            // installed (or already covered by the log)
};

// Sent by a leader handing over leadership: start an election now.
struct TimeoutNow {
  Term term = 0;
};

using Payload = std::variant<VoteRequest, VoteReply, AppendRequest, AppendReply, SnapshotRequest,
                             SnapshotReply, TimeoutNow>;

struct Message {
  NodeName from;
  NodeName to;
  Payload payload;
};

inline Term term_of(const Payload& payload) {
  return std::visit([](const auto& m) { return m.term; }, payload);
}

}  // namespace idunno::raft
