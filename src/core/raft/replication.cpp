// RaftNode: log replication. The leader keeps one AppendEntries in flight per
// follower carrying every entry that is ready (natural batching), commits by
// majority of voters once an entry of its own term is stored on a majority,
// and followers apply log matching, truncating conflicting uncommitted
// suffixes.

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/raft/node.hpp"

namespace idunno::raft {

Proposal RaftNode::propose(std::string command) {
  if (role_ != Role::leader || transfer_target_) return Proposal{false, 0, 0, role_ == Role::leader ? std::nullopt : leader_};
  if (command.size() > options_.max_entry_bytes) return Proposal{false, 0, 0, self_, true};
  append_local(EntryType::command, std::move(command));
  broadcast_append();
  return Proposal{true, log_.last_index(), term_, self_};
}

void RaftNode::append_local(EntryType type, std::string data) {
  LogEntry entry{term_, log_.last_index() + 1, type, std::move(data)};
  storage_.append({entry});
  storage_dirty_ = true;
  log_.append(entry);
  if (type == EntryType::config) note_config_entry(entry);
}

void RaftNode::broadcast_append() {
  for (auto& [peer, progress] : progress_) {
    if (!progress.in_flight) send_append(peer);
  }
}

void RaftNode::send_append(const NodeName& peer) {
  auto& p = progress_.at(peer);
  if (p.snapshot_index != 0 || p.next - 1 < log_.start_index()) {
    send_snapshot_chunk(peer);
    return;
  }
  AppendRequest request;
  request.term = term_;
  request.prev_index = p.next - 1;
  // Entries from the log's start on have a term; below it a snapshot went.
  const auto prev_term = log_.term_at(request.prev_index);
  if (!prev_term) throw std::logic_error("no term for entry " + std::to_string(request.prev_index));
  request.prev_term = *prev_term;
  request.entries = log_.slice(p.next, options_.max_append_entries, options_.max_append_bytes);
  request.commit = commit_;
  p.sent_end = request.prev_index + request.entries.size();
  send(peer, std::move(request));
  p.in_flight = true;
  p.sent_at = clock_.now();
}

void RaftNode::handle_append_request(const NodeName& from, const AppendRequest& request) {
  if (role_ == Role::leader) throw std::logic_error("two leaders in term " + std::to_string(term_));
  if (role_ != Role::follower || leader_ != from) become_follower(term_, from);
  last_leader_contact_ = clock_.now();
  reset_election_timer();

  // Entries up to commit_ are committed here and therefore identical to the
  // leader's; only what lies beyond needs checking.
  if (request.prev_index >= commit_ && !log_.matches(request.prev_index, request.prev_term)) {
    Index hint = log_.last_index();
    if (request.prev_index <= log_.last_index()) {
      hint = std::max(commit_, log_.first_index_of_term_run(request.prev_index) - 1);
    }
    send(from, AppendReply{term_, false, request.prev_index, 0, hint, request.read_round});
    return;
  }
  std::vector<LogEntry> fresh;
  for (const auto& entry : request.entries) {
    if (entry.index <= commit_ || entry.index <= log_.start_index()) continue;
    if (fresh.empty() && log_.contains(entry.index)) {
      if (log_.at(entry.index).term == entry.term) continue;
      if (entry.index <= commit_) throw std::logic_error("conflict below the commit index");
      storage_.truncate_after(entry.index - 1);
      log_.truncate_after(entry.index - 1);
      synced_last_ = std::min(synced_last_, entry.index - 1);
      ++log_epoch_;
      forget_configs_after(entry.index - 1);
    }
    fresh.push_back(entry);
  }
  if (!fresh.empty()) {
    storage_.append(fresh);
    storage_dirty_ = true;
    for (auto& entry : fresh) {
      log_.append(entry);
      if (entry.type == EntryType::config) note_config_entry(entry);
    }
  }
  const Index match = std::max(commit_, request.prev_index + request.entries.size());
  if (request.commit > commit_) advance_commit(std::min(request.commit, match));
  send(from, AppendReply{term_, true, request.prev_index, match, 0, request.read_round});
}

void RaftNode::handle_append_reply(const NodeName& from, const AppendReply& reply) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  auto& p = it->second;
  p.answered = true;
  p.last_reply = clock_.now();
  if (reply.read_round > p.read_round) {
    p.read_round = reply.read_round;
    confirm_reads();
  }
  if (p.snapshot_index != 0) return;  // a snapshot transfer decides what comes next
  if (reply.success) {
    // A reply to an older request (one a resend replaced, a ReadIndex
    // round) while a newer one is out: that one's reply follows, or the
    // heartbeat resends it. Sending again now would put a duplicate behind
    // every request that queued up during a stall.
    const bool newer_out = p.in_flight && reply.match_index < p.sent_end;
    if (!newer_out) p.in_flight = false;
    if (reply.match_index > p.match) {
      p.match = std::min(reply.match_index, log_.last_index());
      p.next = std::max(p.next, p.match + 1);
      maybe_send_timeout_now(from);
      maybe_commit();  // may change membership: `p` is not used after it
    }
    if (newer_out) return;
    if (role_ == Role::leader && progress_.contains(from) && p.next <= log_.last_index()) send_append(from);
    return;
  }
  if (reply.prev_index + 1 != p.next) return;  // answers an older request
  p.in_flight = false;
  p.next = std::max(p.match + 1, std::min(reply.hint + 1, p.next - 1));
  send_append(from);
}

void RaftNode::maybe_commit() {
  if (role_ != Role::leader || membership_.voters.empty()) return;
  std::vector<Index> matches;
  for (const auto& [voter, address] : membership_.voters) {
    if (voter == self_) {
      matches.push_back(synced_last_);
    } else {
      auto it = progress_.find(voter);
      matches.push_back(it == progress_.end() ? 0 : it->second.match);
    }
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index candidate = matches[membership_.quorum() - 1];
  // Only an entry of the current term commits by counting (Raft 5.4.2).
  if (candidate > commit_ && log_.term_at(candidate) == term_) {
    if (!committed_in_term_) {
      committed_in_term_ = true;
      emit(EventKind::leader_committing, {}, {}, candidate);
    }
    advance_commit(candidate);
  }
}

void RaftNode::advance_commit(Index commit) {
  if (commit <= commit_) return;
  commit_ = std::min(commit, log_.last_index());
  apply_committed();
}

void RaftNode::apply_committed() {
  // While a snapshot is serialized off the loop, committed entries wait.
  while (applied_ < commit_ && !snapshot_running_) {
    const Index index = applied_ + 1;
    const auto& entry = log_.at(index);
    if (entry.type == EntryType::command) {
      ready_.applied.push_back(Applied{index, entry.term, state_machine_.apply(index, entry.data), entry.data});
      applied_ = index;
    } else if (entry.type == EntryType::config) {
      applied_ = index;
      on_config_committed(config_at(index));
    } else {
      applied_ = index;
    }
  }
  maybe_take_snapshot();
}

}  // namespace idunno::raft
