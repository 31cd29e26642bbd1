#pragma once
// State shared by the console server and its connections.
//
// Why: connections are coroutines that may finish after the ConsoleServer
// object that started them is gone (its destructor only cancels them). Each
// holds a shared_ptr to this context, so the handler, the registry of open
// connections and the task group they belong to stay alive until the last
// connection ends. Touched only on the event loop that runs the console.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/task_group.hpp"
#include "net/console/command_types.hpp"
#include "net/console/outgoing_queue.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::net::console {

// Bounds on what one console accepts; the defaults suit a dashboard or two
// and a few CLI invocations at a time.
struct ConsoleLimits {
  std::size_t max_connections = 64;       // HTTP and WebSocket together
  std::size_t max_frame_bytes = 1 << 20;  // one WebSocket message
  std::size_t max_in_flight = 64;         // commands running per WebSocket
  std::size_t max_queued_frames = 256;    // events waiting per subscriber
  std::size_t max_queued_bytes = 8u << 20;
  std::chrono::milliseconds http_timeout{30'000};       // to read a request / write a response
  std::chrono::milliseconds handshake_timeout{10'000};  // WebSocket opening and closing handshakes
  std::chrono::milliseconds idle_timeout{60'000};       // silent peer (pings sent at half of it)
  std::chrono::milliseconds close_grace{1'000};         // in-flight commands of a closed session
};

// An open connection the server can ask to close, and (for WebSocket
// sessions) deliver published events to.
class ConsoleConnection {
 public:
  virtual ~ConsoleConnection() = default;
  // Starts a graceful close; the connection's coroutine then ends by itself.
  virtual void request_close() = 0;
  virtual void deliver_event(const std::string& /*topic*/, const Frame& /*frame*/) {}
  virtual bool subscribed(const std::string& /*topic*/) const { return false; }
};

struct ConsoleCounters {
  std::uint64_t connections_total = 0;
  std::uint64_t ws_sessions_total = 0;
  std::uint64_t commands_total = 0;
  std::uint64_t malformed_frames_total = 0;
  std::uint64_t refused_total = 0;  // 401/403
  std::uint64_t subscribers_dropped_total = 0;
  std::uint64_t events_published_total = 0;
};

struct ConsoleContext {
  ConsoleContext(boost::asio::any_io_executor executor_in, CommandHandler handler_in, MetricsProvider metrics_in,
                 std::string token_in, std::string page_html_in, ConsoleLimits limits_in,
                 std::shared_ptr<const StreamRoutes> stream_routes_in = nullptr)
      : executor(executor_in),
        handler(std::move(handler_in)),
        metrics(std::move(metrics_in)),
        token(std::move(token_in)),
        page_html(std::move(page_html_in)),
        limits(limits_in),
        stream_routes(std::move(stream_routes_in)),
        tasks(executor_in, "console") {}

  // The provider's text followed by the console's own figures.
  std::string metrics_text() const;

  boost::asio::any_io_executor executor;
  const CommandHandler handler;
  const MetricsProvider metrics;
  const std::string token;
  const std::string page_html;
  const ConsoleLimits limits;
  // Routes whose request and response bodies are streamed; may be null.
  const std::shared_ptr<const StreamRoutes> stream_routes;
  core::TaskGroup tasks;  // the accept loop and every connection
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  // Open connections; nullptr while one is starting.
  std::map<std::uint64_t, ConsoleConnection*> connections;
  std::size_t ws_sessions = 0;
  std::size_t refusing = 0;  // connections being turned away (over the limit)
  std::uint64_t next_connection_id = 1;
  bool stopping = false;
  ConsoleCounters counters;
  // Origins (Origin headers) of other consoles whose pages may open a
  // WebSocket here; may be empty (only this console's own origin).
  std::function<bool(std::string_view)> trusted_origin;
};

// A connection's place in the registry, from accept to the end of its
// coroutine; counts against max_connections. Move-only.
class ConnectionRegistration {
 public:
  explicit ConnectionRegistration(std::shared_ptr<ConsoleContext> context);
  ConnectionRegistration(ConnectionRegistration&& other) noexcept;
  ConnectionRegistration& operator=(ConnectionRegistration&&) = delete;
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ~ConnectionRegistration();

  // Points the registry entry at the object now serving the connection.
  void set(ConsoleConnection* connection);
  std::uint64_t id() const { return id_; }

 private:
  std::shared_ptr<ConsoleContext> context_;
  std::uint64_t id_ = 0;
};

}  // namespace idunno::net::console
