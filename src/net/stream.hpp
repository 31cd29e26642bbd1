#pragma once
// Stream transport: the seam between RPC / file transfer and TCP.
//
// Why: RPC and SDFS transfers talk to "a connection" and "a network that
// connects and accepts", so the same code runs over real TCP (TcpNetwork)
// and over the in-memory FakeNetwork. Everything lives on the event loop's
// executor and is touched only from it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/config.hpp"

namespace idunno::net {

// One established, reliable, ordered byte connection.
class Stream {
 public:
  virtual ~Stream() = default;

  // Reads at least one byte into `buffer`; returns 0 at a clean end of
  // stream. Throws boost::system::system_error on reset, on close() and on
  // cancellation.
  virtual boost::asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer) = 0;

  // Writes every byte or throws boost::system::system_error. At most one
  // write_all may be in flight on a stream at a time.
  virtual boost::asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes) = 0;

  // The remote end.
  virtual core::HostPort peer() const = 0;

  // Closes both directions; pending reads and writes fail. Idempotent.
  virtual void close() = 0;
};

// Opens outgoing streams and accepts incoming ones on one listening address.
class StreamNetwork {
 public:
  virtual ~StreamNetwork() = default;

  // Connects to `to`. Throws boost::system::system_error (e.g.
  // connection_refused) when it cannot. Callers bound it with with_timeout.
  virtual boost::asio::awaitable<std::unique_ptr<Stream>> connect(const core::HostPort& to) = 0;

  // The next incoming stream on the listening address. Throws
  // boost::system::system_error (operation_aborted) after close() or on
  // cancellation, and when this network does not listen.
  virtual boost::asio::awaitable<std::unique_ptr<Stream>> accept() = 0;

  // The listening address (real port when bound to port 0); empty host for
  // a connect-only network.
  virtual core::HostPort local_address() const = 0;

  // Stops listening; pending and later accept() calls throw. Established
  // streams are unaffected. Idempotent.
  virtual void close() = 0;
};

// Socket options of a TcpNetwork's connections.
struct TcpOptions {
  // TCP_USER_TIMEOUT: the kernel aborts a connection whose sent data stays
  // unacknowledged this long (a peer cut off by the network); 0: kernel
  // default.
  std::chrono::milliseconds user_timeout{0};

  static TcpOptions from_config(const core::RpcSection& rpc) {
    return TcpOptions{std::chrono::milliseconds(rpc.tcp_user_timeout_ms)};
  }
};

// Real TCP. Streams have TCP_NODELAY set.
class TcpNetwork : public StreamNetwork {
 public:
  // A network that only connects (accept() throws).
  static std::unique_ptr<TcpNetwork> connect_only(boost::asio::any_io_executor executor, TcpOptions options = {});

  // Listens on `address` (port 0: ephemeral). Throws NetError naming the
  // address when it cannot be bound.
  static std::unique_ptr<TcpNetwork> listen(boost::asio::any_io_executor executor, const core::HostPort& address,
                                            TcpOptions options = {});

 protected:
  TcpNetwork() = default;
};

}  // namespace idunno::net
