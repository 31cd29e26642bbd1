// Re-replication: the planner's decisions (bounded parallelism, retries,
// forgetting dead copies, abandoned puts) and the manager's loop with fake
// copy and drop ports, against a real namespace.

#include "fs/replica_manager.hpp"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/coro_test.hpp"
#include "fs/namespace_test_support.hpp"

namespace idunno::fs {
namespace {

using namespace std::chrono_literals;
using test::put;
using Clock = RepairPlanner::Clock;

std::set<std::string> live_of(const VersionEntry& entry, const std::set<std::string>& live) {
  std::set<std::string> out;
  for (const auto& node : entry.replicas) {
    if (live.contains(node)) out.insert(node);
  }
  return out;
}

TEST(RepairPlanner, StartsTheMissingCopiesOnceEachAndNeverMoreThanMaxParallel) {
  Namespace ns;
  for (int i = 0; i < 10; ++i) put(ns, "f" + std::to_string(i), {"a", "b", "c", "d"});
  ReplicaPolicy policy;
  policy.max_parallel = 3;
  RepairPlanner planner(policy);
  const std::set<std::string> live{"a", "b", "c", "e", "f", "g"};  // d died: one copy each
  const auto now = Clock::now();

  const auto first = planner.plan(ns, live, now);
  ASSERT_EQ(first.start.size(), 3u);
  EXPECT_EQ(planner.in_flight(), 3u);
  for (const auto& task : first.start) {
    EXPECT_TRUE(live.contains(task.source));
    EXPECT_NE(task.source, "d");
    EXPECT_TRUE(task.target == "e" || task.target == "f" || task.target == "g") << task.target;
  }
  // Nothing new while those run: the slots are full.
  EXPECT_TRUE(planner.plan(ns, live, now).start.empty());
  // One finishes: exactly one new copy, not one of those still running.
  planner.finished(first.start[0], true, now);
  test::run(ns, sdfs_add_replica(first.start[0].name, first.start[0].version, first.start[0].target));
  const auto second = planner.plan(ns, live, now);
  ASSERT_EQ(second.start.size(), 1u);
  for (const auto& running : first.start) EXPECT_NE(second.start[0], running);
  // d stays listed until its version has 4 live copies without it.
  ASSERT_EQ(second.forget.size(), 1u);
  EXPECT_EQ(second.forget[0].name, first.start[0].name);
  EXPECT_EQ(second.forget[0].node, "d");
}

TEST(RepairPlanner, NeverStartsASecondCopyToATargetWhoseCopyRunsFromAnotherSource) {
  Namespace ns;
  put(ns, "f", {"a", "b", "c", "d"});
  RepairPlanner planner(ReplicaPolicy{});
  const std::set<std::string> live{"a", "e", "f", "g"};  // b, c, d died: three copies missing
  const auto now = Clock::now();
  const auto first = planner.plan(ns, live, now);
  ASSERT_EQ(first.start.size(), 3u);
  // One copy lands: the new replica is now a source the plan may pick for
  // the targets still being copied to.
  planner.finished(first.start[0], true, now);
  test::run(ns, sdfs_add_replica(first.start[0].name, first.start[0].version, first.start[0].target));
  EXPECT_TRUE(planner.plan(ns, live, now).start.empty());
}

TEST(RepairPlanner, HoldsAFailedCopyBackForRetryAfter) {
  Namespace ns;
  put(ns, "f", {"a", "b", "c", "d"});
  ReplicaPolicy policy;
  policy.retry_after = 2s;
  RepairPlanner planner(policy);
  const std::set<std::string> live{"a", "b", "c", "e"};
  const auto now = Clock::now();
  const auto first = planner.plan(ns, live, now);
  ASSERT_EQ(first.start.size(), 1u);
  planner.finished(first.start[0], false, now);
  EXPECT_TRUE(planner.plan(ns, live, now + 1999ms).start.empty());
  const auto retried = planner.plan(ns, live, now + 2s);
  ASSERT_EQ(retried.start.size(), 1u);
  EXPECT_EQ(retried.start[0], first.start[0]);
}

TEST(RepairPlanner, RetriesAFailedCopyAtOnceFromAnotherSourceWhenItsSourceDied) {
  Namespace ns;
  put(ns, "f", {"a", "b", "c", "d"});
  RepairPlanner planner(ReplicaPolicy{});
  const auto now = Clock::now();
  const auto first = planner.plan(ns, {"a", "b", "c", "e", "f"}, now);
  ASSERT_EQ(first.start.size(), 1u);
  planner.finished(first.start[0], false, now);  // its source was already dead
  std::set<std::string> live{"a", "b", "c", "e", "f"};
  live.erase(first.start[0].source);
  const auto second = planner.plan(ns, live, now);
  ASSERT_FALSE(second.start.empty());
  EXPECT_NE(second.start[0].source, first.start[0].source);
}

TEST(RepairPlanner, SendsACopyWhoseTargetFailedToAnotherNodeAtOnce) {
  // A full disk on the best target: the repair must not wait for it.
  Namespace ns;
  put(ns, "f", {"a", "b", "c", "d"});
  ReplicaPolicy policy;
  policy.retry_after = 2s;
  RepairPlanner planner(policy);
  const std::set<std::string> live{"a", "b", "c", "e", "g"};
  const auto now = Clock::now();
  const auto first = planner.plan(ns, live, now);
  ASSERT_EQ(first.start.size(), 1u);
  planner.finished(first.start[0], false, now);
  const auto second = planner.plan(ns, live, now + 1ms);
  ASSERT_EQ(second.start.size(), 1u);
  EXPECT_NE(second.start[0].target, first.start[0].target);
  // Once the hold expires the failed target is eligible again, and the
  // plan without failures is the plan of a fresh coordinator.
  planner.finished(second.start[0], false, now + 1ms);
  const auto third = planner.plan(ns, live, now + 3s);
  ASSERT_EQ(third.start.size(), 1u);
  EXPECT_EQ(third.start[0].target, first.start[0].target);
}

TEST(RepairPlanner, AbandonsAVersionPendingForLongerThanPendingTimeout) {
  Namespace ns;
  const auto begun = test::run(ns, sdfs_begin("f", 10, 1, {"a", "b", "c", "d"}));
  ASSERT_TRUE(begun.ok());
  ReplicaPolicy policy;
  policy.pending_timeout = 60s;
  RepairPlanner planner(policy);
  const std::set<std::string> live{"a", "b", "c", "d"};
  const auto t0 = Clock::now();
  EXPECT_TRUE(planner.plan(ns, live, t0).abandon.empty());
  EXPECT_TRUE(planner.plan(ns, live, t0 + 59s).abandon.empty());
  const auto late = planner.plan(ns, live, t0 + 60s);
  ASSERT_EQ(late.abandon.size(), 1u);
  EXPECT_EQ(late.abandon[0].name, "f");
  EXPECT_EQ(late.abandon[0].entry.version, begun.version);
  // Leadership changes start the clock again.
  planner.reset();
  EXPECT_TRUE(planner.plan(ns, live, t0 + 61s).abandon.empty());
}

// The manager against a real namespace: submit applies at once (as the
// leader's log would) and reports the command to the manager.
class ReplicaManagerTest : public testing::CoroutineTest {
 protected:
  ReplicaManagerTest() {
    policy_.tick = 20ms;
    policy_.retry_after = 50ms;
    manager_ = std::make_unique<ReplicaManager>(executor(), ns_, policy_, ports());
  }

