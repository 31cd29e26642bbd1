#pragma once
// The one coroutine test runner of IDunno: drive an io_context until an
// awaited result is ready, with a hang limit; and the one poll helper.
//
// Why: tests of coroutine code need the result of one awaitable while the
// servers and loops they started keep running in the background on the same
// io_context. run_until_done() drives the context until exactly that
// awaitable finishes (rethrowing its exception), with a wall-clock limit so
// that a hang fails the test (HangError) instead of blocking the suite. The
// limit is a guard, not synchronisation.
//
// Lifetimes (STYLE.md): a coroutine lambda that captures must outlive its
// coroutine. Never write `run([&]() -> awaitable<T> {...}())` (the closure
// dies at the end of the full expression while the frame still points into
// it). Pass the lambda itself: `run([&]() -> awaitable<T> {...})`; the runner
// owns the closure until the coroutine has finished.
//
// eventually() is the one way a test waits for a condition: it polls `done`
// every `step` until it holds or `limit` passes, on the caller's executor.
//
// LoopThread is for the one case a loop cannot run on the test's thread: a
// blocking client under test (the CLI's path) talking to a server whose
// loop runs on a thread of its own.
//
// Header-only; everything but LoopThread is for tests on one thread.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace idunno::testing {

// Thrown by run_until_done when the awaitable did not finish within the
// hang limit.
class HangError : public std::runtime_error {
 public:
  HangError() : std::runtime_error("awaitable did not finish within the test's hang limit") {}
};

inline constexpr std::chrono::seconds default_hang_limit{20};

// Drives `io` until `task` finishes; returns its value or rethrows.
template <typename T>
T run_until_done(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                 std::chrono::steady_clock::duration limit = default_hang_limit) {
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
  if constexpr (!std::is_void_v<T>) {
    std::optional<T>& value = outcome->value;
    if (!value) throw std::logic_error("run_until_done: the awaitable ended with neither a value nor an error");
    return std::move(*value);
  }
}

namespace detail {
template <typename Fn>
using awaited_t = typename std::invoke_result_t<Fn&>::value_type;

// Keeps the callable alive (in the coroutine frame, by value) while the
// coroutine it returns runs.
template <typename Fn>
boost::asio::awaitable<awaited_t<Fn>> own_and_call(Fn fn) {
  co_return co_await fn();
}
}  // namespace detail

// Calls `fn()` (a lambda returning an awaitable, typically a capturing
// coroutine lambda) and drives `io` until its coroutine finishes. The closure
// lives until then.
template <typename Fn, typename = std::enable_if_t<std::is_invocable_v<Fn&>>>
auto run_until_done(boost::asio::io_context& io, Fn fn, std::chrono::steady_clock::duration limit = default_hang_limit)
    -> detail::awaited_t<Fn> {
  return run_until_done(io, detail::own_and_call(std::move(fn)), limit);
}

// Runs whatever is ready on `io` without blocking (posted work, completed
// I/O), e.g. to let background loops settle before checking state.
inline void run_ready(boost::asio::io_context& io) {
  if (io.stopped()) io.restart();
  io.poll();
}

// Polls `done` every `step` until it returns true (then true) or `limit`
// passes (then false, after one last check).
inline boost::asio::awaitable<bool> eventually(std::function<bool()> done,
                                               std::chrono::steady_clock::duration limit = std::chrono::seconds(10),
                                               std::chrono::steady_clock::duration step = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return done();
    timer.expires_after(step);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  co_return true;
}

// Fixture owning the io_context. Members a test declares are destroyed
// before it; call run(stop-awaitable) for servers before the test ends.
class CoroutineTest : public ::testing::Test {
 protected:
  template <typename T>
  T run(boost::asio::awaitable<T> task, std::chrono::steady_clock::duration limit = default_hang_limit) {
    return run_until_done(io_, std::move(task), limit);
  }

  // run(fn): see the lifetimes note at the top.
  template <typename Fn, typename = std::enable_if_t<std::is_invocable_v<Fn&>>>
  auto run(Fn fn, std::chrono::steady_clock::duration limit = default_hang_limit) -> detail::awaited_t<Fn> {
    return run_until_done(io_, std::move(fn), limit);
  }

  // Drives the loop until `done` holds; false after `limit`.
  bool run_until(std::function<bool()> done, std::chrono::steady_clock::duration limit = std::chrono::seconds(10)) {
    return run(eventually(std::move(done), limit), limit + std::chrono::seconds(5));
  }

  boost::asio::any_io_executor executor() { return io_.get_executor(); }

  boost::asio::io_context io_;
};

// An io_context run on a thread of its own. Create what lives on the loop
// (servers) before start(); afterwards touch it only through run(), which
// awaits one awaitable on the loop (a server's stop) with the hang limit.
// The destructor (or stop()) stops the loop and joins its thread.
class LoopThread {
 public:
  LoopThread() = default;
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;
  ~LoopThread() { stop(); }

  boost::asio::io_context& io() { return io_; }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

  void start() {
    thread_ = std::thread([this] { io_.run(); });
  }

  template <typename T>
  T run(boost::asio::awaitable<T> task, std::chrono::steady_clock::duration limit = default_hang_limit) {
    auto future = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
    if (future.wait_for(limit) != std::future_status::ready) throw HangError();
    return future.get();
  }

  void stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  std::thread thread_;
};

}  // namespace idunno::testing
