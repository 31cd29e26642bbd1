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
// that dropped entries never come back under new ones after a crash).
//
// Every file operation goes through a core::Disk (the real one by default),
// so that tests can crash it at every step and fill it up. A disk error
// throws core::DiskError (ENOSPC, EIO, ... with the path) and poisons the
// storage: every later call throws too, naming the first error. The files
// may then hold a partial record, and after a failed fsync the kernel may
// have dropped the unsynced pages, so a later sync() that succeeded would
// vouch for writes that are gone: the node must stop (fail-stop) instead.
//
// Owned by the node's driver; every call after construction comes from one
// thread at a time (the driver's disk thread), which need not be the thread
// that constructed it.

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/disk.hpp"
#include "core/raft/storage.hpp"

namespace idunno::raft {

class FileStorage final : public Storage {
 public:
  // Creates `dir` if needed and recovers what is in it. Throws when the
  // files are corrupt beyond a torn tail.
  FileStorage(core::Disk& disk, std::filesystem::path dir);
  explicit FileStorage(std::filesystem::path dir) : FileStorage(core::posix_disk(), std::move(dir)) {}

  State load() override;
  void save_hard_state(const HardState& state) override;
  void append(const std::vector<LogEntry>& entries) override;
  void truncate_after(Index last_kept) override;
  void sync() override;
  void save_snapshot(const Snapshot& snapshot) override;
  void compact(Index upto, Term upto_term) override;
  void reset_log(Index start, Term start_term) override;

  // Bytes of torn tail dropped from the log at recovery.
  std::uint64_t dropped_tail_bytes() const { return dropped_tail_bytes_; }
  const std::filesystem::path& directory() const { return dir_; }

 private:
  void recover_log(State& state);
  void recover_state(State& state);
  void recover_snapshot(State& state);
  void rewrite_log(Index start, Term start_term, Index keep_after);
  // Runs a write; a failure poisons the storage (see above).
  template <typename Fn>
  void guarded(Fn&& fn);
  void check_healthy() const;
  Index last_index() const { return log_start_ + offsets_.size(); }

  core::Disk& disk_;
  std::filesystem::path dir_;
  std::unique_ptr<core::DiskFile> log_;
  std::unique_ptr<core::DiskFile> state_;
  std::exception_ptr failure_;  // the first disk error
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
