// The leader's choice of the next membership change.

#include "core/raft/membership_policy.hpp"

#include <gtest/gtest.h>

namespace idunno::raft {
namespace {

using Kind = MembershipChange::Kind;

Configuration config(std::initializer_list<const char*> voters, std::initializer_list<const char*> learners = {}) {
  Configuration c;
  for (auto v : voters) c.voters.emplace(v, std::string("addr-") + v);
  for (auto l : learners) c.learners.emplace(l, std::string("addr-") + l);
  return c;
}

LiveMembers live(std::initializer_list<const char*> names) {
  LiveMembers out;
  for (auto n : names) out.emplace(n, std::string("addr-") + n);
  return out;
}

auto always = [](const NodeName&) { return true; };
auto never = [](const NodeName&) { return false; };

TEST(MembershipPolicy, RemovesADeadVoterFirstButNeverTheLeader) {
  auto change = next_membership_change(config({"a", "b", "c"}, {"d"}), live({"a", "b", "d", "e"}), "a", 3, always);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->kind, Kind::remove);
  EXPECT_EQ(change->node, "c");
  // The leader itself is live even when the list omits it.
  EXPECT_FALSE(next_membership_change(config({"a"}), live({}), "a", 1, always));
}

TEST(MembershipPolicy, PromotesOnlyCaughtUpLearners) {
  auto c = config({"a", "b"}, {"c"});
  auto promote = next_membership_change(c, live({"a", "b", "c"}), "a", 3, always);
  ASSERT_TRUE(promote);
  EXPECT_EQ(promote->kind, Kind::promote);
  EXPECT_EQ(promote->node, "c");
  EXPECT_FALSE(next_membership_change(c, live({"a", "b", "c"}), "a", 3, never));
}

TEST(MembershipPolicy, AddsLiveNodesAsLearnersUpToTheTarget) {
  auto change = next_membership_change(config({"a"}), live({"a", "b", "c"}), "a", 3, never);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->kind, Kind::add_learner);
  EXPECT_EQ(change->node, "b");
  EXPECT_EQ(change->address, "addr-b");
  auto next = apply_membership_change(config({"a"}), *change);
  EXPECT_TRUE(next.is_learner("b"));
  // At the target, spare nodes stay workers.
  EXPECT_FALSE(next_membership_change(config({"a", "b", "c"}), live({"a", "b", "c", "d"}), "a", 3, always));
}

TEST(MembershipPolicy, ShrinksAVoterSetAboveTheTarget) {
  auto change = next_membership_change(config({"a", "b", "c", "d"}), live({"a", "b", "c", "d"}), "d", 3, always);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->kind, Kind::remove);
  EXPECT_EQ(change->node, "c");
}

TEST(MembershipPolicy, ApplyingAChangeMovesMembersBetweenSets) {
  auto c = apply_membership_change(config({"a"}, {"b"}), MembershipChange{Kind::promote, "b", {}});
  EXPECT_TRUE(c.is_voter("b"));
  EXPECT_FALSE(c.is_learner("b"));
  c = apply_membership_change(c, MembershipChange{Kind::remove, "a", {}});
  EXPECT_FALSE(c.is_member("a"));
  EXPECT_EQ(c.quorum(), 1u);
}

}  // namespace
}  // namespace idunno::raft
