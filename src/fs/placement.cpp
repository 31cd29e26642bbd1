#include "fs/placement.hpp"

#include <xxhash.h>

#include <algorithm>
#include <iterator>
#include <tuple>

namespace idunno::fs {

namespace {

std::size_t live_count(const VersionEntry& entry, const std::set<std::string>& live) {
  return static_cast<std::size_t>(std::count_if(entry.replicas.begin(), entry.replicas.end(),
                                                [&](const std::string& node) { return live.contains(node); }));
}

// Nodes ranked by score for one version, best first, ties by name.
std::vector<std::string> ranked(std::string_view name, std::uint64_t version, std::vector<std::string> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<std::pair<std::uint64_t, std::string>> scored;
  scored.reserve(nodes.size());
  for (auto& node : nodes) scored.emplace_back(placement_score(name, version, node), std::move(node));
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return std::tie(b.first, a.second) < std::tie(a.first, b.second); });
  std::vector<std::string> out;
  out.reserve(scored.size());
  for (auto& [score, node] : scored) out.push_back(std::move(node));
  return out;
}

}  // namespace

std::uint64_t placement_score(std::string_view name, std::uint64_t version, std::string_view node) {
  // Length-prefixed fields, little-endian, so that no two inputs share bytes.
  std::string bytes;
  bytes.reserve(24 + name.size() + node.size());
  auto add_u64 = [&](std::uint64_t value) {
    for (std::size_t i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(value >> (8 * i)));
  };
  add_u64(name.size());
  bytes.append(name);
  add_u64(version);
  add_u64(node.size());
  bytes.append(node);
  return XXH3_64bits(bytes.data(), bytes.size());
}

std::vector<std::string> choose_replicas(std::string_view name, std::uint64_t version,
                                         const std::vector<std::string>& live_nodes, std::size_t count,
                                         const std::set<std::string>& exclude) {
  std::vector<std::string> eligible;
  for (const auto& node : live_nodes) {
    if (!exclude.contains(node)) eligible.push_back(node);
  }
  auto out = ranked(name, version, std::move(eligible));
  if (out.size() > count) out.resize(count);
  return out;
}

std::vector<std::string> choose_replicas(std::string_view name, std::uint64_t version,
                                         const std::set<std::string>& live_nodes, std::size_t count,
                                         const std::set<std::string>& exclude) {
  return choose_replicas(name, version, std::vector<std::string>(live_nodes.begin(), live_nodes.end()), count, exclude);
}

std::vector<RepairTask> plan_repairs(const Namespace& ns, const std::set<std::string>& live,
                                     std::size_t target_replicas, std::size_t max_tasks, const RepairAvoid& avoid) {
  struct Candidate {
    std::size_t live_replicas;
    const std::string* name;
    const VersionEntry* entry;
  };
  std::vector<Candidate> candidates;
  ns.for_each_version([&](const std::string& name, const VersionEntry& entry) {
    if (!entry.committed()) return;
    const auto count = live_count(entry, live);
    if (count > 0 && count < target_replicas) candidates.push_back({count, &name, &entry});
  });
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.live_replicas, *a.name, a.entry->version) < std::tie(b.live_replicas, *b.name, b.entry->version);
  });
  std::vector<RepairTask> tasks;
  const std::vector<std::string> live_nodes(live.begin(), live.end());
  for (const auto& candidate : candidates) {
    if (tasks.size() >= max_tasks) break;
    const auto& entry = *candidate.entry;
    const std::set<std::string> replicas(entry.replicas.begin(), entry.replicas.end());
    // The chosen order, with the targets to avoid moved to the end.
    std::vector<std::string> targets;
    std::vector<std::string> avoided;
    for (auto& node : choose_replicas(*candidate.name, entry.version, live_nodes, live_nodes.size(), replicas)) {
      (avoid.contains({*candidate.name, entry.version, node}) ? avoided : targets).push_back(std::move(node));
    }
    targets.insert(targets.end(), std::make_move_iterator(avoided.begin()), std::make_move_iterator(avoided.end()));
    targets.resize(std::min(targets.size(), target_replicas - candidate.live_replicas));
    std::vector<std::string> live_replicas;
    for (const auto& node : entry.replicas) {
      if (live.contains(node)) live_replicas.push_back(node);
    }
    const auto sources = ranked(*candidate.name, entry.version, std::move(live_replicas));
    for (std::size_t i = 0; i < targets.size() && tasks.size() < max_tasks; ++i) {
      tasks.push_back({*candidate.name, entry.version, sources[i % sources.size()], targets[i]});
    }
  }
  return tasks;
}

std::vector<DeadReplica> dead_replicas(const Namespace& ns, const std::set<std::string>& live,
                                       std::size_t target_replicas) {
  std::vector<DeadReplica> out;
  ns.for_each_version([&](const std::string& name, const VersionEntry& entry) {
    if (!entry.committed() || live_count(entry, live) < target_replicas) return;
    for (const auto& node : entry.replicas) {
      if (!live.contains(node)) out.push_back({name, entry.version, node});
    }
  });
  return out;
}

std::vector<NamedVersion> unavailable_versions(const Namespace& ns, const std::set<std::string>& live) {
  std::vector<NamedVersion> out;
  ns.for_each_version([&](const std::string& name, const VersionEntry& entry) {
    if (entry.committed() && live_count(entry, live) == 0) out.push_back({name, entry});
  });
  return out;
}

}  // namespace idunno::fs
