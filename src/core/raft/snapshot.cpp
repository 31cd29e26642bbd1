// RaftNode: snapshots. A node snapshots its state machine every
// snapshot_entries applied entries and compacts its log, keeping some
// trailing entries; a follower whose next entry was compacted away receives
// the snapshot in chunks (one in flight, resumed at the offset it reports).

#include <algorithm>
#include <utility>

#include "core/raft/node.hpp"

namespace idunno::raft {

void RaftNode::maybe_take_snapshot() {
  if (options_.snapshot_entries == 0 || applied_ < snapshot_index() + options_.snapshot_entries) return;
  Snapshot snapshot;
  snapshot.meta.last_index = applied_;
  snapshot.meta.last_term = *log_.term_at(applied_);
  snapshot.meta.config = config_at(applied_);
  snapshot.data = state_machine_.snapshot();
  storage_.save_snapshot(snapshot);
  base_config_ = snapshot.meta.config;
  config_entries_.erase(config_entries_.begin(), config_entries_.upper_bound(applied_));
  snapshot_ = std::make_shared<const Snapshot>(std::move(snapshot));
  const Index upto = applied_ > options_.snapshot_trailing_entries ? applied_ - options_.snapshot_trailing_entries : 0;
  if (upto > log_.start_index()) {
    const Term upto_term = *log_.term_at(upto);
    storage_.compact(upto, upto_term);
    log_.compact(upto, upto_term);
  }
  emit(EventKind::snapshot_taken, {}, {}, applied_);
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
  storage_.save_snapshot(snapshot);
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
  base_config_ = snapshot.meta.config;
  applied_config_ = base_config_;
  snapshot_ = std::make_shared<const Snapshot>(std::move(snapshot));
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
