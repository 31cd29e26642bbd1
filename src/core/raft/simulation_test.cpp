// Deterministic simulation of Raft under faults: many seeded runs per
// scenario, invariants checked after every step.
//
// IDUNNO_RAFT_SEEDS=N runs N seeds per scenario instead of the default;
// IDUNNO_RAFT_SEED=S replays seed S only and prints its trace. A failure
// prints its seed and the command that replays it.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "core/raft/sim/scenario.hpp"

namespace idunno::raft::sim {
namespace {

std::optional<std::uint64_t> env_number(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::stoull(value);
}

NetworkFaults faults(double loss, double duplicate, core::Duration max_delay) {
  NetworkFaults f;
  f.loss = loss;
  f.duplicate = duplicate;
  f.max_delay = max_delay;
  return f;
}

void run_seeds(const Scenario& scenario, std::uint64_t default_seeds) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = std::string(test->test_suite_name()) + "." + test->name();
  const auto replay = env_number("IDUNNO_RAFT_SEED");
  const std::uint64_t first = replay.value_or(1);
  const std::uint64_t count = replay ? 1 : env_number("IDUNNO_RAFT_SEEDS").value_or(default_seeds);
  const auto started = std::chrono::steady_clock::now();
  RunResult total;
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    try {
      total.add(ScenarioRunner(scenario, seed).run());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "scenario " << scenario.name << " failed with seed " << seed << ": " << e.what()
                    << "replay: IDUNNO_RAFT_SEED=" << seed << " idunno_raft_tests --gtest_filter=" << filter;
      return;
    }
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "scenario=" << scenario.name << " seeds=" << count << " wall_s=" << seconds
            << " acknowledged_writes=" << total.acknowledged << " crashes=" << total.crashes;
  for (const auto& [kind, n] : total.events) std::cout << " " << to_string(kind) << "=" << n;
  std::cout << "\n";
}

TEST(RaftSimulation, SteadyClusterCommitsEveryWrite) {
  Scenario s;
  s.name = "steady";
  s.duration = 1s;
  s.transfers_per_s = 2;
  run_seeds(s, 200);
}

TEST(RaftSimulation, LossDelayAndDuplication) {
  Scenario s;
  s.name = "lossy";
  s.network = faults(0.15, 0.1, 30ms);
  run_seeds(s, 400);
}

TEST(RaftSimulation, PartitionsIncludingTheOldLeader) {
  Scenario s;
  s.name = "partitions";
  s.max_append_entries = 3;
  s.network = faults(0.02, 0.02, 5ms);
  s.partitions_per_s = 3;
  s.transfers_per_s = 1;
  run_seeds(s, 500);
}

TEST(RaftSimulation, CrashesLoseUnsyncedWrites) {
  Scenario s;
  s.name = "crashes";
  s.max_append_entries = 2;  // entries of older terms travel apart from the new leader's
  s.crashes_per_s = 6;
  s.max_down = 2;
  run_seeds(s, 500);
}

TEST(RaftSimulation, LeadersCrashInQuickSuccession) {
  // Short-lived leaders leave entries of many terms on few nodes: the ground
  // where counting replicas of an older term's entry would commit it unsafely.
  Scenario s;
  s.name = "leader_churn";
  s.nodes = 3;
  s.voters = 3;
  s.target_voters = 3;
  s.crashes_per_s = 12;
  s.leader_crash_share = 0.9;
  s.max_down = 1;
  s.max_append_entries = 1;
  s.write_interval = 2ms;
  s.network = faults(0.1, 0.0, 3ms);
  run_seeds(s, 1000);
}

TEST(RaftSimulation, ThreeOfSevenVotersCrashAtOnce) {
  Scenario s;
  s.name = "triple_crash";
  s.nodes = 7;
  s.voters = 7;
  s.target_voters = 7;
  s.triple_crash = true;
  run_seeds(s, 300);
}

TEST(RaftSimulation, MembershipGrowsAndReplacesDeadVoters) {
  Scenario s;
  s.name = "membership";
  s.nodes = 9;
  s.voters = 1;
  s.manage_membership = true;
  s.target_voters = 7;
  s.permanent_failure = true;
  s.crashes_per_s = 2;
  s.max_down = 1;
  run_seeds(s, 300);
}

TEST(RaftSimulation, SnapshotsInstallOnLaggingFollowers) {
  Scenario s;
  s.name = "snapshots";
  s.snapshot_entries = 20;
  s.snapshot_trailing_entries = 5;
  s.snapshot_chunk_bytes = 64;
  s.crashes_per_s = 3;
  s.max_down = 2;
  s.partitions_per_s = 2;
  s.network = faults(0.05, 0.05, 5ms);
  run_seeds(s, 600);
}

TEST(RaftSimulation, EverythingAtOnce) {
  Scenario s;
  s.name = "chaos";
  s.transfers_per_s = 2;
  s.max_append_entries = 4;
  s.nodes = 8;
  s.voters = 3;
  s.manage_membership = true;
  s.target_voters = 5;
  s.snapshot_entries = 30;
  s.snapshot_trailing_entries = 10;
  s.snapshot_chunk_bytes = 256;
  s.crashes_per_s = 3;
  s.max_down = 2;
  s.partitions_per_s = 2;
  s.network = faults(0.1, 0.05, 10ms);
  run_seeds(s, 600);
}

}  // namespace
}  // namespace idunno::raft::sim
