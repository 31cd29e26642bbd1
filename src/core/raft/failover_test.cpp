// Failover time of the protocol itself: with seven voters on a network with
// loopback-like delays, the leader crashes at a random moment; how long until
// a new leader commits an entry of its own term? Simulated time, so the
// figures are exact for each seed and the test is deterministic.

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "core/raft/sim/sim_cluster.hpp"

namespace idunno::raft::sim {
namespace {

// Milliseconds from the crash to the first commit of a later term.
double failover_ms(std::uint64_t seed) {
  ClusterOptions options;
  options.network.min_delay = 50us;
  options.network.max_delay = 300us;
  // fsync of a vote or an entry, modelled as part of the flush delay.
  options.immediate_flush = 0.0;
  options.max_flush_delay = 2ms;
  Cluster cluster(seed, options);
  std::vector<NodeName> names;
  for (int i = 1; i <= 7; ++i) {
    names.push_back("n" + std::to_string(i));
    cluster.add_node(names.back());
  }
  cluster.bootstrap(names);
  if (!cluster.converge(5s)) throw std::runtime_error("no initial leader");
  // Crash at a random point of the heartbeat cycle, under a write load.
  const auto offset = std::uniform_int_distribution<int>(0, 999)(cluster.rng());
  for (int i = 0; i < 20; ++i) {
    cluster.propose_write();
    cluster.run_for(5ms);
  }
  cluster.run_for(std::chrono::microseconds(offset * 40));
  const auto leader = *cluster.leader();
  const Term old_term = cluster.raft(leader).term();
  cluster.crash(leader);
  const auto crashed_at = cluster.now();
  auto committed = [&] {
    return !cluster.first_commit().empty() && cluster.first_commit().rbegin()->first > old_term;
  };
  if (!cluster.run_until(committed, 5s)) throw std::runtime_error("no new leader within 5 s");
  return std::chrono::duration<double, std::milli>(cluster.first_commit().rbegin()->second - crashed_at).count();
}

TEST(RaftFailover, SevenVotersElectAndCommitWithinTarget) {
  std::vector<double> times;
  for (std::uint64_t seed = 1; seed <= 500; ++seed) times.push_back(failover_ms(seed));
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double p99 = times[times.size() * 99 / 100];
  const double max = times.back();
  std::cout << "failover_sim_median_ms=" << median << " p99_ms=" << p99 << " max_ms=" << max << "\n";
  EXPECT_LE(median, 300.0);
  EXPECT_LE(max, 500.0);
}

}  // namespace
}  // namespace idunno::raft::sim
