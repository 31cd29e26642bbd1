#pragma once
// Owner of a set of coroutines: no coroutine in IDunno runs without one.
//
// Why: `detached` swallows exceptions and leaves nothing to cancel or wait
// for at shutdown. A TaskGroup spawns children with their own cancellation
// slot, logs a child that ends with an exception, can cancel them all, and
// lets its owner wait until every child has finished. Touch only from the
// executor it was created with (the event loop).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace idunno::core {

// The error a cancelled coroutine throws (a TaskGroup's cancel(), a
// with_timeout that expired): rethrow it, never report it as a failure.
inline bool is_cancellation(const boost::system::system_error& error) {
  return error.code() == boost::asio::error::operation_aborted;
}

class TaskGroup {
 public:
  explicit TaskGroup(boost::asio::any_io_executor executor, std::string name = "tasks");
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` as a child. `what` names it in logs. Refused (returns
  // false, task dropped) once close() was called.
  bool spawn(boost::asio::awaitable<void> task, std::string what = "task");

  // Emits `type` cancellation to every child.
  void cancel(boost::asio::cancellation_type type = boost::asio::cancellation_type::total);

  // Stops accepting children.
  void close() { closed_ = true; }

  // Waits until every child has finished.
  boost::asio::awaitable<void> join();

  // Graceful stop in two steps: total cancellation, wait up to `grace`, then
  // terminal cancellation and wait for the rest. Returns true when everything
  // ended within `grace`.
  boost::asio::awaitable<bool> shutdown(std::chrono::milliseconds grace);

  std::size_t size() const { return children_.size(); }

 private:
  struct Child {
    boost::asio::cancellation_signal signal;
    std::string what;
  };

  void on_child_done(std::uint64_t id, std::exception_ptr error);
  // Waits until the group is empty or `deadline` passes; true when empty.
  boost::asio::awaitable<bool> wait_empty_until(std::chrono::steady_clock::time_point deadline);

  boost::asio::any_io_executor executor_;
  std::string name_;
  std::map<std::uint64_t, std::unique_ptr<Child>> children_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
  // Timers of coroutines waiting for the group to empty; cancelled then.
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters_;
  // Set while the group is alive; children finishing after it died do nothing.
  std::shared_ptr<bool> alive_;
};

}  // namespace idunno::core
