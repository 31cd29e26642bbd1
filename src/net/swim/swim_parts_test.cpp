// Unit tests of the SWIM building blocks: Lifeguard suspicion timeouts,
// the dissemination queue, the member table's probe order, the replay
// window and the authenticated envelope.

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "net/swim/broadcast_queue.hpp"
#include "net/swim/bytes.hpp"
#include "net/swim/envelope.hpp"
#include "net/swim/member_table.hpp"
#include "net/swim/replay_window.hpp"
#include "net/swim/suspicion.hpp"
#include "net/swim/swim_config.hpp"

namespace idunno::swim {
namespace {

using namespace std::chrono_literals;

MemberId member(int i) {
  return MemberId{"node" + std::to_string(i), {"127.0.0.1", static_cast<std::uint16_t>(7000 + i)}, 1000u + i};
}

TEST(Suspicion, TimeoutShrinksFromMaxToMinWithConfirmations) {
  const core::Duration min = 500ms, max = 2s;
  EXPECT_EQ(Suspicion::timeout(0, 3, min, max), max);
  EXPECT_LT(Suspicion::timeout(1, 3, min, max), max);
  EXPECT_LT(Suspicion::timeout(2, 3, min, max), Suspicion::timeout(1, 3, min, max));
  EXPECT_EQ(Suspicion::timeout(3, 3, min, max), min);
  EXPECT_EQ(Suspicion::timeout(0, 0, min, max), min);  // nobody can confirm
}

TEST(Suspicion, OnlyDistinctSourcesConfirm) {
  const core::TimePoint t0{};
  Suspicion s(1, 3, 500ms, 2s, t0);
  EXPECT_EQ(s.deadline(), t0 + 2s);
  EXPECT_FALSE(s.confirm(1));  // the first accuser again
  EXPECT_TRUE(s.confirm(2));
  EXPECT_FALSE(s.confirm(2));
  EXPECT_TRUE(s.confirm(3));
  EXPECT_TRUE(s.confirm(4));
  EXPECT_EQ(s.deadline(), t0 + 500ms);
  EXPECT_FALSE(s.confirm(5));  // beyond the expected count nothing changes
}

TEST(SwimConfig, TimeoutsScaleWithGroupSize) {
  SwimConfig c;
  EXPECT_EQ(c.suspicion_min(10), 500ms);
  EXPECT_EQ(c.suspicion_max(10), 2s);
  EXPECT_EQ(c.suspicion_min(100), 1s);
  EXPECT_EQ(c.retransmit_limit(10), 8);
  EXPECT_EQ(c.retransmit_limit(100), 12);
  EXPECT_EQ(c.push_pull_scaled(10), c.push_pull_interval);
  EXPECT_GT(c.push_pull_scaled(1000), c.push_pull_interval * 4);
}

TEST(BroadcastQueue, NewerUpdateReplacesOlderAndLimitDropsIt) {
  BroadcastQueue q;
  q.enqueue(member(1), "old-update");
  q.enqueue(member(1), "new-update");
  EXPECT_EQ(q.size(), 1u);
  for (int i = 0; i < 3; ++i) {
    std::string out;
    q.fill(out, 1000, 3);
    EXPECT_EQ(out, "new-update");
  }
  EXPECT_TRUE(q.empty());
}

TEST(BroadcastQueue, FewestTransmitsFirstAndBudgetRespected) {
  BroadcastQueue q;
  q.enqueue(member(1), std::string(20, 'a'));
  std::string first;
  q.fill(first, 1000, 10);
  q.enqueue(member(2), std::string(20, 'b'));
  std::string out;
  q.fill(out, 30, 10);  // room for one: the one sent fewer times
  EXPECT_EQ(out, std::string(20, 'b'));
  std::string peeked;
  q.peek(peeked, 1000);
  EXPECT_EQ(peeked.size(), 40u);
}

TEST(MemberTable, RoundRobinProbesEveryMemberOncePerRound) {
  MemberTable t;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10; ++i) t.insert(Member{member(i), MemberState::alive, 0, {}}, rng);
  for (int round = 0; round < 3; ++round) {
    std::set<MemberId> seen;
    for (int k = 0; k < 9; ++k) {
      auto id = t.next_probe_target(member(0), rng);
      ASSERT_TRUE(id);
      EXPECT_NE(*id, member(0));
      seen.insert(*id);
    }
    EXPECT_EQ(seen.size(), 9u);
  }
}

TEST(MemberTable, DeadMembersAreNotProbedAndAreReaped) {
  MemberTable t;
  std::mt19937_64 rng(5);
  t.insert(Member{member(0), MemberState::alive, 0, {}}, rng);
  Member& m = t.insert(Member{member(1), MemberState::alive, 0, {}}, rng);
  t.set_state(m, MemberState::dead, core::TimePoint{} + 1s);
  EXPECT_EQ(t.active_count(), 1u);
  EXPECT_FALSE(t.next_probe_target(member(0), rng));
  EXPECT_EQ(t.reap(core::TimePoint{} + 2s, 5s), 0u);
  EXPECT_EQ(t.reap(core::TimePoint{} + 10s, 5s), 1u);
  EXPECT_EQ(t.find(member(1)), nullptr);
  EXPECT_EQ(t.find_by_tag(member(1).tag()), nullptr);
}

TEST(ReplayWindow, AcceptsEachCounterOnceWithinTheWindow) {
  ReplayWindow w(1'000'000);
  const std::uint64_t now = 5'000'000;
  EXPECT_TRUE(w.accept(1, now, now));
  EXPECT_FALSE(w.accept(1, now, now));
  EXPECT_TRUE(w.accept(1, now - 10, now));  // reordered, not seen
  EXPECT_FALSE(w.accept(1, now - 10, now));
  EXPECT_TRUE(w.accept(1, now + 100, now));
  EXPECT_FALSE(w.accept(1, now - 100, now));     // behind the 64-counter window
  EXPECT_FALSE(w.accept(2, now - 2'000'000, now));  // too old
  EXPECT_TRUE(w.accept(2, now - 1, now));          // another sender
}

TEST(ReplayWindow, MemoryIsBounded) {
  ReplayWindow w(1'000'000, 8);
  for (std::uint32_t s = 0; s < 100; ++s) EXPECT_TRUE(w.accept(s, 5'000'000, 5'000'000));
  EXPECT_LE(w.senders(), 8u);
}

TEST(Envelope, PlainRoundTrip) {
  Envelope e("");
  const std::string packet = e.seal(42, 0, "body");
  EXPECT_EQ(packet.size(), 4 + plain_overhead);
  auto opened = e.open(as_bytes(packet));
  ASSERT_TRUE(std::holds_alternative<OpenedEnvelope>(opened));
  EXPECT_EQ(std::get<OpenedEnvelope>(opened).sender_tag, 42u);
}

TEST(Envelope, AuthenticatedRejectsTamperingAndOtherClusters) {
  Envelope ours("s3cret"), theirs("other"), plain("");
  const std::string packet = ours.seal(7, 123456, "membership");
  auto opened = ours.open(as_bytes(packet));
  ASSERT_TRUE(std::holds_alternative<OpenedEnvelope>(opened));
  EXPECT_EQ(std::get<OpenedEnvelope>(opened).counter, 123456u);
  for (std::size_t i = 0; i < packet.size(); ++i) {
    std::string bad = packet;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = ours.open(as_bytes(bad));
    ASSERT_TRUE(std::holds_alternative<DropReason>(r)) << "flip at " << i;
  }
  EXPECT_EQ(std::get<DropReason>(theirs.open(as_bytes(packet))), DropReason::bad_mac);
  EXPECT_EQ(std::get<DropReason>(plain.open(as_bytes(packet))), DropReason::unexpected_auth);
  EXPECT_EQ(std::get<DropReason>(ours.open(as_bytes(plain.seal(7, 0, "x")))), DropReason::unauthenticated);
  EXPECT_EQ(std::get<DropReason>(ours.open(as_bytes(packet.substr(0, 10)))), DropReason::truncated);
  EXPECT_EQ(std::get<DropReason>(ours.open(as_bytes("GET / HTTP/1.1"))), DropReason::bad_magic);
}

}  // namespace
}  // namespace idunno::swim
