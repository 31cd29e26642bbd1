// The scheduler core: statistics over all of a job's queries against a
// brute-force computation, the sliding rate window, and shard plans that
// cover every query once in whole batches.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "ml/jobs/job_stats.hpp"
#include "ml/jobs/shard_planner.hpp"

namespace idunno::ml::jobs {
namespace {

using namespace std::chrono_literals;

// numpy.percentile(values, 100 * p) with the default linear method.
double brute_percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double h = static_cast<double>(values.size() - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

TEST(JobStats, ProcessingTimesAreOverEveryQuery) {
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int> batch(1, 64);
  std::uniform_int_distribution<int> micros(500, 90'000);
  JobStats stats;
  std::vector<double> every_query_ms;
  core::TimePoint t{};
  for (int i = 0; i < 400; ++i) {
    const int queries = batch(rng);
    const auto took = std::chrono::microseconds(micros(rng));
    t += 5ms;
    stats.add_batch(t, static_cast<std::uint64_t>(queries), took);
    for (int q = 0; q < queries; ++q) every_query_ms.push_back(std::chrono::duration<double, std::milli>(took).count());
  }
  const auto s = stats.processing();
  ASSERT_EQ(s.count, every_query_ms.size());
  const double n = static_cast<double>(every_query_ms.size());
  const double mean = std::accumulate(every_query_ms.begin(), every_query_ms.end(), 0.0) / n;
  double squares = 0;
  for (double v : every_query_ms) squares += (v - mean) * (v - mean);
  EXPECT_NEAR(s.avg_ms, mean, 1e-9);
  EXPECT_NEAR(s.std_ms, std::sqrt(squares / n), 1e-6);
  EXPECT_NEAR(s.p50_ms, brute_percentile(every_query_ms, 0.50), 1e-9);
  EXPECT_NEAR(s.p90_ms, brute_percentile(every_query_ms, 0.90), 1e-9);
  EXPECT_NEAR(s.p95_ms, brute_percentile(every_query_ms, 0.95), 1e-9);
  EXPECT_NEAR(s.p99_ms, brute_percentile(every_query_ms, 0.99), 1e-9);
  EXPECT_NEAR(stats.percentile_ms(0.0), *std::min_element(every_query_ms.begin(), every_query_ms.end()), 1e-9);
  EXPECT_NEAR(stats.percentile_ms(1.0), *std::max_element(every_query_ms.begin(), every_query_ms.end()), 1e-9);
}

TEST(JobStats, SmallCasesByHand) {
  JobStats stats;
  EXPECT_EQ(stats.processing().count, 0U);
  EXPECT_EQ(stats.processing().p99_ms, 0.0);
  // Two queries of 10 ms, two of 20 ms: the median is between them.
  stats.add_batch(core::TimePoint{} + 1s, 2, 10ms);
  stats.add_batch(core::TimePoint{} + 2s, 2, 20ms);
  const auto s = stats.processing();
  EXPECT_EQ(s.count, 4U);
  EXPECT_DOUBLE_EQ(s.avg_ms, 15.0);
  EXPECT_DOUBLE_EQ(s.std_ms, 5.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 15.0);
  EXPECT_DOUBLE_EQ(s.p90_ms, 20.0);  // h = 2.7: between the two 20s
}

TEST(JobStats, RateCountsTheLastTenSecondsOnly) {
  JobStats stats;
  const core::TimePoint t0{};
  for (int s = 0; s < 30; ++s) stats.add_batch(t0 + std::chrono::seconds(s), 8, 1ms);
  // At 29 s the window (19 s, 29 s] holds the batches of 20..29 s.
  EXPECT_EQ(stats.queries_in_window(t0 + 29s), 80U);
  EXPECT_DOUBLE_EQ(stats.rate(t0 + 29s), 8.0);
  // A late completion stamped inside the window counts; one stamped in
  // the future does not yet.
  stats.add_batch(t0 + 25s, 4, 1ms);
  stats.add_batch(t0 + 31s, 16, 1ms);
  EXPECT_EQ(stats.queries_in_window(t0 + 29s), 84U);
  EXPECT_EQ(stats.queries_in_window(t0 + 31s), 8U * 8 + 4 + 16);  // 22..29 s, the late one, 31 s
  EXPECT_EQ(stats.queries_in_window(t0 + 60s), 0U);
  EXPECT_EQ(stats.done(), 30U * 8 + 4 + 16);
}

TEST(ShardPlanner, WholeBatchesAndAShortLastOne) {
  const auto shards = plan_shards(100, 8, 3);
  ASSERT_EQ(shards.size(), 5U);
  EXPECT_EQ(shards[0], (Shard{0, 0, 24, 8}));
  EXPECT_EQ(shards[4], (Shard{4, 96, 100, 8}));
  std::size_t next = 0;
  std::size_t short_batches = 0;
  for (const auto& shard : shards) {
    EXPECT_EQ(shard.begin, next);
    for (const auto& b : shard.batches()) {
      EXPECT_EQ(b.begin, next);
      next = b.end;
      if (b.size() != 8) ++short_batches;
    }
    EXPECT_LE(shard.batch_count(), 3U);
  }
  EXPECT_EQ(next, 100U) << "every query exactly once";
  EXPECT_EQ(short_batches, 1U);
  EXPECT_EQ(shards.back().batches().back(), (BatchRange{96, 100}));
  EXPECT_TRUE(plan_shards(0, 8, 3).empty());
  EXPECT_EQ(plan_shards(16, 8, 3).size(), 1U);
}

TEST(ShardPlanner, ReplansTheRestAfterABatchSizeChange) {
  // 40 queries done in shards of 2 x 10; the rest with batches of 16.
  const auto rest = plan_shards(40, 100, 16, 2, 2);
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0], (Shard{2, 40, 72, 16}));
  EXPECT_EQ(rest[1], (Shard{3, 72, 100, 16}));
  EXPECT_EQ(rest[1].batches(), (std::vector<BatchRange>{{72, 88}, {88, 100}}));
  EXPECT_THROW(plan_shards(10, 0, 1), std::invalid_argument);
  EXPECT_THROW(plan_shards(10, 4, 0), std::invalid_argument);
  EXPECT_THROW(plan_shards(5, 4, 4, 1), std::invalid_argument);
}

TEST(ShardPlanner, ShardLengthFollowsTheJobsCost) {
  EXPECT_EQ(batches_per_shard_for(0ms, 500ms), 1U);  // unknown cost
  EXPECT_EQ(batches_per_shard_for(20ms, 500ms), 25U);
  EXPECT_EQ(batches_per_shard_for(400ms, 500ms), 1U);
  EXPECT_EQ(batches_per_shard_for(2s, 500ms), 1U);   // a slow model: one batch
  EXPECT_EQ(batches_per_shard_for(1ms, 500ms), 64U); // capped
}

}  // namespace
}  // namespace idunno::ml::jobs
