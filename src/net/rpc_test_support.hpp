#pragma once
// Shared pieces of the RPC tests: an RPC server and client pair on any
// StreamNetwork, and handlers with controllable behaviour. Header-only,
// test code only.

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "core/config.hpp"
#include "net/async_signal.hpp"
#include "net/rpc.hpp"

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

}  // namespace idunno::net::testing
