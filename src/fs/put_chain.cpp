#include "fs/put_chain.hpp"

#include <xxhash.h>

#include <memory>
#include <utility>

#include "core/task_group.hpp"

namespace idunno::fs {

namespace asio = boost::asio;

asio::awaitable<bool> ChainStart::open(std::string name, std::uint64_t version, std::uint64_t size,
                                       std::vector<ChainNode> chain, std::vector<pb::NodeError>* skipped) {
  if (own_) {
    auto opening =
        own_->open(std::move(name), version, size, 0, std::vector<ChainNode>(chain.begin() + 1, chain.end()));
    co_await std::move(opening);
    co_return true;
  }
  auto opening = open_store_chain(streams_, std::move(name), version, size, 0, std::move(chain), skipped);
  stream_ = co_await std::move(opening);
  co_return stream_.valid() && stream_.status().ok();
}

asio::awaitable<std::string> ChainStart::write(std::span<const std::uint8_t> piece) {
  if (own_) {
    co_await own_->append(piece);
    co_return std::string();
  }
  net::StreamStatus status = co_await stream_.write(piece);
  co_return status.ok() ? std::string() : "the replica chain failed: " + status.describe();
}

asio::awaitable<void> ChainStart::cancel() {
  if (own_) {
    co_await own_->abandon();
  } else {
    stream_.cancel(static_cast<std::uint32_t>(FetchCode::bad_request), "the put's source failed");
  }
}

asio::awaitable<pb::StoreAck> ChainStart::finish(std::uint64_t checksum, std::string* failure) {
  pb::StoreEnd end;
  end.set_checksum(checksum);
  if (own_) {
    auto finishing = own_->finish(checksum, end.SerializeAsString());
    co_return co_await std::move(finishing);
  }
  pb::StoreAck ack;
  net::StreamStatus finished = co_await stream_.finish(end.SerializeAsString());
  std::vector<std::uint8_t> scratch(64);
  while (finished.ok()) {
    net::DataRead got = co_await stream_.read(scratch);
    if (!got.status.ok()) {
      finished = got.status;
      break;
    }
    if (got.ended) break;
  }
  if (!finished.ok() || !ack.ParseFromString(stream_.trailer())) {
    *failure = "no acknowledgement from the replica chain: " + finished.describe();
  }
  co_return ack;
}

asio::awaitable<void> send_chain(ChainStart* start, ByteSource source, std::uint64_t size, std::string name,
                                 std::uint64_t version, std::vector<ChainNode> chain, std::size_t piece_bytes,
                                 SdfsStats* stats, ChainOutcome* result) {
  ChainOutcome& out = *result;
  auto opening = start->open(name, version, size, std::move(chain), &out.skipped);
  if (!co_await std::move(opening)) {
    out.failure = "no replica accepted the data";
    co_return;
  }
  std::unique_ptr<XXH3_state_s, HashStateDeleter> content_hash(XXH3_createState());
  XXH3_64bits_reset(content_hash.get());
  std::vector<std::uint8_t> buffer(piece_bytes);
  std::uint64_t sent = 0;
  std::string source_error;
  for (;;) {
    // Whole pieces, however small the source's reads (an HTTP body comes
    // in the parser's chunks).
    std::size_t n = 0;
    try {
      for (;;) {
        auto next = source(std::span(buffer).subspan(n));
        const std::size_t got = co_await std::move(next);
        n += got;
        if (got == 0 || n == buffer.size()) break;
      }
    } catch (const boost::system::system_error& e) {
      // A cancellation reaches the source first when the put waits on it
      // (a local file read on the I/O pool).
      out.cancelled = core::is_cancellation(e);
      source_error = e.what();
    } catch (const std::exception& e) {
      source_error = e.what();
    }
    if (!source_error.empty()) break;
    if (n == 0) break;
    if (sent + n > size) {
      source_error = "the source gave more than the " + std::to_string(size) + " bytes announced";
      break;
    }
    XXH3_64bits_update(content_hash.get(), buffer.data(), n);
    std::string failed = co_await start->write(std::span<const std::uint8_t>(buffer.data(), n));
    if (!failed.empty()) {
      out.failure = std::move(failed);
      co_return;
    }
    sent += n;
    if (!start->own()) stats->add_bytes_out(n);  // the own hop counts what it forwards
  }
  if (source_error.empty() && sent != size) {
    source_error = "the source ended after " + std::to_string(sent) + " of " + std::to_string(size) + " bytes";
  }
  if (!source_error.empty()) {
    co_await start->cancel();
    out.failure = source_error;
    out.source_failed = true;
    co_return;
  }
  out.checksum = XXH3_64bits_digest(content_hash.get());
  auto finishing = start->finish(out.checksum, &out.failure);
  out.ack = co_await std::move(finishing);
  co_return;
}

}  // namespace idunno::fs
