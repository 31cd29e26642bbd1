#pragma once
// Coroutine test helpers: run one io_context until an awaited result is
// ready.
//
// Why: tests of coroutine code need the result of one awaitable while the
// servers and loops they started keep running in the background on the same
// io_context. run() drives the context until exactly that awaitable
// finishes (rethrowing its exception), with a wall-clock safety limit so
// that a hang fails the test instead of blocking the suite. The limit is a
// guard, not synchronisation. Header-only; for tests on one thread.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace idunno::net::testing {

// Thrown by run_until_done when the awaitable did not finish within the
// safety limit.
class HangError : public std::runtime_error {
 public:
  HangError() : std::runtime_error("awaitable did not finish within the test's safety limit") {}
};

// Drives `io` until `task` finishes; returns its value or rethrows.
template <typename T>
T run_until_done(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                 std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
  // Shared, so a completion after a HangError touches nothing dead.
  struct Outcome {
    bool done = false;
    std::exception_ptr error;
    std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
  };
  auto outcome = std::make_shared<Outcome>();
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(task), [outcome](std::exception_ptr e) {
      outcome->error = e;
      outcome->done = true;
    });
  } else {
    boost::asio::co_spawn(io, std::move(task), [outcome](std::exception_ptr e, T v) {
      outcome->error = e;
      if (!e) outcome->value.emplace(std::move(v));
      outcome->done = true;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (io.stopped()) io.restart();
  while (!outcome->done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) throw HangError();
    if (io.run_one_for(deadline - now) == 0 && io.stopped()) io.restart();
  }
  if (outcome->error) std::rethrow_exception(outcome->error);
  if constexpr (!std::is_void_v<T>) return std::move(*outcome->value);
}

// Runs whatever is ready on `io` without blocking (posted work, completed
// I/O), e.g. to let background loops settle before checking state.
inline void run_ready(boost::asio::io_context& io) {
  if (io.stopped()) io.restart();
  io.poll();
}

// Fixture owning the io_context. Members a test declares are destroyed
// before it; call run(stop-awaitable) for servers before the test ends.
class CoroutineTest : public ::testing::Test {
 protected:
  template <typename T>
  T run(boost::asio::awaitable<T> task, std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    return run_until_done(io_, std::move(task), limit);
  }

  boost::asio::any_io_executor executor() { return io_.get_executor(); }

  boost::asio::io_context io_;
};

}  // namespace idunno::net::testing
