#pragma once
// A cancellation token for blocking work on a pool thread: the work polls it
// between steps (batches, chunks) and stops early when it is set.
//
// Why: an event-loop coroutine is cancelled through Asio's cancellation
// slots, but a forward pass or a checksum loop on a pool thread cannot be
// interrupted from outside; it has to look. ThreadPool::run_cancellable
// hands the work a token that becomes set when the awaiting coroutine is
// cancelled (TaskGroup cancel/shutdown, with_timeout) or the pool cancels
// everything (node stop). A token may also follow flags of its own (e.g. a
// caller's stop flag) and combine with another token (stop when either is
// set).
//
// Thread safety: copies may be read from any thread at once; setting a flag
// is a relaxed-enough atomic store (what the work touched before it saw the
// flag is published by the pool's completion, not by the flag).

#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <memory>
#include <utility>
#include <vector>

namespace idunno::core {

class CancelToken {
 public:
  // Never set.
  CancelToken() = default;
  // Set when *flag is (implicit, so a plain stop flag is a token).
  CancelToken(std::shared_ptr<std::atomic<bool>> flag) {  // NOLINT(google-explicit-constructor)
    if (flag) flags_.push_back(std::move(flag));
  }

  bool stop_requested() const noexcept {
    for (const auto& flag : flags_) {
      if (flag->load(std::memory_order_acquire)) return true;
    }
    return false;
  }

  // Throws the error a cancelled Asio operation throws
  // (system_error(operation_aborted)); the awaiting coroutine sees exactly it.
  void throw_if_stop_requested() const {
    if (stop_requested()) throw boost::system::system_error(boost::asio::error::operation_aborted);
  }

  // A token set when this one or `other` is.
  CancelToken either(const CancelToken& other) const {
    CancelToken both = *this;
    both.flags_.insert(both.flags_.end(), other.flags_.begin(), other.flags_.end());
    return both;
  }

  // False for a token nothing can ever set.
  bool can_be_cancelled() const noexcept { return !flags_.empty(); }

 private:
  std::vector<std::shared_ptr<std::atomic<bool>>> flags_;
};

// Owns a flag and hands out tokens that follow it. Any thread.
class CancelSource {
 public:
  CancelSource() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void request_stop() noexcept { flag_->store(true, std::memory_order_release); }
  bool stop_requested() const noexcept { return flag_->load(std::memory_order_acquire); }
  CancelToken token() const { return CancelToken(flag_); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace idunno::core
