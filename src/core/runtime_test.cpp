// Tests of the runtime pieces every service stands on: the thread-pool
// bridge, task groups, with_timeout and the deterministic timer queue.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <stdexcept>
#include <thread>

#include "core/coro_test.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "core/timeout.hpp"
#include "core/timer_queue.hpp"

namespace idunno::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Child coroutines take what they need as parameters (by value or pointer):
// a capturing lambda invoked in place would die before its coroutine.
asio::awaitable<void> tick_after(std::chrono::milliseconds d, int* counter) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  ++*counter;
}

asio::awaitable<void> wait_long(bool* cancelled) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  *cancelled = ec == asio::error::operation_aborted;
}

asio::awaitable<void> throw_now() {
  throw std::runtime_error("child failed");
  co_return;
}

asio::awaitable<void> set_flag(bool* flag) {
  *flag = true;
  co_return;
}

// What a spinning pool job saw: it ran off the loop thread and ended because
// the loop released it, not because it gave up.
struct Spin {
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  std::atomic<bool> gave_up{false};
  std::thread::id thread;
};

// Spins on the pool until released, or gives up after `limit` (so that a
// pool that ran work on the loop thread fails the test instead of hanging
// it).
asio::awaitable<void> spin_on_pool(ThreadPool* pool, Spin* spin, std::chrono::milliseconds limit) {
  co_await pool->run([spin, limit] {
    spin->thread = std::this_thread::get_id();
    spin->running = true;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!spin->release.load()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        spin->gave_up = true;
        break;
      }
      std::this_thread::yield();
    }
    spin->running = false;
  });
}

// Every test drives its own io_context through the one runner, with its
// hang limit. A capturing coroutine lambda is passed to it uninvoked, so the
// runner owns the captures until the coroutine ends (STYLE.md).
using idunno::testing::run_until_done;

TEST(ThreadPool, ResumesOnCallerExecutorWithValue) {
  asio::io_context io;
  ThreadPool pool(2);
  const auto loop_thread = std::this_thread::get_id();
  auto result = run_until_done(io, [&]() -> asio::awaitable<std::pair<bool, bool>> {
    std::thread::id worker;
    int value = co_await pool.run([&] {
      worker = std::this_thread::get_id();
      return 42;
    });
    EXPECT_EQ(value, 42);
    co_return std::pair{worker != loop_thread, std::this_thread::get_id() == loop_thread};
  });
  EXPECT_TRUE(result.first) << "work must run off the loop thread";
  EXPECT_TRUE(result.second) << "the caller must resume on its own executor";
}

TEST(ThreadPool, PropagatesExceptions) {
  asio::io_context io;
  ThreadPool pool(1);
  EXPECT_THROW(run_until_done(io,
                              [&]() -> asio::awaitable<int> {
                                co_return co_await pool.run([]() -> int { throw std::runtime_error("boom"); });
                              }),
               std::runtime_error);
  EXPECT_THROW(
      run_until_done(
          io, [&]() -> asio::awaitable<void> { co_await pool.run([] { throw std::logic_error("void boom"); }); }),
      std::logic_error);
}

// While a pool job runs, the loop keeps serving its timers: five 1 ms ticks
// happen while the job is known to be running, and the job ends
// because the loop released it. A pool that ran the job on the loop thread
// would starve the timers until the job gave up: that fails here, in
// bounded time, instead of hanging.
TEST(ThreadPool, LoopStaysResponsiveWhileWorkRuns) {
  asio::io_context io;
  ThreadPool pool(1);
  Spin spin;
  int ticks_while_running = 0;
  auto ticks = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TaskGroup group(ex);
    group.spawn(spin_on_pool(&pool, &spin, 5s));
    asio::steady_timer timer(ex);
    // Ticks count once the job is running (a pool thread may take a moment
    // to pick it up); the job's give-up bounds this loop.
    while (ticks_while_running < 5 && !spin.gave_up) {
      timer.expires_after(1ms);
      co_await timer.async_wait(asio::use_awaitable);
      if (spin.running && !spin.gave_up) ++ticks_while_running;
    }
    spin.release = true;
    co_await group.join();
  };
  run_until_done(io, std::move(ticks), 10s);
  EXPECT_FALSE(spin.gave_up) << "the pool job blocked the loop: no timer fired until it gave up";
  EXPECT_NE(spin.thread, std::this_thread::get_id()) << "the pool job ran on the loop thread";
  EXPECT_EQ(ticks_while_running, 5) << "the loop's timers must fire while the pool job runs";
}

