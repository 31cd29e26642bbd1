#pragma once
// Which single membership change the leader should make next.
//
// Why: the voter set follows the live nodes that membership reports: dead
// voters and learners are removed, caught-up learners are promoted while the
// voter set is below its target, and live non-members are added as learners
// to catch up first. Changes are made one at a time, so this picks one.
// Kept pure (no node state) so it is tested by itself; the leader calls it.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/raft/types.hpp"

namespace idunno::raft {

struct MembershipChange {
  enum class Kind { add_learner, promote, remove };
  Kind kind;
  NodeName node;
  std::string address;  // add_learner
};

// Nodes that membership reports alive (or suspected, not yet dead), with
// their addresses.
using LiveMembers = std::map<NodeName, std::string>;

// The next change, if any. `leader` is never removed. `caught_up` says
// whether a learner may be promoted.
std::optional<MembershipChange> next_membership_change(const Configuration& config, const LiveMembers& live,
                                                       const NodeName& leader, std::size_t target_voters,
                                                       const std::function<bool(const NodeName&)>& caught_up);

// `config` with `change` made.
Configuration apply_membership_change(Configuration config, const MembershipChange& change);

}  // namespace idunno::raft
