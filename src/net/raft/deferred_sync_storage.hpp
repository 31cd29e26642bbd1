#pragma once
// The driver's view of FileStorage: every write goes straight through, but
// sync() only notes that a flush is owed; the driver pays it off the event
// loop (FileStorage::prepare_sync on the loop, sync_files on its own
// thread) and holds back the flush's outputs until then.
//
// Why: fdatasync takes milliseconds; the event loop that also runs
// membership and RPC must not wait for the disk. Holding every output of a
// flush (messages, applied results, leadership changes) until the flush is
// durable keeps the core's rule that nothing leaves before it is on disk.
// Owned by RaftDriver; used from its event loop.

#include <utility>

#include "core/raft/file_storage.hpp"

namespace idunno::net {

class DeferredSyncStorage final : public raft::Storage {
 public:
  explicit DeferredSyncStorage(raft::FileStorage& file) : file_(file) {}

  State load() override { return file_.load(); }
  void save_hard_state(const raft::HardState& state) override { file_.save_hard_state(state); }
  void append(const std::vector<raft::LogEntry>& entries) override { file_.append(entries); }
  void truncate_after(raft::Index last_kept) override { file_.truncate_after(last_kept); }
  void sync() override { owed_ = true; }
  void save_snapshot(const raft::Snapshot& snapshot) override { file_.save_snapshot(snapshot); }
  void compact(raft::Index upto, raft::Term upto_term) override { file_.compact(upto, upto_term); }
  void reset_log(raft::Index start, raft::Term start_term) override { file_.reset_log(start, start_term); }

  // True once per run of sync() calls: a flush is owed.
  bool take_owed() { return std::exchange(owed_, false); }

 private:
  raft::FileStorage& file_;
  bool owed_ = false;
};

}  // namespace idunno::net
