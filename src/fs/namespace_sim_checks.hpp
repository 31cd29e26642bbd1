#pragma once
// The world and the invariant checks of the SDFS simulation
// (namespace_sim.hpp): the simulated Raft cluster hosting the namespace, the
// data nodes' block stores, what was acknowledged, and the history of every
// applied namespace command.
//
// Checked: every node gives every command the same result; Begin never hands
// out a version number twice for a name (deletes included); on every node
// latest() never goes back, except to nothing after a delete; every
// acknowledged version that was not pruned or deleted is held by a live node
// and, in a namespace that has applied everything known, is committed with a
// live listed replica that holds it. Violations throw SimViolation.
// Test-only, single-threaded.

#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/raft/routed_entry.hpp"
#include "core/raft/sim/sim_cluster.hpp"
#include "fs/namespace.hpp"

namespace idunno::fs::sim {

class SimViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SimConfig {
  std::size_t nodes = 7;
  std::size_t replicas = 4;
  std::size_t write_quorum = 3;
  std::uint32_t max_versions = 3;
  std::size_t max_failures = 2;  // crashes between two healthy points
  double wipe_chance = 0.3;      // a crash also loses the node's blocks
  std::size_t steps = 250;
  std::uint64_t snapshot_entries = 40;
};

struct SimStats {
  std::size_t puts = 0, acknowledged = 0, aborted = 0, stale_aborted = 0, deletes = 0, unknown_outcomes = 0;
  std::size_t repairs = 0, dead_removed = 0, lost_listings_removed = 0;
  std::size_t crashes = 0, wipes = 0, restarts = 0, coordinator_changes = 0;
  std::size_t removed_by_commands = 0, snapshot_restores = 0;
};

inline const std::vector<std::string> kNames = {"a", "b", "dir/c", "../d"};

using Block = std::pair<std::string, std::uint64_t>;  // (name, version)

// The namespace as each simulated node hosts it, counting the restores from
// a snapshot (InstallSnapshot, or a restart from the node's own).
class ObservedNamespace final : public raft::StateMachine {
 public:
  explicit ObservedNamespace(std::size_t& restores) : restores_(restores) {}
  std::string apply(raft::Index index, std::string_view command) override { return ns_.apply(index, command); }
  std::string snapshot() const override { return ns_.snapshot(); }
  void restore(std::string_view snapshot) override {
    if (!snapshot.empty()) ++restores_;
    ns_.restore(snapshot);
  }
  std::string query(std::string_view query) const override { return ns_.query(query); }
  const Namespace& ns() const { return ns_; }

 private:
  Namespace ns_;
  std::size_t& restores_;
};

class SimChecks {
 public:
  const SimStats& stats() const { return stats_; }
  std::string trace() const { return cluster_.recent_trace(); }

 protected:
  SimChecks(std::uint64_t seed, SimConfig config, raft::sim::ClusterOptions options)
      : cluster_(seed, with_namespace(std::move(options))), config_(config) {
    for (std::size_t i = 1; i <= config_.nodes; ++i) nodes_.push_back("node" + std::to_string(i));
    for (const auto& node : nodes_) cluster_.add_node(node);
    cluster_.on_applied = [this](const raft::NodeName& node, const raft::Applied& applied) { observe(node, applied); };
    cluster_.on_read = [this](const raft::NodeName&, const raft::ReadState& read) {
      if (read_ && read_->id == read.id) read_ = Read{read.id, true, read.ok, read.index};
    };
  }

  struct Waiting {
    raft::NodeName node;
    raft::Index index;
    raft::Term term;
    std::optional<std::string> reply;
  };
  struct Read {
    raft::ReadId id;
    bool done;
    bool ok;
    raft::Index index;
  };

  // Machines are made only when nodes start, after construction.
  raft::sim::ClusterOptions with_namespace(raft::sim::ClusterOptions options) {
    options.machines = [this] {
      std::map<std::string, std::unique_ptr<raft::StateMachine>> machines;
      machines.emplace("sdfs", std::make_unique<ObservedNamespace>(stats_.snapshot_restores));
      return machines;
    };
    return options;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw SimViolation(what + " (at " + std::to_string(core::to_millis(cluster_.now())) + "ms)");
  }

