#pragma once
// The seam between the console and whatever executes commands.
//
// Why: the console server knows no commands. The node gives it a handler
// that runs one command (the same command table the terminal mode and the
// idunno client use) and a provider of Prometheus metrics text. Both are
// called on the event loop that runs the console; the handler may suspend
// (it is a coroutine) but must not block the loop.

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

namespace idunno::net::console {

// What one command produced: a JSON result when ok, else a one-line reason
// meant for a user ("no such file 'x'; see `ls`").
struct CommandOutcome {
  bool ok = false;
  boost::json::value result;
  std::string error;

  static CommandOutcome success(boost::json::value value) { return {true, std::move(value), {}}; }
  static CommandOutcome failure(std::string reason) { return {false, nullptr, std::move(reason)}; }
};

// Runs `cmd` with `args` (already split, as typed after the command word).
using CommandHandler =
    std::function<boost::asio::awaitable<CommandOutcome>(std::string cmd, std::vector<std::string> args)>;

// Returns the node's metrics in the Prometheus text exposition format.
using MetricsProvider = std::function<std::string()>;

}  // namespace idunno::net::console
