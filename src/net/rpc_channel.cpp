#include "net/rpc_channel.hpp"

#include <boost/asio/error.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"
#include "core/timeout.hpp"

namespace idunno::net {

namespace asio = boost::asio;

RpcChannel::RpcChannel(asio::any_io_executor executor, std::unique_ptr<Stream> stream,
                       const core::RpcSection& limits)
    : stream_(std::move(stream)),
      peer_(stream_->peer()),
      decoder_(limits.max_frame_bytes),
      max_queued_bytes_(limits.max_queued_bytes),
      write_timeout_(limits.write_timeout_ms),
      read_buffer_(read_chunk_bytes),
      last_received_(std::chrono::steady_clock::now()),
      outgoing_ready_(executor),
      room_(executor) {}

RpcChannel::~RpcChannel() { close(); }

asio::awaitable<RpcChannel::ReadResult> RpcChannel::read_frame() {
  for (;;) {
    DecodeResult decoded = decoder_.next();
    if (decoded.kind == DecodeResult::Kind::frame) co_return ReadResult{std::move(decoded.frame), {}, false};
    if (decoded.kind == DecodeResult::Kind::error) co_return ReadResult{std::nullopt, decoded.error, true};
    if (closed_) co_return ReadResult{std::nullopt, "closed locally", false};
    std::size_t size = 0;
    try {
      size = co_await stream_->read_some(read_buffer_);
    } catch (const boost::system::system_error& e) {
      if (closed_) co_return ReadResult{std::nullopt, "closed locally", false};
      co_return ReadResult{std::nullopt, "read failed: " + e.code().message(), false};
    }
    if (size == 0) {
      if (decoder_.buffered_bytes() > 0) {
        co_return ReadResult{std::nullopt,
                             "truncated frame: stream ended " + std::to_string(decoder_.buffered_bytes()) +
                                 " bytes into a frame",
                             true};
      }
      co_return ReadResult{std::nullopt, {}, false};
    }
    last_received_ = std::chrono::steady_clock::now();
    decoder_.feed(std::span<const std::uint8_t>(read_buffer_.data(), size));
  }
}

asio::awaitable<std::optional<std::uint64_t>> RpcChannel::enqueue(std::string encoded) {
  // A frame larger than the whole budget goes once the queue is empty.
  while (!closed_ && queued_bytes_ > 0 && queued_bytes_ + encoded.size() > max_queued_bytes_) {
    co_await room_.wait();
  }
  if (closed_) co_return std::nullopt;
  const std::uint64_t ticket = next_ticket_++;
  queued_bytes_ += encoded.size();
  outgoing_.push_back(Queued{ticket, std::move(encoded)});
  outgoing_ready_.notify_all();
  co_return ticket;
}

bool RpcChannel::withdraw(std::uint64_t ticket) {
  // Tickets are queued in increasing order.
  auto it = std::lower_bound(outgoing_.begin(), outgoing_.end(), ticket,
                             [](const Queued& queued, std::uint64_t t) { return queued.ticket < t; });
  if (it == outgoing_.end() || it->ticket != ticket) return false;
  queued_bytes_ -= it->bytes.size();
  outgoing_.erase(it);
  room_.notify_all();
  return true;
}

asio::awaitable<std::string> RpcChannel::write_loop() {
  std::string batch;
  for (;;) {
    while (outgoing_.empty()) {
      if (closed_) co_return std::string{};
      co_await outgoing_ready_.wait();
    }
    if (closed_) co_return std::string{};
    batch.clear();
    while (!outgoing_.empty() &&
           (batch.empty() || batch.size() + outgoing_.front().bytes.size() <= max_coalesced_bytes)) {
      batch += outgoing_.front().bytes;
      queued_bytes_ -= outgoing_.front().bytes.size();
      outgoing_.pop_front();
    }
    room_.notify_all();
    try {
      co_await core::with_timeout(
          stream_->write_all(
              std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(batch.data()), batch.size())),
          write_timeout_);
    } catch (const core::TimeoutError&) {
      if (closed_) co_return std::string{};
      co_return "write timed out after " + std::to_string(write_timeout_.count()) + " ms (the peer does not read)";
    } catch (const boost::system::system_error& e) {
      if (closed_) co_return std::string{};
      co_return "write failed: " + e.code().message();
    }
  }
}

void RpcChannel::close() {
  if (closed_) return;
  closed_ = true;
  outgoing_.clear();
  queued_bytes_ = 0;
  outgoing_ready_.notify_all();
  room_.notify_all();
  stream_->close();
}

void log_connection_closed(const core::HostPort& peer, const std::string& side, const std::string& reason,
                           bool problem) {
  if (problem) {
    spdlog::warn("event=rpc_conn_closed side={} peer={} reason={}", side, peer.to_string(), core::log_quote(reason));
  } else {
    spdlog::debug("event=rpc_conn_closed side={} peer={} reason={}", side, peer.to_string(),
                  core::log_quote(reason.empty() ? "end of stream" : reason));
  }
}

}  // namespace idunno::net
