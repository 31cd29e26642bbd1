#pragma once
// The disk seam: files, fsync, rename, directory listing and free space
// behind one small interface, a POSIX implementation and (fake_disk.hpp) an
// in-memory one that crashes, tears writes and fills up on command.
//
// Why: durability code is only as good as its behaviour at the moment the
// power goes or the disk fills, and a real disk shows neither on demand.
// Raft's storage and SDFS's block store write through a Disk so that a test
// can crash them at every step and check what comes back.
//
// Semantics every implementation keeps (the fake enforces them, the POSIX
// one gets them from the kernel):
//  - a file's data and size are durable only after DiskFile::sync();
//  - a new name (create, rename, remove) is durable only after
//    sync_directory() of the directory holding it;
//  - create_directories() is durable on return (each directory it creates is
//    synced into its parent), so that a durable file never sits in a
//    directory that can vanish;
//  - every failure throws DiskError with the errno-like code (ENOSPC, EIO,
//    ENOENT, ...), the operation and the path.
//
// Thread safety: a Disk may be used from several threads; a DiskFile from
// one thread at a time.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <span>
#include <system_error>
#include <vector>

namespace idunno::core {

// A disk operation failed. code() is an errno value.
class DiskError : public std::system_error {
 public:
  DiskError(int code, std::string operation, std::filesystem::path path);
  int errno_code() const { return code().value(); }
  const std::string& operation() const { return operation_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::string operation_;
  std::filesystem::path path_;
};

// An open file, read and written at explicit offsets.
class DiskFile {
 public:
  virtual ~DiskFile() = default;
  virtual std::uint64_t size() = 0;
  // Up to out.size() bytes from `offset` into `out` (fewer at the end of
  // the file); returns how many. Reads into the caller's buffer, so a
  // stream reading a large file reuses one buffer.
  virtual std::size_t read_into(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  // Up to `length` bytes from `offset` (fewer at the end of the file).
  std::string read(std::uint64_t offset, std::uint64_t length);
  // All of `data` at `offset`, extending the file as needed. On failure a
  // prefix of `data` may have been written.
  virtual void write(std::uint64_t offset, std::string_view data) = 0;
  virtual void truncate(std::uint64_t size) = 0;
  // Makes the data and size durable (fdatasync).
  virtual void sync() = 0;
  virtual const std::filesystem::path& path() const = 0;

  std::string read_all() { return read(0, size()); }
  void append(std::string_view data) { write(size(), data); }
};

class Disk {
 public:
  enum class Open {
    existing,          // ENOENT when missing
    create,            // created (empty) when missing
    create_truncated,  // created when missing, emptied when present
  };

  virtual ~Disk() = default;
  virtual std::unique_ptr<DiskFile> open(const std::filesystem::path& path, Open mode) = 0;
  virtual bool exists(const std::filesystem::path& path) = 0;
  virtual std::uint64_t file_size(const std::filesystem::path& path) = 0;
  // Replaces `to` if it exists (atomically, as rename(2)).
  virtual void rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // ENOENT when missing.
  virtual void remove(const std::filesystem::path& path) = 0;
  // Names (not paths) of the entries of `dir`, sorted.
  virtual std::vector<std::string> list(const std::filesystem::path& dir) = 0;
  // Bytes that can still be written on the file system holding `path`.
  virtual std::uint64_t free_space(const std::filesystem::path& path) = 0;
  virtual void create_directories(const std::filesystem::path& dir) = 0;
  virtual void sync_directory(const std::filesystem::path& dir) = 0;
};

// The real disk. Stateless: one instance serves the whole process.
class PosixDisk final : public Disk {
 public:
  std::unique_ptr<DiskFile> open(const std::filesystem::path& path, Open mode) override;
  bool exists(const std::filesystem::path& path) override;
  std::uint64_t file_size(const std::filesystem::path& path) override;
  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void remove(const std::filesystem::path& path) override;
  std::vector<std::string> list(const std::filesystem::path& dir) override;
  std::uint64_t free_space(const std::filesystem::path& path) override;
  void create_directories(const std::filesystem::path& dir) override;
  void sync_directory(const std::filesystem::path& dir) override;
};

PosixDisk& posix_disk();

// Writes `content` to path.tmp, syncs it, renames it over `path` and syncs
// the directory: afterwards `path` durably holds the old or the new content,
// never a mix.
void replace_file(Disk& disk, const std::filesystem::path& path, std::string_view content);
// The same with the content given in pieces (written one after the other),
// so that a large file need not be assembled in memory first.
void replace_file(Disk& disk, const std::filesystem::path& path, const std::vector<std::string_view>& pieces);

}  // namespace idunno::core
