#pragma once
// BlockSink: one incoming version written into the block store on the I/O
// pool, hashed (XXH3-64) as it goes, from the event loop.
//
// Why: the store chain and replicate both receive a version as pieces off a
// stream and must make it a block only when every byte arrived and the
// whole-content checksum matches; a failure must leave nothing. The sink
// keeps the first error and ignores later pieces, so a failing disk never
// stops the caller from forwarding or draining the stream.
//
// Event loop only; each call runs its disk work on the pool and resumes on
// the loop. Call abandon() on a failure path (removes the temporary file on
// the pool); destroying an unfinished sink does the same inline.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/thread_pool.hpp"
#include "fs/block_store.hpp"

namespace idunno::fs {

class BlockSink {
 public:
  BlockSink(BlockStore& store, core::ThreadPool& pool);
  ~BlockSink();
  BlockSink(const BlockSink&) = delete;
  BlockSink& operator=(const BlockSink&) = delete;

  // Starts the block (ENOSPC when it would not fit: error()).
  boost::asio::awaitable<void> open(std::string name, std::uint64_t version, std::uint64_t size);
  // The bytes must stay valid until the call returns.
  boost::asio::awaitable<void> append(std::span<const std::uint8_t> piece);
  // Makes the block durable if every byte came and the content's XXH3-64
  // equals `expected_checksum` (0: not checked); otherwise removes it.
  boost::asio::awaitable<void> finish(std::uint64_t expected_checksum);
  boost::asio::awaitable<void> abandon();

  bool ok() const { return !error_; }
  bool durable() const { return durable_; }
  // What failed first (empty while ok()).
  const std::string& error() const { return error_ ? *error_ : kNoError; }
  std::uint64_t checksum() const { return checksum_; }
  // Records a failure not of the disk (a short stream); the block is dropped.
  void fail(std::string error) {
    if (!error_) error_ = std::move(error);
  }

 private:
  struct State;
  static inline const std::string kNoError;

  BlockStore& store_;
  core::ThreadPool& pool_;
  std::shared_ptr<State> state_;
  std::optional<std::string> error_;
  bool durable_ = false;
  std::uint64_t checksum_ = 0;
};

}  // namespace idunno::fs
