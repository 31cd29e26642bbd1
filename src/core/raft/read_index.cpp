// RaftNode: ReadIndex (Raft thesis 6.4). A leader answers a read without a
// log write: it notes the commit index, then proves it is still the leader
// by a heartbeat round that a majority of voters answers in its term; state
// applied up to the noted index then reflects every write acknowledged
// before the read began. A leader cut off from the majority never completes
// the round (and steps down at check-quorum), so it cannot serve a stale
// read. Rounds are batched: every read asked before a flush shares one.

#include <algorithm>

#include "core/raft/node.hpp"

namespace idunno::raft {

bool RaftNode::read_index(ReadId id) {
  if (role_ != Role::leader) return false;
  // Until this term's no-op commits, commit_ may lag what earlier leaders
  // committed; the no-op's index covers all of it.
  reads_.push_back(PendingRead{id, std::max(commit_, term_start_index_), read_round_ + 1});
  read_round_wanted_ = true;
  return true;
}

void RaftNode::start_read_round() {
  read_round_wanted_ = false;
  if (role_ != Role::leader) return;
  ++read_round_;
  for (auto& [peer, p] : progress_) {
    // An empty AppendEntries at the follower's position: any answer in this
    // term (a match or a mismatch) acknowledges this node as leader.
    AppendRequest request;
    request.term = term_;
    request.prev_index = std::max(p.next - 1, log_.start_index());
    request.prev_term = log_.term_at(request.prev_index).value_or(0);
    request.commit = commit_;
    request.read_round = read_round_;
    send(peer, std::move(request));
  }
  confirm_reads();
}

void RaftNode::confirm_reads() {
  if (reads_.empty() || role_ != Role::leader) return;
  // The highest round a majority of voters (this node included) answered.
  std::vector<std::uint64_t> rounds;
  for (const auto& [voter, address] : membership_.voters) {
    if (voter == self_) {
      rounds.push_back(read_round_);
    } else {
      auto it = progress_.find(voter);
      rounds.push_back(it == progress_.end() ? 0 : it->second.read_round);
    }
  }
  if (rounds.empty()) return;
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  const auto confirmed = rounds[membership_.quorum() - 1];
  auto done = std::stable_partition(reads_.begin(), reads_.end(),
                                    [confirmed](const PendingRead& r) { return r.round > confirmed; });
  for (auto it = done; it != reads_.end(); ++it) ready_.reads.push_back(ReadState{it->id, it->index, true});
  reads_.erase(done, reads_.end());
}

void RaftNode::fail_reads() {
  for (const auto& r : reads_) ready_.reads.push_back(ReadState{r.id, 0, false});
  reads_.clear();
  read_round_wanted_ = false;
}

}  // namespace idunno::raft
