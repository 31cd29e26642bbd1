#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "fs/block_store.hpp"

namespace idunno::fs {

BlockReader::BlockReader(std::unique_ptr<core::DiskFile> file, BlockInfo info, BlockLayout layout)
    : file_(std::move(file)), info_(std::move(info)), layout_(layout) {}

const std::string& BlockReader::read_chunk(std::uint64_t index) {
  if (cached_index_ == index) return cached_;
  cached_index_.reset();
  const auto length = layout_.chunk_length(index);
  auto bytes = file_->read(layout_.chunk_offset(index), std::uint64_t{length} + kChunkChecksumBytes);
  if (bytes.size() != length + kChunkChecksumBytes) {
    throw CorruptBlock(info_.name, info_.version, index,
                       "cut short: " + std::to_string(bytes.size()) + " of " +
                           std::to_string(length + kChunkChecksumBytes) + " bytes");
  }
  if (XXH3_64bits(bytes.data(), length) != get_u64(bytes.data() + length)) {
    throw CorruptBlock(info_.name, info_.version, index, "checksum mismatch");
  }
  bytes.resize(length);
  cached_ = std::move(bytes);
  cached_index_ = index;
  return cached_;
}

std::size_t BlockReader::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (offset >= info_.size) return 0;
  const auto total = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), info_.size - offset));
  std::size_t done = 0;
  while (done < total) {
    const std::uint64_t position = offset + done;
    const std::uint64_t index = position / layout_.chunk_size;
    const auto within = static_cast<std::size_t>(position % layout_.chunk_size);
    const std::string& chunk = read_chunk(index);
    const auto take = std::min(chunk.size() - within, total - done);
    std::memcpy(out.data() + done, chunk.data() + within, take);
    done += take;
  }
  return total;
}

void BlockReader::verify_all() {
  std::unique_ptr<XXH3_state_s, HashStateDeleter> hash(XXH3_createState());
  if (!hash) throw std::bad_alloc();
  XXH3_64bits_reset(hash.get());
  for (std::uint64_t index = 0; index < layout_.chunk_count(); ++index) {
    const std::string& chunk = read_chunk(index);
    XXH3_64bits_update(hash.get(), chunk.data(), chunk.size());
  }
  if (XXH3_64bits_digest(hash.get()) != info_.checksum) {
    throw CorruptBlock(info_.name, info_.version, std::nullopt, "whole-content checksum mismatch");
  }
}

}  // namespace idunno::fs
