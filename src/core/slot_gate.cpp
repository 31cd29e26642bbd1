#include "core/slot_gate.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <stdexcept>
#include <utility>

namespace idunno::core {

namespace asio = boost::asio;

SlotGate::Lease::Lease(Lease&& other) noexcept : gate_(std::move(other.gate_)), n_(std::exchange(other.n_, 0)) {}

// release() cancels timers, which throws only when the OS fails the call:
// terminating then is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
SlotGate::Lease::~Lease() {
  if (gate_) gate_->release(n_);
}

std::shared_ptr<SlotGate> SlotGate::create(std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument("SlotGate needs at least one slot");
  return std::shared_ptr<SlotGate>(new SlotGate(capacity));
}

asio::awaitable<SlotGate::Lease> SlotGate::acquire(std::size_t n) {
  n = std::clamp<std::size_t>(n, 1, capacity_);
  auto self = shared_from_this();
  if (queue_.empty() && in_use_ + n <= capacity_) {
    in_use_ += n;
    co_return Lease(std::move(self), n);
  }
  const auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(n, executor);
  queue_.push_back(waiter);
  // However this wait ends (granted, cancelled, or the frame destroyed while
  // suspended), the queue and the count stay right.
  struct Settle {
    std::shared_ptr<SlotGate> gate;
    std::shared_ptr<Waiter> waiter;
    bool leased = false;
    // NOLINTNEXTLINE(bugprone-exception-escape): as ~Lease
    ~Settle() {
      if (leased) return;
      if (waiter->granted) {
        gate->release(waiter->need);
      } else {
        std::erase(gate->queue_, waiter);
        gate->grant_waiting();  // it may have been the head that blocked others
      }
    }
  } settle{self, waiter};
  boost::system::error_code ec;
  co_await waiter->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!waiter->granted) throw boost::system::system_error(asio::error::operation_aborted);
  settle.leased = true;
  co_return Lease(std::move(self), n);
}

void SlotGate::release(std::size_t n) {
  in_use_ -= n;
  grant_waiting();
}

void SlotGate::grant_waiting() {
  while (!queue_.empty() && in_use_ + queue_.front()->need <= capacity_) {
    auto next = std::move(queue_.front());
    queue_.pop_front();
    in_use_ += next->need;
    next->granted = true;
    next->wake.cancel();
  }
}

}  // namespace idunno::core
