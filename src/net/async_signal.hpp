#pragma once
// AsyncSignal: lets coroutines on the event loop wait until "something
// changed" (a queue got an item, a reply arrived, a stream closed).
//
// Why: Asio has no condition variable for coroutines. A steady_timer that
// never expires, cancelled to wake its waiters, is the usual idiom; the
// generation counter tells a wake-up from a per-operation cancellation of
// the waiting coroutine (which throws operation_aborted, so the TaskGroup's
// and with_timeout's cancellation reach every wait). Waiters re-check their
// condition in a loop. Single-threaded: touch only from the executor it was
// created with. The owner must outlive every waiter.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cstdint>

namespace idunno::net {

class AsyncSignal {
 public:
  explicit AsyncSignal(boost::asio::any_io_executor executor)
      : timer_(executor, boost::asio::steady_timer::time_point::max()) {}

  // Suspends until the next notify_all(). Throws system_error
  // (operation_aborted) when the waiting coroutine is cancelled.
  boost::asio::awaitable<void> wait() {
    const std::uint64_t generation = generation_;
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (generation_ == generation) {
      throw boost::system::system_error(boost::asio::error::operation_aborted);
    }
  }

  // Wakes every coroutine currently in wait().
  void notify_all() {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
};

}  // namespace idunno::net
