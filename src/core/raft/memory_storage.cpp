#include "core/raft/memory_storage.hpp"

#include <stdexcept>
#include <string>

namespace idunno::raft {

void MemoryStorage::save_hard_state(const HardState& state) { pending_hard_.push_back(state); }

void MemoryStorage::append(const std::vector<LogEntry>& entries) {
  if (entries.empty()) return;
  if (entries.front().index != written_last_ + 1) {
    throw std::logic_error("append leaves a gap: last " + std::to_string(written_last_) + ", first new " +
                           std::to_string(entries.front().index));
  }
  written_last_ = entries.back().index;
  pending_log_.emplace_back(entries);
}

void MemoryStorage::truncate_after(Index last_kept) {
  if (last_kept > written_last_) throw std::logic_error("truncate beyond the end of the log");
  written_last_ = last_kept;
  pending_log_.emplace_back(Truncate{last_kept});
}

void MemoryStorage::apply(State& state, const LogOp& op) {
  if (const auto* entries = std::get_if<std::vector<LogEntry>>(&op)) {
    // A torn earlier write may have left the durable log shorter: keep the
    // log contiguous by dropping what no longer connects.
    const Index last = state.log_start + state.entries.size();
    if (entries->front().index > last + 1) return;
    const auto keep = entries->front().index - state.log_start - 1;
    state.entries.resize(keep);
    state.entries.insert(state.entries.end(), entries->begin(), entries->end());
  } else {
    const auto last_kept = std::get<Truncate>(op).last_kept;
    if (last_kept < state.log_start) return;
    const auto keep = last_kept - state.log_start;
    if (keep < state.entries.size()) state.entries.resize(keep);
  }
}

void MemoryStorage::sync() {
  for (const auto& op : pending_log_) apply(durable_, op);
  pending_log_.clear();
  if (!pending_hard_.empty()) durable_.hard_state = pending_hard_.back();
  pending_hard_.clear();
  ++syncs_;
}

void MemoryStorage::save_snapshot(const Snapshot& snapshot) {
  sync();
  durable_.snapshot = snapshot;
}

void MemoryStorage::compact(Index upto, Term upto_term) {
  sync();
  if (upto <= durable_.log_start) return;
  const auto drop = std::min<std::size_t>(upto - durable_.log_start, durable_.entries.size());
  durable_.entries.erase(durable_.entries.begin(), durable_.entries.begin() + static_cast<std::ptrdiff_t>(drop));
  durable_.log_start = upto;
  durable_.log_start_term = upto_term;
  written_last_ = durable_last_index();
}

void MemoryStorage::reset_log(Index start, Term start_term) {
  sync();
  durable_.entries.clear();
  durable_.log_start = start;
  durable_.log_start_term = start_term;
  written_last_ = start;
}

void MemoryStorage::crash(std::mt19937_64& rng) {
  if (!pending_log_.empty()) {
    const auto kept = std::uniform_int_distribution<std::size_t>(0, pending_log_.size())(rng);
    for (std::size_t i = 0; i < kept; ++i) apply(durable_, pending_log_[i]);
  }
  if (!pending_hard_.empty()) {
    const auto pick = std::uniform_int_distribution<std::size_t>(0, pending_hard_.size())(rng);
    if (pick > 0) durable_.hard_state = pending_hard_[pick - 1];
  }
  pending_log_.clear();
  pending_hard_.clear();
  written_last_ = durable_last_index();
}

}  // namespace idunno::raft
