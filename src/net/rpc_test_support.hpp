#pragma once
// Shared pieces of the RPC tests: an RPC server and client pair on any
// StreamNetwork, and handlers with controllable behaviour. Header-only,
// test code only.

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/async_signal.hpp"
#include "net/frame.hpp"
#include "net/rpc.hpp"
#include "net/stream.hpp"

namespace idunno::net::testing {

// A gate handlers wait on until the test (or another handler) opens it.
struct Gate {
  explicit Gate(boost::asio::any_io_executor executor) : signal(std::move(executor)) {}
  boost::asio::awaitable<void> wait() {
    while (!open) co_await signal.wait();
  }
  void release() {
    open = true;
    signal.notify_all();
  }
  bool open = false;
  AsyncSignal signal;
};

inline core::RpcSection test_limits() {
  core::RpcSection limits;
  limits.max_frame_bytes = 64 * 1024;
  limits.connect_timeout_ms = 500;
  return limits;
}

// Replies with the request.
inline boost::asio::awaitable<std::string> echo(const RpcContext&, std::string request) { co_return request; }

// The far end of an RPC connection played by hand: reads and writes raw
// frames, or does nothing at all (a peer that stops reading).
class RawRpcPeer {
 public:
  explicit RawRpcPeer(std::unique_ptr<Stream> stream, std::uint32_t max_frame_bytes = 16u * 1024 * 1024)
      : stream_(std::move(stream)), decoder_(max_frame_bytes) {}

  // The next whole frame; throws std::runtime_error at the end of stream.
  boost::asio::awaitable<RpcFrame> read_frame() {
    std::vector<std::uint8_t> buffer(64 * 1024);
    for (;;) {
      DecodeResult decoded = decoder_.next();
      if (decoded.kind == DecodeResult::Kind::frame) co_return std::move(decoded.frame);
      if (decoded.kind == DecodeResult::Kind::error) throw std::runtime_error(decoded.error);
      const std::size_t n = co_await stream_->read_some(buffer);
      if (n == 0) throw std::runtime_error("end of stream");
      decoder_.feed(std::span<const std::uint8_t>(buffer.data(), n));
    }
  }

  boost::asio::awaitable<void> write_frame(const RpcFrame& frame) {
    const std::string bytes = encode_frame(frame, 16u * 1024 * 1024);
    co_await stream_->write_all(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }

  // A reply to `request` carrying `payload`.
  boost::asio::awaitable<void> reply(const RpcFrame& request, std::string payload) {
    RpcFrame response;
    response.set_id(request.id());
    response.set_payload(std::move(payload));
    co_await write_frame(response);
  }

  Stream& stream() { return *stream_; }

 private:
  std::unique_ptr<Stream> stream_;
  FrameDecoder decoder_;
};

}  // namespace idunno::net::testing
