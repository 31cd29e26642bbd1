// Placement and repair planning: deterministic choices that do not depend
// on the order nodes are listed in, and repairs that restore every committed
// version to its target from a live copy.

#include "fs/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "fs/namespace_test_support.hpp"

namespace idunno::fs {
namespace {

using test::put;
using test::run;

std::vector<std::string> nodes(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("node" + std::to_string(i));
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

TEST(Placement, ChoiceIsDeterministicDistinctAndIndependentOfInputOrder) {
  auto live = nodes(10);
  const auto chosen = choose_replicas("data/file", 3, live, 4);
  ASSERT_EQ(chosen.size(), 4u);
  EXPECT_EQ(as_set(chosen).size(), 4u);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(live.begin(), live.end(), rng);
    auto doubled = live;
    doubled.insert(doubled.end(), live.begin(), live.end());  // duplicates do not matter either
    EXPECT_EQ(choose_replicas("data/file", 3, live, 4), chosen);
    EXPECT_EQ(choose_replicas("data/file", 3, doubled, 4), chosen);
  }
  EXPECT_EQ(choose_replicas("data/file", 3, as_set(live), 4), chosen);
  // The ranking is by score, best first.
  for (std::size_t i = 1; i < chosen.size(); ++i) {
    EXPECT_GE(placement_score("data/file", 3, chosen[i - 1]), placement_score("data/file", 3, chosen[i]));
  }
}

TEST(Placement, DifferentVersionsAndNamesSpreadOverTheNodes) {
  const auto live = nodes(10);
  std::map<std::string, int> load;
  for (std::uint64_t v = 1; v <= 200; ++v) {
    for (const auto& node : choose_replicas("f" + std::to_string(v % 7), v, live, 4)) ++load[node];
  }
  ASSERT_EQ(load.size(), 10u);  // every node gets copies
  for (const auto& [node, copies] : load) {
    EXPECT_GT(copies, 40) << node;  // 80 on average
    EXPECT_LT(copies, 120) << node;
  }
}

TEST(Placement, ExcludedNodesAreSkippedAndTheRestKeepTheirRank) {
  const auto live = nodes(8);
  const auto all = choose_replicas("f", 1, live, 8);
  const std::set<std::string> exclude = {all[0], all[2]};
  const auto chosen = choose_replicas("f", 1, live, 3, exclude);
  EXPECT_EQ(chosen, (std::vector<std::string>{all[1], all[3], all[4]}));
}

TEST(Placement, FewerEligibleNodesThanAskedGivesThemAll) {
  EXPECT_EQ(choose_replicas("f", 1, nodes(2), 4).size(), 2u);
  EXPECT_TRUE(choose_replicas("f", 1, std::vector<std::string>{}, 4).empty());
  EXPECT_EQ(choose_replicas("f", 1, nodes(3), 4, {"node1", "node2", "node3"}).size(), 0u);
  EXPECT_TRUE(choose_replicas("f", 1, nodes(5), 0).empty());
}

TEST(Placement, ANodeLeavingMovesOnlyTheCopiesItHeld) {
  auto live = nodes(10);
  const auto before = choose_replicas("f", 9, live, 4);
  const auto& gone = before[1];
  std::erase(live, gone);
  const auto after = choose_replicas("f", 9, live, 4);
  std::vector<std::string> kept = before;
  std::erase(kept, gone);
  EXPECT_EQ(std::vector<std::string>(after.begin(), after.begin() + 3), kept);
}

TEST(RepairPlanning, AfterNodeDeathsEveryVersionGetsCopiesFromALiveReplica) {
  Namespace ns;
  const auto all = nodes(7);
  for (int i = 0; i < 6; ++i) {
    const auto name = "file" + std::to_string(i);
    put(ns, name, choose_replicas(name, ns.next_version(name), all, 4));
  }
  std::set<std::string> live = as_set(all);
  live.erase("node2");
  live.erase("node5");
  const auto tasks = plan_repairs(ns, live, 4, 100);
  // Every task copies from a live replica to a live non-replica.
  std::map<std::pair<std::string, std::uint64_t>, std::set<std::string>> added;
  for (const auto& task : tasks) {
    const auto entry = ns.version(task.name, task.version);
    ASSERT_TRUE(entry);
    const auto& replicas = entry->replicas;
    EXPECT_TRUE(live.contains(task.source));
    EXPECT_TRUE(std::find(replicas.begin(), replicas.end(), task.source) != replicas.end());
    EXPECT_TRUE(live.contains(task.target));
    EXPECT_TRUE(std::find(replicas.begin(), replicas.end(), task.target) == replicas.end());
    const auto key = std::make_pair(task.name, task.version);
    EXPECT_TRUE(added[key].insert(task.target).second) << "a target twice";
  }
  // Applied, they bring every version to 4 live copies; nothing is left to plan.
  for (const auto& task : tasks) ASSERT_TRUE(run(ns, sdfs_add_replica(task.name, task.version, task.target)).ok());
  ns.for_each_version([&](const std::string& name, const VersionEntry& entry) {
    const auto alive = std::count_if(entry.replicas.begin(), entry.replicas.end(),
                                     [&](const std::string& n) { return live.contains(n); });
    EXPECT_EQ(alive, 4) << name;
  });
  EXPECT_TRUE(plan_repairs(ns, live, 4, 100).empty());
  // Now the dead nodes' entries may go, and only theirs.
  const auto dead = dead_replicas(ns, live, 4);
  EXPECT_FALSE(dead.empty());
  for (const auto& d : dead) EXPECT_TRUE(d.node == "node2" || d.node == "node5") << d.node;
  for (const auto& d : dead) ASSERT_TRUE(run(ns, sdfs_remove_replica(d.name, d.version, d.node)).ok());
  EXPECT_TRUE(dead_replicas(ns, live, 4).empty());
  EXPECT_TRUE(plan_repairs(ns, live, 4, 100).empty());
}

TEST(RepairPlanning, DeadReplicasStayListedUntilRepairReplacesThem) {
  Namespace ns;
  put(ns, "f", {"a", "b", "c", "d"});
  const std::set<std::string> live = {"b", "c", "d", "e"};
  EXPECT_TRUE(dead_replicas(ns, live, 4).empty());  // only 3 live: "a" may come back
  run(ns, sdfs_add_replica("f", 1, "e"));
  EXPECT_EQ(dead_replicas(ns, live, 4), (std::vector<DeadReplica>{{"f", 1, "a"}}));
}

TEST(RepairPlanning, TheMostEndangeredVersionsComeFirstAndTheBoundHolds) {
  Namespace ns;
  put(ns, "safe", {"a", "b", "c"});
  put(ns, "risky", {"a", "x", "y", "z"});
  const std::set<std::string> live = {"a", "b", "c", "d", "e"};
  const auto tasks = plan_repairs(ns, live, 4, 100);
  ASSERT_EQ(tasks.size(), 4u);  // risky needs 3, safe needs 1
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tasks[i].name, "risky");
  EXPECT_EQ(tasks[0].source, "a");
  EXPECT_EQ(tasks[3].name, "safe");
  const auto bounded = plan_repairs(ns, live, 4, 2);
  EXPECT_EQ(bounded, std::vector<RepairTask>(tasks.begin(), tasks.begin() + 2));
  EXPECT_TRUE(plan_repairs(ns, live, 4, 0).empty());
}

TEST(RepairPlanning, PendingUnrepairableAndHealthyVersionsNeedNoTask) {
  Namespace ns;
  run(ns, sdfs_begin("pending", 1, 1, {"a"}));
  put(ns, "lost", {"x", "y"});
  put(ns, "healthy", {"a", "b"});
  const std::set<std::string> live = {"a", "b", "c"};
  EXPECT_TRUE(plan_repairs(ns, live, 2, 10).empty());
  const auto unavailable = unavailable_versions(ns, live);
  ASSERT_EQ(unavailable.size(), 1u);
  EXPECT_EQ(unavailable[0].name, "lost");
  // With fewer live non-replicas than needed, as many as there are.
  const auto tasks = plan_repairs(ns, live, 5, 10);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "healthy");
  EXPECT_EQ(tasks[0].target, "c");
}

TEST(RepairPlanning, ThePlanDoesNotDependOnTheOrderStateWasBuilt) {
  Namespace first;
  Namespace second;
  put(first, "p", {"a", "b"});
  put(first, "q", {"c", "d"});
  put(second, "q", {"d", "c"});
  put(second, "p", {"b", "a"});
  const std::set<std::string> live = {"a", "c", "e", "f", "g"};
  EXPECT_EQ(plan_repairs(first, live, 4, 10), plan_repairs(second, live, 4, 10));
  EXPECT_EQ(plan_repairs(first, live, 4, 10).size(), 6u);
}

}  // namespace
}  // namespace idunno::fs