  void TearDown() override { run(manager_->stop()); }

  ReplicaPorts ports() {
    ReplicaPorts p;
    p.submit = [this](std::string command) { return submit(std::move(command)); };
    p.copy = [this](RepairTask task, VersionEntry entry) { return copy(std::move(task), std::move(entry)); };
    p.drop = [this](std::string node, std::string name, std::vector<std::uint64_t> versions) {
      return drop(std::move(node), std::move(name), std::move(versions));
    };
    return p;
  }

  boost::asio::awaitable<std::optional<SdfsResult>> submit(std::string command) {
    const auto bytes = ns_.apply(++index_, command);
    manager_->applied(command, bytes);
    co_return decode_sdfs_result(bytes);
  }

  boost::asio::awaitable<std::string> copy(RepairTask task, VersionEntry /*entry*/) {
    ++running_;
    max_running_ = std::max(max_running_, running_);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 5ms);
    co_await timer.async_wait(boost::asio::use_awaitable);
    --running_;
    copies_.push_back(task);
    if (failures_left_[task.target] > 0) {
      --failures_left_[task.target];
      co_return "disk full on " + task.target;
    }
    co_return "";
  }

  boost::asio::awaitable<void> drop(std::string node, std::string name, std::vector<std::uint64_t> versions) {
    for (const auto version : versions) drops_.insert({node, name, version});
    co_return;
  }

  bool fully_replicated(const std::set<std::string>& live) const {
    bool all = true;
    ns_.for_each_version([&](const std::string&, const VersionEntry& entry) {
      if (entry.committed() &&
          (live_of(entry, live).size() < policy_.replicas || entry.replicas.size() != policy_.replicas)) {
        all = false;
      }
    });
    return all;
  }

