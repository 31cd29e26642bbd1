#include "core/raft/log.hpp"

#include <stdexcept>
#include <string>

namespace idunno::raft {

void RaftLog::reset(Index start, Term start_term, std::vector<LogEntry> entries) {
  start_ = start;
  start_term_ = start_term;
  entries_.assign(std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].index != start_ + 1 + i) throw std::logic_error("log entries are not contiguous");
  }
}

std::optional<Term> RaftLog::term_at(Index index) const {
  if (index == start_) return start_term_;
  if (!contains(index)) return std::nullopt;
  return entries_[index - start_ - 1].term;
}

const LogEntry& RaftLog::at(Index index) const {
  if (!contains(index)) throw std::out_of_range("log index " + std::to_string(index) + " not held");
  return entries_[index - start_ - 1];
}

std::vector<LogEntry> RaftLog::slice(Index from, std::size_t max_count, std::size_t max_bytes) const {
  std::vector<LogEntry> out;
  std::size_t bytes = 0;
  for (Index i = from; contains(i) && out.size() < max_count; ++i) {
    const auto& entry = at(i);
    if (!out.empty() && bytes + entry.data.size() > max_bytes) break;
    bytes += entry.data.size();
    out.push_back(entry);
  }
  return out;
}

Index RaftLog::first_index_of_term_run(Index index) const {
  auto term = term_at(index);
  if (!term) return index;
  Index first = index;
  while (first > start_ + 1 && at(first - 1).term == *term) --first;
  return first;
}

void RaftLog::append(LogEntry entry) {
  if (entry.index != last_index() + 1) {
    throw std::logic_error("log append at " + std::to_string(entry.index) + " after " + std::to_string(last_index()));
  }
  entries_.push_back(std::move(entry));
}

void RaftLog::truncate_after(Index last_kept) {
  if (last_kept < start_) throw std::logic_error("truncate below the compaction point");
  while (last_index() > last_kept) entries_.pop_back();
}

void RaftLog::compact(Index upto, Term upto_term) {
  if (upto <= start_) return;
  while (!entries_.empty() && entries_.front().index <= upto) entries_.pop_front();
  start_ = upto;
  start_term_ = upto_term;
}

}  // namespace idunno::raft
