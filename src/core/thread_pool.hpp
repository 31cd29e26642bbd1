#pragma once
// The one bridge between the event loop and blocking or CPU-heavy work.
//
// Why: the loop thread owns all protocol state and must never block. Work
// that would (LibTorch forward passes, hashing big buffers, fsync-heavy disk
// I/O) is posted to this pool with `co_await pool.run(fn)`; the awaiting
// coroutine resumes on its own executor with fn's value or exception. The
// function runs on a pool thread and must not touch sockets, timers or
// protocol state. Thread-safe; owned by the Node, outlives every caller.

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/associated_executor.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace idunno::core {

class ThreadPool {
 public:
  // threads == 0: one per hardware core.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return size_; }

  // Runs fn() on the pool; the caller resumes on its own executor.
  template <typename Fn, typename R = std::invoke_result_t<Fn>>
  boost::asio::awaitable<R> run(Fn fn) {
    co_return co_await async_run(std::move(fn), boost::asio::use_awaitable);
  }

  // Completion-token form of run(); the handler gets (exception_ptr, R) or
  // (exception_ptr) for void, on the handler's associated executor.
  template <typename Fn, typename Token>
  auto async_run(Fn fn, Token&& token) {
    using R = std::invoke_result_t<Fn>;
    if constexpr (std::is_void_v<R>) {
      return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
          [this](auto handler, Fn work) {
            auto ex = boost::asio::get_associated_executor(handler);
            boost::asio::post(pool_, [work = std::move(work), handler = std::move(handler), ex]() mutable {
              std::exception_ptr error;
              try {
                work();
              } catch (...) {
                error = std::current_exception();
              }
              boost::asio::dispatch(ex, [handler = std::move(handler), error]() mutable { handler(error); });
            });
          },
          token, std::move(fn));
    } else {
      return boost::asio::async_initiate<Token, void(std::exception_ptr, R)>(
          [this](auto handler, Fn work) {
            auto ex = boost::asio::get_associated_executor(handler);
            boost::asio::post(pool_, [work = std::move(work), handler = std::move(handler), ex]() mutable {
              std::exception_ptr error;
              std::optional<R> value;
              try {
                value.emplace(work());
              } catch (...) {
                error = std::current_exception();
              }
              boost::asio::dispatch(ex, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                handler(error, value ? std::move(*value) : R{});
              });
            });
          },
          token, std::move(fn));
    }
  }

  // Stops taking work and joins the threads (running work finishes).
  void stop();

 private:
  std::size_t size_;
  boost::asio::thread_pool pool_;
};

}  // namespace idunno::core
