// RaftNode: the leader's periodic duties. Heartbeats (an AppendEntries to
// every follower that has nothing in flight, or whose message went
// unanswered for a heartbeat), check-quorum (a leader that has heard from no
// majority within options.check_quorum steps down, so a partitioned old
// leader stops accepting writes; checked every heartbeat against each
// voter's last reply), and leadership transfer.

#include "core/raft/node.hpp"

namespace idunno::raft {

void RaftNode::on_heartbeat() {
  const auto now = clock_.now();
  heartbeat_deadline_ = now + options_.heartbeat;
  for (auto& [peer, p] : progress_) {
    // A snapshot chunk may legitimately take longer than a heartbeat.
    const auto patience = p.snapshot_index != 0 ? options_.election_timeout_min : options_.heartbeat;
    if (!p.in_flight || now - p.sent_at >= patience) send_append(peer);
  }
  run_membership_policy();
}

void RaftNode::check_quorum() {
  const auto now = clock_.now();
  std::size_t active = 0;
  for (const auto& [voter, address] : membership_.voters) {
    if (voter == self_) {
      ++active;
    } else if (auto it = progress_.find(voter);
               it != progress_.end() && it->second.answered && now - it->second.last_reply < options_.check_quorum) {
      ++active;
    }
  }
  if (active < membership_.quorum()) {
    become_follower(term_, std::nullopt, "lost_quorum");
    return;
  }
  quorum_deadline_ = now + options_.heartbeat;
}

bool RaftNode::transfer_leadership(const std::optional<NodeName>& target) {
  if (role_ != Role::leader) return false;
  std::optional<NodeName> chosen = target;
  if (!chosen) {
    Index best = 0;
    for (const auto& [peer, p] : progress_) {
      if (membership_.is_voter(peer) && (!chosen || p.match > best)) {
        chosen = peer;
        best = p.match;
      }
    }
  }
  if (!chosen || *chosen == self_ || !membership_.is_voter(*chosen) || !progress_.contains(*chosen)) return false;
  transfer_target_ = chosen;
  transfer_sent_ = false;
  transfer_deadline_ = clock_.now() + options_.election_timeout_min;
  emit(EventKind::transfer_started, *chosen);
  maybe_send_timeout_now(*chosen);
  if (!transfer_sent_) send_append(*chosen);
  return true;
}

void RaftNode::maybe_send_timeout_now(const NodeName& peer) {
  if (!transfer_target_ || *transfer_target_ != peer || transfer_sent_) return;
  if (progress_.at(peer).match < log_.last_index()) return;
  send(peer, TimeoutNow{term_});
  transfer_sent_ = true;
}

}  // namespace idunno::raft
