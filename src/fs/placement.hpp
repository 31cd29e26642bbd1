#pragma once
// Where copies of a version go, and what re-replication must do after nodes
// die: pure, deterministic functions of their inputs.
//
// Why: the coordinator chooses the nodes for a put and plans repairs from
// the namespace and the live set; a new coordinator that plans from the same
// state must arrive at the same plan, so nothing here depends on input order,
// clocks or randomness. Placement is rendezvous (highest random weight)
// hashing: every node gets a score XXH3(name, version, node) and the highest
// scores win, so a node joining or leaving moves only the copies it wins or
// held. Stateless; any thread.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fs/namespace.hpp"

namespace idunno::fs {

// The rendezvous score of `node` for one version of a file.
std::uint64_t placement_score(std::string_view name, std::uint64_t version, std::string_view node);

// Up to `count` distinct nodes of `live_nodes` not in `exclude`, best score
// first (ties by name). Duplicates and order of `live_nodes` do not matter;
// with fewer eligible nodes than `count`, all of them.
std::vector<std::string> choose_replicas(std::string_view name, std::uint64_t version,
                                         const std::vector<std::string>& live_nodes, std::size_t count,
                                         const std::set<std::string>& exclude = {});
std::vector<std::string> choose_replicas(std::string_view name, std::uint64_t version,
                                         const std::set<std::string>& live_nodes, std::size_t count,
                                         const std::set<std::string>& exclude = {});

// One copy to make: stream `name` version `version` from `source` (a live
// replica) to `target` (a live node that is not a replica), then AddReplica.
struct RepairTask {
  std::string name;
  std::uint64_t version = 0;
  std::string source;
  std::string target;

  bool operator==(const RepairTask&) const = default;
};

// The copies that bring every committed version back to `target_replicas`
// live replicas (a replica on a node outside `live` counts as missing), at
// most `max_tasks` of them. The versions with the fewest live replicas come
// first (then by name and version); targets are the best-scored live
// non-replicas, and a version's tasks take their sources from its live
// replicas in score order, in turn. A version with no live replica cannot be
// repaired and is left out (see unavailable_versions). Planning again before
// the copies finish gives the same tasks: the caller skips those in flight.
// A target in `avoid` for a version (name, version, node: a copy to it
// failed a moment ago, e.g. its disk is full) is taken only after every
// other eligible node, so the repair goes elsewhere when it can.
using RepairAvoid = std::set<std::tuple<std::string, std::uint64_t, std::string>>;
std::vector<RepairTask> plan_repairs(const Namespace& ns, const std::set<std::string>& live,
                                     std::size_t target_replicas, std::size_t max_tasks, const RepairAvoid& avoid = {});

// A replica entry naming a node outside the live set.
struct DeadReplica {
  std::string name;
  std::uint64_t version = 0;
  std::string node;

  bool operator==(const DeadReplica&) const = default;
};

// The policy for forgetting dead copies: a committed version's entry for a
// node outside `live` is listed only once the version has `target_replicas`
// live replicas without it (repair has replaced it). Until then the node may
// come back with its copy intact, and that copy still counts. A node that
// returns after its entries were removed drops the blocks no longer listed
// on it. Pending versions are left alone (their Commit names the real
// replicas). By (name, version, node).
std::vector<DeadReplica> dead_replicas(const Namespace& ns, const std::set<std::string>& live,
                                       std::size_t target_replicas);

// Committed versions with no live replica: unreadable until one returns.
std::vector<NamedVersion> unavailable_versions(const Namespace& ns, const std::set<std::string>& live);

}  // namespace idunno::fs
