#pragma once
// The shared state of one job handed to a ThreadPool (thread_pool.hpp), and
// the rules that make its completion happen exactly once.
//
// Why: a job is raced by two parties, the pool thread that runs it and a
// canceller (the awaiting coroutine's cancellation slot on the event loop,
// or ThreadPool::cancel_all from any thread). One atomic state decides:
//   queued -> running -> finished   the pool ran it; the awaiter gets its
//                                    value or exception;
//   queued -> abandoned             cancelled before a pool thread took it;
//                                    the awaiter gets operation_aborted at
//                                    once and the work never runs.
// A job that is running when cancelled only sees its token set; the awaiter
// resumes when the work returns, never earlier, so the work may use what it
// borrowed until then. The completion is always posted to the awaiter's
// executor, where the cancellation slot is cleared before the handler runs.
// Internal to thread_pool.hpp.

#include <atomic>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/cancel_token.hpp"

namespace idunno::core::detail {

// The completion signature of a job returning R.
template <typename R>
struct PoolSignature {
  using type = void(std::exception_ptr, R);
};
template <>
struct PoolSignature<void> {
  using type = void(std::exception_ptr);
};

class PoolJob : public std::enable_shared_from_this<PoolJob> {
 public:
  PoolJob() = default;
  PoolJob(const PoolJob&) = delete;
  PoolJob& operator=(const PoolJob&) = delete;
  virtual ~PoolJob() = default;

  // Any thread: sets the token; a job not yet started is abandoned and
  // completes with operation_aborted now.
  void cancel() {
    stop_->store(true, std::memory_order_release);
    int expected = kQueued;
    if (state_.compare_exchange_strong(expected, kAbandoned)) complete();
  }

  // Pool thread: false when the job was abandoned (then it must not run).
  bool try_start() {
    int expected = kQueued;
    return state_.compare_exchange_strong(expected, kRunning);
  }

  CancelToken token() const { return CancelToken(stop_); }

 protected:
  static constexpr int kQueued = 0;
  static constexpr int kRunning = 1;
  static constexpr int kAbandoned = 2;
  static constexpr int kFinished = 3;

  // Posts the completion to the awaiter; called once, by whoever moved the
  // state to abandoned or finished.
  virtual void complete() = 0;

  std::atomic<int> state_{kQueued};
  std::shared_ptr<std::atomic<bool>> stop_ = std::make_shared<std::atomic<bool>>(false);
};

// A job returning R (or void) to a completion handler with signature
// void(std::exception_ptr, R) / void(std::exception_ptr).
template <typename R, typename Handler>
class TypedPoolJob final : public PoolJob {
 public:
  explicit TypedPoolJob(Handler handler)
      : handler_(std::move(handler)),
        executor_(boost::asio::get_associated_executor(handler_)),
        slot_(boost::asio::get_associated_cancellation_slot(handler_)) {}

  // On the initiating thread: lets the awaiter's cancellation reach the job.
  void connect_cancellation() {
    if (!slot_.is_connected()) return;
    std::weak_ptr<PoolJob> weak = shared_from_this();
    slot_.assign([weak](boost::asio::cancellation_type) {
      if (auto job = weak.lock()) job->cancel();
    });
  }

  // On a pool thread, after try_start() succeeded.
  template <typename Work>
  void run(Work& work) {
    try {
      if constexpr (std::is_void_v<R>) {
        work(token());
      } else {
        value_.emplace(work(token()));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    state_.store(kFinished, std::memory_order_release);
    complete();
  }

 private:
  void complete() override {
    if (state_.load(std::memory_order_acquire) == kAbandoned) {
      error_ = std::make_exception_ptr(boost::system::system_error(boost::asio::error::operation_aborted));
    }
    auto self = std::static_pointer_cast<TypedPoolJob>(shared_from_this());
    boost::asio::post(executor_, [self]() mutable { self->finish(); });
  }

  // On the awaiter's executor.
  void finish() {
    if (slot_.is_connected()) slot_.clear();
    if constexpr (std::is_void_v<R>) {
      std::move(handler_)(error_);
    } else {
      std::move(handler_)(error_, value_ ? std::move(*value_) : R{});
    }
  }

  Handler handler_;
  boost::asio::associated_executor_t<Handler> executor_;
  boost::asio::associated_cancellation_slot_t<Handler> slot_;
  std::exception_ptr error_;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value_{};
};

}  // namespace idunno::core::detail
