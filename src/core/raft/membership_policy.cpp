#include "core/raft/membership_policy.hpp"

namespace idunno::raft {

std::optional<MembershipChange> next_membership_change(const Configuration& config, const LiveMembers& live,
                                                       const NodeName& leader, std::size_t target_voters,
                                                       const std::function<bool(const NodeName&)>& caught_up) {
  using Kind = MembershipChange::Kind;
  auto is_live = [&](const NodeName& name) { return name == leader || live.contains(name); };
  // A dead voter first: removing it shrinks the quorum the others must reach.
  for (const auto& [name, address] : config.voters) {
    if (!is_live(name)) return MembershipChange{Kind::remove, name, {}};
  }
  for (const auto& [name, address] : config.learners) {
    if (!is_live(name)) return MembershipChange{Kind::remove, name, {}};
  }
  if (config.voters.size() < target_voters) {
    for (const auto& [name, address] : config.learners) {
      if (caught_up(name)) return MembershipChange{Kind::promote, name, {}};
    }
  }
  if (config.voters.size() + config.learners.size() < target_voters) {
    for (const auto& [name, address] : live) {
      if (!config.is_member(name)) return MembershipChange{Kind::add_learner, name, address};
    }
  }
  if (config.voters.size() > target_voters) {
    // Above target (the target was lowered): drop the last voter by name.
    for (auto it = config.voters.rbegin(); it != config.voters.rend(); ++it) {
      if (it->first != leader) return MembershipChange{Kind::remove, it->first, {}};
    }
  }
  return std::nullopt;
}

Configuration apply_membership_change(Configuration config, const MembershipChange& change) {
  switch (change.kind) {
    case MembershipChange::Kind::add_learner:
      if (!config.is_member(change.node)) config.learners.emplace(change.node, change.address);
      break;
    case MembershipChange::Kind::promote: {
      auto it = config.learners.find(change.node);
      if (it != config.learners.end()) {
        config.voters.emplace(it->first, it->second);
        config.learners.erase(it);
      }
      break;
    }
    case MembershipChange::Kind::remove:
      config.voters.erase(change.node);
      config.learners.erase(change.node);
      break;
  }
  return config;
}

}  // namespace idunno::raft
