// The simulation's model of a lossy TCP connection (sim/tcp_link.hpp): what
// a stall delays, how it ends, and that it keeps the order of what was sent.
// Losses are scripted, so each test says exactly which segment is lost.

#include "core/raft/sim/tcp_link.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace idunno::raft::sim {
namespace {

using namespace std::chrono_literals;

// A generator whose draws are scripted: each `true` in `losses` makes the
// next loss draw come out as lost. Unscripted draws are not lost.
struct ScriptedLoss {
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  std::deque<bool> losses;
  result_type operator()() {
    const bool lost = !losses.empty() && losses.front();
    if (!losses.empty()) losses.pop_front();
    return lost ? min() : max();
  }
};

class TcpLinkTest : public ::testing::Test {
 protected:
  // Sends `item` at `at` with a 1 ms clean delay; returns when to look again.
  core::TimePoint send(core::TimePoint at, int item) { return links_.send("a", "b", at, 1ms, model_, rng_, item); }
  std::vector<int> take(core::TimePoint at) { return links_.take_ready("a", "b", at); }

  TcpLossModel model_{0.1};
  ScriptedLoss rng_;
  TcpLinks<int> links_;
  core::TimePoint t0_{};
};

TEST_F(TcpLinkTest, ACleanLinkDeliversEachSegmentAfterItsDelayInOrder) {
  EXPECT_EQ(send(t0_, 1), t0_ + 1ms);
  EXPECT_EQ(send(t0_ + 10us, 2), t0_ + 10us + 1ms);
  EXPECT_TRUE(take(t0_ + 999us).empty());
  EXPECT_EQ(take(t0_ + 1ms), std::vector<int>{1});
  EXPECT_EQ(take(t0_ + 2ms), std::vector<int>{2});
}

TEST_F(TcpLinkTest, ALostSegmentWithNothingBehindItArrivesAfterTheRetransmissionTimeout) {
  rng_.losses = {true, false};  // lost; its retransmission arrives
  EXPECT_EQ(send(t0_, 1), t0_ + 200ms);
  EXPECT_TRUE(take(t0_ + 199ms).empty());
  EXPECT_EQ(take(t0_ + 200ms), std::vector<int>{1});
}

TEST_F(TcpLinkTest, EachLostRetransmissionDoublesTheTimeout) {
  rng_.losses = {true, true, true, false};  // lost, then two lost retransmissions
  EXPECT_EQ(send(t0_, 1), t0_ + 200ms + 400ms + 800ms);
}

TEST_F(TcpLinkTest, SegmentsSentBeforeALossStillArrive) {
  send(t0_, 1);
  rng_.losses = {true, false};
  send(t0_ + 100us, 2);
  EXPECT_EQ(take(t0_ + 1ms), std::vector<int>{1});
}

TEST_F(TcpLinkTest, ALaterSegmentEndsTheStallAndReleasesEverythingQueuedBehindTheLostOne) {
  rng_.losses = {true, false};
  send(t0_, 1);
  // Queued behind the loss; its draws (acknowledged, the resend arrives) are
  // scripted lost, so the stall goes on.
  rng_.losses = {true};
  EXPECT_EQ(send(t0_ + 40ms, 2), t0_ + 200ms);
  EXPECT_TRUE(take(t0_ + 41ms).empty());
  // This one is acknowledged and the resend arrives: two delays later the
  // whole queue arrives, in order, long before the timeout.
  const auto next = send(t0_ + 80ms, 3);
  EXPECT_EQ(next, t0_ + 82ms);
  EXPECT_TRUE(take(t0_ + 81ms).empty());
  EXPECT_EQ(take(next), (std::vector<int>{1, 2, 3}));
}

TEST_F(TcpLinkTest, AResetLosesWhatTheConnectionHeld) {
  rng_.losses = {true, false};
  send(t0_, 1);
  links_.reset("b");
  EXPECT_TRUE(take(t0_ + 1s).empty());
  EXPECT_FALSE(links_.oldest_waiting("a", "b").has_value());
  EXPECT_EQ(send(t0_ + 2s, 2), t0_ + 2s + 1ms);
}

TEST_F(TcpLinkTest, OldestWaitingIsTheSendTimeOfTheHeadOfTheQueue) {
  rng_.losses = {true, false};
  send(t0_, 1);
  send(t0_ + 40ms, 2);
  EXPECT_EQ(links_.oldest_waiting("a", "b"), t0_);
}

}  // namespace
}  // namespace idunno::raft::sim
