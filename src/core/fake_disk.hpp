#pragma once
// An in-memory Disk that knows what is durable and what is merely written,
// and fails on command: crashes (at a chosen operation, tearing a write
// there), ENOSPC when its capacity is exceeded, and injected errors (EIO, or
// any errno) on the next operation of a kind on a path.
//
// Why: storage code must survive a power cut between any two of its disk
// operations, and say so clearly when the disk is full or failing. The fake
// makes each of those a line in a test.
//
// Model. Each file has its written content and its durable content (as of
// its last sync). Each name (file or directory) exists in the current
// namespace and, once the directory holding it was synced, in the durable
// one. restart(how) is a reboot after a crash:
//  - lose_unsynced: only durable names and durable content survive (power
//    loss where the disk kept nothing it was not told to keep);
//  - keep_written: everything written survives (a process killed by -9: the
//    kernel's page cache outlives it);
//  - keep_unsynced_prefix: durable names; each file keeps its durable
//    content plus the first half (in bytes) of what was written to it since,
//    in order, so that the last write that survives is cut short (a power cut
//    in the middle of write-back).
// A crash point (crash_at) cuts the operation it lands on: a write there
// stores the first half of its bytes, anything else does nothing, and it and
// every operation after it throw DiskCrashed until restart(). Files opened
// before a restart are dead (their operations throw DiskCrashed).
//
// Thread-safe (one mutex); a test may drive it from the storage's thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/disk.hpp"

namespace idunno::core {

// The fake disk's crash point was reached: the process is "dead".
class DiskCrashed : public std::runtime_error {
 public:
  DiskCrashed() : std::runtime_error("the disk crashed (test crash point)") {}
};

enum class DiskOp { open, read, write, truncate, sync, sync_directory, rename, remove, list, create_directories, stat };

class FakeDisk final : public Disk {
 public:
  enum class Restart { lose_unsynced, keep_written, keep_unsynced_prefix };

  // Fails the next `count` operations of kind `op` on a path containing
  // `path_contains` (empty: any path) with `error`, doing nothing.
  struct Fault {
    DiskOp op = DiskOp::write;
    std::string path_contains;
    int error = 5;  // EIO
    int count = 1;
  };

  FakeDisk() = default;

  // Mutating operations so far (write, truncate, sync, sync_directory,
  // rename, remove, create_directories and an open that creates or
  // truncates): the numbers crash_at() counts.
  std::uint64_t mutating_ops() const;
  // The mutating operation numbered `op` (0 = the next one) crashes.
  void crash_at(std::uint64_t op_from_now);
  bool crashed() const;
  void restart(Restart how);

  void inject(Fault fault);
  // Writes beyond `bytes` in total (over every file) fail with ENOSPC after
  // storing what fits. free_space() reports what is left.
  void set_capacity(std::uint64_t bytes);
  std::uint64_t used_bytes() const;

  // For tests: the written content of a file (nullopt when it is missing),
  // and a way to place bytes on the disk as if a crash had left them.
  std::optional<std::string> content(const std::filesystem::path& path) const;
  void put_durable(const std::filesystem::path& path, const std::string& content);

  std::unique_ptr<DiskFile> open(const std::filesystem::path& path, Open mode) override;
  bool exists(const std::filesystem::path& path) override;
  std::uint64_t file_size(const std::filesystem::path& path) override;
  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void remove(const std::filesystem::path& path) override;
  std::vector<std::string> list(const std::filesystem::path& dir) override;
  std::uint64_t free_space(const std::filesystem::path& path) override;
  void create_directories(const std::filesystem::path& dir) override;
  void sync_directory(const std::filesystem::path& dir) override;

 private:
  friend class FakeDiskFile;
  struct Inode {
    std::string data;
    std::string durable;
    // Writes and truncations since the last sync, in order (size for a
    // truncation is in `offset`, `data` empty and `truncation` set).
    struct Change {
      std::uint64_t offset = 0;
      std::string data;
      bool truncation = false;
    };
    std::vector<Change> changes;
  };
  using Namespace = std::map<std::string, std::shared_ptr<Inode>>;  // files

  // Counts a mutating operation; true when it is the crash point (the caller
  // then does its torn part and throws).
  bool begin_mutation();
  void check_alive(std::uint64_t generation) const;
  void check_fault(DiskOp op, const std::filesystem::path& path);
  std::uint64_t used_locked() const;
  static std::string key(const std::filesystem::path& path);
  void require_directory(const std::filesystem::path& path) const;

  // Called by FakeDiskFile with mutex_ held by it.
  void file_write(Inode& inode, const std::filesystem::path& path, std::uint64_t offset, std::string_view data);
  void file_truncate(Inode& inode, const std::filesystem::path& path, std::uint64_t size);
  void file_sync(Inode& inode, const std::filesystem::path& path);

  mutable std::mutex mutex_;
  Namespace files_;
  Namespace durable_files_;
  std::set<std::string> dirs_{"/"};
  std::set<std::string> durable_dirs_{"/"};
  std::vector<Fault> faults_;
  std::optional<std::uint64_t> capacity_;
  std::uint64_t ops_ = 0;
  std::optional<std::uint64_t> crash_op_;
  bool crashed_ = false;
  std::uint64_t generation_ = 0;
};

}  // namespace idunno::core
