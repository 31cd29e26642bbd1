#pragma once
// A WebSocket client of a node's console, for the idunno CLI and for tests.
//
// Why: the CLI must tell "the node could not be reached" (exit 3) from "the
// node refused us" (a bad token, exit 1) from "the command failed" (exit 1,
// a reply with ok:false), so each has its own outcome: ConsoleUnreachable,
// ConsoleAuthError, and CommandOutcome::ok == false.
//
// One call at a time: call() writes a request and reads frames until its
// reply arrives; event frames read meanwhile are kept for next_event().
// Touch only from the executor it was created with.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "net/console/command_types.hpp"
#include "net/console/ws_protocol.hpp"

namespace idunno::net::console {

// Any failure to talk to the console other than a command's own failure.
class ConsoleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Nothing answered: connection refused, no route, handshake failed or timed
// out, or the connection was lost before the reply (the CLI's exit code 3).
class ConsoleUnreachable : public ConsoleError {
 public:
  using ConsoleError::ConsoleError;
};

// The console answered but refused us: missing or wrong token (HTTP 401), or
// a forbidden host/origin (HTTP 403).
class ConsoleAuthError : public ConsoleError {
 public:
  using ConsoleError::ConsoleError;
};

// A command's outcome plus the reply frame exactly as received (for --json).
struct ConsoleReply {
  CommandOutcome outcome;
  boost::json::value raw;
};

struct ConsoleClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};  // TCP connect and WebSocket handshake
  std::chrono::milliseconds call_timeout{0};         // 0: wait as long as the command runs
  std::size_t max_frame_bytes = 64u << 20;
  std::size_t max_buffered_events = 4096;  // oldest dropped beyond this
};

class ConsoleClient {
 public:
  explicit ConsoleClient(boost::asio::any_io_executor executor, ConsoleClientOptions options = {});
  ConsoleClient(const ConsoleClient&) = delete;
  ConsoleClient& operator=(const ConsoleClient&) = delete;

  // Opens ws://node/ws, sending `token` (if any) as a Bearer header.
  boost::asio::awaitable<void> connect(core::HostPort node, std::string token);

  // Runs one command on the node. A command that failed is a reply with
  // outcome.ok == false, not an exception.
  boost::asio::awaitable<ConsoleReply> call(std::string cmd, std::vector<std::string> args);

  // The next event of a subscribed topic (subscribe with call("subscribe",
  // {topic})).
  boost::asio::awaitable<WsEvent> next_event();

  // Sends a close frame and waits for the node's; then the client is closed.
  boost::asio::awaitable<void> close();

  bool is_open() const { return ws_.has_value() && ws_->is_open(); }

 private:
  boost::asio::awaitable<ConsoleReply> exchange(std::int64_t id, std::string request);
  boost::asio::awaitable<std::string> read_frame();
  void keep_event(WsEvent event);
  [[noreturn]] void lost(const std::string& what, const boost::system::error_code& error);

  boost::asio::any_io_executor executor_;
  ConsoleClientOptions options_;
  core::HostPort node_;
  std::optional<boost::beast::websocket::stream<boost::beast::tcp_stream>> ws_;
  std::deque<WsEvent> events_;
  std::int64_t next_id_ = 1;
  bool busy_ = false;
};

}  // namespace idunno::net::console
