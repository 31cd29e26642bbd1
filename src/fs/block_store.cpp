#include "fs/block_store.hpp"

#include <xxhash.h>

#include <cerrno>
#include <utility>

namespace idunno::fs {

namespace stdfs = std::filesystem;

namespace {

constexpr std::string_view kBlockSuffix = ".blk";

std::string describe(std::string_view name, std::uint64_t version) {
  return "block '" + std::string(name) + "' version " + std::to_string(version);
}

bool is_missing(const core::DiskError& e) { return e.errno_code() == ENOENT; }

}  // namespace

BlockNotFound::BlockNotFound(std::string name, std::uint64_t version)
    : std::runtime_error(describe(name, version) + " is not stored on this node"),
      name_(std::move(name)),
      version_(version) {}

CorruptBlock::CorruptBlock(std::string name, std::uint64_t version, std::optional<std::uint64_t> chunk,
                           std::string reason)
    : std::runtime_error(describe(name, version) + " is corrupt" +
                         (chunk ? " at chunk " + std::to_string(*chunk) : std::string()) + ": " + reason +
                         " (read another replica)"),
      name_(std::move(name)),
      version_(version),
      chunk_(chunk),
      reason_(std::move(reason)) {}

BlockStore::BlockStore(core::Disk& disk, stdfs::path dir, std::uint32_t chunk_size)
    : disk_(disk), dir_(std::move(dir)), blocks_dir_(dir_ / "blocks"), tmp_dir_(dir_ / "tmp"), chunk_size_(chunk_size) {
  if (chunk_size_ == 0 || chunk_size_ > kMaxChunkSize) {
    throw std::invalid_argument("block chunk size must be in [1, " + std::to_string(kMaxChunkSize) + "], not " +
                                std::to_string(chunk_size_));
  }
  disk_.create_directories(blocks_dir_);
  disk_.create_directories(tmp_dir_);
}

std::string BlockStore::block_key(std::string_view name, std::uint64_t version) {
  XXH128_canonical_t digest;
  XXH128_canonicalFromHash(&digest, XXH3_128bits(name.data(), name.size()));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  key.reserve(sizeof(digest.digest) * 2 + 21);
  for (const unsigned char byte : digest.digest) {
    key.push_back(kHex[byte >> 4]);
    key.push_back(kHex[byte & 0xf]);
  }
  key.push_back('-');
  key += std::to_string(version);
  return key;
}

stdfs::path BlockStore::block_path(std::string_view name, std::uint64_t version) const {
  return blocks_dir_ / (block_key(name, version) + std::string(kBlockSuffix));
}

std::uint64_t BlockStore::disk_bytes_for(std::string_view name, std::uint64_t size) const {
  return BlockLayout::of(name.size(), size, chunk_size_).file_size();
}

std::unique_ptr<BlockWriter> BlockStore::begin_write(std::string_view name, std::uint64_t version,
                                                     std::uint64_t expected_size) {
  if (name.empty() || name.size() > kMaxBlockNameBytes) {
    throw std::invalid_argument("a block name must be 1.." + std::to_string(kMaxBlockNameBytes) + " bytes, not " +
                                std::to_string(name.size()));
  }
  if (expected_size > kMaxBlockSize) {
    throw std::invalid_argument(describe(name, version) + ": " + std::to_string(expected_size) +
                                " bytes is over the block size limit");
  }
  const auto key = block_key(name, version);
  const auto temp = tmp_dir_ / (key + "." + std::to_string(next_temp_++) + ".tmp");
  const auto needed = disk_bytes_for(name, expected_size);
  const auto free = disk_.free_space(tmp_dir_);
  if (needed > free) {
    throw core::DiskError(ENOSPC,
                          "store " + describe(name, version) + ": it needs " + std::to_string(needed) + " bytes, " +
                              std::to_string(free) + " are free in",
                          dir_);
  }
  auto file = disk_.open(temp, core::Disk::Open::create_truncated);
  BlockWriter::Target target{temp, blocks_dir_ / (key + std::string(kBlockSuffix)), blocks_dir_};
  BlockHeader header{std::string(name), version, expected_size, chunk_size_};
  return std::unique_ptr<BlockWriter>(new BlockWriter(disk_, std::move(target), std::move(header), std::move(file)));
}

std::unique_ptr<BlockReader> BlockStore::open(std::string_view name, std::uint64_t version) {
  std::unique_ptr<core::DiskFile> file;
  try {
    file = disk_.open(block_path(name, version), core::Disk::Open::existing);
  } catch (const core::DiskError& e) {
    if (is_missing(e)) throw BlockNotFound(std::string(name), version);
    throw;
  }
  BlockMeta meta;
  try {
    meta = read_block_meta(*file);
  } catch (const BlockFormatError& e) {
    throw CorruptBlock(std::string(name), version, std::nullopt, e.what());
  }
  if (meta.header.name != name || meta.header.version != version) {
    throw CorruptBlock(std::string(name), version, std::nullopt,
                       "its file holds " + describe(meta.header.name, meta.header.version));
  }
  BlockInfo info{std::move(meta.header.name), version, meta.header.size, meta.footer.content_checksum};
  return std::unique_ptr<BlockReader>(new BlockReader(std::move(file), std::move(info), meta.layout));
}

bool BlockStore::contains(std::string_view name, std::uint64_t version) {
  return disk_.exists(block_path(name, version));
}

void BlockStore::remove(std::string_view name, std::uint64_t version) {
  try {
    disk_.remove(block_path(name, version));
  } catch (const core::DiskError& e) {
    if (is_missing(e)) return;
    throw;
  }
  disk_.sync_directory(blocks_dir_);
}

BlockListing BlockStore::list() {
  BlockListing listing;
  for (const auto& file_name : disk_.list(blocks_dir_)) {
    std::unique_ptr<core::DiskFile> file;
    try {
      file = disk_.open(blocks_dir_ / file_name, core::Disk::Open::existing);
    } catch (const core::DiskError& e) {
      if (is_missing(e)) continue;  // removed since the listing
      if (e.errno_code() != EISDIR) throw;
      listing.bad.push_back(file_name);
      continue;
    }
    try {
      auto meta = read_block_meta(*file);
      if (block_key(meta.header.name, meta.header.version) + std::string(kBlockSuffix) != file_name) {
        listing.bad.push_back(file_name);
        continue;
      }
      listing.blocks.push_back(
          {std::move(meta.header.name), meta.header.version, meta.header.size, meta.footer.content_checksum});
    } catch (const BlockFormatError&) {
      listing.bad.push_back(file_name);
    }
  }
  return listing;
}

void BlockStore::discard_bad(const std::string& file_name) {
  if (file_name.empty() || file_name == "." || file_name == ".." || file_name.find('/') != std::string::npos) {
    throw std::invalid_argument("'" + file_name + "' is not a file name in the block directory");
  }
  try {
    disk_.remove(blocks_dir_ / file_name);
  } catch (const core::DiskError& e) {
    if (is_missing(e)) return;
    throw;
  }
  disk_.sync_directory(blocks_dir_);
}

BlockInfo BlockStore::verify(std::string_view name, std::uint64_t version) {
  auto reader = open(name, version);
  reader->verify_all();
  return reader->info();
}

std::size_t BlockStore::clear_temporaries() {
  std::size_t removed = 0;
  for (const auto& file_name : disk_.list(tmp_dir_)) {
    try {
      disk_.remove(tmp_dir_ / file_name);
      ++removed;
    } catch (const core::DiskError& e) {
      if (!is_missing(e)) throw;
    }
  }
  if (removed > 0) disk_.sync_directory(tmp_dir_);
  return removed;
}

std::uint64_t BlockStore::bytes_stored() {
  std::uint64_t total = 0;
  for (const auto& file_name : disk_.list(blocks_dir_)) {
    try {
      total += disk_.file_size(blocks_dir_ / file_name);
    } catch (const core::DiskError& e) {
      if (!is_missing(e)) throw;
    }
  }
  return total;
}

}  // namespace idunno::fs
