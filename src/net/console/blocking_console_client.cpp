#include "net/console/blocking_console_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <optional>

namespace idunno::net::console {

namespace asio = boost::asio;

namespace {

// Runs `task` on `io` until it finishes; the io_context is this process's
// whole event loop for the call, so the coroutine's owner is this frame.
template <typename T>
T run_to_completion(asio::io_context& io, asio::awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T result) {
    error = e;
    if (!e) value.emplace(std::move(result));
    done = true;
  });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  if (error) std::rethrow_exception(error);
  if (!value) throw ConsoleError("console call did not complete");
  return std::move(*value);
}

void run_to_completion(asio::io_context& io, asio::awaitable<void> task) {
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  if (error) std::rethrow_exception(error);
  if (!done) throw ConsoleError("console call did not complete");
}

}  // namespace

BlockingConsoleClient::BlockingConsoleClient(const core::HostPort& node, const std::string& token,
                                             ConsoleClientOptions options)
    : client_(io_.get_executor(), options) {
  run_to_completion(io_, client_.connect(node, token));
}

BlockingConsoleClient::~BlockingConsoleClient() {
  try {
    close();
  } catch (...) {
    // Closing is a courtesy; the process is about to exit anyway.
  }
}

ConsoleReply BlockingConsoleClient::call(const std::string& cmd, const std::vector<std::string>& args) {
  return run_to_completion(io_, client_.call(cmd, args));
}

void BlockingConsoleClient::close() {
  if (client_.is_open()) run_to_completion(io_, client_.close());
}

}  // namespace idunno::net::console