  std::mt19937_64& rng() { return cluster_.rng(); }
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng()); }

  template <typename Pred>
  bool advance_until(Pred done, core::Duration limit) {
    return cluster_.run_until(
        [&] {
          check_latest_never_goes_back();
          return done();
        },
        limit);
  }
  void advance(core::Duration duration) {
    advance_until([] { return false; }, duration);
  }
  std::optional<raft::NodeName> wait_for_leader() {
    advance_until([&] { return cluster_.leader().has_value(); }, std::chrono::seconds(3));
    return cluster_.leader();
  }

  std::vector<std::string> up_nodes() const {
    std::vector<std::string> out;
    for (const auto& node : nodes_) {
      if (cluster_.is_up(node)) out.push_back(node);
    }
    return out;
  }
  std::set<std::string> up_set() const {
    const auto up = up_nodes();
    return {up.begin(), up.end()};
  }
  const Namespace* namespace_of(const raft::NodeName& node) const {
    if (!cluster_.is_up(node)) return nullptr;
    const auto* hosted = dynamic_cast<const ObservedNamespace*>(cluster_.machine(node).hosted("sdfs"));
    return hosted ? &hosted->ns() : nullptr;
  }

  // A crashed node's machine is gone: its next one starts a new baseline.
  void forget(const raft::NodeName& node) { baseline_.erase(node); }

  void acknowledge(const std::string& name, std::uint64_t version, raft::Index index) {
    acked_[{name, version}] = index;
    ++stats_.acknowledged;
  }

  void check_step() {
    check_latest_never_goes_back();
    // A namespace covered by the history: the most advanced up node that
    // has applied nothing the history has not seen.
    const Namespace* current = nullptr;
    raft::Index current_index = 0;
    for (const auto& node : up_nodes()) {
      const auto index = cluster_.machine(node).last_index();
      if (index <= last_history_index() && index >= current_index) {
        current = namespace_of(node);
        current_index = index;
      }
    }
    bool healthy = current != nullptr;
    for (const auto& [block, ack_index] : acked_) {
      if (removed_.contains(block)) continue;
      std::size_t holders = 0;
      for (const auto& node : up_nodes()) holders += blocks_[node].contains(block) ? 1 : 0;
      if (holders == 0) fail("acknowledged " + describe(block) + " is on no live node");
      if (!current || current_index < ack_index) {
        healthy = false;
        continue;
      }
      const auto entry = current->version(block.first, block.second);
      if (!entry || !entry->committed()) fail("acknowledged " + describe(block) + " is not committed");
      std::size_t readable = 0;
      for (const auto& node : entry->replicas) {
        readable += cluster_.is_up(node) && blocks_[node].contains(block) ? 1 : 0;
      }
      if (readable == 0) fail("acknowledged " + describe(block) + " has no live listed replica holding it");
      healthy = healthy && readable >= config_.write_quorum;
    }
    if (healthy) failures_since_healthy_ = 0;
  }

  // After recovery: every node has the same namespace, which restores into
  // an equal one, and every acknowledged version is on `replicas` holders.
  void check_final(std::size_t replicas) {
    check_step();
    std::optional<std::string> snapshot;
    for (const auto& node : up_nodes()) {
      const auto bytes = namespace_of(node)->snapshot();
      if (snapshot && bytes != *snapshot) fail("namespaces differ after convergence on " + node);
      snapshot = bytes;
    }
    Namespace restored;
    restored.restore(*snapshot);
    if (restored.snapshot() != *snapshot) fail("a restored namespace differs from its snapshot");
    for (const auto& [block, index] : acked_) {
      if (removed_.contains(block)) continue;
      const auto entry = restored.version(block.first, block.second);
      if (!entry) fail("acknowledged " + describe(block) + " is missing after recovery");
      std::size_t holders = 0;
      for (const auto& node : entry->replicas) holders += blocks_[node].contains(block) ? 1 : 0;
      if (holders < replicas) {
        std::string listed;
        for (const auto& node : entry->replicas) {
          listed += " " + node + (blocks_[node].contains(block) ? "(holds)" : "(missing)");
        }
        fail(describe(block) + " has " + std::to_string(holders) + " holders after repair; listed:" + listed);
      }
    }
  }

  raft::sim::Cluster cluster_;
  SimConfig config_;
  std::vector<std::string> nodes_;
  std::map<std::string, std::set<Block>> blocks_;  // durable blocks by node
  std::map<Block, raft::Index> acked_;             // acknowledged, at the commit's index
  std::size_t failures_since_healthy_ = 0;
  SimStats stats_;
  std::optional<Waiting> waiting_;
  std::optional<Read> read_;
  raft::ReadId next_read_ = 0;

 private:
  struct HistoryEntry {
    std::string result;
  };
  struct Baseline {
    raft::Index index = 0;
    std::map<std::string, std::uint64_t> latest;
  };

  static std::string describe(const Block& block) {
    return "version " + std::to_string(block.second) + " of \"" + block.first + "\"";
  }
  raft::Index last_history_index() const { return history_.empty() ? 0 : history_.rbegin()->first; }

  void observe(const raft::NodeName& node, const raft::Applied& applied) {
    if (waiting_ && waiting_->node == node && waiting_->index == applied.index && waiting_->term == applied.term) {
      waiting_->reply = applied.result;
    }
    auto [it, first] = history_.try_emplace(applied.index, HistoryEntry{applied.result});
    if (!first) {
      if (it->second.result != applied.result)
        fail(node + " gave entry " + std::to_string(applied.index) + " a different result");
      return;
    }
    if (!raft::is_routed(applied.command)) return;
    const auto entry = raft::decode_routed(applied.command);
    if (entry.machine != "sdfs") return;
    const auto command = parse_sdfs_command(entry.payload);
    const auto routed = raft::decode_route_result(applied.result);
    if (!command || routed.status != raft::RouteStatus::ok) fail("an undecodable sdfs entry was applied");
    const auto result = decode_sdfs_result(routed.payload);
    const auto& name = command_name(*command);
    if (!result.ok()) return;
    if (command->has_begin()) {
      auto& highest = highest_begun_[name];
      if (result.version <= highest) fail("\"" + name + "\" got version " + std::to_string(result.version) + " again");
      highest = result.version;
    }
    for (const auto& removed : result.removed) {
      removed_.insert({name, removed.version});
      ++stats_.removed_by_commands;
    }
  }

  void check_latest_never_goes_back() {
    for (const auto& node : nodes_) {
      const auto* ns = namespace_of(node);
      if (!ns) continue;
      const auto index = cluster_.machine(node).last_index();
      auto [it, fresh] = baseline_.try_emplace(node);
      auto& base = it->second;
      if (!fresh && index == base.index) continue;
      for (const auto& name : kNames) {
        const auto latest = ns->latest(name);
        const std::uint64_t now = latest ? latest->version : 0;
        const auto before = base.latest[name];
        // After a delete every later version is above every earlier one, so
        // a drop can only be to nothing, and only if no version up to the
        // old latest is left.
        const auto* file = ns->file(name);
        const bool deleted = now == 0 && (!file || file->versions.empty() || file->versions.begin()->first > before);
        if (!fresh && now < before && !deleted) {
          fail("latest of \"" + name + "\" went back from " + std::to_string(before) + " to " + std::to_string(now) +
               " on " + node);
        }
        base.latest[name] = now;
      }
      base.index = index;
    }
  }

  std::map<raft::Index, HistoryEntry> history_;  // the first result seen for each index
  std::map<std::string, std::uint64_t> highest_begun_;
  std::set<Block> removed_;  // pruned or deleted by an applied command
  std::map<raft::NodeName, Baseline> baseline_;
};

}  // namespace idunno::fs::sim
