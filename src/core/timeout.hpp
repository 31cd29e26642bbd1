#pragma once
// with_timeout: the one way to put a deadline on an awaitable operation.
//
// Why: Boost 1.81 has no cancel_after, and `op || timer` means "first
// success", so an exception thrown by `op` would be swallowed while the timer
// keeps waiting (asio issue 1594). Here `op` runs inside a wrapper that turns
// its exception into a value, so a failure ends the race at once and is
// rethrown to the caller; the loser is cancelled by the operator.
// Both sides of the race accept total cancellation, as TaskGroup children
// do: the race's parallel group forwards only the first cancellation it
// gets, so a total cancellation (a task group's graceful stop) that its
// children ignored would use it up and leave them deaf to the terminal one
// that follows: the caller would never end. A cancelled caller gets
// operation_aborted, not TimeoutError.
// Use from coroutines running on the event loop.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace idunno::core {

// Thrown by with_timeout when the deadline passed first.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("timed out") {}
};

namespace detail {
// The outcome of an operation as a value. A struct, not a variant: the
// awaitable operators would flatten a variant into their own result.
template <typename T>
struct Captured {
  std::optional<T> value;
  std::exception_ptr error;
};

template <typename T>
boost::asio::awaitable<Captured<T>> capture(boost::asio::awaitable<T> op) {
  co_await boost::asio::this_coro::reset_cancellation_state(boost::asio::enable_total_cancellation());
  Captured<T> out;
  try {
    out.value.emplace(co_await std::move(op));
  } catch (...) {
    out.error = std::current_exception();
  }
  co_return out;
}

inline boost::asio::awaitable<std::exception_ptr> capture_void(boost::asio::awaitable<void> op) {
  co_await boost::asio::this_coro::reset_cancellation_state(boost::asio::enable_total_cancellation());
  try {
    co_await std::move(op);
    co_return nullptr;
  } catch (...) {
    co_return std::current_exception();
  }
}
// Waits for `timer` (owned by the awaiting with_timeout). The reference is
// safe: with_timeout awaits this, never spawns it, and its frame owns the
// timer.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters)
inline boost::asio::awaitable<void> wait_for(boost::asio::steady_timer& timer) {
  co_await boost::asio::this_coro::reset_cancellation_state(boost::asio::enable_total_cancellation());
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

// Throws operation_aborted when the awaiting coroutine was cancelled.
inline boost::asio::awaitable<void> throw_if_caller_cancelled() {
  const auto state = co_await boost::asio::this_coro::cancellation_state;
  if (state.cancelled() != boost::asio::cancellation_type::none) {
    throw boost::system::system_error(boost::asio::error::operation_aborted);
  }
}
}  // namespace detail

// Runs `op`; throws TimeoutError if `limit` passes first, rethrows op's
// exception if it fails.
template <typename T>
boost::asio::awaitable<T> with_timeout(boost::asio::awaitable<T> op, std::chrono::steady_clock::duration limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, limit);
  if constexpr (std::is_void_v<T>) {
    auto result = co_await (detail::capture_void(std::move(op)) || detail::wait_for(timer));
    co_await detail::throw_if_caller_cancelled();
    if (result.index() == 1) throw TimeoutError();
    if (auto error = std::get<0>(result)) std::rethrow_exception(error);
  } else {
    auto result = co_await (detail::capture(std::move(op)) || detail::wait_for(timer));
    co_await detail::throw_if_caller_cancelled();
    if (result.index() == 1) throw TimeoutError();
    auto& outcome = std::get<0>(result);
    if (outcome.error) std::rethrow_exception(outcome.error);
    if (!outcome.value) throw std::logic_error("with_timeout: the operation ended with neither a value nor an error");
    co_return std::move(*outcome.value);
  }
}

}  // namespace idunno::core
