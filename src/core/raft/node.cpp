// RaftNode: construction and recovery, the term rules every message goes
// through, role changes, timers and flush.

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "core/raft/codec.hpp"
#include "core/raft/node.hpp"

namespace idunno::raft {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre_candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "unknown";
}

RaftNode::RaftNode(NodeName self, RaftConfig config, Storage& storage, StateMachine& state_machine,
                   const core::Clock& clock, std::uint64_t seed)
    : self_(std::move(self)),
      options_(config),
      storage_(storage),
      state_machine_(state_machine),
      clock_(clock),
      rng_(seed) {
  if (self_.empty()) throw std::invalid_argument("a Raft node needs a name");
  if (options_.election_timeout_min <= options_.heartbeat ||
      options_.election_timeout_max < options_.election_timeout_min || options_.check_quorum <= options_.heartbeat) {
    throw std::invalid_argument(
        "Raft timing: need heartbeat < election_timeout_min <= election_timeout_max and heartbeat < check_quorum");
  }
  restore_from_storage();
  reset_election_timer();
}

void RaftNode::restore_from_storage() {
  auto state = storage_.load();
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  Index snap_index = 0;
  Term snap_term = 0;
  if (state.snapshot) {
    state_machine_.restore(state.snapshot->data);
    snap_index = state.snapshot->meta.last_index;
    snap_term = state.snapshot->meta.last_term;
    base_config_ = state.snapshot->meta.config;
    snapshot_ = std::make_shared<const Snapshot>(std::move(*state.snapshot));
  }
  if (state.log_start > snap_index) {
    throw std::runtime_error("Raft storage is inconsistent: the log starts after index " +
                             std::to_string(state.log_start) + " but the snapshot ends at " +
                             std::to_string(snap_index));
  }
  log_.reset(state.log_start, state.log_start_term, std::move(state.entries));
  if (snapshot_ && !log_.matches(snap_index, snap_term)) {
    // The log does not reach the snapshot or disagrees with it (a crash
    // between installing a snapshot and discarding the old log).
    storage_.reset_log(snap_index, snap_term);
    log_.reset(snap_index, snap_term);
  }
  for (Index i = snap_index + 1; i <= log_.last_index(); ++i) {
    if (log_.at(i).type == EntryType::config) note_config_entry(log_.at(i));
  }
  commit_ = applied_ = snap_index;
  synced_last_ = log_.last_index();
  applied_config_ = base_config_;
  refresh_membership();
}

bool RaftNode::bootstrap(const Configuration& initial) {
  if (term_ != 0 || log_.last_index() != 0 || snapshot_) return false;
  if (initial.voters.empty()) throw std::invalid_argument("bootstrap needs at least one voter");
  update_term(1);
  LogEntry entry{1, 1, EntryType::config, encode_configuration(initial)};
  log_.append(entry);
  storage_.append({entry});
  storage_dirty_ = true;
  note_config_entry(entry);
  return true;
}

void RaftNode::step(const Message& message) {
  if (message.to != self_ || message.from == self_) return;
  const NodeName& from = message.from;
  const Term term = term_of(message.payload);
  const auto* vote_request = std::get_if<VoteRequest>(&message.payload);
  const auto* vote_reply = std::get_if<VoteReply>(&message.payload);
  const bool from_leader = std::holds_alternative<AppendRequest>(message.payload) ||
                           std::holds_alternative<SnapshotRequest>(message.payload) ||
                           std::holds_alternative<TimeoutNow>(message.payload);
  if (term > term_) {
    if (vote_request) {
      if (!vote_request->transfer && lease_active()) {
        // A leader is alive: a disruptive (pre-)candidate gets nothing.
        if (vote_request->pre_vote) send(from, VoteReply{term_, false, true});
        return;
      }
      if (vote_request->pre_vote) {
        handle_vote_request(from, *vote_request);
        return;
      }
      become_follower(term, std::nullopt);
    } else if (vote_reply && vote_reply->pre_vote && vote_reply->granted) {
      // A granted pre-vote carries the proposed term: nothing changes.
    } else {
      become_follower(term, from_leader ? std::optional<NodeName>(from) : std::nullopt);
    }
  } else if (term < term_) {
    // A stale sender: answer leaders and candidates with our term so that
    // they step down; drop stale replies.
    if (from_leader && !std::holds_alternative<TimeoutNow>(message.payload)) {
      send(from, AppendReply{term_, false, 0, 0, 0});
    } else if (vote_request) {
      send(from, VoteReply{term_, false, vote_request->pre_vote});
    }
    return;
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, VoteRequest>) handle_vote_request(from, m);
        else if constexpr (std::is_same_v<T, VoteReply>) handle_vote_reply(from, m);
        else if constexpr (std::is_same_v<T, AppendRequest>) handle_append_request(from, m);
        else if constexpr (std::is_same_v<T, AppendReply>) handle_append_reply(from, m);
        else if constexpr (std::is_same_v<T, SnapshotRequest>) handle_snapshot_request(from, m);
        else if constexpr (std::is_same_v<T, SnapshotReply>) handle_snapshot_reply(from, m);
        else handle_timeout_now(from, m);
      },
      message.payload);
}

