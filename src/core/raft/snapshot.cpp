// RaftNode: snapshots. A node snapshots its state machine every
// snapshot_entries applied entries and compacts its log, keeping some
// trailing entries; a follower whose next entry was compacted away receives
// the snapshot in chunks (one in flight, resumed at the offset it reports).

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "core/raft/node.hpp"

namespace idunno::raft {

void RaftNode::maybe_take_snapshot() {
  if (options_.snapshot_entries == 0 || snapshot_running_ ||
      applied_ < snapshot_index() + options_.snapshot_entries) {
    return;
  }
  SnapshotDue due;
  due.meta.last_index = applied_;
  due.meta.last_term = *log_.term_at(applied_);
  due.meta.config = config_at(applied_);
  const Index upto = applied_ > options_.snapshot_trailing_entries ? applied_ - options_.snapshot_trailing_entries : 0;
  if (upto > log_.start_index()) {
    due.compact_upto = upto;
    due.compact_term = *log_.term_at(upto);
  }
  if (defer_snapshots_) {
    snapshot_running_ = due;
    snapshot_due_ = std::move(due);
    return;
  }
  auto snapshot = std::make_shared<Snapshot>(Snapshot{due.meta, state_machine_.snapshot()});
  storage_.save_snapshot(*snapshot);
  finish_snapshot(std::move(snapshot), due, true);
}

void RaftNode::snapshot_taken(std::shared_ptr<const Snapshot> snapshot) {
  if (!snapshot_running_ || !(snapshot->meta == snapshot_running_->meta)) {
    throw std::logic_error("Raft snapshot_taken without a matching snapshot due");
  }
  const auto due = *std::exchange(snapshot_running_, std::nullopt);
  snapshot_due_.reset();
  finish_snapshot(std::move(snapshot), due, false);
  apply_committed();  // what committed meanwhile
}

void RaftNode::finish_snapshot(std::shared_ptr<const Snapshot> snapshot, const SnapshotDue& due, bool compact_storage) {
  const Index last = snapshot->meta.last_index;
  base_config_ = snapshot->meta.config;
  config_entries_.erase(config_entries_.begin(), config_entries_.upper_bound(last));
  snapshot_ = std::move(snapshot);
  if (due.compact_upto > log_.start_index()) {
    if (compact_storage) storage_.compact(due.compact_upto, due.compact_term);
    log_.compact(due.compact_upto, due.compact_term);
  }
  emit(EventKind::snapshot_taken, {}, {}, last);
}

void RaftNode::send_snapshot_chunk(const NodeName& peer) {
  auto& p = progress_.at(peer);
  if (!snapshot_) return;
  if (p.snapshot_index != snapshot_->meta.last_index) {
    p.snapshot_index = snapshot_->meta.last_index;
    p.snapshot_offset = 0;
  }
  const auto& data = snapshot_->data;
  const auto offset = std::min<std::uint64_t>(p.snapshot_offset, data.size());
  SnapshotRequest request;
  request.term = term_;
  request.meta = snapshot_->meta;
  request.offset = offset;
  request.data = data.substr(offset, options_.snapshot_chunk_bytes);
  request.done = offset + request.data.size() == data.size();
  send(peer, std::move(request));
  p.in_flight = true;
  p.sent_at = clock_.now();
}

void RaftNode::handle_snapshot_request(const NodeName& from, const SnapshotRequest& request) {
  if (role_ == Role::leader) return;
  if (role_ != Role::follower || leader_ != from) become_follower(term_, from);
  last_leader_contact_ = clock_.now();
  reset_election_timer();
  const Index last = request.meta.last_index;
  if (last <= commit_) {
    // Everything it covers is already committed here.
    incoming_snapshot_.reset();
    send(from, SnapshotReply{term_, last, request.offset + request.data.size(), true});
    return;
  }
  // The state machine is being serialized off the loop: it cannot be
  // replaced now. The leader resends when the chunk goes unanswered.
  if (snapshot_running_) return;
  if (request.offset == 0) incoming_snapshot_ = IncomingSnapshot{request.meta, {}};
  if (!incoming_snapshot_ || !(incoming_snapshot_->meta == request.meta) ||
      request.offset != incoming_snapshot_->data.size()) {
    const bool same = incoming_snapshot_ && incoming_snapshot_->meta == request.meta;
    send(from, SnapshotReply{term_, last, same ? incoming_snapshot_->data.size() : 0, false});
    return;
  }
  incoming_snapshot_->data += request.data;
  const auto size = incoming_snapshot_->data.size();
  if (!request.done) {
    send(from, SnapshotReply{term_, last, size, false});
    return;
  }
  Snapshot snapshot{std::move(incoming_snapshot_->meta), std::move(incoming_snapshot_->data)};
  incoming_snapshot_.reset();
  install_snapshot(std::move(snapshot));
  send(from, SnapshotReply{term_, last, size, true});
}

void RaftNode::install_snapshot(Snapshot snapshot) {
  const Index last = snapshot.meta.last_index;
  const Term last_term = snapshot.meta.last_term;
  state_machine_.restore(snapshot.data);
  auto shared = std::make_shared<const Snapshot>(std::move(snapshot));
  storage_.save_shared_snapshot(shared);
  if (log_.matches(last, last_term)) {
    // The log goes on consistently past the snapshot: keep that part.
    storage_.compact(last, last_term);
    log_.compact(last, last_term);
    config_entries_.erase(config_entries_.begin(), config_entries_.upper_bound(last));
  } else {
    storage_.reset_log(last, last_term);
    log_.reset(last, last_term);
    config_entries_.clear();
  }
  synced_last_ = std::min(synced_last_, log_.last_index());
  ++log_epoch_;
  base_config_ = shared->meta.config;
  applied_config_ = base_config_;
  snapshot_ = std::move(shared);
  commit_ = std::max(commit_, last);
  applied_ = last;
  refresh_membership();
  emit(EventKind::snapshot_installed, {}, {}, last);
}

void RaftNode::handle_snapshot_reply(const NodeName& from, const SnapshotReply& reply) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  auto& p = it->second;
  p.answered = true;
  p.last_reply = clock_.now();
  if (reply.done) {
    if (reply.last_index < p.match || p.snapshot_index == 0) return;
    p.snapshot_index = 0;
    p.in_flight = false;
    p.match = std::min(reply.last_index, log_.last_index());
    p.next = p.match + 1;
    maybe_send_timeout_now(from);
    maybe_commit();
    if (role_ == Role::leader && progress_.contains(from)) send_append(from);
    return;
  }
  if (p.snapshot_index == 0 || reply.last_index != p.snapshot_index) return;
  p.snapshot_offset = reply.next_offset;
  p.in_flight = false;
  send_snapshot_chunk(from);
}

}  // namespace idunno::raft
