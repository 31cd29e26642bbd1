#pragma once
// Where a Raft node keeps what must survive a crash: term and vote, the log,
// the latest snapshot.
//
// Why: the core must not acknowledge anything it could forget. Writes of the
// hard state and the log are buffered until sync(); the core calls sync()
// before any message that depends on them leaves (RaftNode::flush), so one
// fsync covers every write of a batch. Snapshots and compaction are durable
// when they return, or (for a storage that queues its writes to a disk
// thread, as the driver's does) durable in order before any later sync()
// completes. FileStorage is the real one, MemoryStorage the one the
// simulation crashes. Owned by the node's driver; used only from the thread
// that runs the core.

#include <memory>
#include <optional>
#include <vector>

#include "core/raft/types.hpp"

namespace idunno::raft {

class Storage {
 public:
  // Everything recovered at start. The log holds entries
  // log_start + 1 .. log_start + entries.size(); log_start_term is the term of
  // the entry at log_start (compacted away, or 0 for an empty history).
  struct State {
    HardState hard_state;
    std::optional<Snapshot> snapshot;
    Index log_start = 0;
    Term log_start_term = 0;
    std::vector<LogEntry> entries;
  };

  virtual ~Storage() = default;

  // Reads what is durable. Throws when the stored state is corrupt beyond a
  // torn tail (which is dropped silently).
  virtual State load() = 0;

  // Buffered until sync().
  virtual void save_hard_state(const HardState& state) = 0;
  // `entries` continue the log: the first has index last + 1.
  virtual void append(const std::vector<LogEntry>& entries) = 0;
  // Drops every entry after `last_kept` (which is >= log_start).
  virtual void truncate_after(Index last_kept) = 0;
  // Makes every write above durable.
  virtual void sync() = 0;
  // True when sync() only notes that a sync is owed and the caller makes
  // the writes durable later (the driver's disk thread). The core then
  // counts its own log towards commitment only up to what
  // RaftNode::log_synced() reports, so a leader may send its entries while
  // they are still being written (Raft thesis 10.2.1).
  virtual bool sync_is_deferred() const { return false; }

  // Durable on return (buffered writes are synced first).
  virtual void save_snapshot(const Snapshot& snapshot) = 0;
  // The same for a snapshot the caller keeps unchanged: a storage that
  // writes later may hold on to it instead of copying it (snapshots can be
  // large).
  virtual void save_shared_snapshot(std::shared_ptr<const Snapshot> snapshot) { save_snapshot(*snapshot); }
  // Drops entries up to and including `upto`, keeping later ones; the log
  // then starts after `upto`, whose term is `upto_term`.
  virtual void compact(Index upto, Term upto_term) = 0;
  // Drops every entry; the log starts after `start`.
  virtual void reset_log(Index start, Term start_term) = 0;
};

}  // namespace idunno::raft
