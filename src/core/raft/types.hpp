#pragma once
// Vocabulary of the Raft core: terms, log indexes, entries, configurations,
// the persisted hard state and snapshots.
//
// Why: every file of the core and every Storage implementation speaks these
// plain values; they carry no behaviour beyond small queries. A node is named
// by its node name (stable across restarts); its address is only a hint the
// driver may use until membership tells it a newer one.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace idunno::raft {

using Term = std::uint64_t;
using Index = std::uint64_t;
using NodeName = std::string;

enum class EntryType : std::uint8_t {
  command = 0,  // a state machine command proposed by a client
  noop = 1,     // appended by a new leader to commit entries of older terms
  config = 2,   // a new Configuration (encoded with encode_configuration)
};

struct LogEntry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::command;
  std::string data;

  bool operator==(const LogEntry&) const = default;
};

// The voter set and the learners (members that receive the log but do not
// vote), each name mapped to the address it had when it was added.
struct Configuration {
  std::map<NodeName, std::string> voters;
  std::map<NodeName, std::string> learners;

  bool is_voter(const NodeName& name) const { return voters.contains(name); }
  bool is_learner(const NodeName& name) const { return learners.contains(name); }
  bool is_member(const NodeName& name) const { return is_voter(name) || is_learner(name); }
  std::size_t quorum() const { return voters.size() / 2 + 1; }
  bool operator==(const Configuration&) const = default;
};

// What must survive a crash besides the log: the current term and the vote
// given in it.
struct HardState {
  Term term = 0;
  NodeName vote;  // empty: no vote in `term`

  bool operator==(const HardState&) const = default;
};

struct SnapshotMeta {
  Index last_index = 0;  // the last entry the snapshot covers
  Term last_term = 0;
  Configuration config;  // the configuration as of last_index

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // StateMachine::snapshot() bytes

  bool operator==(const Snapshot&) const = default;
};

}  // namespace idunno::raft