void RaftNode::become_follower(Term term, std::optional<NodeName> leader, std::string_view reason) {
  const bool was_leader = role_ == Role::leader;
  if (term > term_) update_term(term);
  role_ = Role::follower;
  votes_.clear();
  if (was_leader) {
    fail_reads();
    progress_.clear();
    transfer_target_.reset();
    emit(EventKind::step_down, {}, std::string(reason));
  }
  set_leader(std::move(leader));
  reset_election_timer();
}

void RaftNode::observe_term(Term term) {
  if (term > term_) become_follower(term, std::nullopt, "higher_term_observed");
}

void RaftNode::set_leader(std::optional<NodeName> leader) {
  if (leader == leader_) return;
  leader_ = std::move(leader);
  if (leader_) last_leader_contact_ = clock_.now();
  emit(EventKind::leader_changed, leader_.value_or(NodeName{}));
}

void RaftNode::update_term(Term term) {
  term_ = term;
  vote_.clear();
  persist_hard_state();
}

void RaftNode::persist_hard_state() {
  storage_.save_hard_state(HardState{term_, vote_});
  storage_dirty_ = true;
}

void RaftNode::send(const NodeName& to, Payload payload) {
  ready_.messages.push_back(Message{self_, to, std::move(payload)});
}

void RaftNode::emit(EventKind kind, NodeName node, std::string reason, Index index) {
  ready_.events.push_back(Event{kind, term_, std::move(node), std::move(reason), index});
}

core::Duration RaftNode::random_between(core::Duration low, core::Duration high) {
  if (high <= low) return low;
  std::uniform_int_distribution<core::Duration::rep> pick(low.count(), high.count() - 1);
  return core::Duration(pick(rng_));
}

void RaftNode::reset_election_timer() {
  election_deadline_ = clock_.now() + random_between(options_.election_timeout_min, options_.election_timeout_max);
}

bool RaftNode::lease_active() const {
  if (role_ == Role::leader) return true;
  return leader_.has_value() && clock_.now() - last_leader_contact_ < options_.election_timeout_min;
}

void RaftNode::tick() {
  const auto now = clock_.now();
  if (role_ == Role::leader) {
    if (transfer_target_ && now >= transfer_deadline_) transfer_target_.reset();
    if (now >= quorum_deadline_) check_quorum();
    if (role_ == Role::leader && now >= heartbeat_deadline_) on_heartbeat();
  } else if (now >= election_deadline_) {
    on_election_timeout();
  }
}

core::TimePoint RaftNode::next_deadline() const {
  if (role_ != Role::leader) return election_deadline_;
  auto next = std::min(heartbeat_deadline_, quorum_deadline_);
  if (transfer_target_) next = std::min(next, transfer_deadline_);
  return next;
}

Ready RaftNode::flush() {
  // Committing and applying can write again (snapshots, the next membership
  // change): loop until everything written is durable.
  do {
    if (storage_dirty_) {
      storage_dirty_ = false;
      storage_.sync();
    }
    if (!storage_.sync_is_deferred()) synced_last_ = log_.last_index();
    if (role_ == Role::leader) maybe_commit();
  } while (storage_dirty_);
  if (read_round_wanted_) start_read_round();
  ready_.applied_index = applied_;
  return std::exchange(ready_, Ready{});
}

void RaftNode::log_synced(SyncMark mark) {
  if (mark.epoch != log_epoch_) return;
  synced_last_ = std::max(synced_last_, std::min(mark.last, log_.last_index()));
  if (role_ == Role::leader) maybe_commit();
}

}  // namespace idunno::raft
