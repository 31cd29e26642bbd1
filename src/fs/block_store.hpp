#pragma once
// The SDFS block store of one node: the versions of SDFS files this node
// holds as a replica, one file per (name, version), on a core::Disk.
//
// Why: a replica must be durable before it is acknowledged, must never serve
// bytes that differ from what was written, and must hold files of many GB
// with memory that does not grow with their size.
//  - Durable: a version is written to a temporary file in dir/tmp/, fsynced,
//    renamed to dir/blocks/ and the directory fsynced. A crash before that
//    leaves at most a temporary file, which clear_temporaries() removes at
//    start; a block that is visible is complete.
//  - Flat and safe: a block's file name is block_key(name, version), the hex
//    XXH3-128 of the name and the decimal version. No SDFS name ever becomes
//    a path; the name itself is kept inside the file (block_format.hpp).
//  - Verified: every chunk (chunk_size bytes, 1 MiB by default) is stored
//    with its XXH3-64 and checked on every read. A mismatch, a truncated or
//    torn file throws CorruptBlock: a corrupt replica is reported, never
//    served. A disk error (EIO, ENOSPC, ...) throws core::DiskError instead,
//    so a caller can tell a failing disk from bad content.
//  - Streaming: a writer holds one chunk, a reader one chunk at a time.
//
// The store is blocking: call it from an I/O thread pool, never the event
// loop. It keeps no mutable state beside a counter, so several threads may
// use one store at once for different blocks; for the same block, a reader
// sees a whole version or none (renames are atomic), and two writers of the
// same version each finish whole (the last rename wins). A BlockWriter or
// BlockReader is used by one thread at a time. clear_temporaries() must run
// before any writer starts (it removes every temporary file).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/disk.hpp"
#include "fs/block_format.hpp"

struct XXH3_state_s;

namespace idunno::fs {

struct BlockInfo {
  std::string name;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the whole content
  friend bool operator==(const BlockInfo&, const BlockInfo&) = default;
};

// The store holds no such (name, version).
class BlockNotFound : public std::runtime_error {
 public:
  BlockNotFound(std::string name, std::uint64_t version);
  const std::string& name() const { return name_; }
  std::uint64_t version() const { return version_; }

 private:
  std::string name_;
  std::uint64_t version_;
};

// The stored replica is damaged (checksum mismatch, truncation, torn or
// unreadable header or footer). chunk() names the chunk whose check failed,
// nullopt when the header, footer or length is wrong.
class CorruptBlock : public std::runtime_error {
 public:
  CorruptBlock(std::string name, std::uint64_t version, std::optional<std::uint64_t> chunk, std::string reason);
  const std::string& name() const { return name_; }
  std::uint64_t version() const { return version_; }
  std::optional<std::uint64_t> chunk() const { return chunk_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string name_;
  std::uint64_t version_;
  std::optional<std::uint64_t> chunk_;
  std::string reason_;
};

// Frees an XXH3 streaming state (kept out of this header's includes).
struct HashStateDeleter {
  void operator()(XXH3_state_s* state) const;
};

// Streams one version into a temporary file; finish() makes it a block.
// Made by BlockStore::begin_write; one thread at a time. Any exception from
// append() or finish() removes the temporary file and ends the writer (later
// calls throw std::logic_error); so does destroying an unfinished writer.
class BlockWriter {
 public:
  ~BlockWriter();
  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // Adds bytes. More bytes in total than expected_size: std::invalid_argument.
  void append(std::span<const std::uint8_t> data);
  // Syncs the file, renames it into place and syncs the directory; the block
  // is durable when this returns. Fewer bytes than expected_size:
  // std::invalid_argument. On any error no block is left visible: after a
  // failed directory sync the renamed file is removed again (even if it had
  // replaced an earlier copy of the same version); should that removal fail
  // too, the file stays, whole and synced, and open() serves it.
  BlockInfo finish();
  // Removes the temporary file (no-op after finish or a failure). Throws
  // DiskError if the removal fails.
  void abort();

  std::uint64_t bytes_appended() const { return appended_; }
  // Bytes of the chunk being filled: never more than the chunk size.
  std::size_t buffered_bytes() const { return buffer_.size(); }
  // The buffer's allocation: the chunk size plus its checksum's 8 bytes.
  std::size_t buffer_capacity() const { return buffer_.capacity(); }

 private:
  friend class BlockStore;
  enum class State { open, renamed, finished, failed };
  struct Target {
    std::filesystem::path temp;
    std::filesystem::path final;
    std::filesystem::path blocks_dir;
  };
  BlockWriter(core::Disk& disk, Target target, BlockHeader header, std::unique_ptr<core::DiskFile> file);
  void flush_chunk();
  void check_open() const;
  // Best effort, never throws: what a failed or abandoned writer leaves.
  void discard() noexcept;

