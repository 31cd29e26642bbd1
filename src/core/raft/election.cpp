// RaftNode: elections. A follower whose election timer fires first asks for
// pre-votes (no term change, so a node cut off from the cluster cannot
// disrupt it when it returns); with a majority of pre-votes it campaigns for
// real. Timeouts are randomized; a candidate that a majority refused retries
// after a short random backoff instead of a whole election timeout.

#include "core/raft/node.hpp"

namespace idunno::raft {

void RaftNode::on_election_timeout() {
  if (!membership_.is_voter(self_)) {
    // Learners and non-members never campaign.
    reset_election_timer();
    return;
  }
  if (role_ == Role::candidate) emit(EventKind::election_lost, {}, "timeout");
  start_election(/*pre_vote=*/true, /*transfer=*/false);
}

void RaftNode::start_election(bool pre_vote, bool transfer) {
  votes_.clear();
  if (pre_vote) {
    role_ = Role::pre_candidate;
  } else {
    update_term(term_ + 1);
    vote_ = self_;
    persist_hard_state();
    role_ = Role::candidate;
    emit(EventKind::election_started, {}, transfer ? "transfer" : "timeout");
  }
  set_leader(std::nullopt);
  reset_election_timer();
  votes_[self_] = true;
  if (votes_.size() >= membership_.quorum()) {
    if (pre_vote) {
      start_election(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  const Term term = pre_vote ? term_ + 1 : term_;
  for (const auto& [voter, address] : membership_.voters) {
    if (voter == self_) continue;
    send(voter, VoteRequest{term, log_.last_index(), log_.last_term(), pre_vote, transfer});
  }
}

bool RaftNode::log_up_to_date(Index last_index, Term last_term) const {
  if (last_term != log_.last_term()) return last_term > log_.last_term();
  return last_index >= log_.last_index();
}

void RaftNode::handle_vote_request(const NodeName& from, const VoteRequest& request) {
  if (request.pre_vote) {
    const bool can_vote = request.term > term_ || vote_ == from || (vote_.empty() && !leader_);
    const bool granted = can_vote && log_up_to_date(request.last_log_index, request.last_log_term);
    send(from, VoteReply{granted ? request.term : term_, granted, true});
    return;
  }
  // The term rules in step() made request.term == term_.
  const bool can_vote = vote_.empty() || vote_ == from;
  const bool granted =
      role_ != Role::leader && can_vote && log_up_to_date(request.last_log_index, request.last_log_term);
  if (granted) {
    vote_ = from;
    persist_hard_state();  // flush() syncs it before the reply leaves
    reset_election_timer();
  }
  send(from, VoteReply{term_, granted, false});
}

void RaftNode::handle_vote_reply(const NodeName& from, const VoteReply& reply) {
  if (reply.pre_vote) {
    if (role_ != Role::pre_candidate) return;
    if (reply.granted && reply.term != term_ + 1) return;
  } else if (role_ != Role::candidate || reply.term != term_) {
    return;
  }
  if (!membership_.is_voter(from)) return;
  votes_[from] = reply.granted;
  std::size_t granted = 0;
  for (const auto& [voter, yes] : votes_) granted += (yes && membership_.is_voter(voter)) ? 1 : 0;
  const std::size_t refused = votes_.size() - granted;
  const std::size_t quorum = membership_.quorum();
  if (granted >= quorum) {
    if (reply.pre_vote) {
      start_election(false, false);
    } else {
      become_leader();
    }
  } else if (refused > membership_.voters.size() - quorum) {
    if (reply.pre_vote) {
      become_follower(term_, std::nullopt);
      return;
    }
    emit(EventKind::election_lost, {}, "refused");
    become_follower(term_, std::nullopt);
    // Split vote: retry soon, at a random moment, rather than a whole
    // election timeout later.
    const auto spread = options_.election_timeout_max - options_.election_timeout_min;
    election_deadline_ = clock_.now() + random_between(options_.heartbeat / 2, options_.heartbeat / 2 + spread);
  }
}

void RaftNode::handle_timeout_now(const NodeName& from, const TimeoutNow& request) {
  (void)request;
  if (role_ == Role::leader || leader_ != from || !membership_.is_voter(self_)) return;
  start_election(/*pre_vote=*/false, /*transfer=*/true);
}

void RaftNode::become_leader() {
  role_ = Role::leader;
  votes_.clear();
  set_leader(self_);
  emit(EventKind::election_won);
  committed_in_term_ = false;
  progress_.clear();
  transfer_target_.reset();
  sync_progress();
  const auto now = clock_.now();
  heartbeat_deadline_ = now + options_.heartbeat;
  // The first check waits a whole window: every voter has had time to answer.
  quorum_deadline_ = now + options_.check_quorum;
  term_start_index_ = log_.last_index() + 1;
  append_local(EntryType::noop, {});
  broadcast_append();
}

}  // namespace idunno::raft
