#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <stdexcept>
#include <utility>

#include "core/logging.hpp"
#include "fs/block_store.hpp"

namespace idunno::fs {

void HashStateDeleter::operator()(XXH3_state_s* state) const { XXH3_freeState(state); }

BlockWriter::BlockWriter(core::Disk& disk, Target target, BlockHeader header, std::unique_ptr<core::DiskFile> file)
    : disk_(disk),
      target_(std::move(target)),
      header_(std::move(header)),
      file_(std::move(file)),
      content_hash_(XXH3_createState()) {
  if (!content_hash_) throw std::bad_alloc();
  XXH3_64bits_reset(content_hash_.get());
  buffer_.reserve(std::size_t{header_.chunk_size} + kChunkChecksumBytes);
  try {
    const auto encoded = encode_header(header_);
    header_checksum_ = header_checksum(encoded);
    file_->write(0, encoded);
    write_offset_ = encoded.size();
  } catch (...) {
    discard();
    throw;
  }
}

BlockWriter::~BlockWriter() {
  if (state_ != State::finished) discard();
}

void BlockWriter::check_open() const {
  if (state_ != State::open) {
    throw std::logic_error("block writer for " + header_.name + " version " + std::to_string(header_.version) +
                           " is already finished or failed");
  }
}

void BlockWriter::append(std::span<const std::uint8_t> data) {
  check_open();
  if (data.size() > header_.size - appended_) {
    discard();
    throw std::invalid_argument("block " + header_.name + " version " + std::to_string(header_.version) +
                                ": more than the announced " + std::to_string(header_.size) + " bytes");
  }
  try {
    XXH3_64bits_update(content_hash_.get(), data.data(), data.size());
    while (!data.empty()) {
      const auto take = std::min(data.size(), std::size_t{header_.chunk_size} - buffer_.size());
      buffer_.append(reinterpret_cast<const char*>(data.data()), take);
      data = data.subspan(take);
      appended_ += take;
      if (buffer_.size() == header_.chunk_size) flush_chunk();
    }
  } catch (...) {
    discard();
    throw;
  }
}

void BlockWriter::flush_chunk() {
  const auto checksum = XXH3_64bits(buffer_.data(), buffer_.size());
  put_u64(buffer_, checksum);
  file_->write(write_offset_, buffer_);
  write_offset_ += buffer_.size();
  buffer_.clear();
}

BlockInfo BlockWriter::finish() {
  check_open();
  if (appended_ != header_.size) {
    discard();
    throw std::invalid_argument("block " + header_.name + " version " + std::to_string(header_.version) + ": " +
                                std::to_string(appended_) + " bytes appended, " + std::to_string(header_.size) +
                                " announced");
  }
  try {
    if (!buffer_.empty()) flush_chunk();
    const auto checksum = XXH3_64bits_digest(content_hash_.get());
    file_->write(write_offset_, encode_footer({header_.size, checksum, header_checksum_}));
    file_->sync();
    file_.reset();
    disk_.rename(target_.temp, target_.final);
    state_ = State::renamed;
    disk_.sync_directory(target_.blocks_dir);
    state_ = State::finished;
    return {header_.name, header_.version, header_.size, checksum};
  } catch (...) {
    discard();
    throw;
  }
}

void BlockWriter::abort() {
  if (state_ != State::open) return;
  state_ = State::failed;
  file_.reset();
  try {
    disk_.remove(target_.temp);
  } catch (const core::DiskError& e) {
    if (e.errno_code() != ENOENT) throw;
  }
}

void BlockWriter::discard() noexcept {
  const auto state = std::exchange(state_, State::failed);
  file_.reset();
  try {
    if (state == State::open) disk_.remove(target_.temp);
    if (state == State::renamed) {
      disk_.remove(target_.final);
      disk_.sync_directory(target_.blocks_dir);
    }
  } catch (const std::exception& e) {
    // The first error is the one the caller sees; a leftover temporary file
    // goes at the next clear_temporaries().
    spdlog::warn("event=block_cleanup_failed path={} error={}",
                 core::log_quote((state == State::renamed ? target_.final : target_.temp).string()),
                 core::log_quote(e.what()));
  }
}

}  // namespace idunno::fs