  core::Disk& disk_;
  Target target_;
  BlockHeader header_;
  std::uint64_t header_checksum_ = 0;
  std::unique_ptr<core::DiskFile> file_;
  State state_ = State::open;
  std::uint64_t appended_ = 0;
  std::uint64_t write_offset_ = 0;
  std::string buffer_;
  std::unique_ptr<XXH3_state_s, HashStateDeleter> content_hash_;
};

// Reads ranges of one block, verifying each chunk it touches. Made by
// BlockStore::open; one thread at a time. The last chunk read is kept, so a
// stream reading in pieces smaller than a chunk reads and hashes each chunk
// once (not once per piece).
class BlockReader {
 public:
  const BlockInfo& info() const { return info_; }
  std::uint32_t chunk_size() const { return layout_.chunk_size; }
  // Copies min(out.size(), size - offset) bytes from `offset` (0 at or past
  // the end) and returns how many. Reads only the chunks the range covers;
  // throws CorruptBlock when one does not verify, DiskError on a disk error.
  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out);
  // Reads chunk `index` (one the block has) and its checksum into
  // `buffer`, of at least chunk_buffer_bytes(), verifies it and returns its
  // bytes, a prefix of `buffer`: a stream reads each chunk straight into
  // the buffer it sends from, with no copy. Throws as read().
  std::span<const std::uint8_t> read_chunk_into(std::uint64_t index, std::span<std::uint8_t> buffer);
  std::size_t chunk_buffer_bytes() const { return std::size_t{layout_.chunk_size} + kChunkChecksumBytes; }
  // Every chunk, and the whole-content checksum: throws CorruptBlock.
  void verify_all();

 private:
  friend class BlockStore;
  BlockReader(std::unique_ptr<core::DiskFile> file, BlockInfo info, BlockLayout layout);
  // The verified bytes of chunk `index` in the kept buffer, valid until
  // the next call.
  std::span<const std::uint8_t> read_chunk(std::uint64_t index);

  std::unique_ptr<core::DiskFile> file_;
  BlockInfo info_;
  BlockLayout layout_;
  std::optional<std::uint64_t> cached_index_;
  std::vector<std::uint8_t> cached_;  // chunk_buffer_bytes(), allocated on the first read
};

// What list() found in dir/blocks/.
struct BlockListing {
  std::vector<BlockInfo> blocks;  // sorted by file name
  // File names of files that are not readable blocks (bad header, footer or
  // length, or a name that does not match their header). list() leaves them;
  // discard_bad() removes one.
  std::vector<std::string> bad;
};

class BlockStore {
 public:
  static constexpr std::uint32_t kDefaultChunkSize = 1u << 20;

  // Creates dir/blocks and dir/tmp when missing. chunk_size in
  // [1, kMaxChunkSize] applies to blocks written from now on; blocks keep
  // the chunk size they were written with.
  BlockStore(core::Disk& disk, std::filesystem::path dir, std::uint32_t chunk_size = kDefaultChunkSize);

  // Starts writing (name, version) of expected_size bytes. Throws DiskError
  // with ENOSPC when the file would not fit in the free space, and
  // std::invalid_argument for an empty name or one over kMaxBlockNameBytes.
  std::unique_ptr<BlockWriter> begin_write(std::string_view name, std::uint64_t version, std::uint64_t expected_size);
  // Throws BlockNotFound when absent, CorruptBlock when the header, footer
  // or length is wrong.
  std::unique_ptr<BlockReader> open(std::string_view name, std::uint64_t version);
  // Whether the block's file exists (its content is checked by open/verify).
  bool contains(std::string_view name, std::uint64_t version);
  // Removes the block durably; a missing block is fine.
  void remove(std::string_view name, std::uint64_t version);
  // Every block, from their headers and footers (chunks are not read).
  // DiskError from the disk passes through.
  BlockListing list();
  // Removes a file list() reported as bad (a plain file name in dir/blocks).
  void discard_bad(const std::string& file_name);
  // Reads and checks every chunk and the whole-content checksum.
  BlockInfo verify(std::string_view name, std::uint64_t version);
  // Removes leftover temporary files (from a crash); returns how many.
  std::size_t clear_temporaries();
  // Bytes of every file in dir/blocks: the blocks with their overhead, and
  // bad files until they are discarded. One stat per file.
  std::uint64_t bytes_stored();

  static std::string block_key(std::string_view name, std::uint64_t version);
  // On-disk bytes of a block of `size` bytes named `name` at this chunk size.
  std::uint64_t disk_bytes_for(std::string_view name, std::uint64_t size) const;
  std::filesystem::path block_path(std::string_view name, std::uint64_t version) const;
  const std::filesystem::path& directory() const { return dir_; }
  std::uint32_t chunk_size() const { return chunk_size_; }

 private:
  core::Disk& disk_;
  std::filesystem::path dir_;
  std::filesystem::path blocks_dir_;
  std::filesystem::path tmp_dir_;
  std::uint32_t chunk_size_;
  std::atomic<std::uint64_t> next_temp_{0};
};

}  // namespace idunno::fs