TEST(TaskGroup, JoinWaitsForChildren) {
  asio::io_context io;
  int finished = 0;
  run_until_done(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TaskGroup group(ex);
    for (int i = 0; i < 3; ++i) {
      group.spawn(tick_after(std::chrono::milliseconds(i), &finished));
    }
    EXPECT_EQ(group.size(), 3u);
    co_await group.join();
    EXPECT_EQ(group.size(), 0u);
  });
  EXPECT_EQ(finished, 3);
}

TEST(TaskGroup, ShutdownCancelsWaitingChildren) {
  asio::io_context io;
  bool cancelled = false;
  const bool in_time = run_until_done(io, [&]() -> asio::awaitable<bool> {
    auto ex = co_await asio::this_coro::executor;
    TaskGroup group(ex);
    group.spawn(wait_long(&cancelled));
    const bool ok = co_await group.shutdown(2s);
    bool late = false;
    EXPECT_FALSE(group.spawn(set_flag(&late)));
    co_return ok;
  });
  EXPECT_TRUE(in_time);
  EXPECT_TRUE(cancelled);
}

TEST(TaskGroup, FailingChildDoesNotTakeDownTheGroup) {
  asio::io_context io;
  bool other_finished = false;
  run_until_done(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TaskGroup group(ex);
    group.spawn(throw_now());
    group.spawn(set_flag(&other_finished));
    co_await group.join();
  });
  EXPECT_TRUE(other_finished);
}

asio::awaitable<int> sleep_then(std::chrono::milliseconds d, int value) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  co_return value;
}

asio::awaitable<int> fail_after(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  throw std::runtime_error("io failed");
}

TEST(WithTimeout, ValueBeforeDeadline) {
  asio::io_context io;
  EXPECT_EQ(run_until_done(io, with_timeout(sleep_then(1ms, 7), 5s)), 7);
}

TEST(WithTimeout, DeadlineFirstThrowsTimeout) {
  asio::io_context io;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_until_done(io, with_timeout(sleep_then(10s, 7), 20ms)), TimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the slow operation must be cancelled";
}

TEST(WithTimeout, FailureEndsTheRaceAtOnce) {
  asio::io_context io;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_until_done(io, with_timeout(fail_after(1ms), 10s)), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "an I/O failure must not wait for the timer";
}

asio::awaitable<void> wait_long_within_timeout(bool* ended) {
  struct Flag {
    bool* flag;
    ~Flag() { *flag = true; }
  } flag{ended};
  co_await with_timeout(sleep_then(std::chrono::hours(1), 0), std::chrono::hours(1));
}

// A task group's graceful stop (total cancellation) reaches an operation
// waiting in with_timeout; before, the race swallowed it and the terminal
// cancellation after the grace could not get through either: shutdown hung.
TEST(WithTimeout, TaskGroupShutdownReachesTheOperation) {
  asio::io_context io;
  bool ended = false;
  TaskGroup group(io.get_executor());
  group.spawn(wait_long_within_timeout(&ended));
  bool in_grace = false;
  EXPECT_NO_THROW(in_grace = run_until_done(io, group.shutdown(1s), 5s)) << "shutdown did not end";
  EXPECT_TRUE(in_grace) << "the total cancellation did not reach the operation";
  EXPECT_TRUE(ended);
}

TEST(TimerQueue, FiresInTimeThenSchedulingOrder) {
  TimerQueue q;
  std::vector<int> order;
  const TimePoint t0{};
  q.schedule(t0 + 20ms, [&] { order.push_back(3); });
  q.schedule(t0 + 10ms, [&] { order.push_back(1); });
  q.schedule(t0 + 10ms, [&] { order.push_back(2); });
  const auto cancelled = q.schedule(t0 + 15ms, [&] { order.push_back(99); });
  EXPECT_TRUE(q.cancel(cancelled));
  EXPECT_EQ(q.next_deadline(), t0 + 10ms);
  EXPECT_EQ(q.fire_due(t0 + 5ms), 0u);
  EXPECT_EQ(q.fire_due(t0 + 20ms), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(q.next_deadline());
}

}  // namespace
}  // namespace idunno::core
