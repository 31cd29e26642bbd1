#pragma once
// Events the core reports for logs and for whoever watches leadership.
//
// Why: the core does not log (thousands of simulated runs would drown in
// lines); it hands these to its driver, which logs them as
// `event=NAME term=T ...` lines and updates roles.

#include <string>
#include <string_view>

#include "core/raft/types.hpp"

namespace idunno::raft {

enum class EventKind {
  election_started,   // became candidate in `term`
  election_won,       // became leader of `term`
  leader_committing,  // the leader committed its first entry of `term` (`index`): it serves
  election_lost,      // a majority refused, or the election timed out
  step_down,          // left the leader role; `reason` says why
  leader_changed,     // `node` is the leader now known for `term` (empty: none)
  voter_added,        // committed; `node` is the member
  voter_removed,
  learner_added,
  learner_removed,
  snapshot_taken,     // `index` is the snapshot's last index
  snapshot_installed, // received from the leader
  transfer_started,   // leadership handover to `node`
};

struct Event {
  EventKind kind;
  Term term = 0;
  NodeName node;
  std::string reason;
  Index index = 0;
};

inline std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::election_started: return "election_started";
    case EventKind::election_won: return "election_won";
    case EventKind::leader_committing: return "leader_committing";
    case EventKind::election_lost: return "election_lost";
    case EventKind::step_down: return "step_down";
    case EventKind::leader_changed: return "leader_changed";
    case EventKind::voter_added: return "voter_added";
    case EventKind::voter_removed: return "voter_removed";
    case EventKind::learner_added: return "learner_added";
    case EventKind::learner_removed: return "learner_removed";
    case EventKind::snapshot_taken: return "snapshot_taken";
    case EventKind::snapshot_installed: return "snapshot_installed";
    case EventKind::transfer_started: return "transfer_started";
  }
  return "unknown";
}

}  // namespace idunno::raft
