#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "fs/block_store.hpp"

namespace idunno::fs {

BlockReader::BlockReader(std::unique_ptr<core::DiskFile> file, BlockInfo info, BlockLayout layout)
    : file_(std::move(file)), info_(std::move(info)), layout_(layout) {}

std::span<const std::uint8_t> BlockReader::read_chunk_into(std::uint64_t index, std::span<std::uint8_t> buffer) {
  if (index >= layout_.chunk_count()) {
    throw std::out_of_range("chunk " + std::to_string(index) + " of a block of " +
                            std::to_string(layout_.chunk_count()) + " chunks");
  }
  const std::size_t length = layout_.chunk_length(index);
  const std::size_t wanted = length + kChunkChecksumBytes;
  if (buffer.size() < wanted) throw std::invalid_argument("BlockReader::read_chunk_into: buffer too small");
  const std::size_t got = file_->read_into(layout_.chunk_offset(index), buffer.first(wanted));
  if (got != wanted) {
    throw CorruptBlock(info_.name, info_.version, index,
                       "cut short: " + std::to_string(got) + " of " + std::to_string(wanted) + " bytes");
  }
  if (XXH3_64bits(buffer.data(), length) != get_u64(reinterpret_cast<const char*>(buffer.data() + length))) {
    throw CorruptBlock(info_.name, info_.version, index, "checksum mismatch");
  }
  return buffer.first(length);
}

std::span<const std::uint8_t> BlockReader::read_chunk(std::uint64_t index) {
  if (cached_index_ == index) return std::span(cached_).first(layout_.chunk_length(index));
  cached_index_.reset();
  if (cached_.empty()) cached_.resize(chunk_buffer_bytes());
  const auto chunk = read_chunk_into(index, cached_);
  cached_index_ = index;
  return chunk;
}

std::size_t BlockReader::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (offset >= info_.size) return 0;
  const auto total = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), info_.size - offset));
  std::size_t done = 0;
  while (done < total) {
    const std::uint64_t position = offset + done;
    const std::uint64_t index = position / layout_.chunk_size;
    const auto within = static_cast<std::size_t>(position % layout_.chunk_size);
    const auto chunk = read_chunk(index);
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
    const auto chunk = read_chunk(index);
    XXH3_64bits_update(hash.get(), chunk.data(), chunk.size());
  }
  if (XXH3_64bits_digest(hash.get()) != info_.checksum) {
    throw CorruptBlock(info_.name, info_.version, std::nullopt, "whole-content checksum mismatch");
  }
}

}  // namespace idunno::fs
