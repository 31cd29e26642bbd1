#pragma once
// Storage in files under one directory of the node's data dir.
//
// Why: a voter's Raft state must survive kill -9 and power loss. Layout:
//   log       records [u32 length][u32 crc32c][payload]; the first record
//             marks where the log starts (after compaction), the others are
//             entries. A record that is cut short or fails its checksum ends
//             the log: it is a torn write that was never synced, so it and
//             everything after it are dropped (and the file truncated).
//   state     term and vote in two checksummed slots written alternately,
//             so that a torn write leaves the other slot intact.
//   snapshot  meta and data with a checksum, replaced atomically (write a
//             temporary file, fsync, rename, fsync the directory).
// append writes at once, save_hard_state at the next sync; both are durable
// only after sync(), which fdatasyncs. truncate_after is durable at once (so
// that dropped entries never come back under new ones after a crash). A write error throws
// std::system_error; the node must then stop (fail-stop), since the files
// may hold a partial record.
//
// Owned by the node's driver and used from its event loop thread, except
// sync_files(), which may run on another thread (so that the loop never
// waits for the disk) concurrently with later writes.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "core/raft/file_io.hpp"
#include "core/raft/storage.hpp"

namespace idunno::raft {

class FileStorage final : public Storage {
 public:
  // Creates `dir` if needed and recovers what is in it. Throws when the
  // files are corrupt beyond a torn tail.
  explicit FileStorage(std::filesystem::path dir);

  State load() override;
  void save_hard_state(const HardState& state) override;
  void append(const std::vector<LogEntry>& entries) override;
  void truncate_after(Index last_kept) override;
  void sync() override;
  void save_snapshot(const Snapshot& snapshot) override;
  void compact(Index upto, Term upto_term) override;
  void reset_log(Index start, Term start_term) override;

  // sync() in two halves. prepare_sync() (owner's thread) writes what is
  // buffered and says which files need flushing; sync_files() flushes them
  // and may run on any one other thread at a time. It covers every write
  // made before prepare_sync().
  struct SyncJob {
    bool log = false;
    bool state = false;
    bool empty() const { return !log && !state; }
    void merge(const SyncJob& other) {
      log = log || other.log;
      state = state || other.state;
    }
  };
  SyncJob prepare_sync();
  void sync_files(const SyncJob& job);

  // Bytes of torn tail dropped from the log at recovery.
  std::uint64_t dropped_tail_bytes() const { return dropped_tail_bytes_; }
  const std::filesystem::path& directory() const { return dir_; }

 private:
  void recover_log(State& state);
  void recover_state(State& state);
  void recover_snapshot(State& state);
  void rewrite_log(Index start, Term start_term, Index keep_after);
  Index last_index() const { return log_start_ + offsets_.size(); }

  std::filesystem::path dir_;
  // Held while a file is flushed, its state slot written or the log file
  // replaced: a flush never runs on a closed descriptor, and a state slot
  // is never written while the other one's last write is unflushed (a crash
  // could then tear both and lose a durable vote).
  std::mutex files_mutex_;
  bool state_unsynced_ = false;  // guarded by files_mutex_
  File log_;
  File state_;
  State recovered_;
  Index log_start_ = 0;
  std::vector<std::uint64_t> offsets_;  // file offset of entry log_start_ + 1 + i
  std::uint64_t log_size_ = 0;
  bool log_dirty_ = false;
  std::optional<HardState> pending_hard_state_;
  std::uint64_t state_sequence_ = 0;
  std::uint64_t dropped_tail_bytes_ = 0;
};

}  // namespace idunno::raft
