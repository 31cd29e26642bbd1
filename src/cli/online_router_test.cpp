// Routing of online requests: every node ranks workers the same way for a
// model, load is spread over the first few, and failed workers go last.

#include "cli/online_router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace idunno::cli {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kWorkers{"node2", "node3", "node4", "node5", "node6"};

TEST(OnlineRouter, RankingIsAPermutationIndependentOfInputOrder) {
  auto reversed = kWorkers;
  std::reverse(reversed.begin(), reversed.end());
  const auto a = rank_workers("lenet", kWorkers);
  EXPECT_EQ(a, rank_workers("lenet", reversed));
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()), std::set<std::string>(kWorkers.begin(), kWorkers.end()));
  // Different models prefer different workers (over a few names at least).
  std::set<std::string> firsts;
  for (const char* m : {"lenet", "resnet-fmnist", "resnet18", "models/a", "models/b", "models/c"}) {
    firsts.insert(rank_workers(m, kWorkers).front());
  }
  EXPECT_GT(firsts.size(), 1u);
  // A worker leaving moves only what it held first.
  auto fewer = kWorkers;
  const auto gone = a.back();
  std::erase(fewer, gone);
  EXPECT_EQ(rank_workers("lenet", fewer).front(), a.front());
}

TEST(OnlineRouter, SpreadsOverTheFirstWorkersByLoad) {
  OnlineRouter router(2);
  const auto now = OnlineRouter::Clock::now();
  const auto ranked = rank_workers("lenet", kWorkers);
  EXPECT_EQ(router.choose("lenet", kWorkers, now).front(), ranked[0]);
  router.started(ranked[0]);
  EXPECT_EQ(router.choose("lenet", kWorkers, now).front(), ranked[1]);
  router.started(ranked[1]);
  EXPECT_EQ(router.choose("lenet", kWorkers, now).front(), ranked[0]);
  router.started(ranked[0]);
  router.started(ranked[0]);
  // Never beyond the spread, however loaded.
  EXPECT_EQ(router.choose("lenet", kWorkers, now).front(), ranked[1]);
  router.finished(ranked[0]);
  router.finished(ranked[0]);
  router.finished(ranked[0]);
  EXPECT_EQ(router.in_flight(ranked[0]), 0u);
}

TEST(OnlineRouter, FailedWorkersArePassedOverForAWhile) {
  OnlineRouter router(1, 2000ms);
  const auto now = OnlineRouter::Clock::now();
  const auto ranked = rank_workers("lenet", kWorkers);
  router.failed(ranked[0], now);
  const auto order = router.choose("lenet", kWorkers, now);
  EXPECT_EQ(order.front(), ranked[1]);
  EXPECT_EQ(order.back(), ranked[0]);
  EXPECT_EQ(router.choose("lenet", kWorkers, now + 3s).front(), ranked[0]);
  router.failed(ranked[0], now);
  router.succeeded(ranked[0]);
  EXPECT_EQ(router.choose("lenet", kWorkers, now).front(), ranked[0]);
  EXPECT_TRUE(router.choose("lenet", {}, now).empty());
}

}  // namespace
}  // namespace idunno::cli
