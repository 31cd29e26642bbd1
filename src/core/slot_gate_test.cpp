// SlotGate: first-come-first-served slots, a request for all slots is not
// starved, a cancelled waiter leaves the queue (and unblocks those behind
// it), and frames destroyed at shutdown give everything back. The loop is
// driven by run_ready() (the test runner's poll), so every step is
// deterministic.

#include "core/slot_gate.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <memory>

#include "core/coro_test.hpp"

namespace idunno::core {
namespace {

namespace asio = boost::asio;

// One user of the gate: takes `n` slots, holds them until released.
struct Holder {
  Holder(asio::io_context& io, std::shared_ptr<SlotGate> gate, std::size_t n) : hold(io) {
    hold.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(io, run(std::move(gate), n, this), asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr) {
                     finished = true;
                   }));
  }
  static asio::awaitable<void> run(std::shared_ptr<SlotGate> gate, std::size_t n, Holder* self) {
    try {
      const auto lease = co_await gate->acquire(n);
      self->granted = true;
      boost::system::error_code ec;
      co_await self->hold.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    } catch (const boost::system::system_error&) {
      self->aborted = true;
    }
  }
  void release() { hold.cancel(); }

  asio::steady_timer hold;
  asio::cancellation_signal cancel;
  bool granted = false;
  bool aborted = false;
  bool finished = false;
};

TEST(SlotGate, WholeGateRequestIsServedBeforeLaterSmallOnes) {
  asio::io_context io;
  auto gate = SlotGate::create(2);
  Holder a(io, gate, 1);
  idunno::testing::run_ready(io);
  ASSERT_TRUE(a.granted);
  Holder all(io, gate, 2);
  Holder later(io, gate, 1);
  idunno::testing::run_ready(io);
  // A slot is free, but `later` queues behind the request for both.
  EXPECT_FALSE(all.granted);
  EXPECT_FALSE(later.granted);
  EXPECT_EQ(gate->in_use(), 1U);
  EXPECT_EQ(gate->queued(), 2U);
  a.release();
  idunno::testing::run_ready(io);
  EXPECT_TRUE(all.granted);
  EXPECT_FALSE(later.granted);
  EXPECT_EQ(gate->in_use(), 2U);
  all.release();
  idunno::testing::run_ready(io);
  EXPECT_TRUE(later.granted);
  later.release();
  idunno::testing::run_ready(io);
  EXPECT_TRUE(a.finished && all.finished && later.finished);
  EXPECT_EQ(gate->in_use(), 0U);
  EXPECT_EQ(gate->queued(), 0U);
}

TEST(SlotGate, CancelledHeadOfTheQueueLetsTheNextOneGo) {
  asio::io_context io;
  auto gate = SlotGate::create(2);
  Holder a(io, gate, 1);
  Holder all(io, gate, 2);
  Holder next(io, gate, 1);
  idunno::testing::run_ready(io);
  ASSERT_TRUE(a.granted);
  ASSERT_EQ(gate->queued(), 2U);
  all.cancel.emit(asio::cancellation_type::terminal);
  idunno::testing::run_ready(io);
  EXPECT_TRUE(all.aborted);
  EXPECT_FALSE(all.granted);
  EXPECT_TRUE(next.granted);  // at once: the free slot is no longer reserved
  EXPECT_EQ(gate->in_use(), 2U);
  EXPECT_EQ(gate->queued(), 0U);
  a.release();
  next.release();
  idunno::testing::run_ready(io);
  EXPECT_EQ(gate->in_use(), 0U);
}

TEST(SlotGate, RequestsAreClampedToTheCapacity) {
  asio::io_context io;
  auto gate = SlotGate::create(3);
  Holder big(io, gate, 10);
  idunno::testing::run_ready(io);
  EXPECT_TRUE(big.granted);
  EXPECT_EQ(gate->in_use(), 3U);
  big.release();
  idunno::testing::run_ready(io);
  EXPECT_EQ(gate->in_use(), 0U);
  EXPECT_THROW(SlotGate::create(0), std::invalid_argument);
}

// The loop is destroyed with one holder running and one queued, as at a
// forced shutdown: the suspended frames are destroyed with it, never
// resumed, and with them go the lease and the queued waiter.
TEST(SlotGate, FramesDestroyedWithTheLoopGiveEverythingBack) {
  auto gate = SlotGate::create(1);
  {
    asio::io_context io;
    auto a = std::make_unique<Holder>(io, gate, 1);
    auto b = std::make_unique<Holder>(io, gate, 1);
    idunno::testing::run_ready(io);
    ASSERT_TRUE(a->granted);
    ASSERT_EQ(gate->queued(), 1U);
    // The holders' timers go first (their waits are aborted but not run:
    // the loop never runs again); then the loop and the frames.
    a.reset();
    b.reset();
  }
  EXPECT_EQ(gate->in_use(), 0U);
  EXPECT_EQ(gate->queued(), 0U);
}

}  // namespace
}  // namespace idunno::core
