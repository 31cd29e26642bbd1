#pragma once
// The in-memory Raft log: entries after the last compaction point.
//
// Why: the core reads terms and slices of the log on every message; keeping
// them in memory (the storage only has to persist them) makes that cheap.
// Indexes start_index()+1 .. last_index() are held; the term of start_index()
// is remembered so that log matching works right after a compaction. Owned
// by RaftNode; not thread-safe.

#include <deque>
#include <optional>
#include <vector>

#include "core/raft/types.hpp"

namespace idunno::raft {

class RaftLog {
 public:
  void reset(Index start, Term start_term, std::vector<LogEntry> entries = {});

  Index start_index() const { return start_; }
  Term start_term() const { return start_term_; }
  Index last_index() const { return start_ + entries_.size(); }
  Term last_term() const { return entries_.empty() ? start_term_ : entries_.back().term; }
  bool contains(Index index) const { return index > start_ && index <= last_index(); }

  // The term of `index`, known for start_index() .. last_index().
  std::optional<Term> term_at(Index index) const;
  bool matches(Index index, Term term) const {
    auto t = term_at(index);
    return t && *t == term;
  }
  const LogEntry& at(Index index) const;  // requires contains(index)

  // Entries from `from` on, at most `max_count` and about `max_bytes` (always
  // at least one entry when any is available).
  std::vector<LogEntry> slice(Index from, std::size_t max_count, std::size_t max_bytes) const;

  // The first index of the run of entries that share the term of `index`.
  Index first_index_of_term_run(Index index) const;

  void append(LogEntry entry);  // entry.index must be last_index() + 1
  void truncate_after(Index last_kept);
  // Forgets entries up to `upto`; past the end, the log restarts empty.
  void compact(Index upto, Term upto_term);

 private:
  Index start_ = 0;
  Term start_term_ = 0;
  std::deque<LogEntry> entries_;
};

}  // namespace idunno::raft
