#pragma once
// The node's HTTP + WebSocket console: dashboard, metrics, health, and JSON
// commands over WebSocket.
//
// Why: users reach a running node from a browser or the idunno client
// without a terminal on its machine. The server knows no commands: it
// passes each request to the handler it was given. A console bound beyond
// loopback without a token is refused at construction, so an open console
// can never be exposed by a config mistake.
//
// Lifecycle: construct, start() (binds; throws ConsoleStartError), then
// co_await stop() before destroying it. Every coroutine it starts belongs to
// its task group. Touch it only from the executor it was given (the node's
// event loop), publish() included.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/config.hpp"
#include "net/console/command_types.hpp"
#include "net/console/console_context.hpp"
#include "net/console/stream_exchange.hpp"

namespace idunno::net::console {

// The console cannot start: an unsafe configuration or an address that
// cannot be bound. The message names the setting to change.
class ConsoleStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConsoleServer {
 public:
  // `token` empty: no authentication (then `bind` must be a loopback
  // address). `page_path`: the dashboard file served at GET /.
  // `stream_routes`: routes with streamed bodies (e.g. the file API),
  // checked before the built-in ones; they pass the same access check.
  ConsoleServer(boost::asio::any_io_executor executor, core::HostPort bind, CommandHandler handler,
                MetricsProvider metrics, std::string token, std::filesystem::path page_path,
                ConsoleLimits limits = {}, std::shared_ptr<const StreamRoutes> stream_routes = nullptr);
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  // Binds and starts accepting. Throws ConsoleStartError.
  void start();

  // The address actually bound (the real port when `bind.port` was 0).
  core::HostPort local_address() const { return local_address_; }

  // Sends {"event":event} to every session subscribed to topic. A
  // subscriber too far behind is disconnected.
  void publish(const std::string& topic, const boost::json::value& event);

  // Which other origins may open a WebSocket here without a token (see
  // AccessRequest::trusted_origin). Set before start().
  void set_trusted_origin(std::function<bool(std::string_view)> trusted) {
    context_->trusted_origin = std::move(trusted);
  }

  // Sessions currently subscribed to `topic` (lets publishers skip work).
  std::size_t subscriber_count(const std::string& topic) const;
  std::size_t connection_count() const { return context_->connections.size(); }

  // Stops accepting, asks every connection to close (WebSocket sessions get
  // a close frame), waits up to `grace`, then cancels what is left and waits
  // for it. Safe to call twice.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

 private:
  void begin_stop();

  core::HostPort bind_;
  core::HostPort local_address_;
  std::shared_ptr<ConsoleContext> context_;
};

}  // namespace idunno::net::console
