// RaftNode: membership. A configuration takes effect as soon as its entry is
// in the log (single-server changes, Raft dissertation 4.1); at most one is
// uncommitted at a time, and a new leader changes nothing before its first
// entry commits. The leader drives changes from the live member list through
// next_membership_change: learners catch up before they become voters.

#include <utility>

#include "core/raft/codec.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft {

void RaftNode::note_config_entry(const LogEntry& entry) {
  config_entries_[entry.index] = decode_configuration(entry.data);
  refresh_membership();
}

void RaftNode::forget_configs_after(Index last_kept) {
  config_entries_.erase(config_entries_.upper_bound(last_kept), config_entries_.end());
  refresh_membership();
}

void RaftNode::refresh_membership() {
  const auto& latest = config_entries_.empty() ? base_config_ : config_entries_.rbegin()->second;
  if (latest == membership_) return;
  membership_ = latest;
  if (role_ == Role::leader) sync_progress();
}

Configuration RaftNode::config_at(Index index) const {
  auto it = config_entries_.upper_bound(index);
  if (it == config_entries_.begin()) return base_config_;
  return std::prev(it)->second;
}

void RaftNode::sync_progress() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (membership_.is_member(it->first)) {
      ++it;
    } else {
      it = progress_.erase(it);
    }
  }
  auto add = [&](const NodeName& name) {
    if (name == self_ || progress_.contains(name)) return;
    Progress p;
    p.next = log_.last_index() + 1;
    progress_.emplace(name, p);
  };
  for (const auto& [name, address] : membership_.voters) add(name);
  for (const auto& [name, address] : membership_.learners) add(name);
  if (transfer_target_ && !membership_.is_voter(*transfer_target_)) transfer_target_.reset();
}

bool RaftNode::config_change_pending() const {
  return !config_entries_.empty() && config_entries_.rbegin()->first > commit_;
}

bool RaftNode::caught_up(const NodeName& name) const {
  auto it = progress_.find(name);
  if (it == progress_.end() || it->second.snapshot_index != 0) return false;
  const auto& p = it->second;
  return p.answered && p.match + options_.catch_up_max_lag >= log_.last_index() &&
         clock_.now() - p.last_reply < options_.election_timeout_min;
}

void RaftNode::set_live_members(LiveMembers live) {
  live_ = std::move(live);
  run_membership_policy();
}

void RaftNode::run_membership_policy() {
  if (role_ != Role::leader || !live_ || transfer_target_) return;
  if (config_change_pending() || commit_ < term_start_index_) return;
  auto change = next_membership_change(membership_, *live_, self_, options_.target_voters,
                                       [this](const NodeName& name) { return caught_up(name); });
  if (!change) return;
  auto next = apply_membership_change(membership_, *change);
  if (next == membership_) return;
  append_local(EntryType::config, encode_configuration(next));
  broadcast_append();
}

void RaftNode::on_config_committed(const Configuration& config) {
  const auto previous = std::exchange(applied_config_, config);
  if (role_ != Role::leader) return;
  for (const auto& [name, address] : config.voters) {
    if (!previous.is_voter(name)) emit(EventKind::voter_added, name);
  }
  for (const auto& [name, address] : previous.voters) {
    if (!config.is_voter(name)) emit(EventKind::voter_removed, name);
  }
  for (const auto& [name, address] : config.learners) {
    if (!previous.is_member(name)) emit(EventKind::learner_added, name);
  }
  for (const auto& [name, address] : previous.learners) {
    if (!config.is_member(name)) emit(EventKind::learner_removed, name);
  }
  if (!config.is_voter(self_)) {
    become_follower(term_, std::nullopt, "removed");
    return;
  }
  run_membership_policy();
}

}  // namespace idunno::raft