  Namespace ns_;
  raft::Index index_ = 0;
  ReplicaPolicy policy_;
  std::unique_ptr<ReplicaManager> manager_;
  int running_ = 0;
  int max_running_ = 0;
  std::vector<RepairTask> copies_;
  std::map<std::string, int> failures_left_;
  std::set<std::tuple<std::string, std::string, std::uint64_t>> drops_;
};

TEST_F(ReplicaManagerTest, AfterTwoDeathsEveryVersionIsBackOnFourLiveNodesAndTheDeadOnesAreForgotten) {
  for (int i = 0; i < 5; ++i) put(ns_, "f" + std::to_string(i), {"n1", "n2", "n3", "n4"});
  const std::set<std::string> live{"n1", "n2", "n5", "n6", "n7"};
  manager_->start();
  manager_->set_live(live);
  manager_->set_leading(true);
  ASSERT_TRUE(run_until([&] { return fully_replicated(live); }));
  EXPECT_EQ(manager_->stats().copies_ok, 10u);  // two per version
  EXPECT_EQ(manager_->stats().forgotten, 10u);
  EXPECT_LE(max_running_, static_cast<int>(policy_.max_parallel));
  for (const auto& task : copies_) {
    EXPECT_TRUE(task.source == "n1" || task.source == "n2") << task.source;
  }
}

TEST_F(ReplicaManagerTest, DoesNothingUntilItLeadsAndStopsWhenItNoLongerDoes) {
  put(ns_, "f", {"n1", "n2", "n3", "n4"});
  const std::set<std::string> live{"n1", "n2", "n3", "n5"};
  manager_->start();
  manager_->set_live(live);
  // Several ticks pass as a follower: no copy starts.
  run(testing::eventually([] { return false; }, 5 * policy_.tick));
  EXPECT_TRUE(copies_.empty());
  manager_->set_leading(true);
  ASSERT_TRUE(run_until([&] { return fully_replicated(live); }));
  EXPECT_EQ(copies_.size(), 1u);
}

TEST_F(ReplicaManagerTest, RetriesAFailedCopyAfterRetryAfter) {
  put(ns_, "f", {"n1", "n2", "n3", "n4"});
  const std::set<std::string> live{"n1", "n2", "n3", "n5"};
  failures_left_["n5"] = 2;
  manager_->start();
  manager_->set_live(live);
  manager_->set_leading(true);
  ASSERT_TRUE(run_until([&] { return fully_replicated(live); }));
  EXPECT_EQ(copies_.size(), 3u);
  EXPECT_EQ(manager_->stats().copies_failed, 2u);
  EXPECT_EQ(manager_->stats().copies_ok, 1u);
}

TEST_F(ReplicaManagerTest, DropsTheBlocksADeleteRemovedFromTheLiveHoldersOnly) {
  // Three replicas here, so that no copy of version 1 races the delete.
  policy_.replicas = 3;
  manager_ = std::make_unique<ReplicaManager>(executor(), ns_, policy_, ports());
  put(ns_, "f", {"n1", "n2", "n3", "n4"});
  put(ns_, "f", {"n1", "n2", "n3", "n5"});
  manager_->start();
  manager_->set_live({"n1", "n2", "n3", "n5"});  // n4 is down
  manager_->set_leading(true);
  const auto deleted = run(submit(sdfs_delete("f")));
  ASSERT_TRUE(deleted && deleted->ok());
  ASSERT_TRUE(run_until([&] { return drops_.size() == 7; })) << drops_.size();
  for (const auto& node : {"n1", "n2", "n3"}) {
    EXPECT_TRUE(drops_.contains({node, "f", 1}));
    EXPECT_TRUE(drops_.contains({node, "f", 2}));
  }
  EXPECT_TRUE(drops_.contains({"n5", "f", 2}));
  EXPECT_FALSE(drops_.contains({"n4", "f", 1}));  // n4 reconciles when it restarts
}

TEST_F(ReplicaManagerTest, TopsUpACommitOnFewerNodesThanReplicas) {
  manager_->start();
  manager_->set_live({"n1", "n2", "n3", "n4", "n5"});
  manager_->set_leading(true);
  const auto begun = run(submit(sdfs_begin("f", 10, 1, {"n1", "n2", "n3", "n4"})));
  ASSERT_TRUE(begun && begun->ok());
  // n4 did not store it: the put committed on the write quorum.
  const auto committed = run(submit(sdfs_commit("f", begun->version, {"n1", "n2", "n3"}, 5)));
  ASSERT_TRUE(committed && committed->ok());
  ASSERT_TRUE(run_until([&] { return fully_replicated({"n1", "n2", "n3", "n4", "n5"}); }));
  ASSERT_EQ(copies_.size(), 1u);
}

TEST_F(ReplicaManagerTest, AbortsAPutWhoseClientDiedAndDropsWhatItStored) {
  policy_.pending_timeout = 100ms;
  manager_ = std::make_unique<ReplicaManager>(executor(), ns_, policy_, ports());
  const auto begun = run(submit(sdfs_begin("f", 10, 1, {"n1", "n2", "n3", "n4"})));
  ASSERT_TRUE(begun && begun->ok());
  manager_->start();
  manager_->set_live({"n1", "n2", "n3", "n4"});
  manager_->set_leading(true);
  ASSERT_TRUE(run_until([&] { return ns_.pending().empty(); }));
  EXPECT_EQ(manager_->stats().abandoned, 1u);
  EXPECT_FALSE(ns_.version("f", begun->version).has_value());
  ASSERT_TRUE(run_until([&] { return drops_.size() == 4; }));
}

}  // namespace
}  // namespace idunno::fs
