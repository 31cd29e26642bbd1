#pragma once
// Shared pieces of the data-stream tests: small limits that make timeouts
// and windows show quickly, a server and a client on FakeNetwork
// endpoints, and coroutines that move whole payloads. Header-only, test
// code only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "net/data_stream.hpp"
#include "net/data_stream_client.hpp"
#include "net/data_stream_server.hpp"
#include "net/fake_network.hpp"
#include "net/test_util.hpp"

namespace idunno::net::testing {

inline core::StreamSection small_stream_limits() {
  core::StreamSection limits;
  limits.window_bytes = 64 * 1024;
  limits.frame_bytes = 16 * 1024;
  limits.connect_timeout_ms = 500;
  limits.write_timeout_ms = 300;
  limits.idle_timeout_ms = 600;
  limits.max_bytes = 64 * 1024 * 1024;
  limits.max_streams = 8;
  limits.pool_idle_ms = 5000;
  return limits;
}

inline std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// `size` bytes of a fixed pattern.
inline std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
  return out;
}

// Everything the peer sends, until it ends (status ok) or the stream fails.
struct Received {
  std::string bytes;
  StreamStatus status;
  bool ended = false;
};

inline boost::asio::awaitable<Received> read_to_end(DataStream stream, std::size_t chunk = 8192) {
  Received out;
  std::vector<std::uint8_t> buffer(chunk);
  for (;;) {
    DataRead got = co_await stream.read(buffer);
    if (!got.status.ok()) {
      out.status = got.status;
      co_return out;
    }
    if (got.ended) {
      out.ended = true;
      co_return out;
    }
    out.bytes.append(reinterpret_cast<const char*>(buffer.data()), got.bytes);
  }
}

// Writes `bytes` in pieces of `piece`, then finishes with `trailer`.
inline boost::asio::awaitable<StreamStatus> send_all(DataStream stream, std::string bytes, std::string trailer,
                                                     std::size_t piece = 10000) {
  for (std::size_t offset = 0; offset < bytes.size(); offset += piece) {
    const std::size_t n = std::min(piece, bytes.size() - offset);
    StreamStatus status = co_await stream.write(bytes_of(bytes).subspan(offset, n));
    if (!status.ok()) co_return status;
  }
  co_return co_await stream.finish(std::move(trailer));
}

inline boost::asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, duration);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

// A stream server and client on two FakeNetwork endpoints.
class DataStreamTestBase : public CoroutineTest {
 protected:
  static inline const core::HostPort server_node{"10.0.2.1", 7001};
  static inline const core::HostPort client_node{"10.0.2.2", 7001};

  void SetUp() override {
    network_ = std::make_unique<FakeNetwork>(executor(), 31);
    network_->set_stream_buffer(16 * 1024);
    server_endpoint_ = network_->stream(server_node);
    client_endpoint_ = network_->stream(client_node);
    server_limits_ = small_stream_limits();
    client_limits_ = small_stream_limits();
  }

  void TearDown() override {
    if (client_) run(client_->stop());
    if (server_) run(server_->stop());
  }

  // Builds the pair; call after setting limits, then register and start.
  void make() {
    server_ = std::make_unique<DataStreamServer>(executor(), *server_endpoint_, server_limits_);
    client_ = std::make_unique<DataStreamClient>(executor(), *client_endpoint_, client_limits_);
  }

  DataStream open(std::string method, std::string header = {}, StreamOpenOptions options = {}) {
    return run(client_->open(server_node, std::move(method), std::move(header), options));
  }

  std::unique_ptr<FakeNetwork> network_;
  std::unique_ptr<StreamNetwork> server_endpoint_;
  std::unique_ptr<StreamNetwork> client_endpoint_;
  core::StreamSection server_limits_;
  core::StreamSection client_limits_;
  std::unique_ptr<DataStreamServer> server_;
  std::unique_ptr<DataStreamClient> client_;
};

}  // namespace idunno::net::testing
