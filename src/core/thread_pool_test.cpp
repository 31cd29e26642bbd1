// Cancellable pool work: what the awaiting coroutine sees when it is
// cancelled (TaskGroup, with_timeout) or the pool cancels everything, and
// that it never resumes while the work still runs.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "core/coro_test.hpp"
#include "core/task_group.hpp"
#include "core/thread_pool.hpp"
#include "core/timeout.hpp"

namespace idunno::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using idunno::testing::CoroutineTest;

// What one job and its awaiter did, shared between the loop, the pool
// thread and the test.
struct Trace {
  std::atomic<bool> started{false};
  std::atomic<bool> returned{false};  // the work function has returned
  std::atomic<bool> release{false};   // lets a plain (untokened) job finish
  int steps = 0;                      // written by the work before it returns
  bool awaiter_saw_returned = false;  // read by the awaiter when it resumed
  bool aborted = false;               // the awaiter got operation_aborted
  int value = 0;
};

// Polls the token between "steps" until it is set (bounded, so a broken
// cancellation fails the test instead of hanging it).
int steps_until_cancelled(const CancelToken& token, Trace* trace) {
  trace->started = true;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  int steps = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    if (token.stop_requested()) break;
    ++steps;
    std::this_thread::yield();
  }
  trace->steps = steps;
  trace->returned = true;
  token.throw_if_stop_requested();
  return steps;
}

asio::awaitable<void> await_cancellable(ThreadPool* pool, std::shared_ptr<Trace> trace) {
  // The job is bound to a local first: GCC 12 destroys the captures of a
  // closure passed as a prvalue inside co_await twice (a shared_ptr
  // released twice: AddressSanitizer's heap-use-after-free here).
  auto job = [trace](const CancelToken& token) { return steps_until_cancelled(token, trace.get()); };
  try {
    trace->value = co_await pool->run_cancellable(std::move(job));
  } catch (const boost::system::system_error& e) {
    trace->aborted = e.code() == asio::error::operation_aborted;
  }
  trace->awaiter_saw_returned = trace->returned.load();
}

asio::awaitable<void> await_plain(ThreadPool* pool, std::shared_ptr<Trace> trace) {
  auto job = [trace] {  // bound to a local: see await_cancellable
    trace->started = true;
    while (!trace->release.load()) std::this_thread::yield();
    trace->returned = true;
    return 7;
  };
  trace->value = co_await pool->run(std::move(job));
  trace->awaiter_saw_returned = trace->returned.load();
}

class ThreadPoolCancel : public CoroutineTest {};

TEST_F(ThreadPoolCancel, RunningWorkSeesTheTokenAndTheAwaiterResumesOnlyAfterItReturned) {
  ThreadPool pool(1);
  TaskGroup group(executor(), "test");
  auto trace = std::make_shared<Trace>();
  group.spawn(await_cancellable(&pool, trace));
  ASSERT_TRUE(run_until([&] { return trace->started.load(); }));
  group.cancel(asio::cancellation_type::total);
  run([&]() -> asio::awaitable<void> { co_await group.join(); });
  EXPECT_TRUE(trace->aborted);
  EXPECT_TRUE(trace->awaiter_saw_returned) << "resumed while the work still ran";
}

TEST_F(ThreadPoolCancel, QueuedWorkIsAbandonedAtOnceAndNeverRuns) {
  ThreadPool pool(1);
  TaskGroup group(executor(), "test");
  auto busy = std::make_shared<Trace>();
  auto queued = std::make_shared<Trace>();
  group.spawn(await_plain(&pool, busy));
  ASSERT_TRUE(run_until([&] { return busy->started.load(); }));
  TaskGroup doomed(executor(), "doomed");
  doomed.spawn(await_cancellable(&pool, queued));
  ASSERT_TRUE(run_until([&] { return pool.active() == 2; }));
  doomed.cancel(asio::cancellation_type::terminal);
  // The queued job's awaiter finishes while the only pool thread is busy.
  run([&]() -> asio::awaitable<void> { co_await doomed.join(); });
  EXPECT_TRUE(queued->aborted);
  EXPECT_FALSE(queued->started.load()) << "an abandoned job must never run";
  busy->release = true;
  run([&]() -> asio::awaitable<void> { co_await group.join(); });
  EXPECT_EQ(busy->value, 7);
  EXPECT_TRUE(run([&]() -> asio::awaitable<bool> { co_return co_await pool.wait_idle(std::chrono::steady_clock::now() + 5s); }));
  EXPECT_EQ(pool.active(), 0U);
}

TEST_F(ThreadPoolCancel, WithTimeoutReachesTheWork) {
  ThreadPool pool(1);
  auto trace = std::make_shared<Trace>();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run([&]() -> asio::awaitable<int> {
                 // Bound to locals: see await_cancellable.
                 auto job = [trace](const CancelToken& token) { return steps_until_cancelled(token, trace.get()); };
                 auto work = pool.run_cancellable(std::move(job));
                 co_return co_await with_timeout(std::move(work), 50ms);
               }),
               TimeoutError);
  EXPECT_TRUE(trace->returned.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the work did not see the timeout";
}

TEST_F(ThreadPoolCancel, CancelAllStopsRunningAndQueuedWorkFromAnyThread) {
  ThreadPool pool(1);
  TaskGroup group(executor(), "test");
  auto running = std::make_shared<Trace>();
  auto queued = std::make_shared<Trace>();
  group.spawn(await_cancellable(&pool, running));
  group.spawn(await_cancellable(&pool, queued));
  ASSERT_TRUE(run_until([&] { return running->started.load(); }));
  std::thread other([&pool] { pool.cancel_all(); });
  other.join();
  run([&]() -> asio::awaitable<void> { co_await group.join(); });
  EXPECT_TRUE(running->aborted);
  EXPECT_TRUE(running->awaiter_saw_returned);
  EXPECT_TRUE(queued->aborted);
  EXPECT_FALSE(queued->started.load());
}

TEST_F(ThreadPoolCancel, PlainWorkIsNotCancelledAndWaitIdleHonoursItsDeadline) {
  ThreadPool pool(1);
  TaskGroup group(executor(), "test");
  auto trace = std::make_shared<Trace>();
  group.spawn(await_plain(&pool, trace));
  ASSERT_TRUE(run_until([&] { return trace->started.load(); }));
  group.cancel(asio::cancellation_type::terminal);
  pool.cancel_all();
  EXPECT_FALSE(run([&]() -> asio::awaitable<bool> {
    co_return co_await pool.wait_idle(std::chrono::steady_clock::now() + 30ms);
  }));
  trace->release = true;
  EXPECT_TRUE(run([&]() -> asio::awaitable<bool> {
    co_return co_await pool.wait_idle(std::chrono::steady_clock::now() + 5s);
  }));
  run([&]() -> asio::awaitable<void> { co_await group.join(); });
  EXPECT_EQ(trace->value, 7);
  EXPECT_TRUE(trace->awaiter_saw_returned);
}

TEST(CancelToken, FollowsFlagsAndCombines) {
  CancelSource a;
  CancelSource b;
  const CancelToken both = a.token().either(b.token());
  EXPECT_FALSE(both.stop_requested());
  EXPECT_FALSE(CancelToken().can_be_cancelled());
  b.request_stop();
  EXPECT_TRUE(both.stop_requested());
  EXPECT_FALSE(a.token().stop_requested());
  EXPECT_THROW(both.throw_if_stop_requested(), boost::system::system_error);
  const CancelToken plain = std::make_shared<std::atomic<bool>>(true);
  EXPECT_TRUE(plain.stop_requested());
}

}  // namespace
}  // namespace idunno::core
