#pragma once
// A first-come, first-served counting gate for the event loop: a user asks
// for n of its `capacity` slots and waits until they are free; a lease gives
// them back when it is destroyed.
//
// Why: the ML executor runs batches that need one core each and batches that
// need every core; the gate lets both share the pool without oversubscribing
// it, and FIFO order means a request for all slots is not starved by a
// stream of small ones. A waiter cancelled while queued (or whose coroutine
// is destroyed) leaves the queue and lets whoever is behind it go. Leases
// keep the gate alive, so a coroutine frame destroyed at shutdown after its
// owner never touches freed memory. Touch only from the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <memory>

namespace idunno::core {

class SlotGate : public std::enable_shared_from_this<SlotGate> {
 public:
  // Slots held until destroyed (or moved from).
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    std::size_t slots() const { return n_; }

   private:
    friend class SlotGate;
    Lease(std::shared_ptr<SlotGate> gate, std::size_t n) : gate_(std::move(gate)), n_(n) {}
    std::shared_ptr<SlotGate> gate_;
    std::size_t n_;
  };

  // capacity >= 1.
  static std::shared_ptr<SlotGate> create(std::size_t capacity);

  // Waits until `n` slots (clamped to 1..capacity) are free and no earlier
  // request is waiting, then takes them. Throws system_error
  // (operation_aborted) when cancelled while waiting.
  boost::asio::awaitable<Lease> acquire(std::size_t n);

  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const { return in_use_; }
  std::size_t queued() const { return queue_.size(); }

 private:
  struct Waiter {
    Waiter(std::size_t slots, const boost::asio::any_io_executor& executor)
        : need(slots), wake(executor, boost::asio::steady_timer::time_point::max()) {}
    std::size_t need;
    boost::asio::steady_timer wake;
    bool granted = false;
  };

  explicit SlotGate(std::size_t capacity) : capacity_(capacity) {}
  void release(std::size_t n);
  void grant_waiting();

  std::size_t capacity_;
  std::size_t in_use_ = 0;
  std::deque<std::shared_ptr<Waiter>> queue_;
};

}  // namespace idunno::core
