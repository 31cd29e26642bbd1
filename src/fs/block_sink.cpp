#include "fs/block_sink.hpp"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <exception>
#include <utility>

#include "core/logging.hpp"

namespace idunno::fs {

namespace asio = boost::asio;

// What pool jobs touch: one at a time (the loop awaits each).
struct BlockSink::State {
  std::unique_ptr<BlockWriter> writer;
  std::unique_ptr<XXH3_state_s, HashStateDeleter> hash{XXH3_createState()};
};

BlockSink::BlockSink(BlockStore& store, core::ThreadPool& pool) : store_(store), pool_(pool) {}

BlockSink::~BlockSink() = default;

asio::awaitable<void> BlockSink::open(std::string name, std::uint64_t version, std::uint64_t size) {
  auto state = std::make_shared<State>();
  auto job = [&store = store_, state, name, version, size]() -> std::string {
    try {
      XXH3_64bits_reset(state->hash.get());
      state->writer = store.begin_write(name, version, size);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  auto work = pool_.run(std::move(job));
  std::string problem = co_await std::move(work);
  if (problem.empty()) {
    state_ = std::move(state);
  } else {
    fail(std::move(problem));
  }
}

asio::awaitable<void> BlockSink::append(std::span<const std::uint8_t> piece) {
  if (error_ || !state_) co_return;
  auto job = [state = state_, piece]() -> std::string {
    try {
      XXH3_64bits_update(state->hash.get(), piece.data(), piece.size());
      state->writer->append(piece);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  auto work = pool_.run(std::move(job));
  std::string problem = co_await std::move(work);
  if (!problem.empty()) {
    fail(std::move(problem));
    state_.reset();  // the writer removed its temporary file when it failed
  }
}

asio::awaitable<void> BlockSink::finish(std::uint64_t expected_checksum) {
  if (!state_) co_return;
  if (error_) {
    co_await abandon();
    co_return;
  }
  struct Done {
    std::string problem;
    std::uint64_t checksum = 0;
  };
  auto job = [state = state_, expected_checksum]() -> Done {
    const std::uint64_t got = XXH3_64bits_digest(state->hash.get());
    try {
      if (expected_checksum != 0 && got != expected_checksum) {
        state->writer->abort();
        return {"content checksum mismatch: received bytes do not match the sender's checksum", got};
      }
      state->writer->finish();
      return {{}, got};
    } catch (const std::exception& e) {
      return {e.what(), got};
    }
  };
  auto work = pool_.run(std::move(job));
  Done done = co_await std::move(work);
  state_.reset();
  checksum_ = done.checksum;
  if (done.problem.empty()) {
    durable_ = true;
  } else {
    fail(std::move(done.problem));
  }
}

asio::awaitable<void> BlockSink::abandon() {
  if (!state_) co_return;
  auto state = std::move(state_);
  auto job = [state]() {
    try {
      state->writer->abort();
    } catch (const std::exception& e) {
      // The temporary file stays until clear_temporaries() at the next start.
      spdlog::warn("event=sdfs_temp_remove_failed error={}", core::log_quote(e.what()));
    }
    state->writer.reset();
  };
  auto work = pool_.run(std::move(job));
  co_await std::move(work);
}

}  // namespace idunno::fs
