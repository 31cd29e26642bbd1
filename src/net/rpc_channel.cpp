#include "net/rpc_channel.hpp"

#include <boost/asio/error.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "core/logging.hpp"

namespace idunno::net {

namespace asio = boost::asio;

RpcChannel::RpcChannel(asio::any_io_executor executor, std::unique_ptr<Stream> stream,
                       std::uint32_t max_frame_bytes)
    : stream_(std::move(stream)),
      peer_(stream_->peer()),
      decoder_(max_frame_bytes),
      read_buffer_(read_chunk_bytes),
      outgoing_ready_(executor),
      written_(executor) {}

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
    decoder_.feed(std::span<const std::uint8_t>(read_buffer_.data(), size));
  }
}

void RpcChannel::send(std::string encoded) {
  if (closed_) return;
  queued_bytes_ += encoded.size();
  outgoing_.push_back(std::move(encoded));
  outgoing_ready_.notify_all();
}

asio::awaitable<void> RpcChannel::wait_queued_at_most(std::size_t limit) {
  while (!closed_ && queued_bytes_ > limit) co_await written_.wait();
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
    while (!outgoing_.empty() && (batch.empty() || batch.size() + outgoing_.front().size() <= max_coalesced_bytes)) {
      batch += outgoing_.front();
      outgoing_.pop_front();
    }
    try {
      co_await stream_->write_all(
          std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(batch.data()), batch.size()));
    } catch (const boost::system::system_error& e) {
      if (closed_) co_return std::string{};
      co_return "write failed: " + e.code().message();
    }
    queued_bytes_ -= std::min(queued_bytes_, batch.size());
    written_.notify_all();
  }
}

void RpcChannel::close() {
  if (closed_) return;
  closed_ = true;
  outgoing_.clear();
  queued_bytes_ = 0;
  outgoing_ready_.notify_all();
  written_.notify_all();
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
