#include "net/swim/swim_config.hpp"

#include <algorithm>
#include <cmath>

namespace idunno::swim {

core::Duration SwimConfig::suspicion_min(std::size_t n) const {
  const double scale = std::max(1.0, std::log10(std::max<double>(1.0, static_cast<double>(n))));
  const double ns = static_cast<double>(suspicion_mult) * scale * static_cast<double>(probe_interval.count());
  return core::Duration(static_cast<core::Duration::rep>(ns));
}

core::Duration SwimConfig::suspicion_max(std::size_t n) const { return suspicion_min(n) * suspicion_max_mult; }

int SwimConfig::retransmit_limit(std::size_t n) const {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return retransmit_mult * std::max(1, static_cast<int>(scale));
}

core::Duration SwimConfig::push_pull_scaled(std::size_t n) const {
  // Doubles the interval for every doubling beyond 32 members.
  constexpr double threshold = 32.0;
  if (static_cast<double>(n) <= threshold) return push_pull_interval;
  const double mult = std::ceil(std::log2(static_cast<double>(n)) - std::log2(threshold)) + 1.0;
  return push_pull_interval * static_cast<int>(mult);
}

core::Duration SwimConfig::detection_bound(std::size_t n) const {
  return probe_interval * 8 + suspicion_max(n) + gossip_interval * 10;
}

SwimConfig from_config(const core::MembershipSection& m, const core::ClusterSection& cluster) {
  SwimConfig c;
  c.probe_interval = std::chrono::milliseconds(m.probe_interval_ms);
  c.probe_timeout = std::chrono::milliseconds(m.probe_timeout_ms);
  c.indirect_checks = m.indirect_checks;
  c.suspicion_mult = m.suspicion_mult;
  c.suspicion_max_mult = m.suspicion_max_mult;
  c.retransmit_mult = m.retransmit_mult;
  c.awareness_max = m.awareness_max;
  c.gossip_interval = std::chrono::milliseconds(m.gossip_interval_ms);
  c.gossip_nodes = m.gossip_nodes;
  c.push_pull_interval = std::chrono::milliseconds(m.push_pull_interval_ms);
  c.rejoin_interval = std::chrono::milliseconds(m.rejoin_interval_ms);
  c.secret = cluster.secret;
  return c;
}

}  // namespace idunno::swim
