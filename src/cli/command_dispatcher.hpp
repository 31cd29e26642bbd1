#pragma once
// Runs commands on the node: binds handlers to the names of the shared
// CommandTable and turns their outcome into a console CommandOutcome.
//
// Why: the terminal mode and the WebSocket console must behave identically;
// both call dispatch(). Usage errors are caught here, from the table, before
// any handler runs. Owned by the Node; touch only from the event loop.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands/command_table.hpp"
#include "net/console/command_types.hpp"

namespace idunno::cli {

// What a handler throws for an expected failure the user should read
// ("no such file 'x'"). Anything else is reported as an internal error.
class CommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a command comes from. Local file arguments name the disk of
// whoever typed them: in the terminal mode that is the node's own; from the
// console (a WebSocket) it is someone else's, so such commands are refused
// there (the idunno client streams files over the HTTP file API instead).
enum class CommandOrigin { console, terminal };

// How far a long command (a transfer of a local file) has got, for the
// terminal's progress bar. Written by the handler on the event loop, read
// from the terminal's thread.
struct CommandProgress {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> total{0};  // 0: not known
};

class CommandDispatcher {
 public:
  using Handler = std::function<boost::asio::awaitable<boost::json::value>(std::vector<std::string> args)>;
  // A handler that reports its progress (never given a null pointer).
  using ProgressHandler = std::function<boost::asio::awaitable<boost::json::value>(
      std::vector<std::string> args, std::shared_ptr<CommandProgress> progress)>;

  explicit CommandDispatcher(const CommandTable& table);

  // Binds `name` (which must be in the table) to `handler`.
  void bind(const std::string& name, Handler handler);
  void bind_with_progress(const std::string& name, ProgressHandler handler);

  // Checks usage, runs the handler, never throws. `progress`, when given,
  // follows a handler that reports it. A cancelled command (the terminal's
  // Ctrl-C cancels the coroutine) fails with "cancelled".
  boost::asio::awaitable<net::console::CommandOutcome> dispatch(std::string name, std::vector<std::string> args,
                                                                CommandOrigin origin = CommandOrigin::console,
                                                                std::shared_ptr<CommandProgress> progress = nullptr);

  const CommandTable& table() const { return table_; }

 private:
  const CommandTable& table_;
  std::map<std::string, ProgressHandler> handlers_;
};

}  // namespace idunno::cli
