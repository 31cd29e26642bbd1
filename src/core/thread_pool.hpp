#pragma once
// The one bridge between the event loop and blocking or CPU-heavy work.
//
// Why: the loop thread owns all protocol state and must never block. Work
// that would (LibTorch forward passes, hashing big buffers, fsync-heavy disk
// I/O) is posted to a pool with `co_await pool.run(fn)`; the awaiting
// coroutine resumes on its own executor with fn's value or exception. The
// function runs on a pool thread and must not touch sockets, timers or
// protocol state. A node has one pool per kind of work (ML, I/O), so that
// one kind never waits behind the other.
//
// Cancellation. `run_cancellable(fn)` calls fn(const CancelToken&); the
// token becomes set when the awaiting coroutine is cancelled (any
// cancellation type: TaskGroup cancel/shutdown, with_timeout) or when
// cancel_all() is called. What the awaiter then sees:
//  - the job had not started: it resumes at once (on its executor) with
//    system_error(operation_aborted); fn never runs and is destroyed on a
//    pool thread;
//  - the job was running: fn keeps running until it next polls the token
//    and returns; the awaiter resumes only after fn has returned, with what
//    fn returned or threw (CancelToken::throw_if_stop_requested throws
//    operation_aborted). So fn may use what the awaiter lent it (references
//    into its frame) until it returns, and never after.
// `run(fn)` (fn takes no token) is never cancelled: a cancelled awaiter
// still waits for fn and gets its result.
//
// Thread-safe; owned by the Node, outlives every caller.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/cancel_token.hpp"
#include "core/pool_job.hpp"

namespace idunno::core {

class ThreadPool {
 public:
  // threads == 0: one per hardware core.
  explicit ThreadPool(std::size_t threads, std::string name = "pool");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return size_; }
  const std::string& name() const { return name_; }

  // Runs fn() on the pool; the caller resumes on its own executor.
  template <typename Fn, typename R = std::invoke_result_t<Fn>>
  boost::asio::awaitable<R> run(Fn fn) {
    co_return co_await async_run(std::move(fn), boost::asio::use_awaitable);
  }

  // Runs fn(token) on the pool, cancellable as described above.
  template <typename Fn, typename R = std::invoke_result_t<Fn&, const CancelToken&>>
  boost::asio::awaitable<R> run_cancellable(Fn fn) {
    co_return co_await async_run_cancellable(std::move(fn), boost::asio::use_awaitable);
  }

  // Completion-token forms; the handler gets (exception_ptr, R) or
  // (exception_ptr) for void, on the handler's associated executor.
  template <typename Fn, typename Token>
  auto async_run(Fn fn, Token&& token) {
    using R = std::invoke_result_t<Fn>;
    auto adapted = [fn = std::move(fn)](const CancelToken&) mutable -> R { return fn(); };
    return initiate<R>(std::move(adapted), false, std::forward<Token>(token));
  }
  template <typename Fn, typename Token>
  auto async_run_cancellable(Fn fn, Token&& token) {
    using R = std::invoke_result_t<Fn&, const CancelToken&>;
    return initiate<R>(std::move(fn), true, std::forward<Token>(token));
  }

  // Any thread: sets the token of every cancellable job; those not started
  // complete with operation_aborted at once.
  void cancel_all();

  // Jobs queued or running now (cancelled ones count until a pool thread
  // has dropped them).
  std::size_t active() const;

  // Waits until no job is queued or running, or `deadline` passes; true when
  // idle. On the caller's executor (the event loop).
  boost::asio::awaitable<bool> wait_idle(std::chrono::steady_clock::time_point deadline);

  // Cancels cancellable jobs, stops taking work and joins the threads
  // (running work finishes first; plain queued work is dropped).
  void stop();

 private:
  // Lives in the closure posted to the pool; destroyed once the job ran or
  // was dropped, which is when the job stops counting as active.
  class Active {
   public:
    Active(ThreadPool* pool, std::uint64_t id) : pool_(pool), id_(id) {}
    Active(Active&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), id_(other.id_) {}
    Active& operator=(Active&&) = delete;
    Active(const Active&) = delete;
    // job_done() locks a mutex and cancels timers, which throw only when
    // the OS fails the call: terminating then is right.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    ~Active() {
      if (pool_) pool_->job_done(id_);
    }

   private:
    ThreadPool* pool_;
    std::uint64_t id_;
  };

  template <typename R, typename Work, typename Token>
  auto initiate(Work work, bool cancellable, Token&& token) {
    return boost::asio::async_initiate<Token, typename detail::PoolSignature<R>::type>(
        [this, cancellable](auto handler, Work job_work) {
          using Job = detail::TypedPoolJob<R, std::decay_t<decltype(handler)>>;
          auto job = std::make_shared<Job>(std::move(handler));
          if (cancellable) job->connect_cancellation();
          const std::uint64_t id = add_job(cancellable ? job : nullptr);
          boost::asio::post(pool_, [job, job_work = std::move(job_work), active = Active(this, id)]() mutable {
            if (job->try_start()) job->run(job_work);
          });
        },
        token, std::move(work));
  }

  // Counts a job as active and, when cancellable, registers it for
  // cancel_all(); returns its id.
  std::uint64_t add_job(std::shared_ptr<detail::PoolJob> cancellable);
  void job_done(std::uint64_t id);

  std::size_t size_;
  std::string name_;
  mutable std::mutex mutex_;
  std::size_t active_ = 0;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::weak_ptr<detail::PoolJob>> cancellable_;
  // Timers of wait_idle() callers, cancelled (on their executor) when the
  // pool becomes idle.
  std::vector<std::pair<boost::asio::any_io_executor, std::weak_ptr<boost::asio::steady_timer>>> idle_waiters_;
  boost::asio::thread_pool pool_;
};

}  // namespace idunno::core
